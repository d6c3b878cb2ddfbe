import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
  type ContainerSpec,
  hardeningFlags,
  type LogRotation,
  PROJECT_IMAGE_HARDENING,
} from "./container-specs.ts";

/** Docker's `KEY=value` list from a map whose values may be secret Outputs; secrecy carries over. */
export function envList(env: Readonly<Record<string, pulumi.Input<string>>>): pulumi.Output<string[]> {
  return pulumi.all(Object.entries(env).map(([key, value]) => pulumi.interpolate`${key}=${value}`));
}

/** Docker's `KEY=value` list from plain values; undefined when there are none. */
const envPairs = (env: Readonly<Record<string, string>>): string[] | undefined => {
  const pairs = Object.entries(env).map(([key, value]) => `${key}=${value}`);
  return pairs.length === 0 ? undefined : pairs;
};

/** A port published on the loopback interface only: reachable from this machine, not from the network. */
export const loopbackPort = (port: number, external = port) => ({
  internal: port,
  external,
  ip: "127.0.0.1",
});

/**
 * The provider's `logDriver`/`logOpts` for a rotation. Docker stores the options as given (all strings) and
 * the provider reads them back from HostConfig.LogConfig (checked on Docker 20.10.24 with `docker inspect`:
 * {"Type":"json-file","Config":{"max-file":"3","max-size":"10m"}}); a daemon with log-opts of its own in
 * daemon.json merges them in, which would then show as a change on refresh.
 */
const logInputs = (rotation: LogRotation) => ({
  logDriver: "json-file",
  logOpts: { "max-size": rotation.maxSize, "max-file": String(rotation.maxFiles) },
});

/**
 * The named volume `<name>` for a component's data. Its only input is its name, which never changes for a
 * node that stays, so no `pulumi up` replaces it. With `keepData`, Pulumi leaves it in Docker whenever it
 * deletes the resource (retainOnDelete): on `pulumi destroy`, and also when a scale-in removes its node.
 */
export function dataVolume(
  name: string,
  parent: pulumi.Resource,
  keepData: boolean | undefined,
): docker.Volume {
  return new docker.Volume(name, { name }, { parent, retainOnDelete: keepData ?? false });
}

/**
 * How long Docker lets a database server flush and stop before killing it, in seconds: three times
 * Docker's default of 10 s, a judgement for a RocksDB flush on a laptop disk, not a measurement.
 */
export const SERVER_STOP_GRACE_SECONDS = 30;

/**
 * How long Pulumi waits for PD, TiKV or TiDB to turn healthy, in seconds. Not measured here (the images
 * cannot be pulled on the machines this was written on): a cold TiKV or TiDB can take minutes, and a PD
 * joining a cluster waits for its peers, so five times Docker's default wait of 60 s.
 */
export const SLOW_START_WAIT_SECONDS = 300;

export interface ServerContainerArgs {
  /** Name of the Docker network the container joins, as the spec's alias. */
  readonly networkName: pulumi.Input<string>;
  /** Image id or digest, so a new image replaces the container. */
  readonly image: pulumi.Input<string>;
  /**
   * Everything else the container runs with (container-specs.ts). An Output when the spec is built from
   * another resource's output (it must then hold no secret, which would make every input secret).
   */
  readonly spec: ContainerSpec<pulumi.Input<string>> | pulumi.Output<ContainerSpec>;
  /** Mounted at the spec's `dataPath`; required when the spec has one. */
  readonly volume?: docker.Volume;
  /** Ports published on the host; default none. */
  readonly ports?: pulumi.Input<docker.types.input.ContainerPort>[];
  /** Seconds Pulumi waits for the healthcheck to pass before failing the `up`. */
  readonly waitTimeout: number;
  /** Seconds Docker waits after SIGTERM before SIGKILL; default: the provider's. */
  readonly stopGraceSeconds?: number;
  /** How its log is rotated: required, so no container of the stack is declared without. */
  readonly logRotation: LogRotation;
}

/**
 * The Docker provider's inputs for what a spec says: mutable copies (the provider's types want them), and
 * an empty list left out rather than sent, as it was before specs existed.
 */
function specInputs(spec: ContainerSpec<pulumi.Input<string>>, volumeName: pulumi.Input<string> | undefined) {
  const nonEmpty = <T>(list: T[]): T[] | undefined => (list.length === 0 ? undefined : list);
  return {
    command: spec.command === undefined ? undefined : [...spec.command],
    user: spec.user,
    uploads: nonEmpty(spec.uploads.map((u) => ({ file: u.file, content: u.content }))),
    aliases: [spec.alias],
    volumes:
      volumeName === undefined || spec.dataPath === undefined
        ? undefined
        : [{ volumeName, containerPath: spec.dataPath }],
    ulimits: nonEmpty(spec.ulimits.map((u) => ({ ...u }))),
    memory: spec.memoryMb,
    // Memory plus swap equal to memory: no swap. Left unset, Docker gives a capped container as much swap
    // again (2× memory), which the provider then reads back as a change on every refresh; declared, the
    // value is what the engine keeps. No swap on purpose: TiKV sizes its block cache from the limit and
    // PingCAP's deployment guide asks for swap off, and a Node service past its cap should be restarted
    // by Docker, not slowed down by paging. Set here, where every spec becomes a container, so any spec
    // with a memory cap gets it.
    memorySwap: spec.memoryMb,
    healthcheck: { ...spec.healthcheck, tests: [...spec.healthcheck.tests] },
    ...hardeningInputs(spec.hardening),
  };
}

