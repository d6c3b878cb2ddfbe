import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { serviceContainerSpec } from "../lib/container-specs.ts";
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
  /** Publish `healthPort` on this host port on all interfaces. Default: not published. */
  readonly publishOn?: number;
  /** Another entry point of the image instead of its own command (e.g. the API image's token purge). */
  readonly command?: readonly string[];
}

/** One of the stack's own Node services, running as the image's non-root user, healthy when /health is. */
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
        }),
        ports: args.publishOn === undefined ? [] : [{ internal: args.healthPort, external: args.publishOn }],
        // Not measured: a Node service is healthy within seconds of start; two minutes, twice Docker's default.
        waitTimeout: 120,
        // The services drain within 8 s of SIGTERM; give them Docker's usual 10.
        stopGraceSeconds: 10,
      },
      childOf(this, opts),
    );
    this.registerOutputs({});
  }
}
