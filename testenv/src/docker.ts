import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * Docker CLI calls for the container tests. Everything a test creates carries the label
 * `tidbstack.test=<run id>`, so removeLabelled() can clean up after any failure, and the test runner after
 * any crash.
 */
export const TEST_LABEL = "tidbstack.test";

export async function docker(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<string> {
  try {
    const { stdout } = await run("docker", [...args], {
      env: options.env ?? process.env,
      maxBuffer: 64 * 1024 * 1024,
      timeout: options.timeoutMs ?? 600_000,
    });
    return stdout.trim();
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(
      `docker ${args.slice(0, 3).join(" ")} … failed: ${(stderr ?? "").trim() || (stdout ?? "").trim() || String(error)}`,
    );
  }
}

/** A container's whole log: what it wrote to stdout and to stderr, as separate strings. */
export async function dockerLogs(container: string): Promise<{ stdout: string; stderr: string }> {
  const { stdout, stderr } = await run("docker", ["logs", container], { maxBuffer: 64 * 1024 * 1024 });
  return { stdout, stderr };
}

export async function dockerAvailable(): Promise<boolean> {
  try {
    await docker(["info", "--format", "{{.ServerVersion}}"], { timeoutMs: 10_000 });
    return true;
  } catch {
    return false;
  }
}

export async function imageExists(image: string): Promise<boolean> {
  try {
    await docker(["image", "inspect", image]);
    return true;
  } catch {
    return false;
  }
}

/** Removes every container, network and volume carrying the test label (with this value, or any). */
export async function removeLabelled(value?: string): Promise<void> {
  const filter = `label=${TEST_LABEL}${value === undefined ? "" : `=${value}`}`;
  const containers = (await docker(["ps", "-aq", "--filter", filter])).split("\n").filter(Boolean);
  if (containers.length > 0) await docker(["rm", "-f", "-v", ...containers]);
  const networks = (await docker(["network", "ls", "-q", "--filter", filter])).split("\n").filter(Boolean);
  if (networks.length > 0) await docker(["network", "rm", ...networks]);
  const volumes = (await docker(["volume", "ls", "-q", "--filter", filter])).split("\n").filter(Boolean);
  if (volumes.length > 0) await docker(["volume", "rm", "-f", ...volumes]);
}

/** Waits until Docker reports the container's healthcheck healthy; fails early if it exits or turns unhealthy. */
export async function waitHealthy(container: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const state = JSON.parse(await docker(["inspect", "--format", "{{json .State}}", container])) as {
      Status: string;
      Health?: { Status: string };
    };
    if (state.Health?.Status === "healthy") return Date.now() - started;
    if (state.Status === "exited" || state.Health?.Status === "unhealthy") {
      throw new Error(
        `${container} is ${state.Health?.Status ?? state.Status}; its log ends with:\n${await docker(["logs", "--tail", "30", container]).catch(() => "")}`,
      );
    }
    if (Date.now() - started > timeoutMs)
      throw new Error(
        `${container} was not healthy after ${timeoutMs} ms (${state.Health?.Status ?? state.Status})`,
      );
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
