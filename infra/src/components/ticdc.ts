import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ticdcContainerSpec, type LogRotation } from "../lib/container-specs.ts";
import { SERVER_STOP_GRACE_SECONDS, dataVolume, loopbackPort, serverContainer } from "../lib/docker.ts";
import { childOf } from "../lib/options.ts";
import { PORTS } from "../lib/topology.ts";

export interface TicdcArgs {
  /** Name of the Docker network it joins, as alias `ticdc`. */
  readonly networkName: pulumi.Input<string>;
  /** TiDB release for the pingcap/ticdc image, the same as the cluster's. */
  readonly version: string;
  /** Every PD's client endpoint, comma separated (TidbCluster.pdEndpoints). */
  readonly pdEndpoints: pulumi.Input<string>;
  /** Publish TiCDC's HTTP API on 127.0.0.1:8300. Default false. */
  readonly publishApi?: boolean;
  /** Leave the data volume in Docker when the stack is destroyed. Default false. */
  readonly keepData?: boolean;
  /** How its containers' logs are rotated (config logMaxSize, logMaxFiles). */
  readonly logRotation: LogRotation;
}

/** A TiCDC server capturing changes from the cluster's TiKV stores (through PD). */
export class Ticdc extends pulumi.ComponentResource {
  /** TiCDC's OpenAPI inside the network, `http://ticdc:8300`. */
  readonly apiUrl: pulumi.Output<string>;
  readonly container: docker.Container;

  constructor(name: string, args: TicdcArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:ticdc:Ticdc", name, {}, opts);
    const image = new docker.RemoteImage(
      `${name}-image`,
      { name: `pingcap/ticdc:${args.version}`, keepLocally: true },
      { parent: this },
    );
    const spec = pulumi.output(args.pdEndpoints).apply((pd) => ticdcContainerSpec({ pd }));
    this.container = serverContainer(
      name,
      {
        networkName: args.networkName,
        image: image.imageId,
        spec,
        volume: dataVolume(`${name}-data`, this, args.keepData),
        ports: args.publishApi === true ? [loopbackPort(PORTS.ticdc)] : [],
        // Not measured: TiCDC must reach PD and win the owner election before /api/v2/health answers;
        // three times Docker's default wait of 60 s.
        waitTimeout: 180,
        logRotation: args.logRotation,
        stopGraceSeconds: SERVER_STOP_GRACE_SECONDS,
      },
      childOf(this, opts),
    );
    this.apiUrl = pulumi.output(`http://ticdc:${PORTS.ticdc}`);
    this.registerOutputs({ apiUrl: this.apiUrl });
  }
}
