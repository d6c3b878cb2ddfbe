import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { getLogger } from "@tidbstack/service-kit";
import { kafkaBrokers, uniqueName } from "@tidbstack/testenv";
import { ChangefeedError, deleteChangefeed, ensureChangefeed, ensureTopics } from "../../src/changefeed.ts";
import { quietKafka } from "../support.ts";

const logger = getLogger("changefeed");
const SINK = "kafka://kafka:19092/appdb-cdc?protocol=canal-json&enable-tidb-extension=true&partition-num=1";

/** Answers like TiCDC v8.5's OpenAPI v2, including its quirks (500 for an existing id, 400 for a missing one). */
class FakeTicdc {
  feeds = new Map<
    string,
    { state: string; sink_uri: string; rules: string[]; error: { message: string } | null }
  >();
  requests: string[] = [];
  /** GETs left before a created or resumed changefeed reports `normal` (TiCDC starts it asynchronously). */
  warmup = 2;
  private pendingPolls = 0;
  server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (chunk: Buffer) => (raw += chunk.toString()));
    req.on("end", () => {
      this.requests.push(`${req.method} ${req.url}`);
      const send = (status: number, body?: unknown) =>
        res
          .writeHead(status, { "content-type": "application/json" })
          .end(body === undefined ? "" : JSON.stringify(body));
      const missing = () =>
        send(400, { error_code: "CDC:ErrChangeFeedNotExists", error_msg: "changefeed not exists" });
      const match = /^\/api\/v2\/changefeeds(?:\/([^/]+))?(?:\/(resume|pause))?$/.exec(req.url ?? "");
      if (match === null) return send(404, { error_code: "CDC:ErrUnknown", error_msg: "no route" });
      const [, id, verb] = match;
      if (req.method === "POST" && id === undefined) {
        const body = JSON.parse(raw) as {
          changefeed_id: string;
          sink_uri: string;
          replica_config: { filter: { rules: string[] } };
        };
        if (this.feeds.has(body.changefeed_id))
          return send(500, {
            error_code: "CDC:ErrChangeFeedAlreadyExists",
            error_msg: "changefeed already exists",
          });
        this.feeds.set(body.changefeed_id, {
          state: "warming",
          sink_uri: body.sink_uri,
          rules: body.replica_config.filter.rules,
          error: null,
        });
        this.pendingPolls = this.warmup;
        return send(200, { id: body.changefeed_id, state: "normal" });
      }
      const feed = id === undefined ? undefined : this.feeds.get(decodeURIComponent(id));
      if (req.method === "DELETE" && id !== undefined) {
        this.feeds.delete(decodeURIComponent(id));
        return send(200, {});
      }
      if (feed === undefined) return missing();
      if (req.method === "POST" && verb === "resume") {
        feed.state = "warming";
        feed.error = null;
        this.pendingPolls = this.warmup;
        return send(200, {});
      }
      if (req.method === "GET") {
        if (feed.state === "warming" && this.pendingPolls-- <= 0) feed.state = "normal";
        return send(200, {
          id,
          state: feed.state === "warming" ? "stopped" : feed.state,
          sink_uri: feed.sink_uri,
          error: feed.error,
        });
      }
      return send(405, { error_code: "CDC:ErrUnknown", error_msg: "method" });
    });
  });
  url = "";
  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
}

