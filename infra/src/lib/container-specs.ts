/**
 * What each of the stack's containers runs, apart from its image: command, environment, healthcheck, files,
 * user, limits, privileges. Pure functions returning plain data: the components turn a spec into a `docker.Container`
 * (lib/docker.ts), and the container test runs the very same spec with `docker run` (dockerRunFlags), so
 * what is tested is what is deployed.
 *
 * `V` is the type of environment values: `string` in a test, `pulumi.Input<string>` in the program, where
 * a secret (Grafana's admin password, the API's database password) stays a secret Output.
 */
import {
  alertmanagerHealth,
  grafanaHealth,
  type Healthcheck,
  kafkaHealth,
  nodeHttpHealth,
  pdHealth,
  prometheusHealth,
  ticdcHealth,
  tidbHealth,
  tikvHealth,
} from "./healthchecks.ts";
import { alertRules } from "./monitoring/alert-rules.ts";
import {
  ALERTMANAGER_CONFIG_FILE,
  ALERTMANAGER_PORT,
  alertmanagerConfig,
  alertmanagerSecretFiles,
  type AlertReceivers,
} from "./monitoring/alertmanager-config.ts";
import { GRAFANA_PORT, grafanaProvisioningFiles } from "./monitoring/grafana-provisioning.ts";
import {
  PROMETHEUS_PORT,
  prometheusConfig,
  RULES_DIR,
  type ScrapeTopology,
} from "./monitoring/prometheus-config.ts";
import {
  kafkaEnvironment,
  pdCommand,
  pdName,
  ticdcCommand,
  tidbCommand,
  tikvCommand,
  tikvConfig,
  tikvName,
} from "./topology.ts";

/** A file written into the container before it starts (the provider writes it 0644). */
export interface FileUpload<V = string> {
  /** Absolute path inside the container. */
  readonly file: string;
  /** The file's text; of type V, as environment values, when it holds a secret. */
  readonly content: V;
}

export interface Ulimit {
  /** Resource name as Docker spells it, e.g. nofile. */
  readonly name: string;
  /** Soft limit. */
  readonly soft: number;
  /** Hard limit: the container's process cannot raise its soft limit above it. */
  readonly hard: number;
}

/** What a container is denied beyond Docker's defaults, in the forms Docker stores (see PROJECT_IMAGE_HARDENING). */
export interface Hardening {
  /** A read-only root filesystem: the process cannot change its image. */
  readonly readOnly: boolean;
  /** Writable tmpfs mounts on it, path → mount options. */
  readonly tmpfs: Readonly<Record<string, string>>;
  /** Capabilities dropped (ALL: every one). */
  readonly capDrop: readonly string[];
  /** Docker security options, e.g. no-new-privileges:true. */
  readonly securityOpts: readonly string[];
}

/**
 * Least privilege for every container of the project's own images (the Node services and the one-off
 * steps): nothing in them writes outside /tmp, binds a port below 1024 or changes user, so they need no
 * writable image, no capability and no way to gain privileges (setuid binaries are inert).
 *
 * Each value is declared in the form Docker Engine 20.10 stores it in the container's HostConfig, which is
 * what the Docker provider reads back on a refresh (kreuzwerker v4.5.0 resource_docker_container_funcs.go
 * sets read_only, tmpfs, capabilities and security_opts from HostConfig as is): checked by creating a
 * container with these flags on Docker 20.10.24 and reading `docker inspect`. ReadonlyRootfs true; Tmpfs
 * the map exactly as given; CapDrop ["ALL"] (Docker upper-cases it: "all" would read back as "ALL", a diff
 * on every refresh); SecurityOpt exactly as given, so "no-new-privileges:true" (a bare
 * "no-new-privileges" is stored bare: either works, as long as it is declared as it is sent).
 */
