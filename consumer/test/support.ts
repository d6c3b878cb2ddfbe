import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel, type Admin } from "kafkajs";
import { getLogger } from "@tidbstack/service-kit";
import { dlqTopicOf } from "@tidbstack/service-kit/contracts";
import { freePort, uniqueName } from "@tidbstack/testenv";
import { startConsumer, type RunningConsumer } from "../src/consumer.ts";
import { createEventHandler } from "../src/handler.ts";
import type { ConsumerMetrics } from "../src/metrics.ts";
import { rowMessage } from "./fixtures.ts";

export const quietKafka = (brokers: string[]): Kafka =>
  new Kafka({
    clientId: "consumer-tests",
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 200 },
  });

/** A topic and its dead-letter topic, created like the changefeed step does, unique to one test. */
export async function createTopics(
  kafka: Kafka,
  partitions = 1,
): Promise<{ topic: string; dlqTopic: string; groupId: string }> {
  const topic = uniqueName("cdc");
  const dlqTopic = dlqTopicOf(topic);
  const admin: Admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic, numPartitions: partitions },
        { topic: dlqTopic, numPartitions: 1 },
      ],
    });
  } finally {
    await admin.disconnect();
  }
  return { topic, dlqTopic, groupId: uniqueName("group") };
}

const BASE_TS = 462531487334400000n;

/** Row events with distinct primary keys and commit timestamps: id i at commitTs BASE+i. */
export const rowEvents = (from: number, count: number): string[] =>
  Array.from({ length: count }, (_, k) =>
    rowMessage({
      data: [{ id: String(from + k), email: `u${from + k}@test.com` }],
      commitTs: String(BASE_TS + BigInt(from + k)),
    }),
  );

/** The primary keys (`id`) of the row changes a consumer logged, in the order it logged them. */
export const loggedIds = (lines: readonly Record<string, unknown>[]): string[] =>
  lines
    .filter((l) => l["action"] === "db_change")
    .map((l) => String((l["pk"] as Record<string, string>)["id"]));

export async function produce(
  kafka: Kafka,
  topic: string,
  values: (string | Buffer | null)[],
): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    // Chunks of 1,000 keep each request under the broker's 1 MiB default.
    for (let from = 0; from < values.length; from += 1000) {
      await producer.send({
        topic,
        acks: -1,
        messages: values.slice(from, from + 1000).map((value) => ({ value })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/** The real consumer process (src/main.ts), its stdout parsed as JSON lines. */
export interface ConsumerProcess {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[];
  /** Calls `action` from the stdout handler itself as soon as `count` db_change lines are in: no polling delay. */
  onChanges(count: number, action: () => void): void;
  /** Calls `action` from the stdout handler, once, for the first line that matches. */
  onLine(matches: (line: Record<string, unknown>) => boolean, action: () => void): void;
  readonly metricsUrl: string;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

export async function spawnConsumer(env: Record<string, string>): Promise<ConsumerProcess> {
  const metricsPort = await freePort();
  const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
  const child = spawn(process.execPath, ["--conditions=source", main], {
    env: { ...process.env, METRICS_PORT: String(metricsPort), ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines: Record<string, unknown>[] = [];
  const watchers: { count: number; action: () => void }[] = [];
  const lineWatchers: { matches: (line: Record<string, unknown>) => boolean; action: () => void }[] = [];
  let changes = 0;
  let partial = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop() ?? "";
    for (const part of parts) {
      if (part === "") continue;
      const line = JSON.parse(part) as Record<string, unknown>;
      lines.push(line);
      if (line["action"] === "db_change") changes++;
      for (const watcher of lineWatchers.filter((w) => w.matches(line))) {
        lineWatchers.splice(lineWatchers.indexOf(watcher), 1);
        watcher.action();
      }
    }
    for (const watcher of watchers.filter((w) => changes >= w.count)) {
      watchers.splice(watchers.indexOf(watcher), 1);
      watcher.action();
    }
  });
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  return {
    child,
    lines,
    metricsUrl: `http://127.0.0.1:${metricsPort}`,
    exited,
    onChanges: (count, action) => watchers.push({ count, action }),
    onLine: (matches, action) => lineWatchers.push({ matches, action }),
  };
}

export interface TestTopics {
  readonly topic: string;
  readonly dlqTopic: string;
  readonly groupId: string;
}

/** startConsumer() as main.ts wires it, on a test's own topics, reading from the beginning. */
export function startTestConsumer(
  kafka: Kafka,
  topics: TestTopics,
  metrics: ConsumerMetrics,
): Promise<RunningConsumer> {
  const logger = getLogger("consumer");
  return startConsumer({
    kafka,
    ...topics,
    fromBeginning: true,
    handle: createEventHandler({ logger, metrics }),
    metrics,
    logger,
  });
}

/** The consumer process's environment for a test's own topics on the given brokers. */
export const consumerProcessEnv = (brokers: string[], topics: TestTopics): Record<string, string> => ({
  KAFKA_BROKERS: brokers.join(","),
  KAFKA_TOPIC: topics.topic,
  KAFKA_DLQ_TOPIC: topics.dlqTopic,
  KAFKA_GROUP_ID: topics.groupId,
});
