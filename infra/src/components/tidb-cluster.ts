import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
  SERVER_STOP_GRACE_SECONDS,
  SLOW_START_WAIT_SECONDS,
  dataVolume,
  loopbackPort,
} from "../lib/docker.ts";
import { pdHealth, tidbHealth, tikvHealth } from "../lib/healthchecks.ts";
import {
  pdCommand,
  pdConfig,
  pdEndpoints,
  pdName,
  PORTS,
  tidbCommand,
  tikvCommand,
  tikvConfig,
  tikvName,
} from "../lib/topology.ts";

export interface TidbClusterArgs {
  /** Name of the Docker network every server joins. */
  readonly networkName: pulumi.Input<string>;
  /** TiDB release for the pingcap/pd, pingcap/tikv and pingcap/tidb images, e.g. v8.5.4. */
  readonly version: string;
  /** Number of PD servers: 1, 3 or 5 (a majority must be up). */
  readonly pdCount: number;
  /** Number of TiKV stores, 1 to 5. */
  readonly tikvCount: number;
  /** Memory cap per TiKV container, in MiB. */
  readonly tikvMemoryMb: number;
  /** Memory cap of the TiDB container, in MiB. */
  readonly tidbMemoryMb: number;
  /** Publish TiDB's MySQL port on 127.0.0.1:4000. Default false. */
  readonly publishTidb?: boolean;
  /** Leave the data volumes in Docker when the stack is destroyed. Default false. */
  readonly keepData?: boolean;
}

/**
 * A TiDB cluster on one Docker network: PD servers, TiKV stores and one TiDB server, each with a
 * healthcheck Pulumi waits for, data in named volumes, and every address advertised by network alias.
 */
export class TidbCluster extends pulumi.ComponentResource {
  /** TiDB's MySQL endpoint inside the network. */
  readonly tidbHost: pulumi.Output<string>;
  /** PD client endpoints inside the network (what TiCDC and TiDB use). */
  readonly pdEndpoints: pulumi.Output<string>;
  /** The TiDB container: healthy means the whole cluster serves SQL. */
  readonly tidb: docker.Container;
  readonly pds: docker.Container[];
  readonly tikvs: docker.Container[];

  constructor(name: string, args: TidbClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:tidb:TidbCluster", name, {}, opts);
    if (![1, 3, 5].includes(args.pdCount))
      throw new Error(`TidbCluster ${name}: pdCount must be 1, 3 or 5, got ${args.pdCount}`);
    if (!Number.isInteger(args.tikvCount) || args.tikvCount < 1)
      throw new Error(`TidbCluster ${name}: tikvCount must be at least 1, got ${args.tikvCount}`);
    const parent = { parent: this };
    const image = (component: string): docker.RemoteImage =>
      new docker.RemoteImage(
        `${name}-${component}-image`,
        { name: `pingcap/${component}:${args.version}`, keepLocally: true },
        parent,
      );
    const volume = (role: string): docker.Volume => dataVolume(`${name}-${role}-data`, this, args.keepData);
    const network = (alias: string) => [{ name: args.networkName, aliases: [alias] }];

    const pdImage = image("pd");
    this.pds = Array.from({ length: args.pdCount }, (_, i) => {
      const alias = pdName(i, args.pdCount);
      return new docker.Container(
        `${name}-${alias}`,
        {
          name: `${name}-${alias}`,
          image: pdImage.imageId,
          command: pdCommand(i, args.pdCount),
          uploads: [{ file: "/etc/pd/pd.toml", content: pdConfig(args.tikvCount) }],
          networksAdvanced: network(alias),
          volumes: [{ volumeName: volume(alias).name, containerPath: "/data" }],
          healthcheck: pdHealth(),
          restart: "unless-stopped",
          wait: true,
          waitTimeout: SLOW_START_WAIT_SECONDS,
          destroyGraceSeconds: SERVER_STOP_GRACE_SECONDS,
        },
        parent,
      );
    });

    const tikvImage = image("tikv");
    this.tikvs = Array.from({ length: args.tikvCount }, (_, i) => {
      const alias = tikvName(i, args.tikvCount);
      return new docker.Container(
        `${name}-${alias}`,
        {
          name: `${name}-${alias}`,
          image: tikvImage.imageId,
          command: tikvCommand(i, args.tikvCount, args.pdCount),
          uploads: [{ file: "/etc/tikv/tikv.toml", content: tikvConfig(args.tikvMemoryMb) }],
          networksAdvanced: network(alias),
          volumes: [{ volumeName: volume(alias).name, containerPath: "/data" }],
          // TiKV raises its open-file limit at start and exits if the container's hard limit is lower.
          ulimits: [{ name: "nofile", soft: 1048576, hard: 1048576 }],
          memory: args.tikvMemoryMb,
          healthcheck: tikvHealth(),
          restart: "unless-stopped",
          wait: true,
          waitTimeout: SLOW_START_WAIT_SECONDS,
          destroyGraceSeconds: SERVER_STOP_GRACE_SECONDS,
        },
        // TiKV registers with PD at start: PD must be healthy first.
        { ...parent, dependsOn: this.pds },
      );
    });

    this.tidb = new docker.Container(
      `${name}-tidb`,
      {
        name: `${name}-tidb`,
        image: image("tidb").imageId,
        command: tidbCommand(args.pdCount),
        networksAdvanced: network("tidb"),
        ports: args.publishTidb === true ? [loopbackPort(PORTS.tidb)] : [],
        memory: args.tidbMemoryMb,
        healthcheck: tidbHealth(),
        // TiDB exits when PD or TiKV are briefly unreachable; Docker brings it back.
        restart: "unless-stopped",
        wait: true,
        waitTimeout: SLOW_START_WAIT_SECONDS,
        destroyGraceSeconds: SERVER_STOP_GRACE_SECONDS,
      },
      // TiDB bootstraps its system tables in TiKV and exits if no store is up.
      { ...parent, dependsOn: this.tikvs },
    );

    this.tidbHost = pulumi.output(`tidb:${PORTS.tidb}`);
    this.pdEndpoints = pulumi.output(pdEndpoints(args.pdCount));
    this.registerOutputs({ tidbHost: this.tidbHost, pdEndpoints: this.pdEndpoints });
  }
}
