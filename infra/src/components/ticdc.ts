import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { SERVER_STOP_GRACE_SECONDS, dataVolume, loopbackPort } from "../lib/docker.ts";
import { ticdcHealth } from "../lib/healthchecks.ts";
import { PORTS, ticdcCommand } from "../lib/topology.ts";
import { childOf } from "../lib/options.ts";

export interface TicdcArgs {
  readonly networkName: pulumi.Input<string>;
  /** TiDB release for the pingcap/ticdc image, the same as the cluster's. */
  readonly version: string;
  readonly pdCount: number;
  /** Publish TiCDC's HTTP API on 127.0.0.1:8300. Default false. */
  readonly publishApi?: boolean;
  readonly keepData?: boolean;
}

/** A TiCDC server capturing changes from the cluster's TiKV stores (through PD). */
export class Ticdc extends pulumi.ComponentResource {
  /** TiCDC's OpenAPI inside the network. */
  readonly apiUrl: pulumi.Output<string>;
  readonly container: docker.Container;

  constructor(name: string, args: TicdcArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:ticdc:Ticdc", name, {}, opts);
    const parent = { parent: this };
    const image = new docker.RemoteImage(
      `${name}-image`,
      { name: `pingcap/ticdc:${args.version}`, keepLocally: true },
      parent,
    );
    const data = dataVolume(`${name}-data`, this, args.keepData);
    this.container = new docker.Container(
      name,
      {
        name,
        image: image.imageId,
        command: ticdcCommand(args.pdCount),
        networksAdvanced: [{ name: args.networkName, aliases: ["ticdc"] }],
        volumes: [{ volumeName: data.name, containerPath: "/data" }],
        ports: args.publishApi === true ? [loopbackPort(PORTS.ticdc)] : [],
        healthcheck: ticdcHealth(),
        restart: "unless-stopped",
        wait: true,
        waitTimeout: 180,
        destroyGraceSeconds: SERVER_STOP_GRACE_SECONDS,
      },
      childOf(this, opts),
    );
    this.apiUrl = pulumi.output(`http://ticdc:${PORTS.ticdc}`);
    this.registerOutputs({ apiUrl: this.apiUrl });
  }
}
