import type { Logger } from "./logging.ts";

/**
 * kafkajs's log levels (its `logLevel` enum in types/index.d.ts: NOTHING 0, ERROR 1, WARN 2, INFO 4,
 * DEBUG 5). Written out here so service-kit does not depend on kafkajs; the values are part of kafkajs's
 * public API and frozen with its 2.2.4 pin.
 */
const KAFKAJS_ERROR = 1;
const KAFKAJS_WARN = 2;
const KAFKAJS_INFO = 4;

/** What kafkajs hands a log creator's function (its `LogEntry`), the fields this bridge reads. */
export interface KafkajsLogEntry {
  readonly namespace: string;
  readonly level: number;
  readonly log: { readonly message: string; readonly [field: string]: unknown };
}

/**
 * A kafkajs `logCreator` that writes through `logger`, so kafkajs logs in the same JSON layout as
 * everything else. Pass it as `new Kafka({ logLevel: logLevel.WARN, logCreator: kafkajsLogCreator(logger) })`.
 */
export function kafkajsLogCreator(logger: Logger): (level: number) => (entry: KafkajsLogEntry) => void {
  return () =>
    ({ namespace, level, log }) => {
      // kafkajs adds its own timestamp and logger name; the layout already has the first and needs no second.
      const { message, timestamp, logger: kafkajsLogger, ...fields } = log;
      const line = { component: "kafkajs", namespace, ...fields };
      if (level === KAFKAJS_ERROR) logger.error(line, message);
      else if (level === KAFKAJS_WARN) logger.warn(line, message);
      else if (level === KAFKAJS_INFO) logger.info(line, message);
      else logger.debug(line, message);
    };
}
