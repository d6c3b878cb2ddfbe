import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, type Env } from "@tidbstack/service-kit";
import {
  loadChangefeedApplyConfig,
  loadChangefeedDeleteConfig,
  loadPdMaxReplicasConfig,
  loadPdReconcileConfig,
} from "../../src/config.ts";

const APPLY: Env = {
  TICDC_URL: "http://ticdc:8300",
  CHANGEFEED_ID: "appdb-to-kafka",
  CHANGEFEED_SINK_URI: "kafka://kafka:19092/appdb-cdc?protocol=canal-json&partition-num=2",
  CHANGEFEED_FILTER: "appdb.*, !appdb.tmp",
  KAFKA_BROKERS: "kafka:19092",
  KAFKA_TOPIC: "appdb-cdc",
  KAFKA_DLQ_TOPIC: "appdb-cdc.dlq",
  TOPIC_PARTITIONS: "2",
};
const PD: Env = {
  PD_URL: "http://pd:2379",
  PD_MEMBERS: "pd,pd1,pd2",
  TIKV_STORES: "tikv:20160,tikv1:20160,tikv2:20160",
  PD_MAX_REPLICAS: "3",
};

const rejects = (load: () => unknown, variable: string, problem: RegExp) => {
  assert.throws(load, (error: unknown) => {
    assert.ok(error instanceof ConfigError, String(error));
    assert.equal(error.variable, variable);
    assert.ok(error.message.startsWith(variable));
    assert.match(error.message, problem);
    return true;
  });
};

describe("changefeed command configuration", () => {
  it("reads every variable, with a 120 s timeout by default", () => {
    assert.deepEqual(loadChangefeedApplyConfig(APPLY), {
      ticdcUrl: "http://ticdc:8300",
      id: "appdb-to-kafka",
      logLevel: "info",
      sinkUri: "kafka://kafka:19092/appdb-cdc?protocol=canal-json&partition-num=2",
      filterRules: ["appdb.*", "!appdb.tmp"],
      brokers: ["kafka:19092"],
      topic: "appdb-cdc",
      dlqTopic: "appdb-cdc.dlq",
      partitions: 2,
      timeoutMs: 120_000,
    });
    assert.equal(loadChangefeedApplyConfig({ ...APPLY, CHANGEFEED_TIMEOUT_SECONDS: "30" }).timeoutMs, 30_000);
  });

  it("needs only TICDC_URL and CHANGEFEED_ID to delete", () => {
    assert.deepEqual(loadChangefeedDeleteConfig({ TICDC_URL: "http://ticdc:8300", CHANGEFEED_ID: "cf" }), {
      ticdcUrl: "http://ticdc:8300",
      id: "cf",
      logLevel: "info",
    });
  });

  const bad: [Env, string, RegExp][] = [
    [{ TICDC_URL: "ticdc:8300" }, "TICDC_URL", /http\(s\) URL/],
    [{ CHANGEFEED_ID: "bad_id" }, "CHANGEFEED_ID", /dash-separated/],
    [{ CHANGEFEED_SINK_URI: "" }, "CHANGEFEED_SINK_URI", /is required/],
    [{ CHANGEFEED_SINK_URI: "not a uri" }, "CHANGEFEED_SINK_URI", /must be a URI/],
    [
      { CHANGEFEED_SINK_URI: "kafka://kafka:19092/other?partition-num=1" },
      "CHANGEFEED_SINK_URI",
      /KAFKA_TOPIC \(appdb-cdc\)/,
    ],
    [
      { CHANGEFEED_SINK_URI: "kafka://kafka:19092/appdb-cdc?partition-num=3" },
      "CHANGEFEED_SINK_URI",
      /TOPIC_PARTITIONS \(2\)/,
    ],
    [{ CHANGEFEED_FILTER: " , " }, "CHANGEFEED_FILTER", /comma-separated list/],
    [{ KAFKA_BROKERS: "kafka" }, "KAFKA_BROKERS", /host:port/],
    [{ KAFKA_DLQ_TOPIC: "appdb-cdc" }, "KAFKA_DLQ_TOPIC", /must differ/],
    [{ KAFKA_DLQ_TOPIC: "" }, "KAFKA_DLQ_TOPIC", /is required/],
    [{ TOPIC_PARTITIONS: "" }, "TOPIC_PARTITIONS", /is required/],
    [{ TOPIC_PARTITIONS: "65" }, "TOPIC_PARTITIONS", /between 1 and 64/],
    [{ CHANGEFEED_TIMEOUT_SECONDS: "soon" }, "CHANGEFEED_TIMEOUT_SECONDS", /whole number/],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL", /must be one of/],
  ];
  for (const [change, variable, problem] of bad) {
    it(`rejects a bad ${variable} (${JSON.stringify(change[variable])}) with an error naming it`, () => {
      rejects(() => loadChangefeedApplyConfig({ ...APPLY, ...change }), variable, problem);
    });
  }
});

