import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { envList } from "../lib/docker.ts";
import { nodeHttpHealth } from "../lib/healthchecks.ts";
import { childOf } from "../lib/options.ts";

export interface ServiceContainerArgs {
  readonly networkName: pulumi.Input<string>;
  /** Image by digest (ServiceImage.ref). */
  readonly image: pulumi.Input<string>;
  /** Its network alias, e.g. api. */
  readonly alias: string;
  /** The service's environment; secret values stay secret. */
  readonly env: Record<string, pulumi.Input<string>>;
  /** The port its /health answers on inside the container. */
  readonly healthPort: number;
  /** Publish `healthPort` on this host port on all interfaces. Default: not published. */
  readonly publishOn?: number;
}

/** One of the stack's own Node services, running as the image's non-root user, healthy when /health is. */
export class ServiceContainer extends pulumi.ComponentResource {
  readonly container: docker.Container;

  constructor(name: string, args: ServiceContainerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:app:ServiceContainer", name, {}, opts);
    this.container = new docker.Container(
      name,
      {
        name,
        image: args.image,
        envs: envList(args.env),
        networksAdvanced: [{ name: args.networkName, aliases: [args.alias] }],
        ports: args.publishOn === undefined ? [] : [{ internal: args.healthPort, external: args.publishOn }],
        healthcheck: nodeHttpHealth(args.healthPort),
        restart: "unless-stopped",
        wait: true,
        waitTimeout: 120,
        // The services drain within 8 s of SIGTERM; give them Docker's usual 10.
        destroyGraceSeconds: 10,
      },
      childOf(this, opts),
    );
    this.registerOutputs({});
  }
}
