import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { tarArchive } from "../../src/tar.ts";

describe("tarArchive", () => {
  const longFolder = `/etc/${"nested-folder/".repeat(8)}`;
  const files = [
    { path: "/etc/prometheus/prometheus.yml", content: "global: {}\n", mode: 0o644 },
    { path: "/etc/prometheus/rules/tidbstack.yml", content: "groups: [ü]\n", mode: 0o644 },
    { path: `${longFolder}deep.json`, content: "{}", mode: 0o600 },
    { path: "/empty", content: "", mode: 0o644 },
  ];

  it("is read by GNU tar as exactly these files, without folder entries, relative to /", () => {
    const listing = execFileSync("tar", ["-tv"], { input: tarArchive(files) }).toString();
    const names = listing
      .trim()
      .split("\n")
      .map((line) => line.split(/\s+/).at(-1));
    assert.deepEqual(
      names,
      files.map((f) => f.path.slice(1)),
    );
    assert.match(listing, /^-rw-r--r-- 0\/0 +11 /m);
  });

  it("extracts every file with its content and mode, parent folders created on the way", () => {
    const dir = mkdtempSync(join(tmpdir(), "tidbstack-tar-"));
    execFileSync("tar", ["-x", "-C", dir], { input: tarArchive(files) });
    for (const file of files) {
      assert.equal(readFileSync(join(dir, file.path), "utf8"), file.content, file.path);
      assert.equal(statSync(join(dir, file.path)).mode & 0o777, file.mode, file.path);
    }
  });

  it("refuses a path ustar cannot hold", () => {
    assert.throws(() => tarArchive([{ path: `/${"x".repeat(120)}`, content: "", mode: 0o644 }]), /too long/);
  });
});
