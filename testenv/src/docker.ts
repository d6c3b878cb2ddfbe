import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { connect, createServer, type Socket } from "node:net";
import { promisify } from "node:util";
import { tarArchive } from "./tar.ts";

const run = promisify(execFile);

/**
 * Docker CLI calls for the container tests. Everything a test creates carries the label
 * `tidbstack.test=<run id>`, so removeLabelled() can clean up after any failure, and the test runner after
 * any crash.
 */
export const TEST_LABEL = "tidbstack.test";

/**
 * This run's value of TEST_LABEL. The test runner exports it (TESTENV_RUN_ID) to the tests it starts and
 * afterwards removes only what carries it: several developers may share one engine, and another run's
 * containers are not this run's to remove.
 */
export const TEST_RUN_ID = process.env["TESTENV_RUN_ID"] ?? randomBytes(4).toString("hex");

export async function docker(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: Buffer | string } = {},
): Promise<string> {
  try {
    const pending = run("docker", [...args], {
      env: options.env ?? process.env,
      maxBuffer: 64 * 1024 * 1024,
      timeout: options.timeoutMs ?? 600_000,
    });
    pending.child.stdin?.end(options.input);
    const { stdout } = await pending;
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

interface ContainerState {
  readonly Status: string;
  readonly ExitCode: number;
  readonly Health?: { readonly Status: string; readonly Log?: readonly { readonly Output: string }[] };
}

/**
 * Waits until Docker reports the container healthy, as the Docker provider's `wait` does: an unhealthy
 * container may still recover, so only the timeout ends the wait, or the container exiting (nothing would
 * restart it here). Returns the milliseconds it took; an error says what the last probe printed.
 */
export async function waitHealthy(container: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const state = JSON.parse(
      await docker(["inspect", "--format", "{{json .State}}", container]),
    ) as ContainerState;
    if (state.Health?.Status === "healthy") return Date.now() - started;
    const exited = state.Status === "exited" || state.Status === "dead";
    if (exited || Date.now() - started > timeoutMs) {
      const probe = state.Health?.Log?.at(-1)?.Output.trim() ?? "(no probe ran)";
      const logs = await docker(["logs", "--tail", "30", container]).catch(() => "");
      throw new Error(
        exited
          ? `${container} exited with code ${state.ExitCode} before it was healthy; its log ends with:\n${logs}`
          : `${container} was not healthy after ${timeoutMs} ms (${state.Health?.Status ?? state.Status}); ` +
              `the last probe printed: ${probe}\nits log ends with:\n${logs}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** A file written into a container before it starts: the Docker provider's `uploads`. */
export interface ContainerUpload {
  /** Absolute path inside the container. */
  readonly file: string;
  readonly content: string;
}

export interface ContainerRun {
  /** Container name, also the prefix of its data volume's name. */
  readonly name: string;
  readonly image: string;
  readonly network: string;
  /** Value of the test label on the container and its volume (the test run's id). */
  readonly runId: string;
  /** Flags for `docker create`: the spec's own (environment, healthcheck, alias...) and the test's (ports). */
  readonly flags: readonly string[];
  /** Arguments after the image's entrypoint; undefined keeps the image's own command. */
  readonly command?: readonly string[] | undefined;
  /** Written 0644 before the container starts; missing parent folders are created by root, 0755. */
  readonly uploads?: readonly ContainerUpload[];
  /** Where a new named volume is mounted, as the program mounts a component's data volume. */
  readonly dataPath?: string | undefined;
}

/**
 * Creates and starts a container the way the Docker provider does: created with its settings and a fresh
 * named volume, its uploads copied in while it is stopped, then started. Everything carries the test label.
 */
export async function runContainer(spec: ContainerRun): Promise<void> {
  const label = ["--label", `${TEST_LABEL}=${spec.runId}`];
  const volume: string[] = [];
  if (spec.dataPath !== undefined) {
    const name = `${spec.name}-data`;
    await docker(["volume", "create", ...label, name]);
    volume.push("--volume", `${name}:${spec.dataPath}`);
  }
  await docker([
    "create",
    "--name",
    spec.name,
    ...label,
    "--network",
    spec.network,
    ...volume,
    ...spec.flags,
    spec.image,
    ...(spec.command ?? []),
  ]);
  const uploads = spec.uploads ?? [];
  if (uploads.length > 0) {
    const archive = tarArchive(uploads.map((u) => ({ path: u.file, content: u.content, mode: 0o644 })));
    await docker(["cp", "-", `${spec.name}:/`], { input: archive });
  }
  await docker(["start", spec.name]);
}

/** A relay from a Docker network to a server of this machine; close() stops it. */
export interface NetworkRelay {
  /** The network's gateway address, where the relay listens: `--add-host <name>:<gateway>` points at it. */
  readonly gateway: string;
  close(): Promise<void>;
}

/**
 * Lets the containers of `network` reach a server that listens on this machine's loopback (a test's fake
 * HTTP server): a TCP relay on the network's gateway address and `port`, forwarding to `target`.
 */
export async function relayFromNetwork(
  network: string,
  port: number,
  target: { readonly host: string; readonly port: number },
): Promise<NetworkRelay> {
  const gateway = await docker([
    "network",
    "inspect",
    "--format",
    "{{(index .IPAM.Config 0).Gateway}}",
    network,
  ]);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, gateway, resolve);
  });
  return {
    gateway,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
