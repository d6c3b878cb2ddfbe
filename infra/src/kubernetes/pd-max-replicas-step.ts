import { PD_MAX_REPLICAS_COMMAND, pdMaxReplicasEnvironment } from "../lib/steps.ts";
import { range } from "../lib/topology.ts";
import { pdServiceUrl, tikvPodStoreAddress } from "./names.ts";
import type { RunOnceJobArgs } from "./run-once-job.ts";
import { TIDB_CLUSTER_READY_TIMEOUT_SECONDS } from "./tidb-cluster.ts";
import { envVars } from "./workload.ts";

/** The step's pod: its Job name prefix and `app.kubernetes.io/name`, which the NetworkPolicies select. */
export const PD_MAX_REPLICAS_ROLE = "pd-max-replicas";

/** Pulling the ops image onto a node that has none, and the back-off before a retry. */
const POD_START_SECONDS = 300;

export interface PdMaxReplicasStepArgs {
  /** The TidbCluster's name. */
  readonly clusterName: string;
  /** Its namespace, as a plain string: the step's addresses are built from it. */
  readonly namespace: string;
  /** TiKV stores wanted; max-replicas follows it. */
  readonly tikvCount: number;
}

/**
 * What the Job that keeps PD's max-replicas in step with `tikvCount` runs: `pd max-replicas` of the ops
 * image against the cluster's PD Service, waiting for the TiKV pods' stores. TiDB Operator adds and removes
 * stores itself, so nothing else is asked of PD. The environment changes with `tikvCount`, so a new count
 * gives the Job a new name, and it runs again.
 *
 * The step waits for the stores as long as Pulumi waits for the TidbCluster (its first start included), so
 * it can run beside the cluster's creation or change rather than after its Ready condition: after a
 * scale-in the cluster is not Ready until this step has lowered max-replicas.
 */
export function pdMaxReplicasStep(
  args: PdMaxReplicasStepArgs,
): Pick<RunOnceJobArgs, "role" | "command" | "env" | "timeoutSeconds"> {
  const stores = range(args.tikvCount).map((i) => tikvPodStoreAddress(args.clusterName, args.namespace, i));
  return {
    role: PD_MAX_REPLICAS_ROLE,
    command: PD_MAX_REPLICAS_COMMAND,
    env: envVars({
      ...pdMaxReplicasEnvironment({ pdUrl: pdServiceUrl(args.clusterName, args.namespace), stores }),
      PD_TIMEOUT_SECONDS: String(TIDB_CLUSTER_READY_TIMEOUT_SECONDS),
    }),
    timeoutSeconds: TIDB_CLUSTER_READY_TIMEOUT_SECONDS + POD_START_SECONDS,
  };
}
