import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { captureLogLines, getLogger } from "@tidbstack/service-kit";
import kafkajs from "kafkajs";
import { kafkaBrokers, uniqueName } from "@tidbstack/testenv";
import { applyChangefeed, ChangefeedError, deleteChangefeed } from "../../src/changefeed.ts";
import { TicdcError } from "../../src/ticdc.ts";
import { DLQ_MAX_MESSAGE_BYTES, ensureTopics } from "../../src/topics.ts";
import { FakeTicdc } from "../fakes/ticdc.ts";
import { quietKafka, runOps, withAction } from "../support.ts";

const logger = getLogger("changefeed");
const ID = "appdb-to-kafka";
const SINK =
  "kafka://kafka:19092/appdb-cdc?protocol=canal-json&enable-tidb-extension=true&partition-num=1&replication-factor=1&max-message-bytes=1048576";
const NEW_SINK = SINK.replace("max-message-bytes=1048576", "max-message-bytes=524288");
const options = { logger, pollMs: 5, timeoutMs: 2000 };

describe("changefeed apply against a server answering like TiCDC v8.5's OpenAPI v2", () => {
  const ticdc = new FakeTicdc();
  before(() => ticdc.listen());
  after(() => ticdc.close());
  const spec = (changes: { sinkUri?: string; filterRules?: string[] } = {}) => ({
    ticdcUrl: ticdc.url,
    id: ID,
    sinkUri: changes.sinkUri ?? SINK,
    filterRules: changes.filterRules ?? ["appdb.*"],
  });
  /** A normal changefeed on SINK with appdb.* and one non-default setting, and a fresh request log. */
  const existing = (state = "normal") => {
    ticdc.feeds.set(ID, {
      state,
      sink_uri: SINK,
      config: { memory_quota: 2147483648, case_sensitive: true, filter: { rules: ["appdb.*"] } },
      checkpoint_ts: 462712345940000001n,
      error:
        state === "normal"
          ? null
          : { code: "CDC:ErrKafkaNewProducer", message: "kafka: client has run out of available brokers" },
    });
    ticdc.requests.length = 0;
    return ticdc.feed(ID);
  };
  beforeEach(() => {
    ticdc.feeds.clear();
    ticdc.requests.length = 0;
    ticdc.refuseUpdate = undefined;
  });

  it("creates a missing changefeed with the sink and filter, then waits until it is normal", async () => {
    assert.equal(await applyChangefeed(spec(), options), "created");
    const feed = ticdc.feed(ID);
    assert.equal(feed.state, "normal");
    assert.equal(feed.sink_uri, SINK);
    assert.deepEqual((feed.config["filter"] as { rules: string[] }).rules, ["appdb.*"]);
    assert.deepEqual(ticdc.changes(), ["POST /api/v2/changefeeds"]);
  });

  it("leaves a matching normal changefeed alone: no call but reads", async () => {
    existing();
    assert.equal(await applyChangefeed(spec(), options), "unchanged");
    assert.deepEqual(ticdc.changes(), []);
  });

  it("does not count a reordered sink query or reordered filter rules as a change", async () => {
    existing().config = { filter: { rules: ["appdb.*", "!appdb.tmp"] } };
    const [base, query] = SINK.split("?") as [string, string];
    const reordered = `${base}?${query.split("&").reverse().join("&")}`;
    assert.notEqual(reordered, SINK);
    assert.equal(
      await applyChangefeed(spec({ sinkUri: reordered, filterRules: ["!appdb.tmp", "appdb.*"] }), options),
      "unchanged",
    );
    assert.deepEqual(ticdc.changes(), []);
  });

  it("does not count the sasl-password TiCDC masks (and the query it re-sorts) as a change", async () => {
    const secretSink = `${SINK}&sasl-user=cdc&sasl-password=s3cret`;
    existing().sink_uri = secretSink;
    assert.equal(await applyChangefeed(spec({ sinkUri: secretSink }), options), "unchanged");
    assert.deepEqual(ticdc.changes(), []);
  });

  it("never logs a sink password: the update line shows it masked", async () => {
    existing();
    const capture = captureLogLines("debug");
    const secretSink = `${SINK}&sasl-user=cdc&sasl-password=s3cret`;
    assert.equal(
      await applyChangefeed(spec({ sinkUri: secretSink }), { ...options, logger: getLogger("t") }),
      "updated",
    );
    assert.equal(ticdc.feed(ID).sink_uri, secretSink, "TiCDC gets the real password");
    assert.ok(!capture.lines.join("\n").includes("s3cret"));
    const updated = capture.records().find((r) => r["action"] === "changefeed_updated");
    assert.match((updated?.["to"] as { sinkUri: string }).sinkUri, /sasl-password=xxxxx/);
  });

  it("updates a changed sink in place: pause, wait until stopped, PUT, resume, with the checkpoint kept", async () => {
    const feed = existing();
    const capture = captureLogLines("info");
    assert.equal(
      await applyChangefeed(spec({ sinkUri: NEW_SINK }), { ...options, logger: getLogger("t") }),
      "updated",
    );
    assert.deepEqual(ticdc.changes(), [
      `POST /api/v2/changefeeds/${ID}/pause`,
      `PUT /api/v2/changefeeds/${ID}`,
      `POST /api/v2/changefeeds/${ID}/resume`,
    ]);
    const calls = ticdc.calls();
    const pause = calls.indexOf(`POST /api/v2/changefeeds/${ID}/pause`);
    const put = calls.indexOf(`PUT /api/v2/changefeeds/${ID}`);
    assert.ok(put - pause > 1, "the PUT waits for a GET that shows the changefeed stopped");
    assert.equal(feed.sink_uri, NEW_SINK);
    assert.equal(feed.state, "normal");
    assert.equal(feed.checkpoint_ts, 462712345940000001n, "the checkpoint is kept");
    const resume = ticdc.requests.find((r) => r.path.endsWith("/resume"));
    assert.deepEqual(resume?.body, {}, "resume does not overwrite the checkpoint");
    assert.equal(feed.config["memory_quota"], 2147483648, "settings other than the filter are kept");
    assert.equal(feed.config["case_sensitive"], true);
    const updated = capture.records().find((r) => r["action"] === "changefeed_updated");
    assert.deepEqual(updated?.["from"], { sinkUri: SINK, filter: ["appdb.*"] });
    assert.deepEqual(updated?.["to"], { sinkUri: NEW_SINK, filter: ["appdb.*"] });
    assert.equal(
      capture.records().find((r) => r["action"] === "changefeed_ready")?.["checkpointTs"],
      "462712345940000001",
    );
  });

  it("updates changed filter rules in place and keeps the sink", async () => {
    const feed = existing();
    assert.equal(await applyChangefeed(spec({ filterRules: ["appdb.*", "audit.*"] }), options), "updated");
    assert.deepEqual((feed.config["filter"] as { rules: string[] }).rules, ["appdb.*", "audit.*"]);
    assert.equal(feed.sink_uri, SINK);
    const put = ticdc.requests.find((r) => r.method === "PUT");
    assert.equal((put?.body as { sink_uri: string }).sink_uri, SINK);
  });

  it("updates a stopped changefeed without pausing it first", async () => {
    existing("stopped");
    assert.equal(await applyChangefeed(spec({ sinkUri: NEW_SINK }), options), "updated");
    assert.deepEqual(ticdc.changes(), [
      `PUT /api/v2/changefeeds/${ID}`,
      `POST /api/v2/changefeeds/${ID}/resume`,
    ]);
  });

  it("resumes the changefeed with its previous sink and fails with TiCDC's reason when the update is refused", async () => {
    const feed = existing();
    ticdc.refuseUpdate = {
      status: 400,
      body: { error_code: "CDC:ErrChangefeedUpdateRefused", error_msg: "sink uri invalid" },
    };
    await assert.rejects(
      applyChangefeed(spec({ sinkUri: NEW_SINK }), options),
      (error: unknown) =>
        error instanceof TicdcError &&
        /HTTP 400\): CDC:ErrChangefeedUpdateRefused sink uri invalid/.test(error.message),
    );
    assert.equal(ticdc.changes().at(-1), `POST /api/v2/changefeeds/${ID}/resume`);
    assert.equal(feed.sink_uri, SINK);
  });

  for (const state of ["stopped", "failed"]) {
    it(`resumes a changefeed that is ${state} and waits until it is normal`, async () => {
      const feed = existing(state);
      assert.equal(await applyChangefeed(spec(), options), "resumed");
      assert.equal(feed.state, "normal");
      assert.deepEqual(ticdc.changes(), [`POST /api/v2/changefeeds/${ID}/resume`]);
    });
  }

  it("waits for a changefeed in warning to recover by itself, without resuming it", async () => {
    existing("warning");
    ticdc.becomes(ID, "normal", 3);
    assert.equal(await applyChangefeed(spec(), options), "unchanged");
    assert.deepEqual(ticdc.changes(), []);
  });

  it("refuses a finished changefeed, saying what to do, and changes nothing", async () => {
    existing("finished");
    await assert.rejects(
      applyChangefeed(spec({ sinkUri: NEW_SINK }), options),
      (error: unknown) =>
        error instanceof ChangefeedError &&
        /is finished/.test(error.message) &&
        /changefeed delete/.test(error.message),
    );
    assert.deepEqual(ticdc.changes(), []);
  });

  it("refuses a changefeed that is being removed", async () => {
    existing("removed");
    await assert.rejects(applyChangefeed(spec(), options), /is being removed; wait until/);
    assert.deepEqual(ticdc.changes(), []);
  });

  it("treats 'already exists' (HTTP 500 on v8.5) as another run winning the race: decided on error_code", async () => {
    existing();
    // The first GET says missing, as if another run created the changefeed just after it.
    let firstGet = true;
    const racing: typeof fetch = async (input, init) => {
      if (firstGet && init?.method === "GET") {
        firstGet = false;
        return Response.json(
          { error_code: "CDC:ErrChangeFeedNotExists", error_msg: "not exists" },
          { status: 400 },
        );
      }
      return fetch(input, init);
    };
    assert.equal(await applyChangefeed(spec(), { ...options, fetch: racing }), "unchanged");
    assert.deepEqual(ticdc.changes(), ["POST /api/v2/changefeeds"]);
  });

  it("fails with TiCDC's error code and message when it refuses to create the changefeed", async () => {
    await assert.rejects(
      applyChangefeed(spec({ sinkUri: "kafka://kafka:19092/appdb-cdc?protocol=nonsense" }), {
        ...options,
        fetch: async (input, init) =>
          init?.method === "POST"
            ? Response.json(
                { error_code: "CDC:ErrSinkURIInvalid", error_msg: "sink uri invalid" },
                { status: 400 },
              )
            : fetch(input, init),
      }),
      (error: unknown) =>
        error instanceof TicdcError &&
        error.code === "CDC:ErrSinkURIInvalid" &&
        /HTTP 400/.test(error.message) &&
        /CDC:ErrSinkURIInvalid sink uri invalid/.test(error.message),
    );
  });

  it("fails at once with the changefeed's own error when TiCDC marks it failed while waiting", async () => {
    existing("warning");
    ticdc.becomes(ID, "failed", 2);
    await assert.rejects(
      applyChangefeed(spec(), { ...options, timeoutMs: 60_000 }),
      /changefeed appdb-to-kafka is failed: kafka: client has run out of available brokers/,
    );
  });

  it("times out with the last state seen when the changefeed never becomes normal", async () => {
    existing("warning");
    await assert.rejects(
      applyChangefeed(spec(), { ...options, timeoutMs: 100 }),
      /timed out after 100 ms waiting until changefeed appdb-to-kafka is normal \(last seen: state warning: kafka: client has run out of available brokers\)/,
    );
  });

  it("deletes the changefeed, and deleting a missing one succeeds", async () => {
    existing();
    await deleteChangefeed(ticdc.url, ID, options);
    assert.equal(ticdc.feeds.has(ID), false);
    await deleteChangefeed(ticdc.url, ID, options);
    assert.deepEqual(ticdc.changes(), [
      `DELETE /api/v2/changefeeds/${ID}`,
      `DELETE /api/v2/changefeeds/${ID}`,
    ]);
  });

  it("says which call got no answer when TiCDC is unreachable", async () => {
    const gone = new FakeTicdc();
    await gone.listen();
    const url = gone.url;
    await gone.close();
    await assert.rejects(
      deleteChangefeed(url, ID, options),
      new RegExp(`DELETE ${url}/api/v2/changefeeds/${ID} got no answer: ECONNREFUSED`),
    );
  });
});

