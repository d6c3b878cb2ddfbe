import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

/** Docker's `KEY=value` list from a map whose values may be secret Outputs; secrecy carries over. */
export function envList(env: Record<string, pulumi.Input<string>>): pulumi.Output<string[]> {
  return pulumi.all(Object.entries(env).map(([key, value]) => pulumi.interpolate`${key}=${value}`));
}

/** A port published on the loopback interface only: reachable from this machine, not from the network. */
export const loopbackPort = (port: number, external = port) => ({
  internal: port,
  external,
  ip: "127.0.0.1",
});

/**
 * The named volume `<name>` for a component's data. With `keepData`, `pulumi destroy` leaves it in Docker
 * (retainOnDelete), so the next `pulumi up` finds the data again.
 */
export function dataVolume(
  name: string,
  parent: pulumi.Resource,
  keepData: boolean | undefined,
): docker.Volume {
  return new docker.Volume(name, { name }, { parent, retainOnDelete: keepData ?? false });
}

/** How long Docker lets a database server flush and stop before killing it, in seconds. */
export const SERVER_STOP_GRACE_SECONDS = 30;

/** A cold TiKV or TiDB can take minutes to become healthy; Docker's default wait of 60 s is too short. */
export const SLOW_START_WAIT_SECONDS = 300;

/** Quotes a value for a POSIX shell command line. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:=@,+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

export interface OneOffContainer {
  readonly networkName: pulumi.Input<string>;
  readonly image: pulumi.Input<string>;
  /** Plain settings, written into the command line. */
  readonly env: Record<string, string>;
  /**
   * Names of secret variables: passed as bare `-e NAME`, so docker copies them from the command's own
   * environment (Command.environment) and their values never appear in the command string or its logs.
   */
  readonly secretEnv?: readonly string[];
  readonly command: readonly string[];
}

/** `docker run --rm` of one of the stack's images on the stack network: reaches internal services unpublished. */
export function dockerRun(spec: OneOffContainer): pulumi.Output<string> {
  const env = [
    ...Object.entries(spec.env).map(([key, value]) => `-e ${key}=${shellQuote(value)}`),
    ...(spec.secretEnv ?? []).map((key) => `-e ${key}`),
  ].join(" ");
  const command = spec.command.map(shellQuote).join(" ");
  return pulumi.interpolate`docker run --rm --network ${spec.networkName} ${env} ${spec.image} ${command}`;
}
