import type { Admin } from "kafkajs";
import type { Logger } from "@tidbstack/service-kit";

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  /** The topic's `max.message.bytes`, set when the topic is created; default the broker's. */
  readonly maxMessageBytes?: number;
}

/**
 * The dead-letter topic's record limit: a dead letter is the original message (up to TiCDC's
 * max-message-bytes, 1 MiB) plus provenance headers, so the broker's default limit, which the source topic
 * fits, could refuse it, and a refused dead letter stalls its partition. Twice the source's leaves room.
 */
export const DLQ_MAX_MESSAGE_BYTES = 2 * 1024 * 1024;

/**
 * Creates missing topics and adds partitions to ones that have too few; never removes anything, and leaves
 * an existing topic's settings as they are. The
 * changefeed's topic must exist with its partition count before TiCDC writes to it: a topic auto-created
 * by a client gets one partition, which breaks a changefeed with `partition-num` above 1.
 */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[], logger: Logger): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !existing.has(spec.topic));
  if (missing.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((spec) => ({
        topic: spec.topic,
        numPartitions: spec.partitions,
        replicationFactor: 1,
        ...(spec.maxMessageBytes === undefined
          ? {}
          : { configEntries: [{ name: "max.message.bytes", value: String(spec.maxMessageBytes) }] }),
      })),
    });
    logger.info({ action: "topics_created", topics: missing.map((spec) => spec.topic) });
  }
  const present = specs.filter((spec) => existing.has(spec.topic));
  if (present.length === 0) return;
  const metadata = await admin.fetchTopicMetadata({ topics: present.map((spec) => spec.topic) });
  for (const spec of present) {
    const current = metadata.topics.find((t) => t.name === spec.topic)?.partitions.length ?? 0;
    if (current < spec.partitions) {
      await admin.createPartitions({ topicPartitions: [{ topic: spec.topic, count: spec.partitions }] });
      logger.info({
        action: "topic_partitions_added",
        topic: spec.topic,
        from: current,
        to: spec.partitions,
      });
    }
  }
}
