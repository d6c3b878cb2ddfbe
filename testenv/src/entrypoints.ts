import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * Starts a service's entry point (TypeScript source, under --conditions=source) with `env` and nothing
 * else, and asserts it refuses it as every service must: exit code 1, nothing on stdout, and one JSON line
 * on stderr, `level:"fatal"`, `action:"config_invalid"`, naming `variable` in `variable` and `msg`.
 */
export async function assertRefusesConfig(
  entry: string,
  env: Readonly<Record<string, string>>,
  variable: string,
): Promise<void> {
  await assert.rejects(
    run(process.execPath, ["--conditions=source", entry], {
      env: { PATH: process.env["PATH"] ?? "", ...env },
      timeout: 20_000,
    }),
    (error: { code?: number; stderr?: string; stdout?: string }) => {
      assert.equal(error.code, 1);
      assert.equal(error.stdout, "");
      const lines = (error.stderr ?? "").trim().split("\n");
      assert.equal(lines.length, 1);
      const line = JSON.parse(lines[0] ?? "") as Record<string, unknown>;
      assert.equal(line["level"], "fatal");
      assert.equal(line["action"], "config_invalid");
      assert.equal(line["variable"], variable);
      assert.match(String(line["msg"]), new RegExp(`^${variable} `));
      return true;
    },
  );
}
