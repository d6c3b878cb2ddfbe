/**
 * `npm run up` runs this before Pulumi starts (Docker target): it reads the dev stack's config, gathers what the host has
 * (Docker engine version, memory, disk, ports, the kernel's and the Docker daemon's open-file ceilings) and prints one line per
 * problem with its fix, exiting 1 if there is any. It also says what a change of the cluster's shape since
 * the last deployment will do, and warns when the API is published beyond this machine with the seed
 * admin's documented password. Set TIDBSTACK_SKIP_PREFLIGHT=1 to skip it.
 *
 * Run from the repository root with the project's Pulumi environment (scripts/lib/pulumi.sh).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig, type ConfigSource } from "../infra/src/config.ts";
import {
  describeTopologyChange,
  type HostFacts,
  preflightProblems,
  type PreflightSettings,
  preflightWarnings,
  SEED_ADMIN_PASSWORD,
} from "../infra/src/lib/preflight.ts";
import { probeDaemonNofile } from "./preflight/daemon-nofile.ts";

const PULUMI = "node_modules/.bin/pulumi";
const MIB = 1024 * 1024;

/** Runs a command and returns its stdout, or undefined when it fails (a missing engine is a finding, not a crash). */
function output(file: string, args: string[]): string | undefined {
  try {
    return execFileSync(file, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return undefined;
  }
}

/** The stack's config as `pulumi config --json` prints it, read through the same rules the program uses. */
function stackConfig(): ConfigSource {
  const raw = JSON.parse(output(PULUMI, ["config", "--json"]) ?? "{}") as Record<
    string,
    { value?: string; secret?: boolean }
  >;
  const get = (key: string): string | undefined => raw[`tidbstack:${key}`]?.value;
  // A secret's value is not printed without --show-secrets; the checks only need to know it is set.
  const getSecret = (key: string) =>
    raw[`tidbstack:${key}`]?.secret === true ? pulumi.secret("") : undefined;
  return { get, getSecret };
}

/**
 * Whether the seed admin's password is still the documented one. The only secret the preflight reads, and
 * only to compare it: `pulumi config get` decrypts it with the stack's passphrase.
 */
function adminPasswordIsSeed(): boolean {
  return output(PULUMI, ["config", "get", "adminPassword"]) === SEED_ADMIN_PASSWORD;
}

function engineFacts(): HostFacts["engine"] {
  const server = output("docker", ["version", "--format", "{{json .Server}}"]);
  if (server === undefined || server === "null") return undefined;
  const parsed = JSON.parse(server) as { Version?: string; ApiVersion?: string };
  return { release: parsed.Version ?? "unknown", apiVersion: parsed.ApiVersion ?? "0" };
}

/** Docker's memory strings, e.g. "1.2GiB", "512MiB", "800kB". */
function parseMemory(text: string): number {
  const match = /^([\d.]+)\s*([KMGT]i?B|kB|B)$/i.exec(text.trim());
  if (match === null) return 0;
  const units: Record<string, number> = {
    b: 1,
    kb: 1e3,
    kib: 1024,
    mib: MIB,
    gib: 1024 * MIB,
    tib: MIB * MIB,
  };
  return Number(match[1]) * (units[(match[2] ?? "b").toLowerCase()] ?? 1);
}

/** Available memory plus what this stack's own containers hold, since a second `up` keeps them. */
function memoryAvailableMb(stackName: string): number | undefined {
  const candidates: number[] = [];
  if (existsSync("/proc/meminfo")) {
    const match = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"));
    if (match !== null) candidates.push((Number(match[1]) * 1024) / MIB);
  }
  // The engine's view matters where it runs in a VM (Docker Desktop): its total is the ceiling.
  const engineTotal = Number(output("docker", ["info", "--format", "{{.MemTotal}}"]));
  if (Number.isFinite(engineTotal) && engineTotal > 0) candidates.push(engineTotal / MIB);
  if (candidates.length === 0) return undefined;
  const stats = output("docker", ["stats", "--no-stream", "--format", "{{.Name}}\t{{.MemUsage}}"]) ?? "";
  const ownUsageMb = stats
    .split("\n")
    .filter((line) => line.startsWith(`${stackName}-`))
    .reduce((sum, line) => sum + parseMemory(line.split("\t")[1]?.split("/")[0] ?? "") / MIB, 0);
  return Math.min(...candidates) + ownUsageMb;
}

function diskAvailableMb(): number | undefined {
  const root = output("docker", ["info", "--format", "{{.DockerRootDir}}"]);
  // On Docker Desktop the root is inside a VM and not visible here.
  if (root === undefined || !existsSync(root)) return undefined;
  const df = output("df", ["-Pk", root])?.split("\n")[1]?.split(/\s+/);
  const availableKb = Number(df?.[3]);
  return Number.isFinite(availableKb) ? availableKb / 1024 : undefined;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => {
      // EACCES: a privileged port this user may not bind, which Docker (root) still can.
      resolve(error.code !== "EADDRINUSE");
    });
    server.listen(port, "0.0.0.0", () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

async function busyPorts(stackName: string, ports: number[]): Promise<Set<number>> {
  const published =
    output("docker", ["ps", "--filter", `name=^/${stackName}-`, "--format", "{{.Ports}}"]) ?? "";
  const busy = new Set<number>();
  for (const port of ports) {
    const ours = published.includes(`:${port}->`);
    if (!ours && !(await portFree(port))) busy.add(port);
  }
  return busy;
}

function nrOpen(): number | undefined {
  if (!existsSync("/proc/sys/fs/nr_open")) return undefined;
  return Number(readFileSync("/proc/sys/fs/nr_open", "utf8").trim());
}

/** The shape of the last deployment, from the stack output the program exports; undefined before the first. */
function lastTopology(): { pdCount: number; tikvCount: number } | undefined {
  const text = output(PULUMI, ["stack", "output", "topology", "--json"]);
  if (text === undefined || text === "") return undefined;
  const parsed = JSON.parse(text) as { pdCount?: number; tikvCount?: number } | null;
  return parsed?.pdCount === undefined || parsed.tikvCount === undefined
    ? undefined
    : { pdCount: parsed.pdCount, tikvCount: parsed.tikvCount };
}

async function main(): Promise<number> {
  const config = loadStackConfig(stackConfig());
  if (config.target !== "docker") {
    console.error(`preflight: target ${config.target}: the host checks are for the Docker target; skipped`);
    return 0;
  }
  const settings: PreflightSettings = {
    pdCount: config.pdCount,
    tikvCount: config.tikvCount,
    tikvMemoryMb: config.tikvMemoryMb,
    tidbMemoryMb: config.tidbMemoryMb,
    kafkaHeapMb: config.kafkaHeapMb,
    apiPort: config.apiPort,
    grafanaPort: config.grafanaPort,
    alertmanagerPort: config.alerting.alertmanagerPort,
    monitoring: config.monitoring !== undefined,
    tikvNofile: config.tikvNofile,
    serviceMemoryMb: Object.values(config.serviceMemoryMb).reduce((sum, mb) => sum + mb, 0),
    apiHost: config.apiHost,
    adminPasswordIsSeed: adminPasswordIsSeed(),
  };
  const ports =
    config.monitoring !== undefined
      ? [config.apiPort, config.grafanaPort, config.alerting.alertmanagerPort]
      : [config.apiPort];
  const engine = engineFacts();
  const facts: HostFacts = {
    engine,
    memoryAvailableMb: memoryAvailableMb(config.name),
    diskAvailableMb: diskAvailableMb(),
    busyPorts: await busyPorts(config.name, ports),
    nrOpen: nrOpen(),
    daemonNofile: engine === undefined ? undefined : probeDaemonNofile(config.tikvNofile),
  };
  if (facts.daemonNofile === "unknown")
    console.error(
      `preflight: could not check whether the Docker daemon grants TiKV ${config.tikvNofile} open files; if TiKV fails with "error setting rlimit", see tikvNofile in the README`,
    );
  const last = lastTopology();
  if (last !== undefined) {
    for (const line of describeTopologyChange({
      pdCount: { from: last.pdCount, to: config.pdCount },
      tikvCount: { from: last.tikvCount, to: config.tikvCount },
    }))
      console.error(`preflight: ${line}`);
  }
  for (const warning of preflightWarnings(settings)) console.error(`preflight: ${warning}`);
  const problems = preflightProblems(settings, facts);
  for (const problem of problems) console.error(`preflight: ${problem}`);
  if (problems.length > 0) {
    console.error("preflight: set TIDBSTACK_SKIP_PREFLIGHT=1 to run anyway");
    return 1;
  }
  console.error(`preflight: Docker ${facts.engine?.release ?? "?"}, host fit for the configured stack`);
  return 0;
}

process.exit(await main());
