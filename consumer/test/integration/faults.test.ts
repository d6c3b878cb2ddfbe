import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import kafkajs, { type Kafka } from "kafkajs";
import { HTTP_SERVER_TIMEOUTS } from "@tidbstack/service-kit";
import {
  eventually,
  freePort,
  kafkaBrokers,
  openSlowClients,
  percentile,
  sampleLatency,
  startKafka,
  uniqueName,
} from "@tidbstack/testenv";
import { COMMIT_EVERY_MESSAGES } from "../../src/consumer.ts";
import {
  type ConsumerProcess,
  consumerProcessEnv,
  createTopics,
  loggedIds,
  produce,
  quietKafka,
  rowEvents,
  spawnConsumer,
  type TestTopics,
} from "../support.ts";

/**
 * Faults on real servers, against the real consumer process (src/main.ts). The tests run concurrently:
 * most of their time is Kafka's 30 s session timeout, which a SIGKILLed consumer's group must wait out.
 */

const deadLettered = (run: ConsumerProcess): Record<string, unknown>[] =>
  run.lines.filter((l) => l["action"] === "dlq");

/** Resolves with what `promise` resolves to, or fails naming `what` after `timeoutMs`. */
async function within<T>(what: string, promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`timed out after ${timeoutMs} ms waiting until ${what}`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function stopConsumer(run: ConsumerProcess): Promise<void> {
  if (run.child.exitCode === null && run.child.signalCode === null) {
    run.child.kill("SIGTERM");
    await run.exited;
  }
}

/** The group's committed offset on partition 0, or -1 when it has committed none. */
async function committedOffset(kafka: Kafka, topics: TestTopics): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [topic] = await admin.fetchOffsets({ groupId: topics.groupId, topics: [topics.topic] });
    return Number(topic?.partitions[0]?.offset ?? -1);
  } finally {
    await admin.disconnect();
  }
}

/** Every message in the (one-partition) dead-letter topic: value and headers. */
async function readDeadLetters(
  kafka: Kafka,
  topics: TestTopics,
): Promise<{ value: string; headers: Record<string, string> }[]> {
  const admin = kafka.admin();
  await admin.connect();
  const [end] = await admin.fetchTopicOffsets(topics.dlqTopic).finally(() => admin.disconnect());
  const count = Number(end?.high ?? 0);
  const letters: { value: string; headers: Record<string, string> }[] = [];
  if (count === 0) return letters;
  const reader = kafka.consumer({ groupId: uniqueName("dlq-reader"), allowAutoTopicCreation: false });
  await reader.connect();
  try {
    await reader.subscribe({ topic: topics.dlqTopic, fromBeginning: true });
    await reader.run({
      eachMessage: ({ message }) => {
        const headers = Object.fromEntries(
          Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
        );
        letters.push({ value: message.value?.toString() ?? "", headers });
        return Promise.resolve();
      },
    });
    await eventually("the dead-letter topic is read", () => letters.length === count, 60_000);
  } finally {
    await reader.disconnect();
  }
  return letters;
}

// First and alone: it measures latency, which the concurrent tests' CPU use would distort.
describe("the consumer's metrics server under a slow-client attack", () => {
  it(
    "closes silent and byte-by-byte connections to its metrics server at the header timeout; /health stays fast",
    { timeout: 60_000 },
    async () => {
      // No broker is needed: /health answers 503 while the consumer keeps trying to connect.
      const run = await spawnConsumer({ KAFKA_BROKERS: `127.0.0.1:${await freePort()}` });
      try {
        await eventually(
          "the metrics server answers",
          async () => (await fetch(`${run.metricsUrl}/health`).catch(() => undefined)) !== undefined,
        );
        const port = Number(new URL(run.metricsUrl).port);
        const attack = await openSlowClients(port, { silent: 300, drip: 10, dripIntervalMs: 200 });
        const latencies = await sampleLatency(`${run.metricsUrl}/health`, attack.allClosed);
        const lifetimes = attack.connections.map((c) => (c.closedAt ?? Infinity) - c.openedAt);
        const p99 = percentile(latencies, 0.99);
        console.log(
          `consumer slow clients: ${attack.connections.length} connections closed after ${Math.min(...lifetimes)}–${Math.max(...lifetimes)} ms; ` +
            `/health p50 ${percentile(latencies, 0.5).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms over ${latencies.length} requests`,
        );
        for (const lifetime of lifetimes) {
          assert.ok(lifetime >= HTTP_SERVER_TIMEOUTS.headersTimeoutMs - 100, `closed after ${lifetime} ms`);
          assert.ok(
            lifetime <=
              HTTP_SERVER_TIMEOUTS.headersTimeoutMs +
                HTTP_SERVER_TIMEOUTS.connectionsCheckingIntervalMs +
                2000,
            `still open ${lifetime} ms after connecting`,
          );
        }
        assert.ok(attack.connections.every((c) => c.received.startsWith("HTTP/1.1 408 Request Timeout\r\n")));
        assert.ok(latencies.length > 50, `only ${latencies.length} /health samples`);
        // Generous for a shared 2-core machine (about 50 ms measured when it is quiet); the attack holds sockets
        // for 10 s, so a server it slowed down would be far above this.
        assert.ok(p99 < 500, `/health p99 was ${p99.toFixed(1)} ms during the attack`);
      } finally {
        await stopConsumer(run);
      }
    },
  );
});

