/**
 * What makes a first `pulumi up` fail late, checked before Pulumi starts (`npm run up` runs it): an engine too
 * old for the program, too little memory or disk for the configured caps, a host port already taken, a host
 * or a Docker daemon whose open-file ceiling is below what TiKV's container asks for. It also warns, without
 * refusing, about a setting that exposes the stack. Pure: the facts about the host are gathered by
 * scripts/preflight.ts and passed in, so every rule is unit tested.
 */
import { TIKV_MIN_NOFILE } from "./container-specs.ts";
import { isLoopback } from "./host-address.ts";

/** The Docker Engine API the program needs: 1.41 is Docker 20.10, Debian 12's `docker.io`. */
export const MIN_ENGINE_API = "1.41";
export const MIN_ENGINE_RELEASE = "20.10";

/**
 * Memory the processes without a cap are given room for, in MiB. These are allowances chosen for the
 * check, not measurements: PD and TiCDC at their idle footprint with headroom, Kafka's JVM beyond its heap,
 * and Prometheus with Grafana.
 */
export const MEMORY_ALLOWANCE_MB = {
  pd: 256,
  ticdc: 512,
  kafkaOffHeap: 256,
  monitoring: 512,
} as const;

/** The seed admin's password `npm run up` sets on a new stack, documented in the README: known to anyone. */
export const SEED_ADMIN_PASSWORD = "temp-password";

/** Free disk the check asks for, in MiB: room for the images on a first pull and for data to grow. */
export const MIN_FREE_DISK_MB = 10 * 1024;

export interface PreflightSettings {
  readonly pdCount: number;
  readonly tikvCount: number;
  readonly tikvMemoryMb: number;
  readonly tidbMemoryMb: number;
  readonly kafkaHeapMb: number;
  readonly apiPort: number;
  readonly grafanaPort: number;
  readonly alertmanagerPort: number;
  readonly monitoring: boolean;
  /** The open-file limit the program gives each TiKV container. */
  readonly tikvNofile: number;
  /** The memory caps of the Node service containers (API, consumer, purge), summed, in MiB. */
  readonly serviceMemoryMb: number;
  /** The host address the API is published on (config apiHost). */
  readonly apiHost: string;
  /** Whether adminPassword is still SEED_ADMIN_PASSWORD. */
  readonly adminPasswordIsSeed: boolean;
}

export interface HostFacts {
  /** The engine's release and API version; undefined when no engine answered. */
  readonly engine: { readonly release: string; readonly apiVersion: string } | undefined;
  /** Memory the stack can use: what is available now plus what its own running containers hold. */
  readonly memoryAvailableMb: number | undefined;
  /** Free space where the engine keeps images and volumes; undefined when it cannot be read from here. */
  readonly diskAvailableMb: number | undefined;
  /** Host ports taken by anything but this stack's own containers. */
  readonly busyPorts: ReadonlySet<number>;
  /** The kernel's ceiling on a process's open files (`fs.nr_open`); undefined off Linux. */
  readonly nrOpen: number | undefined;
  /**
   * Whether the Docker daemon could start a container with TiKV's `nofile` (scripts/preflight/
   * daemon-nofile.ts); undefined when it was not checked.
   */
  readonly daemonNofile: "granted" | "denied" | "unknown" | undefined;
}

/** Memory the configured stack may use at most, in MiB: the caps plus the allowances above. */
export function memoryNeededMb(settings: PreflightSettings): number {
  const allowance = MEMORY_ALLOWANCE_MB;
  return (
    settings.tikvCount * settings.tikvMemoryMb +
    settings.tidbMemoryMb +
    settings.kafkaHeapMb +
    allowance.kafkaOffHeap +
    settings.pdCount * allowance.pd +
    allowance.ticdc +
    settings.serviceMemoryMb +
    (settings.monitoring ? allowance.monitoring : 0)
  );
}

/** "1.41" < "1.43"; numeric per part, so "1.9" < "1.10". */
export function versionAtLeast(version: string, minimum: string): boolean {
  const parts = (v: string) => v.split(".").map((p) => Number.parseInt(p, 10) || 0);
  const have = parts(version);
  const want = parts(minimum);
  for (let i = 0; i < Math.max(have.length, want.length); i++) {
    const difference = (have[i] ?? 0) - (want[i] ?? 0);
    if (difference !== 0) return difference > 0;
  }
  return true;
}

