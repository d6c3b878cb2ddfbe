/**
 * The API process: reads and validates its environment, connects the pool, listens, and shuts down
 * gracefully on SIGTERM/SIGINT. The only file with side effects at import time.
 */
import {
  loadConfigOrExit,
  logProcessWarnings,
  configureLogging,
  exitGracefullyOnSignals,
  getLogger,
  shutdownLogging,
} from "@tidbstack/service-kit";
import { createApp } from "./app.ts";
import { loadApiConfig } from "./config.ts";
import { createPool } from "./database.ts";
import { createApiMetrics } from "./metrics.ts";
import { createAuthStore } from "./store.ts";

const config = loadConfigOrExit(() => loadApiConfig(process.env));

configureLogging(config.logLevel);
const logger = getLogger("api");
logProcessWarnings(logger);
const pool = createPool(config.db);
const app = createApp({ store: createAuthStore(pool), logger, metrics: createApiMetrics(), config });

const server = app.listen(config.port, () => {
  logger.info({
    action: "listening",
    port: config.port,
    database: `${config.db.host}:${config.db.port}/${config.db.database}`,
  });
});
server.on("error", (error) => {
  logger.fatal({ action: "listen_failed", port: config.port }, error);
  void shutdownLogging().then(() => process.exit(1));
});

exitGracefullyOnSignals({
  logger,
  async drain() {
    // Stop accepting, let in-flight requests finish, and drop idle keep-alive sockets so close() can resolve.
    const closed = new Promise<void>((resolve, reject) => {
      server.close((error) => {
        if (error === undefined) resolve();
        else reject(error);
      });
    });
    server.closeIdleConnections();
    await closed;
    await pool.end();
  },
  finally: shutdownLogging,
});