describe("the changefeed step against TiCDC's OpenAPI v2 (contract)", () => {
  const ticdc = new FakeTicdc();
  before(() => ticdc.listen());
  after(
    () =>
      new Promise<void>((resolve) =>
        ticdc.server.close(() => {
          resolve();
        }),
      ),
  );
  const spec = () => ({ ticdcUrl: ticdc.url, id: "appdb-to-kafka", sinkUri: SINK, filterRules: ["appdb.*"] });
  const options = { logger, pollMs: 10, timeoutMs: 2000 };

  it("creates a missing changefeed with the sink and filter, then waits until it is normal", async () => {
    assert.equal(await ensureChangefeed(spec(), options), "created");
    const feed = ticdc.feeds.get("appdb-to-kafka");
    assert.equal(feed?.state, "normal");
    assert.equal(feed?.sink_uri, SINK);
    assert.deepEqual(feed?.rules, ["appdb.*"]);
  });

  it("leaves a normal changefeed alone", async () => {
    ticdc.requests = [];
    assert.equal(await ensureChangefeed(spec(), options), "unchanged");
    assert.deepEqual(ticdc.requests, [
      "GET /api/v2/changefeeds/appdb-to-kafka",
      "GET /api/v2/changefeeds/appdb-to-kafka",
    ]);
  });

  for (const state of ["stopped", "error", "failed"]) {
    it(`resumes a changefeed that is ${state}`, async () => {
      const feed = ticdc.feeds.get("appdb-to-kafka");
      assert.ok(feed);
      feed.state = state;
      assert.equal(await ensureChangefeed(spec(), options), "resumed");
      assert.equal(feed.state, "normal");
    });
  }

  it("treats 'already exists' on create as success when another run won the race (decided on error_code, not status)", async () => {
    const racing = new FakeTicdc();
    await racing.listen();
    try {
      // The GET says missing, but by the time of the POST another run has created it.
      const original = racing.server.listeners("request")[0] as (...args: unknown[]) => void;
      let firstGet = true;
      racing.server.removeAllListeners("request");
      racing.server.on("request", (req: { method?: string }, res: unknown) => {
        if (req.method === "GET" && firstGet) {
          firstGet = false;
          racing.feeds.set("appdb-to-kafka", {
            state: "normal",
            sink_uri: SINK,
            rules: ["appdb.*"],
            error: null,
          });
          const response = res as { writeHead: (s: number, h: object) => { end: (b: string) => void } };
          response
            .writeHead(400, { "content-type": "application/json" })
            .end(JSON.stringify({ error_code: "CDC:ErrChangeFeedNotExists", error_msg: "x" }));
          return;
        }
        original(req, res);
      });
      assert.equal(await ensureChangefeed({ ...spec(), ticdcUrl: racing.url }, options), "unchanged");
    } finally {
      racing.server.close();
    }
  });

  it("fails with TiCDC's error code and message when it refuses the changefeed", async () => {
    const refusing = createServer((req, res) => {
      if (req.method === "GET")
        res
          .writeHead(400, { "content-type": "application/json" })
          .end(JSON.stringify({ error_code: "CDC:ErrChangeFeedNotExists" }));
      else
        res
          .writeHead(400, { "content-type": "application/json" })
          .end(JSON.stringify({ error_code: "CDC:ErrSinkURIInvalid", error_msg: "sink uri invalid" }));
    });
    await new Promise<void>((resolve) => refusing.listen(0, "127.0.0.1", resolve));
    try {
      await assert.rejects(
        ensureChangefeed(
          { ...spec(), ticdcUrl: `http://127.0.0.1:${(refusing.address() as AddressInfo).port}` },
          options,
        ),
        (error: unknown) =>
          error instanceof ChangefeedError &&
          /HTTP 400/.test(error.message) &&
          /CDC:ErrSinkURIInvalid sink uri invalid/.test(error.message),
      );
    } finally {
      refusing.close();
    }
  });

  it("fails with the changefeed's own error when it never becomes normal", async () => {
    const feed = ticdc.feeds.get("appdb-to-kafka");
    assert.ok(feed);
    ticdc.warmup = 1_000_000;
    feed.state = "stopped";
    try {
      await assert.rejects(
        ensureChangefeed(spec(), { ...options, timeoutMs: 200 }),
        /was not normal after 200 ms \(state stopped\)/,
      );
    } finally {
      ticdc.warmup = 2;
    }
  });

  it("refuses to resume a finished changefeed", async () => {
    const feed = ticdc.feeds.get("appdb-to-kafka");
    assert.ok(feed);
    feed.state = "finished";
    await assert.rejects(ensureChangefeed(spec(), options), /finished and cannot be resumed/);
  });

  it("deletes the changefeed, and deleting a missing one succeeds", async () => {
    await deleteChangefeed(ticdc.url, "appdb-to-kafka", options);
    assert.equal(ticdc.feeds.has("appdb-to-kafka"), false);
    await deleteChangefeed(ticdc.url, "appdb-to-kafka", options);
  });
});

describe("the changefeed step's topic creation against a real broker", () => {
  it("creates the topic with the configured partitions and the DLQ, and is idempotent", async () => {
    const kafka = quietKafka(kafkaBrokers());
    const admin = kafka.admin();
    await admin.connect();
    const topic = uniqueName("cdc");
    try {
      await ensureTopics(
        admin,
        [
          { topic, partitions: 3 },
          { topic: `${topic}.dlq`, partitions: 1 },
        ],
        logger,
      );
      await ensureTopics(
        admin,
        [
          { topic, partitions: 3 },
          { topic: `${topic}.dlq`, partitions: 1 },
        ],
        logger,
      );
      const metadata = await admin.fetchTopicMetadata({ topics: [topic, `${topic}.dlq`] });
      assert.deepEqual(
        metadata.topics.map((t) => [t.name, t.partitions.length]).sort(),
        [
          [topic, 3],
          [`${topic}.dlq`, 1],
        ].sort(),
      );
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
