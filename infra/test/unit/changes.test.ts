/**
 * What a second `pulumi up` does: the program is run twice under mocks, with the config (or a built image)
 * changed between the runs, and the second run's goal is compared with the first run's the way the engine
 * compares it with the state (harness.plan): by URN, following aliases, with ignoreChanges applied, and
 * classifying each changed input as an update or a replacement by what the provider replaces on.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { plan, runProgram, type Change, type ProgramRun, type RunOptions } from "../harness.ts";

const CONTAINER = "docker:index/container:Container";
const COMMAND = "command:local:Command";
const VOLUME = "docker:index/volume:Volume";

const container = (name: string) => `${CONTAINER}::tidbstack-${name}`;
const volume = (name: string) => `${VOLUME}::tidbstack-${name}-data`;
const step = (name: string) => `${COMMAND}::tidbstack-${name}`;

interface Transition {
  readonly before: Record<string, string>;
  readonly after: Record<string, string>;
  readonly beforeOptions?: RunOptions;
  readonly afterOptions?: RunOptions;
}

/** Every resource whose change is not "same", as `type::name` → change. */
async function changesOf(transition: Transition): Promise<Record<string, Change>> {
  const first = await runProgram(transition.before, transition.beforeOptions);
  const second = await runProgram(transition.after, transition.afterOptions);
  return Object.fromEntries([...plan(first, second)].filter(([, change]) => change !== "same"));
}

/** No volume is replaced, and none is deleted but those of the nodes the change removes. */
function assertVolumesKept(changes: Record<string, Change>, removedNodes: string[] = []): void {
  for (const [key, change] of Object.entries(changes)) {
    if (!key.startsWith(`${VOLUME}::`)) continue;
    if (change === "create") continue;
    assert.equal(change, "delete", `${key} would be ${change}d`);
    assert.ok(
      removedNodes.some((node) => key === volume(node)),
      `${key} would be deleted, though its node stays`,
    );
  }
}

describe("a second `pulumi up` with nothing changed", () => {
  it("changes nothing", async () => {
    assert.deepEqual(await changesOf({ before: {}, after: {} }), {});
  });
});

describe("a second `pulumi up` after pdCount 1 → 3", () => {
  let changes: Record<string, Change>;
  before(async () => {
    changes = await changesOf({ before: {}, after: { pdCount: "3" } });
  });

  it("keeps PD 0, its volume and its flags, and adds pd1 and pd2 beside it", () => {
    assert.equal(changes[container("tidb-pd")], undefined);
    assert.equal(changes[volume("tidb-pd")], undefined);
    for (const node of ["pd1", "pd2"]) {
      assert.equal(changes[container(`tidb-${node}`)], "create");
      assert.equal(changes[volume(`tidb-${node}`)], "create");
    }
  });

  it("restarts TiKV, TiDB and TiCDC with the new PD list, on their volumes, and re-runs the PD reconcile step", () => {
    assert.equal(changes[container("tidb-tikv")], "replace");
    assert.equal(changes[container("tidb-tidb")], "replace");
    assert.equal(changes[container("ticdc")], "replace");
    assert.equal(changes[step("tidb-pd-reconcile")], "update");
    assertVolumesKept(changes);
  });

  it("leaves the pipeline alone: changefeed, migration, API and consumer", () => {
    for (const key of [
      step("changefeed-appdb-to-kafka"),
      step("migrate"),
      container("api"),
      container("consumer"),
      container("kafka"),
    ])
      assert.equal(changes[key], undefined, key);
  });
});

describe("a second `pulumi up` after tikvCount 1 → 3", () => {
  let changes: Record<string, Change>;
  before(async () => {
    changes = await changesOf({ before: {}, after: { tikvCount: "3" } });
  });

  it("keeps the first TiKV and its volume, adds tikv1 and tikv2, and raises max-replicas through the reconcile step", () => {
    assert.equal(changes[container("tidb-tikv")], undefined);
    assert.equal(changes[volume("tidb-tikv")], undefined);
    for (const node of ["tikv1", "tikv2"]) {
      assert.equal(changes[container(`tidb-${node}`)], "create");
      assert.equal(changes[volume(`tidb-${node}`)], "create");
    }
    assert.equal(changes[step("tidb-pd-reconcile")], "update");
    assertVolumesKept(changes);
  });

  it("restarts nothing else of the cluster or the pipeline (only Prometheus, for its new targets)", () => {
    assert.deepEqual(
      Object.keys(changes)
        .filter((key) => changes[key] !== "create")
        .sort(),
      [step("tidb-pd-reconcile"), container("monitoring-prometheus")],
    );
  });
});

