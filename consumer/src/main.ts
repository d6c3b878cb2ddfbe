/**
 * The consumer process: validates its environment, serves /metrics and /health, consumes until SIGTERM or
 * SIGINT, then finishes the batch in progress, commits and exits 0. The only file with side effects.
 */
import { Kafka, logLevel } from "kafkajs";
import {
  configureLogging,
  exitGracefullyOnSignals,
  getLogger,
  kafkajsLogCreator,
  loadConfigOrExit,
  logProcessWarnings,
  shutdownLogging,
} from "@tidbstack/service-kit";
import { loadConsumerConfig } from "./config.ts";
import { startConsumer, type RunningConsumer } from "./consumer.ts";
import { createEventHandler } from "./handler.ts";
import { createMetricsServer } from "./http.ts";
import { createConsumerMetrics } from "./metrics.ts";

const config = loadConfigOrExit(() => loadConsumerConfig(process.env));

configureLogging(config.logLevel);
const logger = getLogger("consumer");
logProcessWarnings(logger);
const metrics = createConsumerMetrics();
const kafka = new Kafka({
  clientId: "tidbstack-consumer",
  brokers: [...config.brokers],
  // kafkajs's info lines are connection chatter; its warnings and errors matter.
  logLevel: logLevel.WARN,
  logCreator: kafkajsLogCreator(logger),
});

// One handler for the life of the process, so its window of recent changes survives consumer restarts.
const handle = createEventHandler({ logger, metrics });
let running: RunningConsumer | undefined;
let stopping = false;
const server = createMetricsServer(
  metrics.registry,
  () => running?.state() ?? (stopping ? "stopped" : "starting"),
);
server.listen({ port: config.metricsPort, host: config.host }, () => {
  logger.info({
    action: "listening",
    host: config.host ?? "*",
    metricsPort: config.metricsPort,
    topic: config.topic,
    groupId: config.groupId,
  });
});

server.on("error", (error) => {
  logger.fatal({ action: "listen_failed", host: config.host ?? "*", metricsPort: config.metricsPort }, error);
  void shutdownLogging().then(() => process.exit(1));
});

/** Kafka may not be up yet (or the topic not created yet): keep trying with capped backoff until stopped. */
async function connectWithRetry(): Promise<void> {
  for (let attempt = 1, delayMs = 1000; !stopping; attempt++, delayMs = Math.min(delayMs * 2, 30_000)) {
    try {
      running = await startConsumer({
        kafka,
        topic: config.topic,
        groupId: config.groupId,
        dlqTopic: config.dlqTopic,
        fromBeginning: config.fromBeginning,
        handle,
        metrics,
        logger,
      });
      return;
    } catch (error) {
      logger.warn({ action: "consumer_start_failed", attempt, retryInMs: delayMs }, error);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
void connectWithRetry();

exitGracefullyOnSignals({
  logger,
  async drain() {
    stopping = true;
    await running?.stop();
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  },
  finally: shutdownLogging,
});
