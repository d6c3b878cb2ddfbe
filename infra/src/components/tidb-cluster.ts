import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
  pdContainerSpec,
  tidbContainerSpec,
  tikvContainerSpec,
  type LogRotation,
} from "../lib/container-specs.ts";
import {
  SERVER_STOP_GRACE_SECONDS,
  SLOW_START_WAIT_SECONDS,
  dataVolume,
  loopbackPort,
  oneOffRun,
  serverContainer,
} from "../lib/docker.ts";
import { childOf } from "../lib/options.ts";
import { PD_RECONCILE_COMMAND, pdReconcileEnvironment } from "../lib/steps.ts";
import { maxReplicasFor, pdEndpoints, pdName, PORTS, range, tikvName } from "../lib/topology.ts";

export interface TidbClusterArgs {
  /** Name of the Docker network every server joins. */
  readonly networkName: pulumi.Input<string>;
  /** TiDB release for the pingcap/pd, pingcap/tikv and pingcap/tidb images, e.g. v8.5.4. */
  readonly version: string;
  /** Number of PD servers: 1, 3 or 5 (a majority must be up). */
  readonly pdCount: number;
  /** Number of TiKV stores, at least 1. */
  readonly tikvCount: number;
  /** Memory cap per TiKV container, in MiB. */
  readonly tikvMemoryMb: number;
  /** Open-file limit of each TiKV container. Default TIKV_NOFILE (container-specs.ts). */
  readonly tikvNofile?: number;
  /** Memory cap of the TiDB container, in MiB. */
  readonly tidbMemoryMb: number;
  /** The ops image by id (ServiceImage.ref): it runs the PD reconcile step. */
  readonly opsImage: pulumi.Input<string>;
  /** Publish TiDB's MySQL port on 127.0.0.1:4000. Default false. */
  readonly publishTidb?: boolean;
  /** Leave the data volumes in Docker when Pulumi deletes them. Default false. */
  readonly keepData?: boolean;
  /** How its containers' logs are rotated (config logMaxSize, logMaxFiles). */
  readonly logRotation: LogRotation;
}

/**
 * A TiDB cluster on one Docker network: PD servers, TiKV stores and one TiDB server, each with a
 * healthcheck Pulumi waits for, data in named volumes, every address advertised by network alias, and a
 * step that makes PD's membership, stores and replica count match the declared shape.
 *
 * Node i keeps its name, container and volume at every count (topology.pdName). Scaling goes through PD:
 * - out: a new PD joins the running cluster (`--join`), a new TiKV registers with PD; then the reconcile
 *   step waits for them and raises max-replicas;
 * - in: the reconcile step removes the PD members that are no longer declared, lowers max-replicas, and
 *   deletes each removed TiKV's store through PD, waiting until PD reports it Tombstone (its regions moved
 *   away). Only then does Pulumi delete that node's container and volume: the engine runs the deletes of
 *   resources a program no longer declares after every create and update of the run has finished
 *   (pulumi/pulumi pkg/resource/deploy/deployment_executor.go: performPostSteps, which calls
 *   GenerateDeletes once the program has exited and no step is outstanding), and a step that fails
 *   cancels the run before any delete (step_executor.go, cancelDueToError; not so with
 *   `--continue-on-error`, which `npm run up` does not pass).
 *
 * With keepData, a removed node's volume stays in Docker (retainOnDelete applies to any delete): it holds
 * a removed PD member or a Tombstone store, which a later scale-out must not start on. Remove it first.
 */
export class TidbCluster extends pulumi.ComponentResource {
  /** TiDB's MySQL endpoint inside the network, `tidb:4000`. */
  readonly tidbHost: pulumi.Output<string>;
  /** Every PD's client endpoint inside the network, comma separated (what TiKV, TiDB and TiCDC use). */
  readonly pdEndpoints: pulumi.Output<string>;
  /** The replica count the reconcile step sets in PD. */
  readonly maxReplicas: number;
  /** The TiDB container: healthy means the whole cluster serves SQL. */
  readonly tidb: docker.Container;
  readonly pds: docker.Container[];
  readonly tikvs: docker.Container[];
  /** The PD reconcile step (see the class comment). */
  readonly reconcile: command.local.Command;

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
    const pd = pdEndpoints(args.pdCount);