describe("pd reconcile configuration", () => {
  it("reads every variable, with a 1800 s timeout by default", () => {
    assert.deepEqual(
      loadPdReconcileConfig({ ...PD, TIKV_STORES: " tikv:20160 , tikv1:20160,tikv2:20160 " }),
      {
        pdUrl: "http://pd:2379",
        members: ["pd", "pd1", "pd2"],
        stores: ["tikv:20160", "tikv1:20160", "tikv2:20160"],
        maxReplicas: 3,
        timeoutMs: 1_800_000,
        logLevel: "info",
      },
    );
  });

  const bad: [Env, string, RegExp][] = [
    [{ PD_URL: "" }, "PD_URL", /is required/],
    [{ PD_URL: "http://pd:2379/pd/api/v1" }, "PD_URL", /with no path/],
    [{ PD_MEMBERS: "pd,,pd 1" }, "PD_MEMBERS", /PD member names, got "pd 1"/],
    [{ PD_MEMBERS: "pd,pd1,pd" }, "PD_MEMBERS", /lists "pd" twice/],
    [{ TIKV_STORES: "tikv:20160,tikv:20160" }, "TIKV_STORES", /twice/],
    [{ TIKV_STORES: "" }, "TIKV_STORES", /is required/],
    [{ PD_MAX_REPLICAS: "" }, "PD_MAX_REPLICAS", /is required/],
    [{ PD_MAX_REPLICAS: "0" }, "PD_MAX_REPLICAS", /between 1 and 5/],
    [{ PD_MAX_REPLICAS: "6" }, "PD_MAX_REPLICAS", /between 1 and 5/],
    [{ TIKV_STORES: "tikv:20160" }, "PD_MAX_REPLICAS", /must not exceed the number of TIKV_STORES \(1\)/],
    [{ PD_TIMEOUT_SECONDS: "86401" }, "PD_TIMEOUT_SECONDS", /between 1 and 86400/],
  ];
  for (const [change, variable, problem] of bad) {
    it(`rejects ${JSON.stringify(change)} with an error naming ${variable}`, () => {
      rejects(() => loadPdReconcileConfig({ ...PD, ...change }), variable, problem);
    });
  }
});

describe("pd max-replicas configuration", () => {
  const { PD_MEMBERS: _members, ...replicasOnly } = PD;

  it("reads pd reconcile's variables but PD_MEMBERS, which it does not need", () => {
    assert.deepEqual(loadPdMaxReplicasConfig({ ...replicasOnly, PD_TIMEOUT_SECONDS: "600" }), {
      pdUrl: "http://pd:2379",
      stores: ["tikv:20160", "tikv1:20160", "tikv2:20160"],
      maxReplicas: 3,
      timeoutMs: 600_000,
      logLevel: "info",
    });
  });

  const bad: [Env, string, RegExp][] = [
    [{ PD_URL: "pd:2379" }, "PD_URL", /http\(s\) URL/],
    [{ TIKV_STORES: "tikv" }, "TIKV_STORES", /host:port/],
    [{ TIKV_STORES: "tikv:20160" }, "PD_MAX_REPLICAS", /must not exceed the number of TIKV_STORES \(1\)/],
    [{ PD_MAX_REPLICAS: "" }, "PD_MAX_REPLICAS", /is required/],
  ];
  for (const [change, variable, problem] of bad) {
    it(`rejects ${JSON.stringify(change)} with an error naming ${variable}`, () => {
      rejects(() => loadPdMaxReplicasConfig({ ...replicasOnly, ...change }), variable, problem);
    });
  }
});
