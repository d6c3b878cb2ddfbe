import { logLevel, type logCreator } from "kafkajs";
import type { Logger } from "@tidbstack/service-kit";

/** kafkajs's levels, mapped to log4js's; kafkajs logs through the same JSON layout as everything else. */
export const KAFKAJS_LOG_LEVEL = logLevel.WARN;

export function kafkajsLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      // kafkajs adds its own timestamp and logger name; the layout already has the first and needs no second.
      const { message, timestamp, logger: kafkajsLogger, ...fields } = log;
      const line = { component: "kafkajs", namespace, ...fields };
      if (level === logLevel.ERROR) logger.error(line, message);
      else if (level === logLevel.WARN) logger.warn(line, message);
      else if (level === logLevel.INFO) logger.info(line, message);
      else logger.debug(line, message);
    };
}
