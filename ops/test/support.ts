import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";

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
