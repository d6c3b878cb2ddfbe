import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "@tidbstack/service-kit";
import { loadConsumerConfig } from "../../src/config.ts";

describe("consumer configuration", () => {
  it("uses the documented defaults", () => {
    assert.deepEqual(loadConsumerConfig({}), {
      brokers: ["localhost:9092"],
      topic: "appdb-cdc",
      groupId: "appdb-cdc-consumer",
      dlqTopic: "appdb-cdc.dlq",
      fromBeginning: true,
      metricsPort: 9464,
      logLevel: "info",
    });
  });

  it("derives the DLQ topic from the topic and splits the broker list", () => {
    const config = loadConsumerConfig({
      KAFKA_TOPIC: "orders",
      KAFKA_BROKERS: "kafka:19092, kafka2:19092",
      KAFKA_FROM_BEGINNING: "false",
    });
    assert.equal(config.dlqTopic, "orders.dlq");
    assert.deepEqual(config.brokers, ["kafka:19092", "kafka2:19092"]);
    assert.equal(config.fromBeginning, false);
  });

  it("serves metrics on HOST when set, on every interface otherwise", () => {
    assert.equal(loadConsumerConfig({ HOST: "127.0.0.1" }).host, "127.0.0.1");
    assert.equal("host" in loadConsumerConfig({}), false);
  });

  it("derives the group from the topic as the Pulumi program does, unless KAFKA_GROUP_ID names one", () => {
    assert.equal(loadConsumerConfig({ KAFKA_TOPIC: "orders" }).groupId, "orders-consumer");
    assert.equal(
      loadConsumerConfig({ KAFKA_TOPIC: "orders", KAFKA_GROUP_ID: "orders-audit" }).groupId,
      "orders-audit",
    );
  });

  const bad: [Record<string, string>, string][] = [
    [{ KAFKA_BROKERS: "kafka" }, "KAFKA_BROKERS"],
    [{ KAFKA_BROKERS: " , " }, "KAFKA_BROKERS"],
    [{ KAFKA_TOPIC: "bad topic!" }, "KAFKA_TOPIC"],
    [{ KAFKA_DLQ_TOPIC: "appdb-cdc" }, "KAFKA_DLQ_TOPIC"],
    [{ KAFKA_TOPIC: ".." }, "KAFKA_TOPIC"],
    [{ KAFKA_GROUP_ID: "my group" }, "KAFKA_GROUP_ID"],
    [{ KAFKA_FROM_BEGINNING: "sometimes" }, "KAFKA_FROM_BEGINNING"],
    [{ METRICS_PORT: "0" }, "METRICS_PORT"],
    [{ LOG_LEVEL: "chatty" }, "LOG_LEVEL"],
    [{ HOST: "consumer:9464" }, "HOST"],
  ];
  for (const [env, variable] of bad) {
    it(`rejects a bad ${variable} with an error naming it`, () => {
      assert.throws(
        () => loadConsumerConfig(env),
        (error: unknown) =>
          error instanceof ConfigError && error.variable === variable && error.message.startsWith(variable),
      );
    });
  }
});
