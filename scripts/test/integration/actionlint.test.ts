import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const WORKFLOWS = fileURLToPath(new URL("../../../.github/workflows/", import.meta.url));

/**
 * actionlint as scripts/test.sh builds it (scripts/lib/actionlint.sh), on the given workflow files. Named
 * one by one: without them it looks for a Git repository, which a checkout from an archive does not have.
 */
function actionlint(files: string[]): { status: number | null; output: string } {
  const bin = process.env["ACTIONLINT_BIN"];
  assert.ok(bin, "ACTIONLINT_BIN is not set: run this test through `npm test`, which builds actionlint");
  const result = spawnSync(bin, ["-no-color", "-oneline", ...files], { encoding: "utf8" });
  assert.equal(result.error, undefined, String(result.error));
  return { status: result.status, output: result.stdout + result.stderr };
}

describe("actionlint over .github/workflows", () => {
  const scratch = mkdtempSync(join(tmpdir(), "actionlint-"));
  after(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it("has shellcheck on PATH, so run: scripts are checked too (without it actionlint skips them silently)", () => {
    const shellcheck = spawnSync("shellcheck", ["--version"], { encoding: "utf8" });
    assert.equal(shellcheck.status, 0, "shellcheck is missing: scripts/lib/system-deps.sh installs it");
  });

  it("reports every finding in a broken workflow and exits 1: a bad permission, untrusted input in a script, an unquoted variable, an unknown key", () => {
    const broken = join(scratch, "broken.yml");
    writeFileSync(
      broken,
      `on: pull_request
jobs:
  build:
    runs-on: ubuntu-24.04
    permissions:
      contents: reed
    steps:
      - run: echo \${{ github.event.pull_request.title }}
      - run: rm -rf $TARGET/build
        shell: bash
        timeout: 5
`,
    );
    const { status, output } = actionlint([broken]);
    assert.equal(status, 1, output);
    assert.match(output, /potentially untrusted/);
    assert.match(output, /shellcheck reported issue in this script: SC2086/);
    assert.match(output, /unexpected key "timeout"/);
    assert.match(output, /"reed" is invalid as permission of scope "contents"/);
  });

  it("finds nothing in the project's workflows", () => {
    const files = readdirSync(WORKFLOWS).map((name) => join(WORKFLOWS, name));
    assert.equal(files.length, 3);
    const { status, output } = actionlint(files);
    assert.equal(output, "");
    assert.equal(status, 0);
  });
});
