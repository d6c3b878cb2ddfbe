/**
 * The API process: reads and validates its environment, connects the pool, listens, and shuts down
 * gracefully on SIGTERM/SIGINT. The only file with side effects at import time.
 */
import {
  createHttpServer,
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
import { DatabaseRateLimiter, startSweeping } from "./database-rate-limit.ts";
import { createApiMetrics } from "./metrics.ts";
import { createMetricsServer } from "./metrics-server.ts";
import { PasswordHasher } from "./passwords.ts";
import { cachedSessions, databaseSessions } from "./sessions.ts";
import { createAuthStore } from "./store.ts";
import { lowerThreadpoolPriority } from "./threadpool-priority.ts";

const config = loadConfigOrExit(() => loadApiConfig(process.env));

configureLogging(config.logLevel);
const logger = getLogger("api");
logProcessWarnings(logger);
const pool = createPool(config.db);
// Several replicas share the database limit; one replica can keep it in memory.
const sharedLimiter =
  config.loginRateLimitStore === "database"
    ? new DatabaseRateLimiter(config.db, { perMinute: config.loginRateLimitPerMinute })
    : undefined;
const sweeper = sharedLimiter === undefined ? undefined : startSweeping(sharedLimiter, logger);
const metrics = createApiMetrics();
const store = createAuthStore(pool);
const passwords = new PasswordHasher();
// The decoy hash is the pool's first task: its threads exist afterwards, and are lowered once, for good.
await passwords.prepareDecoy();
const niceThreads = lowerThreadpoolPriority();
// The revocation feed's own connection (see CachedSessionsOptions.revocations).
const revocationPool =
  config.tokenCache === undefined ? undefined : createPool(config.db, { connectionLimit: 1 });
const sessions =
  config.tokenCache === undefined || revocationPool === undefined
    ? databaseSessions(store)
    : cachedSessions({
        store,
        revocations: createAuthStore(revocationPool),
        logger,
        limits: config.tokenCache,
        maxAgeMs: config.tokenCache.maxAgeMs,
        revocationBoundMs: config.tokenCache.revocationBoundMs,
        clock: () => new Date(),
      });
const app = createApp({
  store,
  logger,
  metrics,
  config,
  passwords,
  sessions,
  ...(sharedLimiter === undefined ? {} : { limiter: sharedLimiter }),
});

// Not app.listen(): that server would have Node's default timeouts (see HTTP_SERVER_TIMEOUTS).
const server = createHttpServer(app);
// /metrics on a port of its own, never published: the API's port is, and its counters are not for clients.
const metricsServer = createMetricsServer(metrics.registry);
const listen = (listening: typeof server, port: number): Promise<void> => {
  listening.on("error", (error) => {
    logger.fatal({ action: "listen_failed", host: config.host ?? "*", port }, error);
    void shutdownLogging().then(() => process.exit(1));
  });
  return new Promise((resolve) => listening.listen({ port, host: config.host }, resolve));
};
void Promise.all([listen(server, config.port), listen(metricsServer, config.metricsPort)]).then(() => {
  logger.info({
    action: "listening",
    host: config.host ?? "*",
    port: config.port,
    metricsPort: config.metricsPort,
    database: `${config.db.host}:${config.db.port}/${config.db.database}`,
    loginRateLimitStore: config.loginRateLimitStore,
    passwordHashing: `${passwords.policy.algorithm}, ${passwords.concurrency} at once, ${niceThreads} pool threads at lower priority`,
    tokenCache: config.tokenCache ?? "off",
  });
});

exitGracefullyOnSignals({
  logger,
  async drain() {
    // Stop accepting, let in-flight requests finish, and drop idle keep-alive sockets so close() can resolve.
    const close = (closing: typeof server) => {
      const closed = new Promise<void>((resolve, reject) => {
        closing.close((error) => {
          if (error === undefined) resolve();
          else reject(error);
        });
      });
      closing.closeIdleConnections();
      return closed;
    };
    await Promise.all([close(server), close(metricsServer)]);
    await sweeper?.stop();
    await sessions.stop();
    await Promise.all([pool.end(), revocationPool?.end(), sharedLimiter?.close()]);
  },
  finally: shutdownLogging,
});
