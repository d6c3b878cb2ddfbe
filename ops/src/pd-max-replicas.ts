/**
 * The PD step for a cluster whose PD members and TiKV stores an operator manages (TiDB Operator on
 * Kubernetes): only PD's max-replicas is brought to the wanted value, exactly as `pd reconcile` does
 * between its store steps, and no member or store is ever removed. PD keeps the max-replicas of its first
 * start, so after a change of the store count nothing else sets it.
 */
import type { Logger } from "@tidbstack/service-kit";
import { pdApi, type PdApi } from "./pd.ts";
import { PdRefusedError, waitForStores, type PdOptions } from "./pd-reconcile.ts";

export interface PdMaxReplicasSpec {
  /** PD's client URL, e.g. http://tidbstack-pd.tidbstack.svc:2379. */
  readonly pdUrl: string;
  /** Advertised addresses of every TiKV store the cluster is meant to have. */
  readonly stores: readonly string[];
  /** Copies of each region PD keeps (max-replicas), 1 to 5; at most the number of wanted stores. */
  readonly maxReplicas: number;
}

export interface PdMaxReplicasReport {
  readonly replicasFrom: number;
  readonly replicasTo: number;
}

/**
 * Waits until every wanted store is Up, then sets max-replicas. The wait comes first whichever way the value
 * moves: raised before the new stores are Up, regions would stay under-replicated; and on a scale-in the
 * wanted stores are the ones that stay, already Up, so lowering is not held back. Lowering is what lets a
 * scale-in proceed: TiDB Operator refuses to take a store offline while that would leave fewer Up stores
 * than max-replicas. Re-running when PD already has the value changes nothing.
 */
export async function setPdMaxReplicas(
  spec: PdMaxReplicasSpec,
  options: PdOptions,
): Promise<PdMaxReplicasReport> {
  if (spec.maxReplicas > spec.stores.length) {
    throw new PdRefusedError(
      `max-replicas ${spec.maxReplicas} needs at least ${spec.maxReplicas} TiKV stores, but ${spec.stores.length} are wanted`,
    );
  }
  const pd = pdApi(spec.pdUrl, options.fetch === undefined ? {} : { fetch: options.fetch });
  await waitForStores(pd, spec.stores, {
    logger: options.logger,
    timeoutMs: options.timeoutMs ?? 30 * 60_000,
    pollMs: options.pollMs ?? 2000,
    ...(options.progressMs === undefined ? {} : { progressMs: options.progressMs }),
  });
  const replicasFrom = await applyMaxReplicas(pd, spec.maxReplicas, options.logger);
  const report = { replicasFrom, replicasTo: spec.maxReplicas };
  options.logger.info({ action: "pd_max_replicas_reconciled", ...report });
  return report;
}

/** Sets max-replicas when PD has another value, and checks that PD now reports it; returns the old value. */
async function applyMaxReplicas(pd: PdApi, wanted: number, logger: Logger): Promise<number> {
  const current = await pd.maxReplicas();
  if (current === wanted) return current;
  await pd.setMaxReplicas(wanted);
  const readBack = await pd.maxReplicas();
  if (readBack !== wanted) throw new Error(`PD accepted max-replicas ${wanted} but reports ${readBack}`);
  logger.info({ action: "pd_max_replicas_set", from: current, to: wanted });
  return current;
}
