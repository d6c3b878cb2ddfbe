import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  describeTopologyChange,
  type HostFacts,
  memoryNeededMb,
  MIN_FREE_DISK_MB,
  preflightProblems,
  type PreflightSettings,
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
  nodeServices: 3,
};

const FIT: HostFacts = {
  engine: { release: "20.10.24", apiVersion: "1.41" },
  memoryAvailableMb: 16_384,
  diskAvailableMb: 50_000,
  busyPorts: new Set(),
  nrOpen: 1_048_576,
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
