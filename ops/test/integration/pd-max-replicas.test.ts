import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { captureLogLines, getLogger } from "@tidbstack/service-kit";
import { setPdMaxReplicas, type PdMaxReplicasSpec } from "../../src/pd-max-replicas.ts";
import { PdRefusedError } from "../../src/pd-reconcile.ts";
import { WaitTimeoutError } from "../../src/wait.ts";
import { fakePdForEachTest, PD_STEP_OPTIONS, runOps, withAction } from "../support.ts";

const options = PD_STEP_OPTIONS;

/** Store addresses as TiDB Operator's TiKV pods advertise them. */
const store = (i: number) => `tidbstack-tikv-${i}.tidbstack-tikv-peer.tidbstack.svc:20160`;

describe("pd max-replicas against a server answering like PD v8.5's HTTP API", () => {
  const pd = fakePdForEachTest();
  const spec = (wanted: Partial<PdMaxReplicasSpec>): PdMaxReplicasSpec => ({
    pdUrl: pd().url,
    stores: [store(0)],
    maxReplicas: 1,
    ...wanted,
  });

  it("after a scale-out waits until every wanted store is Up, then raises max-replicas and reads it back", async () => {
    pd().withMembers("tidbstack-pd-0").withStores(store(0));
    let upAt = -1;
    pd().after(4, () => {
      pd().stores.push({ id: 7, address: store(1), state: "Up", regionCount: 0, leaderCount: 0 });
      pd().stores.push({ id: 9, address: store(2), state: "Up", regionCount: 0, leaderCount: 0 });
      upAt = pd().requests.length;
    });
    const report = await setPdMaxReplicas(
      spec({ stores: [store(0), store(1), store(2)], maxReplicas: 3 }),
      options,
    );
    assert.deepEqual(report, { replicasFrom: 1, replicasTo: 3 });
    assert.equal(pd().maxReplicas, 3);
    assert.deepEqual(pd().changes(), ["POST /pd/api/v1/config/replicate"]);
    const post = pd().calls().indexOf("POST /pd/api/v1/config/replicate");
    assert.ok(upAt > 0 && post >= upAt, "raised only once the new stores are Up");
    assert.deepEqual(pd().requests[post]?.body, { "max-replicas": 3 });
    assert.equal(pd().calls()[post + 1], "GET /pd/api/v1/config/replicate", "and read back");
  });

  it("before a scale-in lowers max-replicas at once and leaves every store and member alone", async () => {
    pd()
      .withMembers("tidbstack-pd-0", "tidbstack-pd-1")
      .withStores(store(0), store(1), store(2)).maxReplicas = 3;
    const report = await setPdMaxReplicas(spec({ stores: [store(0)], maxReplicas: 1 }), options);
    assert.deepEqual(report, { replicasFrom: 3, replicasTo: 1 });
    assert.deepEqual(pd().changes(), ["POST /pd/api/v1/config/replicate"], "no store or member is removed");
    assert.deepEqual(
      pd().stores.map((s) => [s.address, s.state]),
      [0, 1, 2].map((i) => [store(i), "Up"]),
    );
    assert.equal(pd().members.length, 2);
  });

  it("changes nothing when PD already keeps the wanted number of replicas, and says so", async () => {
    pd().withMembers("tidbstack-pd-0").withStores(store(0), store(1), store(2)).maxReplicas = 3;
    const capture = captureLogLines("info");
    const report = await setPdMaxReplicas(spec({ stores: [store(0), store(1), store(2)], maxReplicas: 3 }), {
      ...options,
      logger: getLogger("t"),
    });
    assert.deepEqual(report, { replicasFrom: 3, replicasTo: 3 });
    assert.deepEqual(pd().changes(), []);
    const done = capture.records().filter((r) => r["action"] === "pd_max_replicas_reconciled");
    assert.deepEqual(
      done.map((r) => [r["replicasFrom"], r["replicasTo"]]),
      [[3, 3]],
    );
    assert.equal(capture.records().filter((r) => r["action"] === "pd_max_replicas_set").length, 0);
  });

  it("rides out a PD that has no leader yet (503), as while the cluster starts", async () => {
    pd().withMembers("tidbstack-pd-0").withStores(store(0));
    pd().outage = { status: 503, body: "[PD:apiutil:ErrRedirectNoLeader]redirect finds no leader" };
    pd().after(3, () => (pd().outage = undefined));
    assert.deepEqual(await setPdMaxReplicas(spec({}), options), { replicasFrom: 1, replicasTo: 1 });
  });

  it("refuses max-replicas above the number of wanted stores before calling PD at all", async () => {
    await assert.rejects(
      setPdMaxReplicas(spec({ stores: [store(0)], maxReplicas: 3 }), options),
      (error: unknown) =>
        error instanceof PdRefusedError &&
        /max-replicas 3 needs at least 3 TiKV stores, but 1 are wanted/.test(error.message),
    );
    assert.deepEqual(pd().requests, []);
  });

  it("times out naming the store that never comes Up, and leaves max-replicas as it was", async () => {
    pd().withMembers("tidbstack-pd-0").withStores(store(0));
    await assert.rejects(
      setPdMaxReplicas(spec({ stores: [store(0), store(1)], maxReplicas: 2 }), {
        ...options,
        timeoutMs: 100,
      }),
      (error: unknown) =>
        error instanceof WaitTimeoutError &&
        error.message.endsWith(`are Up (last seen: ${store(1)} not registered)`),
    );
    assert.deepEqual(pd().changes(), []);
    assert.equal(pd().maxReplicas, 1);
  });
});

describe("node ops/dist/main.js pd max-replicas (the CLI as a child process)", () => {
  const pd = fakePdForEachTest();
  const env = (): Record<string, string> => ({
    PD_URL: pd().url,
    TIKV_STORES: `${store(0)},${store(1)}`,
    PD_MAX_REPLICAS: "2",
    PD_TIMEOUT_SECONDS: "5",
  });

  it("exits 0 with one pd_max_replicas_reconciled line, without needing PD_MEMBERS", async () => {
    pd().withMembers("tidbstack-pd-0").withStores(store(0), store(1));
    const run = await runOps(["pd", "max-replicas"], env());
    assert.equal(run.code, 0, run.stderr);
    const done = withAction(run, "pd_max_replicas_reconciled");
    assert.deepEqual(
      done.map((line) => [line["replicasFrom"], line["replicasTo"]]),
      [[1, 2]],
    );
    assert.deepEqual(pd().changes(), ["POST /pd/api/v1/config/replicate"]);
  });

  it("exits 1 naming PD_MAX_REPLICAS when it exceeds the wanted stores, before calling PD", async () => {
    const run = await runOps(["pd", "max-replicas"], { ...env(), PD_MAX_REPLICAS: "3" });
    assert.equal(run.code, 1);
    const line = JSON.parse(run.stderr.trim()) as Record<string, unknown>;
    assert.equal(line["action"], "config_invalid");
    assert.equal(line["variable"], "PD_MAX_REPLICAS");
    assert.match(String(line["msg"]), /must not exceed the number of TIKV_STORES \(2\)/);
    assert.deepEqual(pd().requests, []);
  });
});
