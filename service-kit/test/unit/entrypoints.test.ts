import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const entry = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));

describe("a service started with a bad environment variable", () => {
  const cases: [string, Record<string, string>, string][] = [
    ["api/src/main.ts", { DB_USER: "api", PORT: "eighty" }, "PORT"],
    ["api/src/main.ts", { DB_USER: "api", LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    ["consumer/src/main.ts", { KAFKA_BROKERS: "no-port" }, "KAFKA_BROKERS"],
  ];
  for (const [main, env, variable] of cases) {
    it(`${main} exits 1 with one JSON line naming ${variable}`, async () => {
      await assert.rejects(
        run(process.execPath, ["--conditions=source", entry(main)], {
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
    });
  }
});
