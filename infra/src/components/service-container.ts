import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { type LogRotation, serviceContainerSpec } from "../lib/container-specs.ts";
import { serverContainer } from "../lib/docker.ts";
import { childOf } from "../lib/options.ts";

export interface ServiceContainerArgs {
  /** Name of the Docker network it joins. */
  readonly networkName: pulumi.Input<string>;
  /** Image by id (ServiceImage.ref), so a rebuild replaces the container. */
  readonly image: pulumi.Input<string>;
  /** Its network alias, e.g. api. */
  readonly alias: string;
  /** The service's environment (service-env.ts); secret values stay secret. */
  readonly env: Readonly<Record<string, pulumi.Input<string>>>;
  /** The port its /health answers on inside the container. */
  readonly healthPort: number;
  /**
   * Publish `healthPort` on this host port, on this host address (127.0.0.1: this machine only; 0.0.0.0:
   * every interface). Default: not published.
   */
  readonly publish?: { readonly port: number; readonly host: string };
  /** Another entry point of the image instead of its own command (e.g. the API image's token purge). */
  readonly command?: readonly string[];
  /** Memory cap of the container, in MiB. */
  readonly memoryMb: number;
  /** How its log is rotated. */
  readonly logRotation: LogRotation;
}

/**
 * One of the stack's own Node services, running as the image's non-root user with least privilege
 * (container-specs.ts PROJECT_IMAGE_HARDENING) within its memory cap, healthy when /health is.
 */
export class ServiceContainer extends pulumi.ComponentResource {
  readonly container: docker.Container;

  constructor(name: string, args: ServiceContainerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:app:ServiceContainer", name, {}, opts);
    this.container = serverContainer(
      name,
      {
        networkName: args.networkName,
        image: args.image,
        spec: serviceContainerSpec({
          alias: args.alias,
          env: args.env,
          healthPort: args.healthPort,
          ...(args.command === undefined ? {} : { command: args.command }),
          memoryMb: args.memoryMb,
        }),
        ports:
          args.publish === undefined
            ? []
            : [{ internal: args.healthPort, external: args.publish.port, ip: args.publish.host }],
        // Not measured: a Node service is healthy within seconds of start; two minutes, twice Docker's default.
        waitTimeout: 120,
        logRotation: args.logRotation,
        // The services drain within 8 s of SIGTERM; give them Docker's usual 10.
        stopGraceSeconds: 10,
      },
      childOf(this, opts),
    );
    this.registerOutputs({});
  }
}