export const PROJECT_IMAGE_HARDENING: Hardening = {
  readOnly: true,
  // The one writable path, for anything that asks the OS for a temporary directory: 64 MiB as on the
  // Kubernetes target; its pages count against the container's memory cap. No executables, no setuid.
  tmpfs: { "/tmp": "rw,noexec,nosuid,size=64m" },
  capDrop: ["ALL"],
  securityOpts: ["no-new-privileges:true"],
};

/** `docker run` flags for a hardening: how the one-off steps and the container test apply it. */
export function hardeningFlags(hardening: Hardening): string[] {
  return [
    ...(hardening.readOnly ? ["--read-only"] : []),
    ...Object.entries(hardening.tmpfs).flatMap(([path, options]) => ["--tmpfs", `${path}:${options}`]),
    ...hardening.capDrop.flatMap((capability) => ["--cap-drop", capability]),
    ...hardening.securityOpts.flatMap((option) => ["--security-opt", option]),
  ];
}

/**
 * How each container's log is kept: Docker's json-file driver rotated at `maxSize`, keeping `maxFiles`
 * files, so no container can fill the host's disk with its log (json-file's max-size defaults to -1,
 * unlimited).
 */
export interface LogRotation {
  /** Size at which a log file is rotated, with Docker's unit k, m or g (e.g. 10m). */
  readonly maxSize: string;
  /** Log files kept per container, the current one included. */
  readonly maxFiles: number;
}

export interface ContainerSpec<V = string> {
  /** The container's alias on the stack network: how every other container reaches it. */
  readonly alias: string;
  /** Arguments after the image's entrypoint; undefined keeps the image's own command. */
  readonly command?: readonly string[];
  /** Environment variables; values of type V (see the module comment). */
  readonly env: Readonly<Record<string, V>>;
  /** Docker's healthcheck; Pulumi waits for it before anything that depends on the container. */
  readonly healthcheck: Healthcheck;
  /** Files written into the container before it starts. */
  readonly uploads: readonly FileUpload<V>[];
  /** Where the container's data volume is mounted; undefined when it keeps no data. */
  readonly dataPath?: string;
  /** The user it runs as; undefined keeps the image's own. */
  readonly user?: string;
  /** Resource limits beyond Docker's defaults. */
  readonly ulimits: readonly Ulimit[];
  /** Memory cap in MiB; undefined for none. */
  readonly memoryMb?: number;
  /** Privileges taken away; undefined keeps Docker's defaults (the upstream servers' images). */
  readonly hardening?: Hardening;
}

const base = (alias: string, healthcheck: Healthcheck) => ({
  alias,
  env: {},
  healthcheck,
  uploads: [],
  ulimits: [],
});

/** The i-th PD server (see topology.pdClusterFlag for how it finds its cluster). */
export function pdContainerSpec(args: {
  /** Which PD: 0 bootstraps the cluster, the others join it. */
  readonly index: number;
}): ContainerSpec {
  const alias = pdName(args.index);
  return { ...base(alias, pdHealth(alias)), command: pdCommand(args.index), dataPath: "/data" };
}

/**
 * TiKV raises its open-file limit at start and exits if the container's hard limit is lower than what it
 * needs (about 1,800 with max-open-files 256), so 65536 leaves ample room. Not higher: a hard limit above
 * the kernel's fs.nr_open (1048576 by default, lower on some hosts), or above what the Docker daemon itself
 * may open, makes the container fail to start. The default of the `tikvNofile` config key.
 */
export const TIKV_NOFILE = 65536;

/**
 * The lowest `tikvNofile` allowed: TiKV refuses to start below 1,000 plus rocksdb's and raftdb's
 * max-open-files (256 each here, topology.tikvConfig), i.e. 1,512, and uses about 1,800 once running;
 * 4096 leaves room for its connections and a larger data set.
 */
export const TIKV_MIN_NOFILE = 4096;