/** The provider's inputs for a hardening (see PROJECT_IMAGE_HARDENING for their forms); unset without one. */
function hardeningInputs(hardening: ContainerSpec["hardening"]) {
  return {
    readOnly: hardening?.readOnly,
    tmpfs: hardening === undefined ? undefined : { ...hardening.tmpfs },
    capabilities: hardening === undefined ? undefined : { drops: [...hardening.capDrop] },
    securityOpts: hardening === undefined ? undefined : [...hardening.securityOpts],
  };
}

/**
 * A long-running container named `name` (the Pulumi name is the Docker name) from a spec, restarted by
 * Docker unless stopped, and healthy before anything that depends on it starts (`wait`).
 */
export function serverContainer(
  name: string,
  args: ServerContainerArgs,
  opts: pulumi.CustomResourceOptions,
): docker.Container {
  const volumeName = args.volume?.name;
  const { spec } = args;
  const inputs = pulumi.Output.isInstance(spec)
    ? spec.apply((plain) => specInputs(plain, volumeName))
    : specInputs(spec, volumeName);
  const envs = pulumi.Output.isInstance(spec)
    ? spec.apply((plain) => envPairs(plain.env))
    : Object.keys(spec.env).length === 0
      ? undefined
      : envList(spec.env);
  return new docker.Container(
    name,
    {
      name,
      image: args.image,
      command: inputs.command,
      envs,
      user: inputs.user,
      uploads: inputs.uploads,
      networksAdvanced: [{ name: args.networkName, aliases: inputs.aliases }],
      volumes: inputs.volumes,
      ports: args.ports ?? [],
      ulimits: inputs.ulimits,
      memory: inputs.memory,
      memorySwap: inputs.memorySwap,
      readOnly: inputs.readOnly,
      tmpfs: inputs.tmpfs,
      capabilities: inputs.capabilities,
      securityOpts: inputs.securityOpts,
      healthcheck: inputs.healthcheck,
      ...logInputs(args.logRotation),
      restart: "unless-stopped",
      wait: true,
      waitTimeout: args.waitTimeout,
      ...(args.stopGraceSeconds === undefined ? {} : { destroyGraceSeconds: args.stopGraceSeconds }),
    },
    {
      ...opts,
      // The container has a fixed name, so its replacement cannot exist beside it: the old one is stopped
      // and removed first (the Docker provider asks for this too; said here so it cannot change under us).
      // Its data is in the volume, which a replacement keeps.
      deleteBeforeReplace: true,
    },
  );
}

/** Quotes a value for a POSIX shell command line. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:=@,+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

export interface OneOffContainer {
  /** Name of the Docker network the container joins, to reach the stack's servers by alias. */
  readonly networkName: pulumi.Input<string>;
  /** The image by id or tag. */
  readonly image: pulumi.Input<string>;
  /** Plain settings, written into the command line. */
  readonly env: pulumi.Input<Readonly<Record<string, string>>>;
  /**
   * Secret variables, name → value: the command line names them only (`-e NAME`, so docker copies each
   * from the command's own environment), and the values travel in the Command's `environment`, which
   * Pulumi keeps secret. Never in the command string or its logs.
   */
  readonly secretEnv?: Readonly<Record<string, pulumi.Input<string>>>;
  /** The command and its arguments, after the image name. */
  readonly command: readonly string[];
}

/** A `docker run --rm` for a `local.Command`: its command line and the environment it must run with. */
export interface OneOffRun {
  /** The `docker run` line: plain settings and the names of the secret ones. */
  readonly command: pulumi.Output<string>;
  /** The secret values, for the Command's `environment`. */
  readonly environment: Readonly<Record<string, pulumi.Input<string>>>;
}

/**
 * `docker run --rm` of one of the stack's images on the stack network: reaches internal services
 * unpublished. Hardened as the services are (PROJECT_IMAGE_HARDENING). Its log goes with the container,
 * which --rm removes when the step ends, so it needs no rotation.
 */
export function oneOffRun(spec: OneOffContainer): OneOffRun {
  const secretEnv = spec.secretEnv ?? {};
  const command = pulumi.all([spec.networkName, spec.image, spec.env]).apply(([network, image, env]) => {
    const flags = [
      ...Object.entries(env).map(([key, value]) => `-e ${key}=${shellQuote(value)}`),
      ...Object.keys(secretEnv).map((key) => `-e ${key}`),
    ];
    return [
      "docker run --rm --network",
      shellQuote(network),
      ...hardeningFlags(PROJECT_IMAGE_HARDENING).map(shellQuote),
      ...flags,
      shellQuote(image),
      ...spec.command.map(shellQuote),
    ].join(" ");
  });
  return { command, environment: secretEnv };
}