describe("a second `pulumi up` after tikvCount 3 → 1", () => {
  let changes: Record<string, Change>;
  before(async () => {
    changes = await changesOf({ before: { tikvCount: "3" }, after: { tikvCount: "1" } });
  });

  it("drains through the reconcile step (an update) and deletes only tikv1 and tikv2 and their volumes", () => {
    assert.equal(changes[step("tidb-pd-reconcile")], "update");
    assert.equal(changes[container("tidb-tikv")], undefined);
    assert.equal(changes[volume("tidb-tikv")], undefined);
    for (const node of ["tikv1", "tikv2"]) {
      assert.equal(changes[container(`tidb-${node}`)], "delete");
      assert.equal(changes[volume(`tidb-${node}`)], "delete");
    }
    assertVolumesKept(changes, ["tidb-tikv1", "tidb-tikv2"]);
    assert.deepEqual(
      Object.keys(changes)
        .filter((key) => changes[key] !== "delete")
        .sort(),
      [step("tidb-pd-reconcile"), container("monitoring-prometheus")],
    );
  });
});

describe("a second `pulumi up` after pdCount 3 → 1", () => {
  it("removes the members through the reconcile step, keeps PD 0, and deletes only pd1 and pd2", async () => {
    const changes = await changesOf({ before: { pdCount: "3" }, after: { pdCount: "1" } });
    assert.equal(changes[container("tidb-pd")], undefined);
    assert.equal(changes[step("tidb-pd-reconcile")], "update");
    for (const node of ["pd1", "pd2"]) {
      assert.equal(changes[container(`tidb-${node}`)], "delete");
      assert.equal(changes[volume(`tidb-${node}`)], "delete");
    }
    assertVolumesKept(changes, ["tidb-pd1", "tidb-pd2"]);
  });
});

describe("a second `pulumi up` after a new topic", () => {
  let changes: Record<string, Change>;
  before(async () => {
    changes = await changesOf({ before: {}, after: { topic: "orders-cdc" } });
  });

  it("updates the changefeed step in place (it updates the changefeed's sink), never replaces it", () => {
    assert.equal(changes[step("changefeed-appdb-to-kafka")], "update");
  });

  it("restarts the consumer on the new topic and touches nothing else", () => {
    assert.deepEqual(changes, {
      [step("changefeed-appdb-to-kafka")]: "update",
      [container("consumer")]: "replace",
    });
  });
});

describe("a second `pulumi up` after new topic partitions or a new database", () => {
  it("updates the changefeed step in place for either", async () => {
    for (const after of [{ topicPartitions: "3" }, { database: "shop" }]) {
      const changes = await changesOf({ before: {}, after });
      assert.equal(changes[step("changefeed-appdb-to-kafka")], "update", JSON.stringify(after));
      assertVolumesKept(changes);
    }
  });
});

describe("a second `pulumi up` after a new changefeed id", () => {
  it("creates the new id's step before deleting the old id's (a delete runs after every create)", async () => {
    const changes = await changesOf({ before: {}, after: { changefeedId: "appdb-to-kafka-v2" } });
    assert.deepEqual(changes, {
      [step("changefeed-appdb-to-kafka-v2")]: "create",
      [step("changefeed-appdb-to-kafka")]: "delete",
    });
  });
});

describe("a second `pulumi up` after a new image build", () => {
  const build = (image: string) => ({
    before: {},
    after: {},
    afterOptions: { builds: { [`tidbstack-${image}`]: "2" } },
  });

  it("API: re-runs the migration as an update, then replaces the API and purge containers", async () => {
    assert.deepEqual(await changesOf(build("api")), {
      [step("migrate")]: "update",
      [container("api")]: "replace",
      [container("purge")]: "replace",
    });
  });

  it("consumer: replaces the consumer container only", async () => {
    assert.deepEqual(await changesOf(build("consumer")), { [container("consumer")]: "replace" });
  });

  it("ops: re-runs the changefeed and PD steps as updates, restarting nothing", async () => {
    assert.deepEqual(await changesOf(build("ops")), {
      [step("changefeed-appdb-to-kafka")]: "update",
      [step("tidb-pd-reconcile")]: "update",
    });
  });
});

describe("a second `pulumi up` after a source change in one workspace", () => {
  const IMAGE = "docker:index/image:Image";
  /** The images whose inputs (with the provider's context digest) change when `path` is edited. */
  async function imagesChangedBy(path: string): Promise<string[]> {
    const changes = await changesOf({
      before: {},
      after: {},
      afterOptions: { sourceEdits: { [path]: "// edited\n" } },
    });
    return Object.keys(changes)
      .filter((key) => key.startsWith(`${IMAGE}::`))
      .map((key) => key.slice(`${IMAGE}::`.length))
      .sort();
  }

  it("an API source changes the API image only", async () => {
    assert.deepEqual(await imagesChangedBy("api/src/app.ts"), ["tidbstack-api"]);
  });

  it("a consumer source changes the consumer image only", async () => {
    assert.deepEqual(await imagesChangedBy("consumer/src/handler.ts"), ["tidbstack-consumer"]);
  });

  it("an ops source changes the ops image only", async () => {
    assert.deepEqual(await imagesChangedBy("ops/src/pd-reconcile.ts"), ["tidbstack-ops"]);
  });

  it("a service-kit source changes all three, which each contain it", async () => {
    assert.deepEqual(await imagesChangedBy("service-kit/src/logging.ts"), [
      "tidbstack-api",
      "tidbstack-consumer",
      "tidbstack-ops",
    ]);
  });

  it("a manifest changes all three (npm ci checks every workspace's), a test or the program none", async () => {
    assert.equal((await imagesChangedBy("consumer/package.json")).length, 3);
    assert.deepEqual(await imagesChangedBy("api/test/unit/app.test.ts"), []);
    assert.deepEqual(await imagesChangedBy("infra/src/docker-stack.ts"), []);
  });
});

