/**
 * The token purge (`node api/dist/purge.js [--once]`, `npm run purge -w api`), an entry point of the API
 * image. Deletes tokens expired or revoked more than PURGE_GRACE_SECONDS ago, PURGE_BATCH_SIZE rows at a
 * time, as its own account (DB_*: SELECT and DELETE on tokens only), and logs one `tokens_purged` line per
 * run. With --once it purges and exits (0, or 1 when the run failed): for a CronJob. Without, it purges
 * every PURGE_INTERVAL_SECONDS and serves /metrics and /health on METRICS_PORT until SIGTERM/SIGINT, which
 * stop it after the batch in progress, exit 0.
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  configureLogging,
  exitGracefullyOnSignals,
  getLogger,
  loadConfigOrExit,
  logProcessWarnings,
  shutdownLogging,
} from "@tidbstack/service-kit";
import { createPool } from "./database.ts";
import { createPurgeMetrics } from "./metrics.ts";
import { createMetricsServer } from "./metrics-server.ts";
import { loadPurgeConfig } from "./purge-config.ts";
import { purgeTokens } from "./token-purge.ts";

const config = loadConfigOrExit(() => loadPurgeConfig(process.env, process.argv.slice(2)));

configureLogging(config.logLevel);
const logger = getLogger("purge");
logProcessWarnings(logger);
// Batches run one after another: one connection is all the purge uses.
const pool = createPool(config.db, { connectionLimit: 1 });
const metrics = config.once ? undefined : createPurgeMetrics();
const stopping = new AbortController();

/** One purge run, logged and counted; false when it failed. Never throws: the service outlives an outage. */
async function runOnce(): Promise<boolean> {
  const started = performance.now();
  let count = 0;
  let batches = 0;
  const elapsedMs = (): number => Math.round(performance.now() - started);
  try {
    const result = await purgeTokens(pool, {
      cutoff: new Date(Date.now() - config.graceSeconds * 1000),
      batchSize: config.batchSize,
      signal: stopping.signal,
      onBatch(deleted) {
        count += deleted;
        batches++;
        metrics?.tokensPurged.inc(deleted);
        logger.debug({ action: "tokens_purge_batch", deleted });
      },
    });
    logger.info({
      action: "tokens_purged",
      count: result.count,
      batches: result.batches,
      durationMs: elapsedMs(),
      ...(result.interrupted ? { interrupted: true } : {}),
    });
    if (!result.interrupted) metrics?.lastSuccess.set(Date.now() / 1000);
    return true;
  } catch (error) {
    metrics?.failures.inc();
    logger.error({ action: "purge_failed", count, batches, durationMs: elapsedMs() }, error);
    return false;
  } finally {
    metrics?.runDuration.observe(elapsedMs() / 1000);
  }
}

async function runService(): Promise<boolean> {
  while (!stopping.signal.aborted) {
    await runOnce();
    await sleep(config.intervalSeconds * 1000, undefined, { signal: stopping.signal }).catch(() => undefined);
  }
  return true;
}

const server = metrics === undefined ? undefined : createMetricsServer(metrics.registry);
server?.on("error", (error) => {
  logger.fatal({ action: "listen_failed", port: config.metricsPort }, error);
  void shutdownLogging().then(() => process.exit(1));
});
server?.listen(config.metricsPort);

logger.info({
  action: "purge_started",
  mode: config.once ? "once" : "service",
  graceSeconds: config.graceSeconds,
  batchSize: config.batchSize,
  ...(config.once ? {} : { intervalSeconds: config.intervalSeconds, metricsPort: config.metricsPort }),
  database: `${config.db.host}:${config.db.port}/${config.db.database}`,
});
const finished = config.once ? runOnce() : runService();

const closeServer = (): Promise<void> =>
  new Promise((resolve) => {
    if (server === undefined) {
      resolve();
      return;
    }
    server.close(() => {
      resolve();
    });
    // A scraper's idle keep-alive connection would otherwise hold close() open.
    server.closeIdleConnections();
  });
let closing: Promise<void> | undefined;
const close = (): Promise<void> =>
  (closing ??= Promise.all([pool.end(), closeServer()]).then(() => undefined));

exitGracefullyOnSignals({
  logger,
  async drain() {
    stopping.abort();
    await finished;
    await close();
  },
  finally: shutdownLogging,
});

const succeeded = await finished;
// Without a signal only --once gets here; with one, the shutdown handler exits once drained.
if (!stopping.signal.aborted) {
  await close();
  await shutdownLogging();
  process.exit(succeeded ? 0 : 1);
}
