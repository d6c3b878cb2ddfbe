/**
 * The PD step of a scale-out or scale-in: makes PD's view of the cluster match the wanted PD members,
 * TiKV stores and replica count, through PD's API only, one change at a time, waiting for each to
 * settle. Scale-out needs no call (a new PD joins with --join, a new TiKV registers itself): the step
 * waits for them. Scale-in is where data can be lost, so every removal is checked first and refused,
 * before any change, when it is not safe. Re-running when everything matches changes nothing.
 */
import type { Logger } from "@tidbstack/service-kit";
import type { Fetch } from "./http-json.ts";
import { pdApi, type PdApi } from "./pd.ts";
import { waitUntil, type WaitOptions } from "./wait.ts";

export interface PdSpec {
  /** PD's client URL, e.g. http://pd:2379. */
  readonly pdUrl: string;
  /** Names of the PD members to keep, e.g. ["pd", "pd1", "pd2"]. */
  readonly members: readonly string[];
  /** Advertised addresses of the TiKV stores to keep, e.g. ["tikv:20160", "tikv1:20160"]. */
  readonly stores: readonly string[];
  /** Copies of each region PD keeps (max-replicas), 1 to 5; at most the number of wanted stores. */
  readonly maxReplicas: number;
}

export interface PdOptions {
  readonly logger: Logger;
  /** Bound on each wait, in ms. Default 30 min: moving a store's regions away takes time. */
  readonly timeoutMs?: number;
  /** Between two looks while waiting, in ms. Default 2 s. */
  readonly pollMs?: number;
  /** At most one progress line per this many ms while waiting. Default 30 s. */
  readonly progressMs?: number;
  readonly fetch?: Fetch;
}

export interface PdReport {
  readonly membersRemoved: readonly string[];
  readonly replicasFrom: number;
  readonly replicasTo: number;
  readonly storesRemoved: readonly { readonly id: number; readonly address: string }[];
}

/** A removal this step will not make; nothing was changed by the step that refused. */
export class PdRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PdRefusedError";
  }
}

export async function reconcilePd(spec: PdSpec, options: PdOptions): Promise<PdReport> {
  if (spec.maxReplicas > spec.stores.length) {
    throw new PdRefusedError(
      `max-replicas ${spec.maxReplicas} needs at least ${spec.maxReplicas} TiKV stores, but ${spec.stores.length} are wanted`,
    );
  }
  const pd = pdApi(spec.pdUrl, options.fetch === undefined ? {} : { fetch: options.fetch });
  const wait: WaitOptions = {
    logger: options.logger,
    timeoutMs: options.timeoutMs ?? 30 * 60_000,
    pollMs: options.pollMs ?? 2000,
    ...(options.progressMs === undefined ? {} : { progressMs: options.progressMs }),
  };
  const { logger } = options;

  await waitForMembers(pd, spec.members, wait);
  const membersRemoved = await removeUnwantedMembers(pd, spec, wait, logger);
  await waitForStores(pd, spec.stores, wait);
  // Between the two store steps on purpose: raised only once the new stores are Up (else regions stay
  // under-replicated), lowered before a store leaves (PD refuses to take a store offline when fewer Up
  // stores than max-replicas would remain).
  const replicasFrom = await pd.maxReplicas();
  if (replicasFrom !== spec.maxReplicas) {
    await pd.setMaxReplicas(spec.maxReplicas);
    const readBack = await pd.maxReplicas();
    if (readBack !== spec.maxReplicas) {
      throw new Error(`PD accepted max-replicas ${spec.maxReplicas} but reports ${readBack}`);
    }
    logger.info({ action: "pd_max_replicas_set", from: replicasFrom, to: spec.maxReplicas });
  }
  const storesRemoved = await removeUnwantedStores(pd, spec, wait, logger);
  const report: PdReport = { membersRemoved, replicasFrom, replicasTo: spec.maxReplicas, storesRemoved };
  logger.info({ action: "pd_reconciled", ...report });
  return report;
}

/** (a) Every wanted member is in the member list and reported healthy. */
function waitForMembers(pd: PdApi, wanted: readonly string[], wait: WaitOptions): Promise<void> {
  return waitUntil(
    `PD members ${wanted.join(", ")} are listed and healthy`,
    async () => {
      const listed = new Set((await pd.members()).map((m) => m.name));
      const healthy = new Set((await pd.health()).filter((h) => h.health).map((h) => h.name));
      const missing = wanted.filter((name) => !listed.has(name));
      const unhealthy = wanted.filter((name) => listed.has(name) && !healthy.has(name));
      if (missing.length === 0 && unhealthy.length === 0) return { done: true, value: undefined };
      return {
        done: false,
        seen: [
          missing.length > 0 ? `not joined: ${missing.join(", ")}` : "",
          unhealthy.length > 0 ? `not healthy: ${unhealthy.join(", ")}` : "",
        ]
          .filter((part) => part !== "")
          .join("; "),
        fields: { missing, unhealthy },
      };
    },
    wait,
  );
}

