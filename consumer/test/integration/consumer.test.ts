import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Kafka } from "kafkajs";
import { captureLogLines, getLogger, type LogFields } from "@tidbstack/service-kit";
import { eventually, kafkaBrokers } from "@tidbstack/testenv";
import { COMMIT_EVERY_MESSAGES, startConsumer, type RunningConsumer } from "../../src/consumer.ts";
import { measureLag } from "../../src/lag.ts";
import { createConsumerMetrics, type ConsumerMetrics } from "../../src/metrics.ts";
import { COMMIT_TS, ddlMessage, rowMessage, watermarkMessage } from "../fixtures.ts";
import { createTopics, produce, quietKafka, rowEvents, startTestConsumer } from "../support.ts";

describe("the consumer against a real Kafka broker", () => {
  let kafka: Kafka;
  let topics: { topic: string; dlqTopic: string; groupId: string };
  let consumer: RunningConsumer;
  let metrics: ConsumerMetrics;
  let records: () => LogFields[];

  before(async () => {
    kafka = quietKafka(kafkaBrokers());
    topics = await createTopics(kafka);
    ({ records } = captureLogLines("info"));
    metrics = createConsumerMetrics();
    consumer = await startTestConsumer(kafka, topics, metrics);
    await eventually("the group has joined", () => consumer.state() === "running");
  });
  after(() => consumer.stop());

  const changes = () => records().filter((r) => r["action"] === "db_change");

  it("turns produced change events into db_change log lines and metrics", async () => {
    await produce(kafka, topics.topic, [
      rowMessage({ data: [{ id: "1", email: "a@test.com", password_hash: "h1" }] }),
      rowMessage({
        type: "UPDATE",
        data: [{ id: "1", email: "b@test.com", password_hash: "h2" }],
        old: [{ id: "1", email: "a@test.com", password_hash: "h1" }],
        commitTs: "462531487334400002",
      }),
      rowMessage({
        type: "DELETE",
        data: [{ id: "1", email: "b@test.com", password_hash: "h2" }],
        commitTs: "462531487334400003",
      }),
      ddlMessage(),
      watermarkMessage(),
    ]);
    await eventually("three row changes are logged", () => changes().length === 3);
    assert.deepEqual(
      changes().map((r) => [
        r["type"],
        r["commitTs"],
        (r["data"] as Record<string, string>)["password_hash"],
      ]),
      [
        ["INSERT", COMMIT_TS, "[REDACTED]"],
        ["UPDATE", "462531487334400002", "[REDACTED]"],
        ["DELETE", "462531487334400003", "[REDACTED]"],
      ],
    );
    await eventually("the DDL is logged", () => records().some((r) => r["action"] === "db_ddl"));
    const text = await metrics.registry.metrics();
    assert.match(text, /^cdc_events_total\{database="appdb",table="users",type="INSERT"\} 1$/m);
    assert.match(text, /^cdc_ddl_total 1$/m);
  });

  it("dead-letters a poison message with headers saying why and where from, then processes the next one", async () => {
    const before = changes().length;
    await produce(kafka, topics.topic, [
      "this is not json",
      rowMessage({ data: [{ id: "77", email: "next@test.com" }], commitTs: "462531487334400077" }),
    ]);
    await eventually("the message after the poison one is processed", () => changes().length === before + 1);
    const dlqLine = records().find((r) => r["action"] === "dlq");
    assert.equal(dlqLine?.["reason"], "not_json");
    assert.equal(dlqLine?.["topic"], topics.topic);

    const reader = kafka.consumer({ groupId: `${topics.groupId}-dlq-reader`, allowAutoTopicCreation: false });
    await reader.connect();
    await reader.subscribe({ topic: topics.dlqTopic, fromBeginning: true });
    const dead: { value: string; headers: Record<string, string> }[] = [];
    await reader.run({
      eachMessage: ({ message }) => {
        const headers = Object.fromEntries(
          Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
        );
        dead.push({ value: message.value?.toString() ?? "", headers });
        return Promise.resolve();
      },
    });
    try {
      await eventually("the poison message is in the DLQ", () => dead.length === 1);
    } finally {
      await reader.disconnect();
    }
    assert.equal(dead[0]?.value, "this is not json");
    assert.equal(dead[0]?.headers["dlq.reason"], "not_json");
    assert.equal(dead[0]?.headers["dlq.source.topic"], topics.topic);
    assert.equal(dead[0]?.headers["dlq.source.partition"], "0");
    assert.match(dead[0]?.headers["dlq.source.offset"] ?? "", /^\d+$/);
    assert.match(await metrics.registry.metrics(), /^cdc_dlq_messages_total\{reason="not_json"\} 1$/m);
  });

  it("commits the offset of every processed message", async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await eventually("the committed offset reaches the end of the topic", async () => {
        const [committed] = await admin.fetchOffsets({ groupId: topics.groupId, topics: [topics.topic] });
        const [end] = await admin.fetchTopicOffsets(topics.topic);
        return committed?.partitions[0]?.offset === end?.high;
      });
    } finally {
      await admin.disconnect();
    }
  });

  it("exports the group's lag per partition: the whole topic for a group that has read nothing, 0 once caught up", async () => {
    await produce(kafka, topics.topic, [
      rowMessage({ data: [{ id: "500" }], commitTs: "462531487334400500" }),
    ]);
    await eventually("the new event is processed", () =>
      changes().some((r) => (r["pk"] as Record<string, string>)["id"] === "500"),
    );
    const admin = kafka.admin();
    await admin.connect();
    try {
      const fresh = createConsumerMetrics();
      const [end] = await admin.fetchTopicOffsets(topics.topic);
      await measureLag({
        admin,
        topic: topics.topic,
        groupId: `${topics.groupId}-never-joined`,
        metrics: fresh,
        logger: getLogger("t"),
      });
      assert.match(
        await fresh.registry.metrics(),
        new RegExp(
          `^cdc_consumer_group_lag_messages\\{group="${topics.groupId}-never-joined",topic="${topics.topic}",partition="0"\\} ${end?.high ?? "?"}$`,
          "m",
        ),
      );
      await eventually("the group has committed everything", async () => {
        await measureLag({
          admin,
          topic: topics.topic,
          groupId: topics.groupId,
          metrics,
          logger: getLogger("t"),
        });
        return /^cdc_consumer_group_lag_messages\{[^}]*\} 0$/m.test(await metrics.registry.metrics());
      });
    } finally {
      await admin.disconnect();
    }
  });

  it("dead-letters an event its handler fails on, and keeps going", async () => {
    const own = await createTopics(kafka);
    const ownMetrics = createConsumerMetrics();
    const logger = getLogger("consumer");
    const handled: string[] = [];
    const failing = await startConsumer({
      kafka,
      ...own,
      fromBeginning: true,
      handle: (event) => {
        const id = event.kind === "row" ? event.rows[0]?.["id"] : undefined;
        if (id === "13") throw new Error("cannot process row 13");
        handled.push(id ?? "");
      },
      metrics: ownMetrics,
      logger,
    });
    try {
      await produce(kafka, own.topic, [
        rowMessage({ data: [{ id: "13" }] }),
        rowMessage({ data: [{ id: "14" }], commitTs: "462531487334400014" }),
      ]);
      await eventually("the event after the failing one is handled", () => handled.includes("14"));
      assert.deepEqual(handled, ["14"]);
      assert.match(
        await ownMetrics.registry.metrics(),
        /^cdc_dlq_messages_total\{reason="handler_error"\} 1$/m,
      );
      const line = records().find((r) => r["action"] === "dlq" && r["reason"] === "handler_error");
      // The error's type, not its message, which may quote the event.
      assert.equal(line?.["detail"], "the event handler threw Error");
    } finally {
      await failing.stop();
    }
  });

  it("stopped in the middle of the stream, commits exactly the messages it handled", async () => {
    const own = await createTopics(kafka);
    const handled: string[] = [];
    let stopping: Promise<void> | undefined;
    // Stopped from inside the handler, so the stop lands in the middle of the stream, while commits of what
    // was handled are still to be sent or in flight. The stream is long enough that the consumer is still
    // busy when the stop takes effect, also on a loaded machine (the stop first waits for the lag monitor).
    const total = 40 * COMMIT_EVERY_MESSAGES;
    const stopAt = COMMIT_EVERY_MESSAGES + 123;
    const stopped = await startConsumer({
      kafka,
      ...own,
      fromBeginning: true,
      handle: (event) => {
        handled.push(event.kind === "row" ? (event.rows[0]?.["id"] ?? "") : "");
        if (handled.length === stopAt) stopping = stopped.stop();
      },
      metrics: createConsumerMetrics(),
      logger: getLogger("consumer"),
    });
    await produce(kafka, own.topic, rowEvents(0, total));
    await eventually("the consumer is stopped", () => stopping !== undefined);
    await stopping;
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId: own.groupId, topics: [own.topic] });
      assert.ok(handled.length >= stopAt && handled.length < total, `stopped after ${handled.length} events`);
      assert.equal(committed?.partitions[0]?.offset, String(handled.length));
    } finally {
      await admin.disconnect();
    }
  });

  it("does not create the topic it subscribes to", async () => {
    const missing = `${topics.topic}-missing`;
    await assert.rejects(
      startTestConsumer(
        kafka,
        { topic: missing, dlqTopic: `${missing}.dlq`, groupId: `${topics.groupId}-2` },
        metrics,
      ),
    );
    const admin = kafka.admin();
    await admin.connect();
    try {
      assert.ok(!(await admin.listTopics()).includes(missing));
    } finally {
      await admin.disconnect();
    }
  });
});
