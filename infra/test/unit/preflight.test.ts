import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  describeTopologyChange,
  type HostFacts,
  memoryNeededMb,
  MIN_FREE_DISK_MB,
  preflightProblems,
  type PreflightSettings,
  preflightWarnings,
  versionAtLeast,
} from "../../src/lib/preflight.ts";

const SETTINGS: PreflightSettings = {
  pdCount: 1,
  tikvCount: 1,
  tikvMemoryMb: 2048,
  tidbMemoryMb: 1024,
  kafkaHeapMb: 512,
  apiPort: 3000,
  grafanaPort: 3001,
  alertmanagerPort: 9093,
  monitoring: true,
  tikvNofile: 65536,
  serviceMemoryMb: 384 + 384 + 192,
  // What a new stack has: the API on this machine only, the seed admin with the documented password.
  apiHost: "127.0.0.1",
  adminPasswordIsSeed: true,
};

const FIT: HostFacts = {
  engine: { release: "20.10.24", apiVersion: "1.41" },
  memoryAvailableMb: 16_384,
  diskAvailableMb: 50_000,
  busyPorts: new Set(),
  nrOpen: 1_048_576,
  daemonNofile: "granted",
};

describe("preflight", () => {
  it("finds nothing on a host with Debian 12's Docker 20.10, enough memory, disk and free ports", () => {
    assert.deepEqual(preflightProblems(SETTINGS, FIT), []);
  });

  it("refuses an engine older than Docker 20.10 (Engine API 1.41), naming both versions", () => {
    const [problem, ...rest] = preflightProblems(SETTINGS, {
      ...FIT,
      engine: { release: "19.03.15", apiVersion: "1.40" },
    });
    assert.equal(rest.length, 0);
    assert.match(problem ?? "", /Docker 19\.03\.15 \(Engine API 1\.40\) is too old.*20\.10/);
  });

  it("says to start Docker when no engine answers", () => {
    assert.match(preflightProblems(SETTINGS, { ...FIT, engine: undefined }).join("\n"), /start Docker/);
  });

  it("compares engine API versions numerically, part by part", () => {
    assert.equal(versionAtLeast("1.41", "1.41"), true);
    assert.equal(versionAtLeast("1.44", "1.41"), true);
    assert.equal(versionAtLeast("1.9", "1.41"), false);
    assert.equal(versionAtLeast("2.0", "1.41"), true);
  });

  it("counts every TiKV's cap, TiDB's, Kafka's heap and the allowances of the uncapped processes", () => {
    const one = memoryNeededMb(SETTINGS);
    const three = memoryNeededMb({ ...SETTINGS, tikvCount: 3, pdCount: 3 });
    assert.ok(three - one >= 2 * SETTINGS.tikvMemoryMb, `${one} → ${three}`);
    assert.ok(memoryNeededMb({ ...SETTINGS, monitoring: false }) < one);
  });

  it("refuses when the caps do not fit in the available memory, naming the keys to lower", () => {
    const needed = memoryNeededMb(SETTINGS);
    const problems = preflightProblems(SETTINGS, { ...FIT, memoryAvailableMb: needed - 1 });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? "", /tikvMemoryMb/);
    assert.deepEqual(preflightProblems(SETTINGS, { ...FIT, memoryAvailableMb: needed }), []);
  });

  it("refuses when less disk is free than it asks for, and skips the check when the disk cannot be read", () => {
    assert.match(
      preflightProblems(SETTINGS, { ...FIT, diskAvailableMb: MIN_FREE_DISK_MB - 1 }).join("\n"),
      /disk/,
    );
    assert.deepEqual(preflightProblems(SETTINGS, { ...FIT, diskAvailableMb: undefined }), []);
  });

  it("names the config key of a host port that another program holds", () => {
    const problems = preflightProblems(SETTINGS, { ...FIT, busyPorts: new Set([3000, 3001, 9093]) });
    assert.equal(problems.length, 3);
    assert.match(problems[0] ?? "", /port 3000 \(apiPort\).*pulumi config set apiPort/);
    assert.match(problems[1] ?? "", /port 3001 \(grafanaPort\)/);
    assert.match(problems[2] ?? "", /port 9093 \(alertmanagerPort\)/);
  });

  it("ignores Grafana's and Alertmanager's ports when monitoring is off", () => {
    const problems = preflightProblems(
      { ...SETTINGS, monitoring: false },
      { ...FIT, busyPorts: new Set([3001, 9093]) },
    );
    assert.deepEqual(problems, []);
  });

  it("refuses a kernel whose open-file ceiling is below what TiKV's container asks for", () => {
    const problems = preflightProblems(SETTINGS, { ...FIT, nrOpen: 32_768 });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? "", /fs\.nr_open/);
  });

  it("refuses a Docker daemon that cannot grant TiKV's nofile, with the daemon's, rootless and tikvNofile fixes", () => {
    const problems = preflightProblems(SETTINGS, { ...FIT, daemonNofile: "denied" });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? "", /cannot start a container with 65536 open files/);
    assert.match(problems[0] ?? "", /LimitNOFILE=1048576/);
    assert.match(problems[0] ?? "", /rootless Docker/);
    assert.match(problems[0] ?? "", /pulumi config set tikvNofile <n>, .* at least 4096/);
    assert.deepEqual(preflightProblems(SETTINGS, { ...FIT, daemonNofile: "unknown" }), []);
  });

  it("counts the Node services' memory caps", () => {
    assert.equal(
      memoryNeededMb({ ...SETTINGS, serviceMemoryMb: 2000 }) -
        memoryNeededMb({ ...SETTINGS, serviceMemoryMb: 1000 }),
      1000,
    );
  });

  it("warns, in one line with the command that sets another password, when the API is published beyond this machine with the seed password", () => {
    for (const apiHost of ["0.0.0.0", "192.168.1.20"]) {
      const warnings = preflightWarnings({ ...SETTINGS, apiHost });
      assert.equal(warnings.length, 1, apiHost);
      assert.match(
        warnings[0] ?? "",
        new RegExp(`published on ${apiHost.replace(/\./g, "\\.")}:3000 \\(apiHost\\)`),
      );
      assert.match(warnings[0] ?? "", /"temp-password"/);
      assert.match(
        warnings[0] ?? "",
        /node_modules\/\.bin\/pulumi config set --secret adminPassword '<new password>'/,
      );
      assert.ok(!(warnings[0] ?? "").includes("\n"), "one line");
    }
    // Not a refusal: the host checks still pass.
    assert.deepEqual(preflightProblems({ ...SETTINGS, apiHost: "0.0.0.0" }, FIT), []);
  });

  it("does not warn on this machine only, nor once the seed password is changed", () => {
    assert.deepEqual(preflightWarnings(SETTINGS), []);
    assert.deepEqual(preflightWarnings({ ...SETTINGS, apiHost: "127.0.0.2" }), []);
    assert.deepEqual(preflightWarnings({ ...SETTINGS, apiHost: "0.0.0.0", adminPasswordIsSeed: false }), []);
  });

  it("describes a change of the cluster's shape, and nothing when the shape is kept", () => {
    assert.deepEqual(
      describeTopologyChange({ pdCount: { from: 3, to: 3 }, tikvCount: { from: 1, to: 1 } }),
      [],
    );
    const lines = describeTopologyChange({ pdCount: { from: 1, to: 3 }, tikvCount: { from: 3, to: 1 } });
    assert.equal(lines.length, 2);
    assert.match(lines[0] ?? "", /join the running cluster/);
    assert.match(lines[1] ?? "", /Tombstone/);
  });
});