describe("the changefeed step's topic creation against a real broker", () => {
  it("creates the topic with the configured partitions and the DLQ with room for a dead letter of a full-size message, and is idempotent", async () => {
    const kafka = quietKafka(kafkaBrokers());
    const admin = kafka.admin();
    await admin.connect();
    const topic = uniqueName("cdc");
    const specs = [
      { topic, partitions: 3 },
      { topic: `${topic}.dlq`, partitions: 1, maxMessageBytes: DLQ_MAX_MESSAGE_BYTES },
    ];
    try {
      await ensureTopics(admin, specs, logger);
      await ensureTopics(admin, specs, logger);
      const metadata = await admin.fetchTopicMetadata({ topics: [topic, `${topic}.dlq`] });
      assert.deepEqual(
        metadata.topics.map((t) => [t.name, t.partitions.length]).sort(),
        [
          [topic, 3],
          [`${topic}.dlq`, 1],
        ].sort(),
      );
      const configs = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [
          {
            type: kafkajs.ConfigResourceTypes.TOPIC,
            name: `${topic}.dlq`,
            configNames: ["max.message.bytes"],
          },
        ],
      });
      assert.equal(configs.resources[0]?.configEntries[0]?.configValue, String(2 * 1024 * 1024));
      await ensureTopics(admin, [{ topic, partitions: 4 }], logger);
      const grown = await admin.fetchTopicMetadata({ topics: [topic] });
      assert.equal(
        grown.topics[0]?.partitions.length,
        4,
        "a topic with too few partitions is grown, never shrunk",
      );
    } finally {
      await admin.disconnect();
    }
  });
});

