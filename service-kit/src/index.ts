export {
  captureLogLines,
  configureLogging,
  flushLogs,
  formatLogEvent,
  getLogger,
  logProcessWarnings,
  shutdownLogging,
  type LineSink,
  type LogFields,
  type Logger,
  type LoggingOptions,
} from "./logging.ts";
export { ConfigError, EnvReader, loadConfigOrExit, type Env } from "./env.ts";
export { exitGracefullyOnSignals, type ShutdownOptions } from "./shutdown.ts";
export { kafkajsLogCreator, type KafkajsLogEntry } from "./kafkajs-logging.ts";
export { createHttpServer, HTTP_SERVER_TIMEOUTS } from "./http-server.ts";
export { LabelSetTable, type CountedLabelSet } from "./label-sets.ts";
export { LOG_LEVELS, type LogLevel } from "./contracts.ts";