/** Every problem found, one line each naming the problem and the fix; empty when the host is fit. */
export function preflightProblems(settings: PreflightSettings, facts: HostFacts): string[] {
  const problems: string[] = [];
  if (facts.engine === undefined) {
    problems.push("no Docker engine answers (`docker version` failed): start Docker and run again");
  } else if (!versionAtLeast(facts.engine.apiVersion, MIN_ENGINE_API)) {
    problems.push(
      `Docker ${facts.engine.release} (Engine API ${facts.engine.apiVersion}) is too old: the stack needs Docker ${MIN_ENGINE_RELEASE} or newer (API ${MIN_ENGINE_API}); upgrade the engine`,
    );
  }

  const needed = memoryNeededMb(settings);
  if (facts.memoryAvailableMb !== undefined && facts.memoryAvailableMb < needed) {
    problems.push(
      `the stack may use ${needed} MiB of memory but ${Math.floor(facts.memoryAvailableMb)} MiB is available: free memory, or lower tikvMemoryMb / tidbMemoryMb / kafkaHeapMb / tikvCount (pulumi config set <key> <value>)`,
    );
  }

  if (facts.diskAvailableMb !== undefined && facts.diskAvailableMb < MIN_FREE_DISK_MB) {
    problems.push(
      `only ${Math.floor(facts.diskAvailableMb)} MiB of disk is free where Docker keeps images and volumes; the stack asks for ${MIN_FREE_DISK_MB} MiB: free disk (docker system prune removes unused images)`,
    );
  }

  const ports: [string, number][] = [["apiPort", settings.apiPort]];
  if (settings.monitoring) {
    ports.push(["grafanaPort", settings.grafanaPort], ["alertmanagerPort", settings.alertmanagerPort]);
  }
  for (const [key, port] of ports) {
    if (facts.busyPorts.has(port)) {
      problems.push(
        `host port ${port} (${key}) is already in use by another program: stop it, or choose another port with pulumi config set ${key} <port>`,
      );
    }
  }

  if (facts.nrOpen !== undefined && facts.nrOpen < settings.tikvNofile) {
    problems.push(
      `the kernel allows at most ${facts.nrOpen} open files per process (fs.nr_open) but TiKV's container asks for ${settings.tikvNofile}: raise it with sysctl -w fs.nr_open=${settings.tikvNofile}`,
    );
  } else if (facts.daemonNofile === "denied") {
    problems.push(
      `the Docker daemon cannot start a container with ${settings.tikvNofile} open files (--ulimit nofile=${settings.tikvNofile}:${settings.tikvNofile} fails with "error setting rlimit type 7: operation not permitted"), so TiKV would not start: its own open-file limit is lower and it may not raise it. ` +
        `Raise the daemon's limit (systemd: LimitNOFILE=1048576 in a drop-in for docker.service, then systemctl daemon-reload and systemctl restart docker; rootless Docker: the user's hard nofile limit in /etc/security/limits.conf and LimitNOFILE in ~/.config/systemd/user/docker.service), ` +
        `or give TiKV fewer with pulumi config set tikvNofile <n>, at most the daemon's limit (ulimit -Hn where it runs) and at least ${TIKV_MIN_NOFILE}`,
    );
  }
  return problems;
}

/**
 * What the configuration exposes, one line each with the command that closes it; empty when nothing is.
 * Warnings, not problems: publishing the API further is a choice, the seed password with it is not.
 */
export function preflightWarnings(settings: PreflightSettings): string[] {
  if (isLoopback(settings.apiHost) || !settings.adminPasswordIsSeed) return [];
  return [
    `warning: the API is published on ${settings.apiHost}:${settings.apiPort} (apiHost), beyond this machine, and the seed admin's password is still the documented "${SEED_ADMIN_PASSWORD}": set another with node_modules/.bin/pulumi config set --secret adminPassword '<new password>' and run npm run up again`,
  ];
}

export interface TopologyChange {
  readonly pdCount: { readonly from: number; readonly to: number };
  readonly tikvCount: { readonly from: number; readonly to: number };
}

/** What a change of the cluster's shape will do, in plain words, so an operator sees it before it starts. */
export function describeTopologyChange(change: TopologyChange): string[] {
  const lines: string[] = [];
  const { pdCount, tikvCount } = change;
  if (pdCount.to > pdCount.from)
    lines.push(
      `pdCount ${pdCount.from} → ${pdCount.to}: the new PD servers join the running cluster one at a time`,
    );
  if (pdCount.to < pdCount.from)
    lines.push(
      `pdCount ${pdCount.from} → ${pdCount.to}: PD members are removed through PD's API, highest index first, before their containers and volumes`,
    );
  if (tikvCount.to > tikvCount.from)
    lines.push(
      `tikvCount ${tikvCount.from} → ${tikvCount.to}: the new stores register with PD, then PD's max-replicas is raised`,
    );
  if (tikvCount.to < tikvCount.from)
    lines.push(
      `tikvCount ${tikvCount.from} → ${tikvCount.to}: PD's max-replicas is lowered, then each removed store is drained by PD until it is Tombstone (this can take a while); only then are its container and volume deleted`,
    );
  return lines;
}