export interface TikvSpecArgs {
  /** Which TiKV: its name and advertised address follow (topology.tikvName). */
  readonly index: number;
  /** Every current PD's client endpoint, comma separated (topology.pdEndpoints). */
  readonly pd: string;
  /** Memory cap in MiB; the block cache is sized from it. */
  readonly memoryMb: number;
  /** Open-file limit (soft and hard); default TIKV_NOFILE. */
  readonly nofile?: number;
}

export function tikvContainerSpec(args: TikvSpecArgs): ContainerSpec {
  return {
    ...base(tikvName(args.index), tikvHealth()),
    command: tikvCommand(args.index, args.pd),
    uploads: [{ file: "/etc/tikv/tikv.toml", content: tikvConfig(args.memoryMb) }],
    dataPath: "/data",
    ulimits: [{ name: "nofile", soft: args.nofile ?? TIKV_NOFILE, hard: args.nofile ?? TIKV_NOFILE }],
    memoryMb: args.memoryMb,
  };
}

export function tidbContainerSpec(args: {
  /** Every current PD's client endpoint, comma separated. */
  readonly pd: string;
  /** Memory cap in MiB. */
  readonly memoryMb: number;
}): ContainerSpec {
  return { ...base("tidb", tidbHealth()), command: tidbCommand(args.pd), memoryMb: args.memoryMb };
}

export function ticdcContainerSpec(args: {
  /** Every current PD's client endpoint, comma separated. */
  readonly pd: string;
}): ContainerSpec {
  return { ...base("ticdc", ticdcHealth()), command: ticdcCommand(args.pd), dataPath: "/data" };
}

export interface KafkaSpecArgs {
  /** KRaft cluster id, 22 characters of URL-safe base64. */
  readonly clusterId: string;
  /** The broker's JVM heap in MiB. */
  readonly heapMb: number;
}

export function kafkaContainerSpec(args: KafkaSpecArgs): ContainerSpec {
  return {
    ...base("kafka", kafkaHealth()),
    env: kafkaEnvironment(args.clusterId, args.heapMb),
    dataPath: "/var/lib/kafka/data",
  };
}

/**
 * Prometheus with the generated scrape config (every PD and TiKV of `topology`), the alert rules with their
 * runbook links under `runbookBaseUrl`, and the stack's Alertmanager to send alerts to.
 */
export function prometheusContainerSpec(
  args: ScrapeTopology & {
    /** Base of the alerts' `runbook_url`; default alert-rules.ts's DEFAULT_RUNBOOK_BASE_URL. */
    readonly runbookBaseUrl?: string;
  },
): ContainerSpec {
  const topology = { pdCount: args.pdCount, tikvCount: args.tikvCount };
  return {
    ...base("prometheus", prometheusHealth(PROMETHEUS_PORT)),
    command: [
      "--config.file=/etc/prometheus/prometheus.yml",
      "--storage.tsdb.path=/prometheus",
      "--storage.tsdb.retention.time=15d",
    ],
    uploads: [
      {
        file: "/etc/prometheus/prometheus.yml",
        content: JSON.stringify(prometheusConfig(topology), null, 2),
      },
      {
        file: `${RULES_DIR}/tidbstack.yml`,
        content: JSON.stringify(
          alertRules(args.runbookBaseUrl === undefined ? {} : { runbookBaseUrl: args.runbookBaseUrl }),
          null,
          2,
        ),
      },
    ],
    dataPath: "/prometheus",
  };
}

/**
 * Alertmanager, single node (an empty cluster address turns gossip off), routing to the configured
 * receivers, whose secrets are files beside its configuration (V: a secret Output in the program).
 */
