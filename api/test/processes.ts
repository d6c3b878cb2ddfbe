import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import type { LogFields } from "@tidbstack/service-kit";
import type { TestDatabase } from "@tidbstack/testenv";

/** One of the API workspace's entry points, run from source as `npm run <script> -w api` does. */
export type EntryPoint = "main.ts" | "purge.ts" | "migrate.ts";

/** A real process of the API image's code, its stdout parsed as the JSON lines it logs. */
export interface NodeProcess {
  readonly child: ChildProcess;
  readonly lines: LogFields[];
  /** Everything written to stderr (config errors are reported there). */
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** The first line (already logged or still to come) that `matches`; fails after `timeoutMs`. */
  waitForLine(what: string, matches: (line: LogFields) => boolean, timeoutMs?: number): Promise<LogFields>;
  /** SIGKILL if still running: for clean-up after a failed test. */
  kill(): void;
}

export function spawnEntryPoint(
  entry: EntryPoint,
  env: Record<string, string>,
  args: readonly string[] = [],
): NodeProcess {
  const script = fileURLToPath(new URL(`../src/${entry}`, import.meta.url));
  const child = spawn(process.execPath, ["--conditions=source", script, ...args], {
    // Only what the test gives: the process must not pick up settings from the developer's shell.
    env: { PATH: process.env["PATH"] ?? "", NODE_NO_WARNINGS: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: LogFields[] = [];
  const waiters: { matches: (line: LogFields) => boolean; resolve: (line: LogFields) => void }[] = [];
  let partial = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop() ?? "";
    for (const part of parts.filter((p) => p !== "")) {
      const line = JSON.parse(part) as LogFields;
      lines.push(line);
      for (const waiter of waiters.filter((w) => w.matches(line))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return {
    child,
    lines,
    stderr: () => stderr,
    exited,
    waitForLine(what, matches, timeoutMs = 30_000) {
      const seen = lines.find(matches);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`no log line ${what} after ${timeoutMs} ms; stderr: ${stderr}`));
        }, timeoutMs);
        waiters.push({
          matches,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`exited with ${code} before logging ${what}; stderr: ${stderr}`));
        });
      });
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

/** DB_* for a process connecting to the test database as `account`. */
export const dbEnv = (
  db: TestDatabase,
  account: { user: string; password: string },
): Record<string, string> => ({
  DB_HOST: db.host,
  DB_PORT: String(db.port),
  DB_USER: account.user,
  DB_PASSWORD: account.password,
  DB_NAME: db.name,
});

/** Polls `url` until it answers 200, failing after `timeoutMs`. */
export async function waitForOk(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await fetch(url).catch(() => undefined))?.status !== 200) {
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