describe("the consumer process under faults", { concurrency: true }, () => {
  // Topics on the shared broker are created before the tests start side by side: the private broker's JVM
  // starting at the same time can make topic creation time out on a 2-core machine.
  const refusing = { topic: uniqueName("cdc"), dlqTopic: "", groupId: uniqueName("group") };
  refusing.dlqTopic = `${refusing.topic}.dlq`;
  let written: TestTopics;
  const refusedPoison = `not json ${uniqueName("poison")} ${"x".repeat(4096)}`;
  const writtenPoison = `{"broken": ${uniqueName("poison")}`;

  before(async () => {
    const kafka = quietKafka(kafkaBrokers());
    const admin = kafka.admin();
    await admin.connect();
    try {
      // The DLQ refuses records over 1 KiB and that poison message is 4 KiB: every attempt to write its
      // dead letter fails (MESSAGE_TOO_LARGE), the batch is retried from the poison message, and the
      // consumer stays in its dead-letter step until the limit is lifted. (Kafka caps min.insync.replicas
      // at the replication factor, so on one broker a DLQ cannot be made to block instead.)
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          { topic: refusing.topic, numPartitions: 1 },
          {
            topic: refusing.dlqTopic,
            numPartitions: 1,
            configEntries: [{ name: "max.message.bytes", value: "1024" }],
          },
        ],
      });
    } finally {
      await admin.disconnect();
    }
    written = await createTopics(kafka);
    await produce(kafka, refusing.topic, [...rowEvents(1, 1), refusedPoison, ...rowEvents(2, 1)]);
    await produce(kafka, written.topic, [...rowEvents(1, 1), writtenPoison, ...rowEvents(2, 1)]);
  });

  it(
    "when the broker is killed mid-batch and restarted, logs every event exactly once without restarting",
    { timeout: 240_000 },
    async () => {
      const broker = await startKafka();
      try {
        const kafka = quietKafka([broker.bootstrap]);
        const topics = await createTopics(kafka);
        // Long enough that the consumer (~60,000 events/s) is mid-stream when the kill lands.
        const total = 50_000;
        await produce(kafka, topics.topic, rowEvents(0, total));
        const run = await spawnConsumer(consumerProcessEnv([broker.bootstrap], topics));
        try {
          let loggedAtKill = 0;
          await within(
            "the broker is killed mid-stream",
            new Promise<void>((resolve, reject) => {
              run.onChanges(2 * COMMIT_EVERY_MESSAGES, () => {
                loggedAtKill = loggedIds(run.lines).length;
                broker.kill().then(resolve, reject);
              });
            }),
            60_000,
          );
          assert.ok(loggedAtKill < total, "killed mid-stream");
          const restartStarted = Date.now();
          await broker.start();
          await eventually(
            "every event is logged",
            () => new Set(loggedIds(run.lines)).size === total,
            180_000,
          );
          const ids = loggedIds(run.lines);
          console.log(
            `broker fault: killed after ${loggedAtKill} events, broker back in ${Date.now() - restartStarted} ms or less, ` +
              `${ids.length} lines for ${total} events, ${run.lines.filter((l) => l["action"] === "consumer_crashed").length} consumer restarts`,
          );
          // The process kept its window of 100,000 recent changes, so redelivered events were dropped.
          assert.equal(ids.length, total, `${ids.length - total} events were logged twice`);
          assert.equal(run.child.exitCode, null, "the process kept running");
          await eventually(
            "everything is committed",
            async () => (await committedOffset(kafka, topics)) === total,
            60_000,
          );
        } finally {
          await stopConsumer(run);
        }
      } finally {
        await broker.destroy();
      }
    },
  );

  it(
    "killed while its dead-letter write cannot complete, re-reads the poison message and dead-letters it after restart",
    { timeout: 180_000 },
    async () => {
      const kafka = quietKafka(kafkaBrokers());
      const topics = refusing;
      const poison = refusedPoison;
      const admin = kafka.admin();
      await admin.connect();
      try {
        const env = consumerProcessEnv(kafkaBrokers(), topics);

        // Killed in its dead-letter step, on the producer's first error line.
        const first = await spawnConsumer(env);
        first.onLine(
          (line) =>
            line["component"] === "kafkajs" && /larger than the max message size/.test(String(line["msg"])),
          () => first.child.kill("SIGKILL"),
        );
        const [, signal] = await within(
          "the consumer is killed during its DLQ write",
          first.exited,
          90_000,
        ).finally(() => first.child.kill("SIGKILL"));
        assert.equal(signal, "SIGKILL");
        assert.deepEqual(
          loggedIds(first.lines),
          ["1"],
          "the event after the poison one waited for the dead letter",
        );
        assert.deepEqual(deadLettered(first), []);
        // The commit of event 1 (offset 1: the poison message is next) races the kill; never past it.
        const committedAtKill = await committedOffset(kafka, topics);
        assert.ok([-1, 1].includes(committedAtKill), `committed offset ${committedAtKill} at the kill`);
        assert.deepEqual(await readDeadLetters(kafka, topics), [], "nothing reached the DLQ");

        await admin.alterConfigs({
          validateOnly: false,
          resources: [
            {
              type: kafkajs.ConfigResourceTypes.TOPIC,
              name: topics.dlqTopic,
              configEntries: [{ name: "max.message.bytes", value: "1048588" }],
            },
          ],
        });
        const second = await spawnConsumer(env);
        try {
          // The group first waits out the killed member's 30 s session.
          await eventually(
            "the restarted consumer dead-letters the poison message and logs the next event",
            () => deadLettered(second).length === 1 && loggedIds(second.lines).includes("2"),
            120_000,
          );
          const letters = await readDeadLetters(kafka, topics);
          assert.equal(letters.length, 1);
          assert.equal(letters[0]?.value, poison);
          assert.equal(letters[0]?.headers["dlq.reason"], "not_json");
          assert.equal(letters[0]?.headers["dlq.source.offset"], "1");
          // At least once: event 1 comes again only if its commit had not happened before the kill.
          assert.deepEqual(
            [...loggedIds(first.lines), ...loggedIds(second.lines)],
            committedAtKill === 1 ? ["1", "2"] : ["1", "1", "2"],
          );
          await eventually(
            "everything is committed",
            async () => (await committedOffset(kafka, topics)) === 3,
          );
        } finally {
          await stopConsumer(second);
        }
      } finally {
        await admin.disconnect();
      }
    },
  );

  it(
    "killed just after writing a dead letter, has it in the DLQ, and again only if it re-read the message",
    { timeout: 180_000 },
    async () => {
      const kafka = quietKafka(kafkaBrokers());
      const topics = written;
      const poison = writtenPoison;
      const env = consumerProcessEnv(kafkaBrokers(), topics);

      const first = await spawnConsumer(env);
      first.onLine(
        (line) => line["action"] === "dlq",
        () => first.child.kill("SIGKILL"),
      );
      await within("the consumer is killed after its dead letter", first.exited, 90_000).finally(() =>
        first.child.kill("SIGKILL"),
      );
      assert.equal(deadLettered(first).length, 1);
      // The kill races the end-of-batch commit: either outcome is allowed, and decides what follows.
      const committed = await committedOffset(kafka, topics);
      const reread = committed <= 1;

      const second = await spawnConsumer(env);
      try {
        await eventually(
          "the restarted consumer catches up",
          async () => (await committedOffset(kafka, topics)) === 3,
          120_000,
        );
        const letters = await readDeadLetters(kafka, topics);
        console.log(
          `dead letter then kill: committed offset ${committed} at the kill, ${letters.length} cop${letters.length === 1 ? "y" : "ies"} in the DLQ`,
        );
        assert.equal(deadLettered(second).length, reread ? 1 : 0);
        assert.equal(letters.length, reread ? 2 : 1);
        assert.ok(
          letters.every((letter) => letter.value === poison && letter.headers["dlq.source.offset"] === "1"),
        );
        assert.ok([...loggedIds(first.lines), ...loggedIds(second.lines)].includes("2"));
      } finally {
        await stopConsumer(second);
      }
    },
  );
});