export function alertmanagerContainerSpec<V>(args: {
  /** Where alerts go; none: they collect in Alertmanager's UI only. */
  readonly receivers: AlertReceivers<V>;
}): ContainerSpec<V | string> {
  return {
    ...base("alertmanager", alertmanagerHealth(ALERTMANAGER_PORT)),
    command: [
      `--config.file=${ALERTMANAGER_CONFIG_FILE}`,
      "--storage.path=/alertmanager",
      "--cluster.listen-address=",
    ],
    uploads: [
      {
        file: ALERTMANAGER_CONFIG_FILE,
        content: JSON.stringify(alertmanagerConfig(args.receivers), null, 2),
      },
      ...alertmanagerSecretFiles(args.receivers),
    ],
    // Silences and the notification log, so a restart neither forgets a silence nor repeats a page.
    dataPath: "/alertmanager",
  };
}

/** Grafana with its provisioned datasource and dashboards; anonymous viewers, one admin. */
export function grafanaContainerSpec<V>(args: {
  /** The admin's password: a secret Output in the program. */
  readonly adminPassword: V;
}): ContainerSpec<V | string> {
  return {
    ...base("grafana", grafanaHealth(GRAFANA_PORT)),
    env: {
      GF_SECURITY_ADMIN_PASSWORD: args.adminPassword,
      // A local stack: anyone who can reach 127.0.0.1 may look; only the admin may change anything.
      GF_AUTH_ANONYMOUS_ENABLED: "true",
      GF_AUTH_ANONYMOUS_ORG_ROLE: "Viewer",
      GF_USERS_ALLOW_SIGN_UP: "false",
      GF_ANALYTICS_REPORTING_ENABLED: "false",
      GF_ANALYTICS_CHECK_FOR_UPDATES: "false",
      GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH: "/etc/grafana/dashboards/tidbstack-overview.json",
    },
    uploads: grafanaProvisioningFiles(),
    dataPath: "/var/lib/grafana",
  };
}

export interface ServiceSpecArgs<V> {
  /** Network alias, e.g. api. */
  readonly alias: string;
  /** The service's environment (service-env.ts). */
  readonly env: Readonly<Record<string, V>>;
  /** The port its /health answers on inside the container. */
  readonly healthPort: number;
  /** Instead of the image's own command: another entry point of the same image. */
  readonly command?: readonly string[];
  /** Memory cap in MiB (config apiMemoryMb, consumerMemoryMb, purgeMemoryMb). */
  readonly memoryMb: number;
}

/**
 * One of the stack's own Node services, as the image's non-root user, hardened, within its memory cap,
 * healthy when its /health is.
 */
export function serviceContainerSpec<V>(args: ServiceSpecArgs<V>): ContainerSpec<V> {
  return {
    ...base(args.alias, nodeHttpHealth(args.healthPort)),
    env: args.env,
    ...(args.command === undefined ? {} : { command: args.command }),
    memoryMb: args.memoryMb,
    hardening: PROJECT_IMAGE_HARDENING,
  };
}

/**
 * `docker run` flags giving a container what the spec says, apart from the image, the network, the volume
 * and the uploads (write those into the container with `docker cp` before `docker start`).
 */
export function dockerRunFlags(spec: ContainerSpec): string[] {
  const { healthcheck } = spec;
  return [
    "--network-alias",
    spec.alias,
    ...Object.entries(spec.env).flatMap(([key, value]) => ["-e", `${key}=${value}`]),
    "--health-cmd",
    healthcheck.tests[1],
    "--health-interval",
    healthcheck.interval,
    "--health-timeout",
    healthcheck.timeout,
    "--health-retries",
    String(healthcheck.retries),
    "--health-start-period",
    healthcheck.startPeriod,
    ...spec.ulimits.flatMap((u) => ["--ulimit", `${u.name}=${u.soft}:${u.hard}`]),
    // Swap as lib/docker.ts gives the deployed container: none.
    ...(spec.memoryMb === undefined
      ? []
      : ["--memory", `${spec.memoryMb}m`, "--memory-swap", `${spec.memoryMb}m`]),
    ...(spec.user === undefined ? [] : ["--user", spec.user]),
    ...(spec.hardening === undefined ? [] : hardeningFlags(spec.hardening)),
  ];
}
