import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { captureLogLines, getLogger } from "@tidbstack/service-kit";
import { PdRefusedError, reconcilePd, type PdSpec } from "../../src/pd-reconcile.ts";
import { WaitTimeoutError } from "../../src/wait.ts";
import { fakePdForEachTest, PD_STEP_OPTIONS, runOps, withAction } from "../support.ts";

const options = PD_STEP_OPTIONS;

describe("pd reconcile against a server answering like PD v8.5's HTTP API", () => {
  const pd = fakePdForEachTest();
  const spec = (wanted: Partial<PdSpec>): PdSpec => ({
    pdUrl: pd().url,
    members: ["pd"],
    stores: ["tikv:20160"],
    maxReplicas: 1,
    ...wanted,
  });

  it("changes nothing when members, stores and max-replicas already match, and reports that", async () => {
    pd().withMembers("pd", "pd1", "pd2").withStores("tikv:20160", "tikv1:20160", "tikv2:20160").maxReplicas =
      3;
    const capture = captureLogLines("info");
    const report = await reconcilePd(
      spec({
        members: ["pd", "pd1", "pd2"],
        stores: ["tikv:20160", "tikv1:20160", "tikv2:20160"],
        maxReplicas: 3,
      }),
      { ...options, logger: getLogger("t") },
    );
    assert.deepEqual(report, { membersRemoved: [], replicasFrom: 3, replicasTo: 3, storesRemoved: [] });
    assert.deepEqual(pd().changes(), []);
    const done = capture.records().filter((r) => r["action"] === "pd_reconciled");
    assert.equal(done.length, 1);
    assert.deepEqual(done[0]?.["membersRemoved"], []);
    assert.deepEqual(done[0]?.["storesRemoved"], []);
  });

  it("on scale-out waits for the joining PD to be listed and healthy and the new TiKV to be Up, then raises max-replicas", async () => {
    pd().withMembers("pd").withStores("tikv:20160");
    // A new PD joins (etcd lists it, then it answers health checks) and a new TiKV registers, over a few polls.
    const joining = { name: "pd1", healthy: false, listed: false };
    pd().members.push(joining);
    pd().after(3, () => (joining.listed = true));
    pd().after(6, () => (joining.healthy = true));
    let storeSeenUpAt = -1;
    pd().after(9, () => {
      pd().stores.push({ id: 7, address: "tikv1:20160", state: "Up", regionCount: 0, leaderCount: 0 });
      storeSeenUpAt = pd().requests.length;
    });
    const report = await reconcilePd(
      spec({ members: ["pd", "pd1"], stores: ["tikv:20160", "tikv1:20160"], maxReplicas: 2 }),
      options,
    );
    assert.deepEqual(report, { membersRemoved: [], replicasFrom: 1, replicasTo: 2, storesRemoved: [] });
    assert.equal(pd().maxReplicas, 2);
    assert.deepEqual(pd().changes(), ["POST /pd/api/v1/config/replicate"]);
    const post = pd().calls().indexOf("POST /pd/api/v1/config/replicate");
    assert.ok(
      storeSeenUpAt > 0 && post >= storeSeenUpAt,
      "max-replicas is raised only once the new store is Up",
    );
    assert.equal(pd().calls()[post + 1], "GET /pd/api/v1/config/replicate", "and read back");
    assert.deepEqual(pd().requests[post]?.body, { "max-replicas": 2 });
  });

  it("on scale-in of a store lowers max-replicas, deletes the store, waits through Offline to Tombstone, then removes the tombstone", async () => {
    pd().withMembers("pd").withStores("tikv:20160", "tikv1:20160", "tikv2:20160").maxReplicas = 3;
    const leaving = pd().store("tikv2:20160");
    assert.ok(leaving);
    const capture = captureLogLines("info");
    const report = await reconcilePd(spec({ stores: ["tikv:20160", "tikv1:20160"], maxReplicas: 2 }), {
      ...options,
      logger: getLogger("t"),
    });
    assert.deepEqual(report, {
      membersRemoved: [],
      replicasFrom: 3,
      replicasTo: 2,
      storesRemoved: [{ id: leaving.id, address: "tikv2:20160" }],
    });
    assert.deepEqual(pd().changes(), [
      "POST /pd/api/v1/config/replicate",
      `DELETE /pd/api/v1/store/${leaving.id}`,
      "DELETE /pd/api/v1/stores/remove-tombstone",
    ]);
    const polls = pd()
      .calls()
      .filter((call) => call === `GET /pd/api/v1/store/${leaving.id}`);
    assert.equal(polls.length, 3, "12 regions moved away 5 per poll: Offline, Offline, Tombstone");
    assert.equal(pd().store("tikv2:20160"), undefined);
    const progress = capture
      .records()
      .filter((r) => r["action"] === "waiting" && r["storeId"] === leaving.id);
    assert.deepEqual(
      progress.map((r) => [r["state"], r["regionCount"]]),
      [
        ["Offline", 7],
        ["Offline", 2],
      ],
    );
  });

  it("logs a store's progress at most once per progress interval", async () => {
    pd().withMembers("pd").withStores("tikv:20160", "tikv1:20160");
    pd().regionsMovedPerPoll = 1;
    const capture = captureLogLines("info");
    await reconcilePd(spec({}), { ...options, logger: getLogger("t"), progressMs: 60_000 });
    const polls = pd()
      .calls()
      .filter((call) => /^GET \/pd\/api\/v1\/store\/\d+$/.test(call));
    assert.equal(polls.length, 12);
    assert.equal(capture.records().filter((r) => r["action"] === "waiting").length, 1);
  });

  it("resumes an interrupted store removal: a store already Offline is waited for, not refused", async () => {
    pd().withMembers("pd").withStores("tikv:20160", "tikv1:20160");
    const leaving = pd().store("tikv1:20160");
    assert.ok(leaving);
    leaving.state = "Offline";
    const report = await reconcilePd(spec({}), options);
    assert.deepEqual(report.storesRemoved, [{ id: leaving.id, address: "tikv1:20160" }]);
    assert.equal(pd().stores.length, 1);
  });

  it("when PD fails after max-replicas was lowered, puts the previous value back and says so; a rerun completes the scale-in", async () => {
    pd().withMembers("pd").withStores("tikv:20160", "tikv1:20160", "tikv2:20160").maxReplicas = 3;
    const leaving = pd().store("tikv2:20160");
    assert.ok(leaving);
    // PD loses its leader for one call once the step has lowered max-replicas and read it back.
    pd().when("POST /pd/api/v1/config/replicate", () => {
      pd().when("GET /pd/api/v1/config/replicate", () => {
        pd().outage = { status: 503, raw: "[PD:server:ErrNotLeader]not leader" };
        pd().when("GET /pd/api/v1/stores", () => (pd().outage = undefined));
      });
    });
    const wanted = spec({ stores: ["tikv:20160", "tikv1:20160"], maxReplicas: 2 });
    const capture = captureLogLines("info");
    await assert.rejects(reconcilePd(wanted, { ...options, logger: getLogger("t") }), /HTTP 503/);
    assert.equal(pd().maxReplicas, 3, "max-replicas is back where it was");
    assert.equal(pd().store("tikv2:20160")?.state, "Up");
    const restored = capture.records().filter((r) => r["action"] === "pd_max_replicas_restored");
    assert.deepEqual(
      restored.map((r) => [r["level"], r["from"], r["to"]]),
      [["warn", 2, 3]],
    );
    assert.match(
      String(restored[0]?.["msg"]),
      /max-replicas is back at 3; the next run resumes the scale-in/,
    );

    const report = await reconcilePd(wanted, options);
    assert.deepEqual(report.storesRemoved, [{ id: leaving.id, address: "tikv2:20160" }]);
    assert.equal(pd().maxReplicas, 2);
    assert.equal(pd().store("tikv2:20160"), undefined);
  });

  it("when the drain stops halfway, restores max-replicas with the store still Offline, and the rerun waits it out", async () => {
    pd().withMembers("pd").withStores("tikv:20160", "tikv1:20160", "tikv2:20160").maxReplicas = 3;
    pd().regionsMovedPerPoll = 0; // PD stops moving regions: the wait for Tombstone times out
    const wanted = spec({ stores: ["tikv:20160", "tikv1:20160"], maxReplicas: 2 });
    await assert.rejects(reconcilePd(wanted, { ...options, timeoutMs: 200 }), WaitTimeoutError);
    assert.equal(pd().store("tikv2:20160")?.state, "Offline");
    assert.equal(pd().maxReplicas, 3, "the store still holds its regions: all three copies are kept");

    pd().regionsMovedPerPoll = 5;
    const report = await reconcilePd(wanted, options);
    assert.equal(report.storesRemoved.length, 1);
    assert.equal(pd().maxReplicas, 2);
    assert.equal(pd().store("tikv2:20160"), undefined);
  });

  it("refuses to remove a store when fewer wanted stores than max-replicas are Up, before any DELETE", async () => {
    pd().withMembers("pd").withStores("tikv:20160", "tikv1:20160", "tikv2:20160").maxReplicas = 2;
    // tikv1 stops sending heartbeats after the step has seen it Up.
    pd().when("GET /pd/api/v1/config/replicate", () => {
      const store = pd().store("tikv1:20160");
      if (store !== undefined) store.state = "Disconnected";
    });
    await assert.rejects(
      reconcilePd(spec({ stores: ["tikv:20160", "tikv1:20160"], maxReplicas: 2 }), options),
      (error: unknown) =>
        error instanceof PdRefusedError &&
        /refusing to remove TiKV store \d+ \(tikv2:20160\): only 1 wanted store\(s\) are Up, fewer than max-replicas 2/.test(
          error.message,
        ) &&
        /tidbstack:tikvCount/.test(error.message) &&
        /Nothing was changed/.test(error.message),
    );
    assert.deepEqual(pd().changes(), [], "the server saw no DELETE");
    assert.equal(pd().store("tikv2:20160")?.state, "Up");
  });

  it("refuses max-replicas above the number of wanted stores before calling PD at all", async () => {
    await assert.rejects(
      reconcilePd(spec({ stores: ["tikv:20160"], maxReplicas: 3 }), options),
      /max-replicas 3 needs at least 3 TiKV stores, but 1 are wanted/,
    );
    assert.deepEqual(pd().requests, []);
  });

  it("removes PD members that are not wanted, one at a time, each after checking the rest is healthy", async () => {
    pd().withMembers("pd", "pd1", "pd2").withStores("tikv:20160");
    const report = await reconcilePd(spec({ members: ["pd"] }), options);
    assert.deepEqual(report.membersRemoved, ["pd1", "pd2"]);
    assert.deepEqual(
      pd().members.map((m) => m.name),
      ["pd"],
    );
    assert.deepEqual(pd().changes(), [
      "DELETE /pd/api/v1/members/name/pd1",
      "DELETE /pd/api/v1/members/name/pd2",
    ]);
    const calls = pd().calls();
    for (const name of ["pd1", "pd2"]) {
      const removal = calls.indexOf(`DELETE /pd/api/v1/members/name/${name}`);
      assert.equal(
        calls[removal - 1],
        "GET /pd/api/v1/health",
        `health is checked right before removing ${name}`,
      );
      assert.equal(calls[removal + 1], "GET /pd/api/v1/members", `then the list, until ${name} is gone`);
    }
  });

  it("refuses to remove a PD member while a member that stays is unhealthy, naming pdCount, and changes nothing", async () => {
    pd().withMembers("pd", "pd1", "pd2").withStores("tikv:20160");
    // pd1 goes down after the step has waited for every wanted member to be healthy.
    pd().when("GET /pd/api/v1/health", () => {
      const member = pd().members.find((m) => m.name === "pd1");
      if (member !== undefined) member.healthy = false;
    });
    await assert.rejects(
      reconcilePd(spec({ members: ["pd", "pd1"] }), options),
      (error: unknown) =>
        error instanceof PdRefusedError &&
        /refusing to remove PD member pd2: member\(s\) pd1 that would remain are not healthy/.test(
          error.message,
        ) &&
        /quorum/.test(error.message) &&
        /tidbstack:pdCount/.test(error.message) &&
        /Nothing was changed/.test(error.message),
    );
    assert.deepEqual(pd().changes(), []);
    assert.equal(pd().members.length, 3);
  });

  it("refuses to remove the PD member PD_URL points at", async () => {
    pd().withMembers("pd", "pd1").withStores("tikv:20160");
    const target = pd().members[1];
    assert.ok(target);
    target.clientUrl = pd().url;
    await assert.rejects(
      reconcilePd(spec({}), options),
      /refusing to remove PD member pd1: PD_URL .* points at it/,
    );
    assert.deepEqual(pd().changes(), []);
  });

  it("rides out a PD without a leader (503) while waiting", async () => {
    pd().withMembers("pd").withStores("tikv:20160");
    pd().outage = { status: 503, body: "[PD:apiutil:ErrRedirectNoLeader]redirect finds no leader" };
    pd().after(3, () => (pd().outage = undefined));
    const report = await reconcilePd(spec({}), options);
    assert.deepEqual(report.membersRemoved, []);
  });

  it("times out with what it waited for and what it last saw when a store never comes Up", async () => {
    pd().withMembers("pd").withStores("tikv:20160");
    await assert.rejects(
      reconcilePd(spec({ stores: ["tikv:20160", "tikv3:20160"] }), { ...options, timeoutMs: 100 }),
      (error: unknown) =>
        error instanceof WaitTimeoutError &&
        error.message ===
          "timed out after 100 ms waiting until TiKV stores tikv:20160, tikv3:20160 are Up (last seen: tikv3:20160 not registered)",
    );
  });

  it("times out naming the PD member that never joins", async () => {
    pd().withMembers("pd").withStores("tikv:20160");
    await assert.rejects(
      reconcilePd(spec({ members: ["pd", "pd1"] }), { ...options, timeoutMs: 100 }),
      /timed out after 100 ms waiting until PD members pd, pd1 are listed and healthy \(last seen: not joined: pd1\)/,
    );
  });

  it("fails with PD's own answer when it refuses a call", async () => {
    pd().withMembers("pd").withStores("tikv:20160", "tikv1:20160");
    pd().when("GET /pd/api/v1/config/replicate", () => {
      // Another client raised max-replicas meanwhile: PD itself refuses to take a store offline.
      pd().maxReplicas = 2;
    });
    await assert.rejects(
      reconcilePd(spec({}), options),
      /PD refused DELETE \/pd\/api\/v1\/store\/\d+ \(HTTP 400\): \[PD:core:ErrStoresNotEnough\]can not remove store/,
    );
  });
});

