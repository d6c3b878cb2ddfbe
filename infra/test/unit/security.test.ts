/**
 * What the Docker target exposes and allows, under mocks: where the API is published, what the containers
 * of the project's own images may do, and how every container's log is bounded.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { type DeclaredResource, type ProgramRun, runProgram } from "../harness.ts";

const CONTAINER = "docker:index/container:Container";
const COMMAND = "command:local:Command";
/** The containers built from the project's image, with their memory cap by default. */
const PROJECT_CONTAINERS = { "tidbstack-api": 384, "tidbstack-consumer": 384, "tidbstack-purge": 192 };

type Port = { internal: number; external: number; ip?: string };
const ports = (r: DeclaredResource): Port[] => (r.inputs["ports"] as Port[] | undefined) ?? [];
const apiPort = (run: ProgramRun): Port[] => ports(run.byName("tidbstack-api", CONTAINER));
/** Every `docker run` line of the one-off steps: create, update and delete of each Command. */
const oneOffRuns = (run: ProgramRun): string[] =>
  run
    .ofType(COMMAND)
    .flatMap((c) => ["create", "update", "delete"].map((key) => c.inputs[key]))
    .filter((line): line is string => typeof line === "string" && line.startsWith("docker run"));

describe("the API's published port", () => {
  it("binds 127.0.0.1 by default, so only this machine reaches it, and apiUrl says localhost", async () => {
    const run = await runProgram({});
    assert.deepEqual(apiPort(run), [{ internal: 3000, external: 3000, ip: "127.0.0.1" }]);
    assert.equal(run.outputs["apiUrl"], "http://localhost:3000");
  });

  it("binds every interface with apiHost 0.0.0.0, still reached from here on localhost", async () => {
    const run = await runProgram({ apiHost: "0.0.0.0", apiPort: "8080" });
    assert.deepEqual(apiPort(run), [{ internal: 3000, external: 8080, ip: "0.0.0.0" }]);
    assert.equal(run.outputs["apiUrl"], "http://localhost:8080");
  });

  it("binds one interface with apiHost set to its address, and apiUrl names that address", async () => {
    const run = await runProgram({ apiHost: "192.168.1.20" });
    assert.deepEqual(apiPort(run), [{ internal: 3000, external: 3000, ip: "192.168.1.20" }]);
    assert.equal(run.outputs["apiUrl"], "http://192.168.1.20:3000");
  });

  it("moves no other published port: Grafana stays on loopback whatever apiHost says", async () => {
    const run = await runProgram({ apiHost: "0.0.0.0", exposeInternalPorts: "true" });
    const others = run
      .ofType(CONTAINER)
      .filter((c) => c.name !== "tidbstack-api")
      .flatMap(ports);
    assert.ok(others.length >= 5, "Grafana, Prometheus, TiDB, Kafka and TiCDC are published");
    for (const port of others) assert.equal(port.ip, "127.0.0.1", JSON.stringify(port));
  });
});

describe("the containers of the project's images", () => {
  let run: ProgramRun;
  before(async () => {
    run = await runProgram({});
  });

  it("run with a read-only root filesystem and a small /tmp, every capability dropped and no-new-privileges", () => {
    for (const name of Object.keys(PROJECT_CONTAINERS)) {
      const { inputs } = run.byName(name, CONTAINER);
      assert.equal(inputs["readOnly"], true, name);
      assert.deepEqual(inputs["tmpfs"], { "/tmp": "rw,noexec,nosuid,size=64m" }, name);
      // In the form Docker stores and the provider reads back, so a refresh shows no change.
      assert.deepEqual(inputs["capabilities"], { drops: ["ALL"] }, name);
      assert.deepEqual(inputs["securityOpts"], ["no-new-privileges:true"], name);
    }
  });

  it("each have a memory cap, from apiMemoryMb, consumerMemoryMb and purgeMemoryMb", async () => {
    for (const [name, mb] of Object.entries(PROJECT_CONTAINERS)) {
      assert.equal(run.byName(name, CONTAINER).inputs["memory"], mb, name);
    }
    const tuned = await runProgram({ apiMemoryMb: "512", consumerMemoryMb: "256", purgeMemoryMb: "160" });
    assert.deepEqual(
      Object.keys(PROJECT_CONTAINERS).map((name) => tuned.byName(name, CONTAINER).inputs["memory"]),
      [512, 256, 160],
    );
  });

  it("leave the upstream servers' containers with their images' own settings", () => {
    const upstream = run.ofType(CONTAINER).filter((c) => !(c.name in PROJECT_CONTAINERS));
    assert.ok(upstream.length >= 6);
    for (const c of upstream) {
      assert.equal(c.inputs["readOnly"], undefined, c.name);
      assert.equal(c.inputs["capabilities"], undefined, c.name);
    }
  });

  it("include the one-off steps (migration, changefeed apply and delete, PD reconcile): each docker run is hardened alike", () => {
    const lines = oneOffRuns(run);
    assert.ok(lines.length >= 4, lines.join("\n"));
    const flags =
      "--read-only --tmpfs /tmp:rw,noexec,nosuid,size=64m --cap-drop ALL --security-opt no-new-privileges:true";
    for (const line of lines) assert.ok(line.includes(` ${flags} `), line);
  });
});

describe("every container's log", () => {
  it("is json-file, rotated at 10m with 3 files kept by default, upstream servers included", async () => {
    const run = await runProgram({ exposeInternalPorts: "true" });
    const containers = run.ofType(CONTAINER);
    assert.ok(containers.length >= 9);
    for (const c of containers) {
      assert.equal(c.inputs["logDriver"], "json-file", c.name);
      assert.deepEqual(c.inputs["logOpts"], { "max-size": "10m", "max-file": "3" }, c.name);
    }
  });

  it("follows logMaxSize and logMaxFiles", async () => {
    const run = await runProgram({ logMaxSize: "50m", logMaxFiles: "5", pdCount: "3", tikvCount: "3" });
    for (const c of run.ofType(CONTAINER)) {
      assert.deepEqual(c.inputs["logOpts"], { "max-size": "50m", "max-file": "5" }, c.name);
    }
  });
});
