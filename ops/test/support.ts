import { spawn } from "node:child_process";
import { afterEach, beforeEach } from "node:test";
import { fileURLToPath } from "node:url";
import { getLogger } from "@tidbstack/service-kit";
import { Kafka, logLevel } from "kafkajs";
import { FakePd } from "./fakes/pd.ts";

export const quietKafka = (brokers: string[]): Kafka =>
  new Kafka({
    clientId: "ops-tests",
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 200 },
  });

export interface OpsRun {
  readonly code: number | null;
  /** stdout, one parsed JSON object per line (a line that is not JSON fails the parse, and the test). */
  readonly lines: Record<string, unknown>[];
  readonly stderr: string;
}

/**
 * Runs the CLI (src/main.ts, as the image runs dist/main.js) as a child process with only `env` and PATH,
 * so nothing from the test runner's environment leaks in.
 */
export function runOps(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<OpsRun> {
  const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
  const child = spawn(process.execPath, ["--conditions=source", main, ...args], {
    env: { PATH: process.env["PATH"] ?? "", NODE_NO_WARNINGS: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    timeout: timeoutMs,
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      try {
        const lines = stdout
          .split("\n")
          .filter((line) => line !== "")
          .map((line) => JSON.parse(line) as Record<string, unknown>);
        resolve({ code, lines, stderr });
      } catch (error) {
        reject(new Error(`stdout is not JSON lines: ${stdout}`, { cause: error }));
      }
    });
  });
}

/** The lines with the given action. */
export const withAction = (run: OpsRun, action: string): Record<string, unknown>[] =>
  run.lines.filter((line) => line["action"] === action);

/** The PD steps' options in tests: quick polls, a 5 s bound, no progress lines. */
export const PD_STEP_OPTIONS = { logger: getLogger("pd"), pollMs: 5, timeoutMs: 5000, progressMs: 0 };

/**
 * A fake PD started before each test of the calling `describe` and closed after it: call the returned
 * function for the current test's.
 */
export function fakePdForEachTest(): () => FakePd {
  let current: FakePd | undefined;
  beforeEach(async () => {
    current = await new FakePd().listen();
  });
  afterEach(() => current?.close());
  return () => {
    if (current === undefined) throw new Error("the fake PD is started in beforeEach: use it inside a test");
    return current;
  };
}