describe("node ops/dist/main.js pd reconcile (the CLI as a child process)", () => {
  const pd = fakePdForEachTest();
  const env = (): Record<string, string> => ({
    PD_URL: pd().url,
    PD_MEMBERS: "pd,pd1,pd2",
    TIKV_STORES: "tikv:20160, tikv1:20160",
    PD_MAX_REPLICAS: "2",
    PD_TIMEOUT_SECONDS: "5",
  });

  it("exits 0 with one pd_reconciled line saying what it did", async () => {
    pd().withMembers("pd", "pd1", "pd2").withStores("tikv:20160", "tikv1:20160");
    const run = await runOps(["pd", "reconcile"], env());
    assert.equal(run.code, 0, run.stderr);
    const done = withAction(run, "pd_reconciled");
    assert.equal(done.length, 1);
    assert.deepEqual(
      [
        done[0]?.["membersRemoved"],
        done[0]?.["replicasFrom"],
        done[0]?.["replicasTo"],
        done[0]?.["storesRemoved"],
      ],
      [[], 1, 2, []],
    );
    assert.deepEqual(pd().changes(), ["POST /pd/api/v1/config/replicate"]);
  });

  it("exits 1 with one ops_failed line giving the refusal", async () => {
    pd().withMembers("pd", "pd1", "pd2").withStores("tikv:20160", "tikv1:20160");
    pd().when("GET /pd/api/v1/health", () => {
      const member = pd().members.find((m) => m.name === "pd1");
      if (member !== undefined) member.healthy = false;
    });
    const run = await runOps(["pd", "reconcile"], { ...env(), PD_MEMBERS: "pd,pd1" });
    assert.equal(run.code, 1);
    const errors = run.lines.filter((l) => l["level"] === "error");
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.["action"], "ops_failed");
    assert.equal(errors[0]?.["command"], "pd reconcile");
    assert.equal(errors[0]?.["kind"], "PdRefusedError");
    assert.match(String(errors[0]?.["msg"]), /refusing to remove PD member pd2/);
    assert.deepEqual(pd().changes(), []);
  });

  const bad: [Record<string, string>, string, RegExp][] = [
    [{ PD_MAX_REPLICAS: "3" }, "PD_MAX_REPLICAS", /must not exceed the number of TIKV_STORES \(2\)/],
    [{ PD_MAX_REPLICAS: "" }, "PD_MAX_REPLICAS", /is required/],
    [{ PD_MEMBERS: "pd,pd" }, "PD_MEMBERS", /lists "pd" twice/],
    [{ TIKV_STORES: "tikv" }, "TIKV_STORES", /host:port/],
    [{ PD_URL: "pd:2379" }, "PD_URL", /http\(s\) URL/],
    [{ PD_TIMEOUT_SECONDS: "0" }, "PD_TIMEOUT_SECONDS", /between 1 and 86400/],
  ];
  for (const [change, variable, problem] of bad) {
    it(`exits 1 naming ${variable} when it is bad, before calling PD`, async () => {
      const run = await runOps(["pd", "reconcile"], { ...env(), ...change });
      assert.equal(run.code, 1);
      const line = JSON.parse(run.stderr.trim()) as Record<string, unknown>;
      assert.equal(line["action"], "config_invalid");
      assert.equal(line["variable"], variable);
      assert.match(String(line["msg"]), problem);
      assert.deepEqual(pd().requests, []);
    });
  }
});
