import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  API_ENV,
  cdcTopicProblem,
  CHANGEFEED_APPLY_ENV,
  CHANGEFEED_DELETE_ENV,
  CONSUMER_ENV,
  consumerGroupOf,
  dlqTopicOf,
  MIGRATION_ENV,
  PD_MAX_REPLICAS_ENV,
  PD_RECONCILE_ENV,
  PURGE_ENV,
  topicNameProblem,
  type EnvVar,
} from "@tidbstack/service-kit/contracts";
import { EnvReader } from "@tidbstack/service-kit";

const CONTRACTS: Record<string, Record<string, EnvVar>> = {
  API_ENV,
  PURGE_ENV,
  MIGRATION_ENV,
  CONSUMER_ENV,
  CHANGEFEED_APPLY_ENV,
  CHANGEFEED_DELETE_ENV,
  PD_RECONCILE_ENV,
  PD_MAX_REPLICAS_ENV,
};

describe("the topic rules", () => {
  it("accept what Kafka accepts: 1-249 of letters, digits, '.', '_' and '-'", () => {
    for (const name of ["a", "appdb-cdc", "x.dlq", "A_b-9.c", "...", "t".repeat(249)]) {
      assert.equal(topicNameProblem(name), undefined, name);
    }
  });

  it("refuse what Kafka refuses: empty, '.', '..', over 249 characters, other characters", () => {
    for (const name of ["", ".", "..", "t".repeat(250), "a b", "a/b", "é", "a:b"]) {
      assert.match(topicNameProblem(name) ?? "", /^must be a Kafka topic name/, JSON.stringify(name));
    }
  });

  it("derive the dead-letter topic and the consumer group from the topic", () => {
    assert.equal(dlqTopicOf("appdb-cdc"), "appdb-cdc.dlq");
    assert.equal(consumerGroupOf("appdb-cdc"), "appdb-cdc-consumer");
  });

  it("keep a CDC topic short enough for its dead-letter topic to be a topic name too", () => {
    assert.equal(cdcTopicProblem("t".repeat(245)), undefined);
    assert.equal(topicNameProblem(dlqTopicOf("t".repeat(245))), undefined);
    assert.match(cdcTopicProblem("t".repeat(246)) ?? "", /at most 245 characters, got 246/);
  });
});

describe("the environment contracts", () => {
  it("file every variable under its own name", () => {
    for (const [contract, variables] of Object.entries(CONTRACTS)) {
      for (const [key, variable] of Object.entries(variables)) assert.equal(variable.name, key, contract);
    }
  });

  it("give every default a value the variable's own reader accepts", () => {
    for (const [contract, variables] of Object.entries(CONTRACTS)) {
      for (const variable of Object.values(variables)) {
        if (!("default" in variable) || variable.default === undefined) continue;
        const reader = new EnvReader({ [variable.name]: String(variable.default) });
        assert.doesNotThrow(() => reader.read(variable), `${contract}.${variable.name}`);
      }
    }
  });
});
