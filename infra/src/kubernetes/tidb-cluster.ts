import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { SLOW_START_WAIT_SECONDS } from "../lib/docker.ts";
import { childOf } from "../lib/options.ts";
import { maxReplicasFor, tikvConfig } from "../lib/topology.ts";
import { ticdcApiUrl, tidbAddress } from "./names.ts";

export interface TidbClusterArgs {
  /** The TidbCluster's object name; the operator names its Services after it (`<clusterName>-tidb`...). */
  readonly clusterName: string;
  /** Namespace of the cluster; the operator must watch it (v1.6's default is every namespace). */
  readonly namespace: pulumi.Input<string>;
  /** One TiDB release for PD, TiKV, TiDB and TiCDC, e.g. v8.5.4. */
  readonly version: string;
  /** PD members: 1, 3 or 5 (a majority must be up). */
  readonly pdCount: number;
  /** TiKV stores, 1 to 5; PD's max-replicas follows it (at most 3). */
  readonly tikvCount: number;
  /** Memory limit (and request) of each TiKV pod, in MiB; its block cache is 40% of it. */
  readonly tikvMemoryMb: number;
  /** Memory limit (and request) of the TiDB pod, in MiB. */
  readonly tidbMemoryMb: number;
  /** Volume sizes as Kubernetes quantities: PD data, TiKV data, TiCDC's sort directory. */
  readonly pdStorage: string;
  readonly tikvStorage: string;
  readonly ticdcStorage: string;
  /** StorageClass of every claim; undefined: the cluster's default class. */
  readonly storageClass?: string | undefined;
  /** Keep the volumes' data when their claims are deleted (`pvReclaimPolicy: Retain`). Default false. */
  readonly keepData?: boolean;
}

/**
 * How long Pulumi waits for the cluster to reach its declared shape. The operator starts PD, TiKV, TiDB and
 * TiCDC one after the other; each gets the 5 minutes the Docker target allows a slow TiKV or TiDB start
 * (SLOW_START_WAIT_SECONDS), plus 10 minutes for image pulls and volume provisioning on a new cluster.
 */
export const TIDB_CLUSTER_READY_TIMEOUT_SECONDS = 4 * SLOW_START_WAIT_SECONDS + 600;

/** PingCAP's image of a component (`pd`, `tikv`, `tidb`, `ticdc`); the operator appends `:<version>`. */
const baseImage = (component: string): string => `pingcap/${component}`;

/** One TiDB server and one TiCDC capture, as on Docker. */
const TIDB_REPLICAS = 1;
const TICDC_REPLICAS = 1;

/** The `TidbCluster` spec: PD, TiKV, TiDB and TiCDC of one release, sized like the Docker target. */
export function tidbClusterSpec(args: TidbClusterArgs): Record<string, unknown> {
  const storageClass = args.storageClass === undefined ? {} : { storageClassName: args.storageClass };
  return {
    version: args.version,
    timezone: "UTC",
    // Retain keeps the data of deleted claims for a re-created cluster to find, as keepDataOnDestroy does
    // with Docker volumes.
    pvReclaimPolicy: args.keepData === true ? "Retain" : "Delete",
    configUpdateStrategy: "RollingUpdate",
    discovery: {},
    pd: {
      baseImage: baseImage("pd"),
      replicas: args.pdCount,
      requests: { storage: args.pdStorage },
      ...storageClass,
      // Read by PD at bootstrap only (it persists the value; upstream-images.md): a later tikvCount change
      // does not reach a running cluster through this file. See the README's Kubernetes section.
      config: `[replication]\nmax-replicas = ${maxReplicasFor(args.tikvCount)}\n`,
    },
    tikv: {
      baseImage: baseImage("tikv"),
      replicas: args.tikvCount,
      requests: { storage: args.tikvStorage, memory: `${args.tikvMemoryMb}Mi` },
      limits: { memory: `${args.tikvMemoryMb}Mi` },
      ...storageClass,
      // Names the status port "status", which the PodMonitor scrapes by name.
      enableNamedStatusPort: true,
      config: tikvConfig(args.tikvMemoryMb),
    },
    tidb: {
      baseImage: baseImage("tidb"),
      replicas: TIDB_REPLICAS,
      requests: { memory: `${args.tidbMemoryMb}Mi` },
      limits: { memory: `${args.tidbMemoryMb}Mi` },
      // Inside the cluster only; the API and the migration reach it by its Service name.
      service: { type: "ClusterIP" },
      config: {},
    },
    ticdc: {
      baseImage: baseImage("ticdc"),
      replicas: TICDC_REPLICAS,
      storageVolumes: [
        { name: "sort-dir", storageSize: args.ticdcStorage, mountPath: "/var/lib/sort-dir", ...storageClass },
      ],
      config: {},
    },
  };
}