/** (b) Removes listed members that are not wanted, one at a time, each only while the rest is healthy. */
async function removeUnwantedMembers(
  pd: PdApi,
  spec: PdSpec,
  wait: WaitOptions,
  logger: Logger,
): Promise<string[]> {
  const removed: string[] = [];
  const wanted = new Set(spec.members);
  const pdHost = new URL(spec.pdUrl).host;
  for (;;) {
    const members = await pd.members();
    // A member PD has added but that has not started yet has no name: it is joining, not to be removed.
    const unwanted = members.find((m) => m.name !== "" && !wanted.has(m.name));
    if (unwanted === undefined) return removed;
    if (unwanted.clientUrls.some((url) => hostOf(url) === pdHost)) {
      throw new PdRefusedError(
        `refusing to remove PD member ${unwanted.name}: PD_URL (${spec.pdUrl}) points at it, and the rest of ` +
          `this step would talk to a removed member. Point PD_URL at a member that stays (one of ${spec.members.join(", ")}).`,
      );
    }
    const healthy = new Set((await pd.health()).filter((h) => h.health).map((h) => h.name));
    const unhealthy = spec.members.filter((name) => !healthy.has(name));
    if (unhealthy.length > 0) {
      throw new PdRefusedError(
        `refusing to remove PD member ${unwanted.name}: member(s) ${unhealthy.join(", ")} that would remain ` +
          `are not healthy, and removing a member now could lose PD's quorum (its etcd majority). Nothing was ` +
          `changed. Safe steps: set tidbstack:pdCount back to its previous value (PD lists ` +
          `${members.map((m) => m.name).join(", ")}) and run pulumi up, bring the unhealthy member(s) back ` +
          `until GET /pd/api/v1/health reports every member healthy, then lower pdCount again.`,
      );
    }
    logger.info({ action: "pd_member_removing", name: unwanted.name });
    await pd.deleteMember(unwanted.name);
    await waitUntil(
      `PD member ${unwanted.name} is no longer listed`,
      async () => {
        const names = (await pd.members()).map((m) => m.name);
        return names.includes(unwanted.name)
          ? { done: false, seen: `members ${names.join(", ")}` }
          : { done: true, value: undefined };
      },
      wait,
    );
    logger.info({ action: "pd_member_removed", name: unwanted.name });
    removed.push(unwanted.name);
  }
}

/** (c) Every wanted store has registered and is Up. */
export function waitForStores(pd: PdApi, wanted: readonly string[], wait: WaitOptions): Promise<void> {
  return waitUntil(
    `TiKV stores ${wanted.join(", ")} are Up`,
    async () => {
      const stores = await pd.stores();
      const notUp = wanted.filter(
        (address) => !stores.some((s) => s.address === address && s.state === "Up"),
      );
      if (notUp.length === 0) return { done: true, value: undefined };
      return {
        done: false,
        seen: notUp
          .map(
            (address) => `${address} ${stores.find((s) => s.address === address)?.state ?? "not registered"}`,
          )
          .join(", "),
        fields: { notUp },
      };
    },
    wait,
  );
}

/**
 * (e) Takes each store that is not wanted offline, one at a time, and waits until PD has moved its regions
 * away and marked it Tombstone (only then may its container and volume go), then forgets the tombstone.
 */
async function removeUnwantedStores(
  pd: PdApi,
  spec: PdSpec,
  wait: WaitOptions,
  logger: Logger,
): Promise<{ id: number; address: string }[]> {
  const removed: { id: number; address: string }[] = [];
  const wanted = new Set(spec.stores);
  for (;;) {
    const stores = await pd.stores();
    const unwanted = stores.find((s) => !wanted.has(s.address) && s.state !== "Tombstone");
    if (unwanted === undefined) return removed;
    const up = stores.filter((s) => wanted.has(s.address) && s.state === "Up");
    if (up.length < spec.maxReplicas) {
      throw new PdRefusedError(
        `refusing to remove TiKV store ${unwanted.id} (${unwanted.address}): only ${up.length} wanted store(s) ` +
          `are Up, fewer than max-replicas ${spec.maxReplicas}, so its regions would have nowhere to go. Nothing ` +
          `was changed. Safe steps: set tidbstack:tikvCount back so every store is kept, run pulumi up until all ` +
          `stores are Up (GET /pd/api/v1/stores), then lower tikvCount one store at a time.`,
      );
    }
    logger.info({
      action: "tikv_store_removing",
      storeId: unwanted.id,
      address: unwanted.address,
      state: unwanted.state,
      regionCount: unwanted.regionCount,
    });
    if ((await pd.deleteStore(unwanted.id)) === "offline") {
      await waitUntil(
        `TiKV store ${unwanted.id} (${unwanted.address}) is Tombstone`,
        async () => {
          const store = await pd.store(unwanted.id);
          if (store === undefined || store.state === "Tombstone") return { done: true, value: undefined };
          return {
            done: false,
            seen: `state ${store.state}, ${store.regionCount} region(s) left`,
            fields: {
              storeId: store.id,
              address: store.address,
              state: store.state,
              regionCount: store.regionCount,
            },
          };
        },
        wait,
      );
    }
    await pd.removeTombstones();
    logger.info({ action: "tikv_store_removed", storeId: unwanted.id, address: unwanted.address });
    removed.push({ id: unwanted.id, address: unwanted.address });
  }
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}
