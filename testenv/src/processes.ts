import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer, type Server } from "node:net";
import { mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Every server process the test environment starts records its PID in this folder (TESTENV_PID_DIR),
 * so the runner can stop whatever is left after the tests, even if a test process died mid-way.
 */
export function pidDir(): string | undefined {
  return process.env["TESTENV_PID_DIR"];
}

/** Starts `server` on a port of the loopback address the kernel chooses, and returns that port. */
export async function listenOnLoopback(server: Server): Promise<number> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("could not allocate a port");
  return address.port;
}

/** A port nothing listens on right now, chosen by the kernel: no clash with servers already on the machine. */
export async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listenOnLoopback(server);
  server.close();
  return port;
}

/**
 * Polls `condition` every `intervalMs` until it holds, failing with `what` after `timeoutMs`. A condition
 * that throws fails the wait at once; one that may fail while a server comes up catches that itself.
 */
export async function eventually(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Sends SIGTERM, waits up to `graceMs` for the exit, then SIGKILL. */
  stop(graceMs?: number): Promise<void>;
  /** Sends SIGKILL and waits for the exit: a crash, with no chance to flush or close anything. */
  kill(): Promise<void>;
}

/** Starts a long-running server with its output in `logFile`, detached so Ctrl-C reaches only the runner. */
export function startServerProcess(command: string, args: readonly string[], logFile: string): ServerProcess {
  const out = openSync(logFile, "a");
  const child = spawn(command, args, { stdio: ["ignore", out, out], detached: true });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${command}`);
  const dir = pidDir();
  const pidFile = dir === undefined ? undefined : join(dir, String(pid));
  if (pidFile !== undefined) writeFileSync(pidFile, `${command}\n`);
  const exited = once(child, "exit");
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const forget = (): void => {
    if (pidFile !== undefined) rmSync(pidFile, { force: true });
  };
  return {
    child,
    logFile,
    async stop(graceMs = 15_000) {
      if (running()) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        await exited;
        clearTimeout(timer);
      }
      forget();
    },
    async kill() {
      if (running()) {
        child.kill("SIGKILL");
        await exited;
      }
      forget();
    },
  };
}

/** Stops every process still listed in the PID folder (the runner's last step). */
export function killRecordedProcesses(dir: string): number {
  mkdirSync(dir, { recursive: true });
  let killed = 0;
  for (const name of readdirSync(dir)) {
    const pid = Number(name);
    try {
      // Negative PID: the whole process group, since servers were started detached as group leaders.
      process.kill(-pid, "SIGKILL");
      killed++;
    } catch {
      // Already gone.
    }
    rmSync(join(dir, name), { force: true });
  }
  return killed;
}

/** Retries `probe` until it resolves or `timeoutMs` passes; fails early if the server process exited. */
export async function waitUntilReady(
  what: string,
  server: ServerProcess,
  probe: () => Promise<unknown>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      throw new Error(
        `${what} exited during start-up; its log (${server.logFile}) ends with:\n${tail(server.logFile)}`,
      );
    }
    try {
      await probe();
      return;
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  await server.stop();
  throw new Error(
    `${what} was not ready after ${timeoutMs} ms (last error: ${String(lastError)}); its log (${server.logFile}) ends with:\n${tail(server.logFile)}`,
  );
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
