import type { Consumer, IHeaders, Kafka, KafkaMessage, Producer } from "kafkajs";
import { flushLogs, type Logger } from "@tidbstack/service-kit";
import type { DlqReason } from "./events.ts";
import type { EventHandler } from "./handler.ts";
import type { ConsumerMetrics } from "./metrics.ts";
import { startLagMonitor } from "./lag.ts";
import { parseMessage } from "./parse.ts";

export interface ConsumerDeps {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly groupId: string;
  readonly dlqTopic: string;
  readonly fromBeginning: boolean;
  readonly handle: EventHandler;
  readonly metrics: ConsumerMetrics;
  readonly logger: Logger;
}

export type ConsumerState = "starting" | "running" | "restarting" | "crashed" | "stopped";

export interface RunningConsumer {
  /** Finishes the batch in progress, commits what was processed, and disconnects. */
  stop(): Promise<void>;
  /** "running" once the group has joined; what GET /health reports. */
  state(): ConsumerState;
}

/**
 * Offsets are committed at least this often inside a batch (and at its end). One commit is one round trip
 * to the group coordinator; it runs while the next messages are processed, with one commit in flight at a
 * time.
 */
export const COMMIT_EVERY_MESSAGES = 500;

/**
 * The most messages a process killed without draining (SIGKILL, OOM) repeats after a restart: those
 * processed since its last commit was sent, and those of that commit if it had not landed.
 */
export const MAX_REPEATED_AFTER_KILL = 2 * COMMIT_EVERY_MESSAGES;

/** Header values are capped so one odd message cannot make an oversized dead letter. */
const MAX_DETAIL_LENGTH = 1000;

/**
 * A dead letter's detail when the handler threw: the error's type only. Its message may quote the event's
 * values, which must stay in the dead letter's value, not in its headers or the log.
 */
export function handlerErrorDetail(error: unknown): string {
  // A custom error's name is whatever its code set; only the built-in ones are known to say nothing else.
  const type = error instanceof Error && BUILT_IN_ERRORS.has(error.name) ? error.name : "an error";
  return `the event handler threw ${type}`;
}
const BUILT_IN_ERRORS = new Set(["Error", "TypeError", "RangeError", "SyntaxError", "ReferenceError"]);

/**
 * Parses and handles one message value; what to dead-letter it with when it cannot be handled, or undefined
 * once it has been.
 */
function processMessage(
  value: Buffer | null,
  handle: EventHandler,
): { reason: DlqReason; detail: string } | undefined {
  const result = parseMessage(value);
  if (!result.ok) return result;
  try {
    handle(result.event);
    return undefined;
  } catch (error) {
    // The same event would fail the same way on every retry and stall the partition: it is poison.
    return { reason: "handler_error", detail: handlerErrorDetail(error) };
  }
}

/**
 * Consumes the CDC topic: every message is parsed and handled, or copied to the dead-letter topic when it
 * cannot be parsed, and only then is its offset committed (at-least-once). A message that fails to
 * dead-letter fails its batch, which kafkajs retries with backoff from the last committed offset; nothing is
 * skipped. Topics are never created by subscribing: the changefeed step owns them.
 */
