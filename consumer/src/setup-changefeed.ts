/**
 * The Pulumi program's changefeed step, run as a one-off container on the stack network:
 *   node dist/setup-changefeed.js create   create the topics, then create or resume the changefeed
 *   node dist/setup-changefeed.js delete   delete the changefeed (topics and their data are kept)
 * Environment: TICDC_URL, CHANGEFEED_ID, CHANGEFEED_SINK_URI, CHANGEFEED_FILTER (comma list), KAFKA_BROKERS,
 * KAFKA_TOPIC, KAFKA_DLQ_TOPIC, TOPIC_PARTITIONS.
 */
import { Kafka } from "kafkajs";
import { configureLogging, EnvReader, getLogger, shutdownLogging } from "@tidbstack/service-kit";
import { deleteChangefeed, ensureChangefeed, ensureTopics } from "./changefeed.ts";
import { KAFKAJS_LOG_LEVEL, kafkajsLogCreator } from "./kafka-logging.ts";

async function main(action: string | undefined): Promise<number> {
  const reader = new EnvReader(process.env);
  configureLogging(reader.logLevel("LOG_LEVEL", "info"));
  const logger = getLogger("changefeed");
  try {
    const ticdcUrl = reader.matching("TICDC_URL", /^https?:\/\/\S+$/, "an http(s) URL");
    const id = reader.string("CHANGEFEED_ID");
    if (action === "delete") {
      await deleteChangefeed(ticdcUrl, id, { logger });
      return 0;
    }
    if (action !== "create") throw new Error(`unknown action "${action ?? ""}": use create or delete`);
    const topic = reader.string("KAFKA_TOPIC");
    const kafka = new Kafka({
      clientId: "tidbstack-changefeed",
      brokers: reader.string("KAFKA_BROKERS").split(","),
      logLevel: KAFKAJS_LOG_LEVEL,
      logCreator: kafkajsLogCreator(logger),
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(
        admin,
        [
          { topic, partitions: reader.integer("TOPIC_PARTITIONS", 1, { min: 1, max: 64 }) },
          { topic: reader.string("KAFKA_DLQ_TOPIC", `${topic}.dlq`), partitions: 1 },
        ],
        logger,
      );
    } finally {
      await admin.disconnect();
    }
    await ensureChangefeed(
      {
        ticdcUrl,
        id,
        sinkUri: reader.string("CHANGEFEED_SINK_URI"),
        filterRules: reader.string("CHANGEFEED_FILTER").split(","),
      },
      { logger },
    );
    return 0;
  } catch (error) {
    logger.error(
      { action: "changefeed_setup_failed" },
      error instanceof Error ? error.message : String(error),
    );
    return 1;
  }
}

const code = await main(process.argv[2]);
await shutdownLogging();
process.exit(code);