/**
 * What Pulumi waits for after creating or updating the cluster (`pulumi.com/waitFor`, every expression
 * must hold): the Ready condition, and each component's StatefulSet reporting the declared number of
 * ready pods and PD, TiKV and TiDB running the declared image.
 *
 * Ready alone does not do: TiDB Operator v1.6's status has no `observedGeneration`, so right after a
 * change Pulumi would read the Ready=True of the previous spec and return while the operator has not even
 * started. The operator writes the component counts and images (TidbClusterStatus in
 * pkg/apis/pingcap/v1alpha1/types.go: `<component>.statefulSet.readyReplicas`, `<component>.image`) in the
 * same status update as the Ready condition it derives from them, so when they show the new shape, Ready
 * is about the new shape too; and Ready requires every StatefulSet's rollout to be complete, so an image
 * that is declared but still rolling out does not pass. TiCDC's status carries no image; its count is
 * checked. Pods the operator adds to replace a failed store count as well: while it keeps such failover
 * pods, the counts do not match and an `up` fails on its timeout.
 */
export function tidbClusterAwait(args: TidbClusterArgs): string[] {
  const ready = (component: string, replicas: number) =>
    `jsonpath={.status.${component}.statefulSet.readyReplicas}=${replicas}`;
  const image = (component: string) =>
    `jsonpath={.status.${component}.image}=${baseImage(component)}:${args.version}`;
  return [
    "condition=Ready",
    ready("pd", args.pdCount),
    ready("tikv", args.tikvCount),
    ready("tidb", TIDB_REPLICAS),
    ready("ticdc", TICDC_REPLICAS),
    image("pd"),
    image("tikv"),
    image("tidb"),
  ];
}

/**
 * A `TidbCluster` (pingcap.com/v1alpha1) that TiDB Operator turns into PD, TiKV, TiDB and TiCDC
 * StatefulSets. Pulumi waits until the operator reports the declared shape (tidbClusterAwait).
 */
export class TidbCluster extends pulumi.ComponentResource {
  readonly cluster: k8s.apiextensions.CustomResource;
  /** TiDB's MySQL endpoint, `<name>-tidb.<ns>.svc:4000`. */
  readonly tidbHost: pulumi.Output<string>;
  /** TiCDC's OpenAPI, `http://<name>-ticdc-peer.<ns>.svc:8301`. */
  readonly ticdcApi: pulumi.Output<string>;

  constructor(name: string, args: TidbClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:kubernetes:TidbCluster", name, {}, opts);
    if (![1, 3, 5].includes(args.pdCount)) {
      throw new Error(`TidbCluster ${name}: pdCount must be 1, 3 or 5, got ${args.pdCount}`);
    }
    if (!Number.isInteger(args.tikvCount) || args.tikvCount < 1) {
      throw new Error(`TidbCluster ${name}: tikvCount must be at least 1, got ${args.tikvCount}`);
    }
    this.cluster = new k8s.apiextensions.CustomResource(
      `${name}-cluster`,
      {
        apiVersion: "pingcap.com/v1alpha1",
        kind: "TidbCluster",
        metadata: {
          name: args.clusterName,
          namespace: args.namespace,
          annotations: {
            // A JSON array: the provider waits for every expression in it.
            "pulumi.com/waitFor": JSON.stringify(tidbClusterAwait(args)),
            "pulumi.com/timeoutSeconds": String(TIDB_CLUSTER_READY_TIMEOUT_SECONDS),
          },
        },
        spec: tidbClusterSpec(args),
      },
      childOf(this, opts),
    );
    this.tidbHost = pulumi.output(args.namespace).apply((ns) => tidbAddress(args.clusterName, ns));
    this.ticdcApi = pulumi.output(args.namespace).apply((ns) => ticdcApiUrl(args.clusterName, ns));
    this.registerOutputs({ tidbHost: this.tidbHost, ticdcApi: this.ticdcApi });
  }
}
