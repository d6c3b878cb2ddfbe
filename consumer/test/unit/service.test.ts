import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { Kafka } from "kafkajs";
import { captureLogLines, getLogger, type LogFields } from "@tidbstack/service-kit";
import type { ConsumerDeps, ConsumerState, RunningConsumer } from "../../src/consumer.ts";
import { createConsumerMetrics } from "../../src/metrics.ts";
import { createConsumerService, type ConsumerServiceDeps } from "../../src/service.ts";

/** A consumer that starts only after `failures` refused starts, as one does while Kafka is still coming up. */
function flakyStart(failures: number) {
  const calls = { starts: 0, stops: 0 };
  let state: ConsumerState = "running";
  const start = (deps: ConsumerDeps): Promise<RunningConsumer> => {
    calls.starts++;
    assert.equal(deps.topic, "appdb-cdc");
    if (calls.starts <= failures)
      return Promise.reject(new Error("There is no leader for this topic-partition"));
    return Promise.resolve({
      state: () => state,
      stop() {
        calls.stops++;
        state = "stopped";
        return Promise.resolve();
      },
    });
  };
  return { calls, start };
}

function serviceWith(start: ConsumerServiceDeps["startConsumer"]) {
  return createConsumerService({
    // Never connected: the fake start stands in for everything that talks to Kafka.
    kafka: new Kafka({ brokers: ["127.0.0.1:1"] }),
    topic: "appdb-cdc",
    groupId: "appdb-cdc-consumer",
    dlqTopic: "appdb-cdc.dlq",
    fromBeginning: true,
    handle: () => undefined,
    metrics: createConsumerMetrics(),
    logger: getLogger("consumer"),
    retry: { firstMs: 1, maxMs: 4 },
    ...(start === undefined ? {} : { startConsumer: start }),
  });
}

describe("the consumer service", () => {
  let records: () => LogFields[];
  beforeEach(() => {
    ({ records } = captureLogLines("info"));
  });

  it("retries a failed start with doubling backoff up to its cap, logging each failure, until one succeeds", async () => {
    const { calls, start } = flakyStart(4);
    const service = serviceWith(start);
    assert.equal(service.state(), "starting");
    await service.start();
    assert.equal(calls.starts, 5);
    assert.equal(service.state(), "running");
    const failures = records().filter((r) => r["action"] === "consumer_start_failed");
    assert.deepEqual(
      failures.map((r) => [r["level"], r["attempt"], r["retryInMs"]]),
      [
        ["warn", 1, 1],
        ["warn", 2, 2],
        ["warn", 3, 4],
        ["warn", 4, 4],
      ],
    );
  });

  it("stops retrying once stopped, and then reports stopped to /health", async () => {
    const { calls, start } = flakyStart(Number.POSITIVE_INFINITY);
    const service = serviceWith(start);
    const starting = service.start();
    while (calls.starts < 2) await new Promise((resolve) => setTimeout(resolve, 1));
    await service.stop();
    await starting;
    const attempts = calls.starts;
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(calls.starts, attempts, "no start after stop()");
    assert.equal(service.state(), "stopped");
  });

  it("stop() drains the started consumer, whose own state /health reports", async () => {
    const { calls, start } = flakyStart(0);
    const service = serviceWith(start);
    await service.start();
    assert.equal(service.state(), "running");
    await service.stop();
    assert.equal(calls.stops, 1);
    assert.equal(service.state(), "stopped");
  });
});
