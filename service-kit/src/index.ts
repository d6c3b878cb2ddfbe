export {
  captureLogLines,
  configureLogging,
  formatLogEvent,
  getLogger,
  LOG_LEVELS,
  logProcessWarnings,
  shutdownLogging,
  type LogFields,
  type Logger,
  type LogLevel,
} from "./logging.ts";
export { ConfigError, EnvReader, loadConfigOrExit, type Env } from "./env.ts";
export { exitGracefullyOnSignals, type ShutdownOptions } from "./shutdown.ts";
export { kafkajsLogCreator, type KafkajsLogEntry } from "./kafkajs-logging.ts";
export { createHttpServer, HTTP_SERVER_TIMEOUTS } from "./http-server.ts";