describe("node ops/dist/main.js changefeed apply|delete (the CLI as a child process)", () => {
  const ticdc = new FakeTicdc();
  before(() => ticdc.listen());
  after(() => ticdc.close());
  const env = (topic: string, sinkChange = (uri: string) => uri): Record<string, string> => ({
    TICDC_URL: ticdc.url,
    CHANGEFEED_ID: ID,
    CHANGEFEED_SINK_URI: sinkChange(`kafka://kafka:19092/${topic}?protocol=canal-json&partition-num=2`),
    CHANGEFEED_FILTER: "appdb.*",
    KAFKA_BROKERS: kafkaBrokers().join(","),
    KAFKA_TOPIC: topic,
    KAFKA_DLQ_TOPIC: `${topic}.dlq`,
    TOPIC_PARTITIONS: "2",
    CHANGEFEED_TIMEOUT_SECONDS: "20",
  });

  it("creates the topics and the changefeed, then finds nothing to do, then updates a changed sink; exit 0", async () => {
    const topic = uniqueName("cdc");
    const first = await runOps(["changefeed", "apply"], env(topic));
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(withAction(first, "topics_created")[0]?.["topics"], [topic, `${topic}.dlq`]);
    assert.equal(withAction(first, "changefeed_ready")[0]?.["outcome"], "created");
    assert.equal(first.lines.filter((l) => l["level"] === "error").length, 0);

    const kafka = quietKafka(kafkaBrokers());
    const admin = kafka.admin();
    await admin.connect();
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      assert.equal(metadata.topics[0]?.partitions.length, 2);
    } finally {
      await admin.disconnect();
    }

    const second = await runOps(["changefeed", "apply"], env(topic));
    assert.equal(second.code, 0, second.stderr);
    assert.equal(withAction(second, "changefeed_ready")[0]?.["outcome"], "unchanged");
    assert.deepEqual(withAction(second, "topics_created"), []);

    const third = await runOps(
      ["changefeed", "apply"],
      env(topic, (uri) => `${uri}&max-message-bytes=524288`),
    );
    assert.equal(third.code, 0, third.stderr);
    const updated = withAction(third, "changefeed_updated")[0];
    assert.match((updated?.["to"] as { sinkUri: string }).sinkUri, /max-message-bytes=524288/);
    assert.equal(withAction(third, "changefeed_ready")[0]?.["outcome"], "updated");
  });

  it("exits 1 with one ops_failed line saying what to do when the changefeed is finished", async () => {
    const topic = uniqueName("cdc");
    ticdc.feeds.set(ID, {
      state: "finished",
      sink_uri: "kafka://kafka:19092/x",
      config: {},
      checkpoint_ts: 1n,
      error: null,
    });
    const run = await runOps(["changefeed", "apply"], env(topic));
    assert.equal(run.code, 1);
    const errors = run.lines.filter((l) => l["level"] === "error");
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.["action"], "ops_failed");
    assert.equal(errors[0]?.["command"], "changefeed apply");
    assert.match(String(errors[0]?.["msg"]), /is finished .* changefeed delete/);
  });

  it("deletes the changefeed and exits 0, also when it is already gone", async () => {
    for (let i = 0; i < 2; i++) {
      const run = await runOps(["changefeed", "delete"], { TICDC_URL: ticdc.url, CHANGEFEED_ID: ID });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(withAction(run, "changefeed_deleted").length, 1);
    }
    assert.equal(ticdc.feeds.has(ID), false);
  });

  it("exits 1 naming the bad variable before touching anything", async () => {
    const topic = uniqueName("cdc");
    ticdc.requests.length = 0;
    const run = await runOps(["changefeed", "apply"], { ...env(topic), TOPIC_PARTITIONS: "1" });
    assert.equal(run.code, 1);
    const line = JSON.parse(run.stderr.trim()) as Record<string, unknown>;
    assert.equal(line["action"], "config_invalid");
    assert.equal(line["variable"], "CHANGEFEED_SINK_URI");
    assert.match(String(line["msg"]), /partition-num must be .* no larger than TOPIC_PARTITIONS \(1\)/);
    assert.deepEqual(ticdc.requests, []);
  });

  it("exits 1 with one ops_failed line for an unknown command", async () => {
    const run = await runOps(["changefeed", "create"], {});
    assert.equal(run.code, 1);
    assert.equal(run.lines.length, 1);
    assert.equal(run.lines[0]?.["action"], "ops_failed");
    assert.match(
      String(run.lines[0]?.["msg"]),
      /unknown command "changefeed create": use one of changefeed apply, changefeed delete, pd reconcile/,
    );
  });
});
