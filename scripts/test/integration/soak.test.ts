import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";

describe("soak, short mode", () => {
  it("runs the API and the consumer under mixed load for 60 s: memory bounded, every answer and event as promised", async () => {
    const child = spawn(
      process.execPath,
      ["--conditions=source", fileURLToPath(new URL("../../soak.ts", import.meta.url)), "--duration", "60"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    const [code] = (await once(child, "exit")) as [number | null];
    assert.equal(code, 0, output);
    assert.match(output, /soak passed/);
    // Both processes were sampled and judged, and traffic really flowed.
    for (const process of ["API", "consumer"]) {
      assert.match(output, new RegExp(`^\\| ${process} \\| heap used \\|.*\\| bounded \\|$`, "m"));
      assert.match(output, new RegExp(`^\\| ${process} \\| RSS \\|.*\\| bounded \\|$`, "m"));
    }
    assert.match(output, /, 0 unexpected answers;/);
    assert.match(output, /me 200: [\d,]{3,}/);
    assert.match(output, /[\d,]{6,} row events logged once each/);
  });
});
