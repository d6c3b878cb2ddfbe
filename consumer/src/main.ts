/**
 * The consumer process: validates its environment, serves /metrics and /health, consumes until SIGTERM or
 * SIGINT, then finishes the batch in progress, commits and exits 0. Wiring only (the service object owns
 * start, retry, state and stop); the only file with side effects.
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
import { createEventHandler } from "./handler.ts";
import { createMetricsServer } from "./http.ts";
import { createConsumerMetrics } from "./metrics.ts";
import { createConsumerService } from "./service.ts";

const config = loadConfigOrExit(() => loadConsumerConfig(process.env));

// One line per row change: written in batches, and always before the offsets that cover them are committed.
configureLogging(config.logLevel, { buffered: true });
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
const service = createConsumerService({
  kafka,
  topic: config.topic,
  groupId: config.groupId,
  dlqTopic: config.dlqTopic,
  fromBeginning: config.fromBeginning,
  handle: createEventHandler({ logger, metrics }),
  metrics,
  logger,
});
const server = createMetricsServer(metrics.registry, () => service.state());
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

void service.start();

exitGracefullyOnSignals({
  logger,
  async drain() {
    await service.stop();
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  },
  finally: shutdownLogging,
});