export async function startConsumer(deps: ConsumerDeps): Promise<RunningConsumer> {
  const { kafka, topic, groupId, dlqTopic, logger } = deps;
  let state: ConsumerState = "starting";
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
  const admin = kafka.admin();
  const consumer: Consumer = kafka.consumer({
    groupId,
    allowAutoTopicCreation: false,
    // Keep the member alive through a broker restart instead of rejoining at once.
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    retry: {
      initialRetryTime: 300,
      maxRetryTime: 30_000,
      retries: 8,
      // Transient failures (broker down, leader moved) exhaust the retries; restarting keeps the process
      // consuming once Kafka is back instead of leaving a live process that consumes nothing.
      restartOnFailure: (error) => {
        logger.warn({ action: "consumer_restart", groupId }, "restarting after a failure", error);
        return Promise.resolve(true);
      },
    },
  });

  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    state = "running";
    const assignment = Object.entries(event.payload.memberAssignment).map(
      ([t, partitions]) => `${t}:${partitions.join(",")}`,
    );
    logger.info({ action: "consumer_joined", groupId, memberId: event.payload.memberId, assignment });
  });
  consumer.on(consumer.events.CRASH, (event) => {
    state = event.payload.restart ? "restarting" : "crashed";
    logger.error(
      { action: "consumer_crashed", groupId, restart: event.payload.restart },
      event.payload.error,
    );
  });
  consumer.on(consumer.events.STOP, () => {
    state = "stopped";
  });

  const deadLetter = async (
    message: KafkaMessage,
    partition: number,
    reason: DlqReason,
    fullDetail: string,
  ): Promise<void> => {
    const detail = fullDetail.slice(0, MAX_DETAIL_LENGTH);
    const headers: IHeaders = {
      ...message.headers,
      "dlq.reason": reason,
      "dlq.detail": detail,
      "dlq.source.topic": topic,
      "dlq.source.partition": String(partition),
      "dlq.source.offset": message.offset,
      "dlq.consumer.group": groupId,
    };
    await producer.send({
      topic: dlqTopic,
      acks: -1,
      messages: [{ key: message.key, value: message.value, headers }],
    });
    deps.metrics.dlq.inc({ reason });
    logger.warn({
      action: "dlq",
      reason,
      detail,
      topic,
      partition,
      offset: message.offset,
      bytes: message.value?.length ?? 0,
      dlqTopic,
    });
  };

  try {
    // Together, not one after the other: each connection is its own round trips to the brokers.
    await Promise.all([producer.connect(), admin.connect(), consumer.connect()]);
    await consumer.subscribe({ topic, fromBeginning: deps.fromBeginning });
  } catch (error) {
    await Promise.allSettled([consumer.disconnect(), producer.disconnect(), admin.disconnect()]);
    throw error;
  }
  const lag = startLagMonitor({ admin, topic, groupId, metrics: deps.metrics, logger });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async (payload) => {
      const { batch } = payload;
      let lastProcessed: string | undefined;
      let uncommitted = 0;
      // The commit sent last, not yet awaited. Awaiting each commit before processing on stalled the
      // consumer for a round trip every COMMIT_EVERY_MESSAGES: a fifth of its time on a busy machine.
      let inFlight: Promise<void> = Promise.resolve();
      // Offsets are resolved and committed together, not per message: kafkajs's resolveOffset does 64-bit
      // arithmetic on a string, and awaiting a heartbeat per message costs a turn of the microtask queue.
      const commit = async (): Promise<void> => {
        // One commit at a time, in order; a failed one fails the batch here, which kafkajs retries.
        await inFlight;
        if (lastProcessed === undefined || uncommitted === 0) return;
        // The lines of what this commit covers reach stdout first: a crash after it cannot lose them.
        flushLogs();
        payload.resolveOffset(lastProcessed);
        const offset = (BigInt(lastProcessed) + 1n).toString();
        uncommitted = 0;
        // The batch's own commit, not consumer.commitOffsets: that one silently commits nothing once the
        // consumer is stopping (kafkajs runner.js commitOffsets), which is exactly when SIGTERM's drain
        // commits the batch's last messages.
        inFlight = payload.commitOffsetsIfNecessary({
          topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset }] }],
        });
        // Observed by the next commit's await; until then its rejection must not count as unhandled.
        void inFlight.catch(() => undefined);
      };
      try {
        for (const message of batch.messages) {
          if (!payload.isRunning() || payload.isStale()) break;
          const rejected = processMessage(message.value, deps.handle);
          if (rejected !== undefined) {
            await deadLetter(message, batch.partition, rejected.reason, rejected.detail);
            // A dead letter waits for the broker's acknowledgement: keep the membership alive through a
            // run of them.
            await payload.heartbeat();
          }
          lastProcessed = message.offset;
          if (++uncommitted >= COMMIT_EVERY_MESSAGES) {
            await commit();
            await payload.heartbeat();
          }
        }
      } finally {
        // Commit exactly what was processed, also when a later message failed: a retry resumes after it.
        await commit();
        await inFlight;
      }
    },
  });

  return {
    state: () => state,
    async stop() {
      await lag.stop();
      await consumer.disconnect();
      await Promise.all([producer.disconnect(), admin.disconnect()]);
      state = "stopped";
    },
  };
}
