import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { probeDaemonNofile } from "../../preflight/daemon-nofile.ts";

/** The kernel's ceiling, which binds the daemon too (the test's engine runs on this kernel). */
const nrOpen = Number(readFileSync("/proc/sys/fs/nr_open", "utf8").trim());

describe("the preflight's check of the Docker daemon's open-file limit (the test's engine)", () => {
  it("finds a nofile the daemon grants granted", () => {
    assert.equal(probeDaemonNofile(1024), "granted");
  });

  it("finds a nofile above the daemon's limit denied", () => {
    assert.equal(probeDaemonNofile(nrOpen + 1), "denied");
  });
});