    const pdImage = image("pd");
    this.pds = [];
    for (const i of range(args.pdCount)) {
      const previous = this.pds[i - 1];
      this.pds.push(
        serverContainer(
          `${name}-${pdName(i)}`,
          {
            networkName: args.networkName,
            image: pdImage.imageId,
            spec: pdContainerSpec({ index: i }),
            volume: volume(pdName(i)),
            waitTimeout: SLOW_START_WAIT_SECONDS,
            logRotation: args.logRotation,
            stopGraceSeconds: SERVER_STOP_GRACE_SECONDS,
          },
          // PD i joins through PDs 0..i-1, so they must serve first; one PD joins at a time, and a change
          // that replaces every PD (a new image) replaces them one after the other, never two at once.
          previous === undefined ? childOf(this, opts) : { ...parent, dependsOn: [previous] },
        ),
      );
    }

    const tikvImage = image("tikv");
    this.tikvs = [];
    for (const i of range(args.tikvCount)) {
      const previous = this.tikvs[i - 1];
      this.tikvs.push(
        serverContainer(
          `${name}-${tikvName(i)}`,
          {
            networkName: args.networkName,
            image: tikvImage.imageId,
            spec: tikvContainerSpec({
              index: i,
              pd,
              memoryMb: args.tikvMemoryMb,
              ...(args.tikvNofile === undefined ? {} : { nofile: args.tikvNofile }),
            }),
            volume: volume(tikvName(i)),
            waitTimeout: SLOW_START_WAIT_SECONDS,
            logRotation: args.logRotation,
            stopGraceSeconds: SERVER_STOP_GRACE_SECONDS,
          },
          // TiKV registers with PD at start, so every PD must serve first. TiKV i waits for TiKV i-1, so a
          // change that replaces every TiKV (a new PD list, a new image) replaces them one at a time: the
          // SDK sends a resource's registration only once its dependsOn resources' registrations have
          // completed (@pulumi/pulumi runtime/resource.js awaits each dependency's URN, which the engine
          // returns after the step ran), and a dependsOn edge, unlike an input taken from another
          // resource, does not make the engine delete the dependent before a delete-first replacement
          // (step_generator.go, calculateDependentReplacements). So TiKV i is stopped, recreated on its
          // volume and healthy before TiKV i+1 is stopped; with 3 replicas, 2 of each region's 3 stay running.
          { ...parent, dependsOn: previous === undefined ? this.pds : [previous] },
        ),
      );
    }

    this.maxReplicas = maxReplicasFor(args.tikvCount);
    const reconcile = oneOffRun({
      networkName: args.networkName,
      image: args.opsImage,
      env: pdReconcileEnvironment({ pdCount: args.pdCount, tikvCount: args.tikvCount }),
      command: PD_RECONCILE_COMMAND,
    });
    this.reconcile = new command.local.Command(
      `${name}-pd-reconcile`,
      {
        // The same idempotent command on create and on every change of the shape (or of the ops image).
        // No delete: destroying the stack must never drain stores or remove members, and a scale-in is
        // this step's update, not a delete.
        create: reconcile.command,
        update: reconcile.command,
      },
      // It waits for every declared PD and TiKV through PD's API; the removed ones are still running until
      // the engine deletes them after this step (see the class comment).
      { ...parent, dependsOn: [...this.pds, ...this.tikvs] },
    );

    this.tidb = serverContainer(
      `${name}-tidb`,
      {
        networkName: args.networkName,
        image: image("tidb").imageId,
        spec: tidbContainerSpec({ pd, memoryMb: args.tidbMemoryMb }),
        ports: args.publishTidb === true ? [loopbackPort(PORTS.tidb)] : [],
        waitTimeout: SLOW_START_WAIT_SECONDS,
        logRotation: args.logRotation,
        stopGraceSeconds: SERVER_STOP_GRACE_SECONDS,
      },
      // TiDB bootstraps its system tables in TiKV and exits if no store is up; and max-replicas must be
      // right before it writes anything.
      { ...parent, dependsOn: [this.reconcile] },
    );

    this.tidbHost = pulumi.output(`tidb:${PORTS.tidb}`);
    this.pdEndpoints = pulumi.output(pd);
    this.registerOutputs({ tidbHost: this.tidbHost, pdEndpoints: this.pdEndpoints });
  }
}