describe("a stack created before the changefeed step was named by its id", () => {
  it("keeps its step (an update through the alias and the ignored old triggers), so no delete can remove the changefeed", async () => {
    const current = await runProgram({});
    const legacyStep = current.byName("tidbstack-changefeed-appdb-to-kafka", COMMAND);
    // The step as the earlier version declared it: named like its component, replaced on these triggers.
    const legacy: ProgramRun = {
      ...current,
      resources: current.resources.map((r) =>
        r === legacyStep
          ? {
              ...r,
              name: "tidbstack-changefeed",
              inputs: {
                create: "docker run ... node consumer/dist/setup-changefeed.js create",
                delete: "docker run ... node consumer/dist/setup-changefeed.js delete",
                triggers: ["kafka://kafka:19092/appdb-cdc?...", "appdb"],
              },
            }
          : r,
      ),
    };
    const changes = Object.fromEntries([...plan(legacy, current)].filter(([, c]) => c !== "same"));
    assert.deepEqual(changes, { [step("changefeed-appdb-to-kafka")]: "update" });
  });
});

describe("resource options", () => {
  let run: ProgramRun;
  before(async () => {
    run = await runProgram({ pdCount: "3", tikvCount: "3" });
  });

  it("no command has triggers or is deleted before its replacement; only the changefeed step has a delete", () => {
    const steps = run.ofType(COMMAND);
    assert.deepEqual(steps.map((s) => s.name).sort(), [
      "tidbstack-changefeed-appdb-to-kafka",
      "tidbstack-migrate",
      "tidbstack-tidb-pd-reconcile",
    ]);
    for (const s of steps) {
      assert.equal(s.inputs["triggers"], undefined, s.name);
      assert.notEqual(s.options.deleteBeforeReplace, true, s.name);
      assert.notEqual(s.options.retainOnDelete, true, s.name);
      // What @pulumi/command itself asks for, since its schema replaces on triggers; none are set.
      assert.deepEqual(s.options.replaceOnChanges, ["triggers[*]"], s.name);
      assert.equal(s.inputs["update"], s.inputs["create"], `${s.name} runs the same command on update`);
    }
    assert.equal(run.byName("tidbstack-tidb-pd-reconcile", COMMAND).inputs["delete"], undefined);
    assert.equal(run.byName("tidbstack-migrate", COMMAND).inputs["delete"], undefined);
    assert.match(
      String(run.byName("tidbstack-changefeed-appdb-to-kafka", COMMAND).inputs["delete"]),
      /changefeed delete$/,
    );
  });

  it("the changefeed step answers to its former name and ignores the triggers an earlier version stored", () => {
    const changefeed = run.byName("tidbstack-changefeed-appdb-to-kafka", COMMAND);
    assert.deepEqual(changefeed.options.aliasNames, ["tidbstack-changefeed"]);
    assert.deepEqual(changefeed.options.ignoreChanges, ["triggers"]);
    for (const s of run.ofType(COMMAND).filter((c) => c !== changefeed)) {
      assert.deepEqual(s.options.aliasNames, [], s.name);
      assert.deepEqual(s.options.ignoreChanges, [], s.name);
    }
  });

  it("volumes are deleted with the stack by default and kept with keepDataOnDestroy; nothing else is retained", async () => {
    for (const v of run.ofType(VOLUME)) {
      assert.equal(v.options.retainOnDelete, false, v.name);
      assert.deepEqual(
        Object.keys(v.inputs).filter((key) => v.inputs[key] !== undefined),
        ["name"],
        v.name,
      );
      assert.equal(v.options.deleteBeforeReplace, undefined, v.name);
    }
    const kept = await runProgram({ pdCount: "3", tikvCount: "3", keepDataOnDestroy: "true" });
    assert.ok(kept.ofType(VOLUME).length > 0);
    for (const v of kept.ofType(VOLUME)) assert.equal(v.options.retainOnDelete, true, v.name);
    for (const r of kept.resources.filter((r) => r.type !== VOLUME))
      assert.notEqual(r.options.retainOnDelete, true, `${r.type}::${r.name}`);
  });

  it("containers, which have fixed names, are replaced delete-first (the volume stays)", () => {
    for (const c of run.ofType(CONTAINER)) assert.equal(c.options.deleteBeforeReplace, true, c.name);
  });
});
