/**
 * The changefeed step: make the TiCDC changefeed match the wanted sink and filter, in place, then wait
 * until it is `normal`. Idempotent: re-running against a matching, healthy changefeed changes nothing.
 *
 * A changed sink or filter is applied the way TiCDC documents an update (docs.pingcap.com "Manage
 * changefeeds": pause, update, resume; tiflow cdc/api/v2/changefeed.go updateChangefeed accepts a PUT only
 * while the changefeed is stopped or failed). The checkpoint is kept: resume is sent without
 * overwrite_checkpoint_ts, so no change is skipped or replayed beyond at-least-once.
 */
import type { Logger } from "@tidbstack/service-kit";
import { redactSinkUri, sameSinkUri } from "./sink-uri.ts";
import { ticdcApi, type ChangefeedInfo, type ReplicaConfig, type TicdcApi } from "./ticdc.ts";
import type { Fetch } from "./http-json.ts";
import { waitUntil } from "./wait.ts";

export interface ChangefeedSpec {
  /** TiCDC's HTTP API, e.g. http://ticdc:8300 */
  readonly ticdcUrl: string;
  readonly id: string;
  readonly sinkUri: string;
  /** Table filter rules, e.g. ["appdb.*"]; compared as a set. */
  readonly filterRules: readonly string[];
}

export interface ChangefeedOptions {
  readonly logger: Logger;
  /** Bound on each wait (until stopped after a pause, until normal at the end), in ms. Default 120 s. */
  readonly timeoutMs?: number;
  /** Between two looks while waiting, in ms. Default 1 s. */
  readonly pollMs?: number;
  /** At most one progress line per this many ms while waiting. Default 30 s. */
  readonly progressMs?: number;
  readonly fetch?: Fetch;
}

/** The changefeed is in a state this step must not change by itself; the message says what to do. */
export class ChangefeedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ChangefeedError";
  }
}

export type ChangefeedOutcome = "created" | "updated" | "resumed" | "unchanged";

/** States TiCDC leaves when resumed (feed_state_manager.go handleAdminJob, AdminResume). */
const RESUMABLE = new Set(["stopped", "failed"]);
/** States a pause applies to (AdminStop); in the others TiCDC ignores it. */
const PAUSABLE = new Set(["normal", "warning", "pending"]);

export async function applyChangefeed(
  spec: ChangefeedSpec,
  options: ChangefeedOptions,
): Promise<ChangefeedOutcome> {
  const api = ticdcApi(spec.ticdcUrl, options.fetch === undefined ? {} : { fetch: options.fetch });
  const { logger } = options;
  let current = await api.get(spec.id);
  let outcome: ChangefeedOutcome = "unchanged";
  if (current === undefined) {
    const created = await api.create({
      changefeed_id: spec.id,
      sink_uri: spec.sinkUri,
      // A partial replica config is merged into TiCDC's defaults on create (createChangefeed starts from
      // GetDefaultReplicaConfig).
      replica_config: { filter: { rules: [...spec.filterRules] } },
    });
    if (created === "created") outcome = "created";
    // Another run created it between our GET and POST: from here on it is an existing changefeed.
    else current = await api.get(spec.id);
  }
  if (current !== undefined) outcome = await reconcile(api, spec, current, options);
  const ready = await waitUntilNormal(api, spec.id, outcome === "updated" || outcome === "resumed", options);
  logger.info({
    action: "changefeed_ready",
    id: spec.id,
    outcome,
    state: ready.state,
    checkpointTs: ready.checkpoint_ts,
  });
  return outcome;
}

/** Removes the changefeed; succeeds when it is already gone. Its topics and their data are kept. */
export async function deleteChangefeed(
  ticdcUrl: string,
  id: string,
  options: Pick<ChangefeedOptions, "logger" | "fetch">,
): Promise<void> {
  const api = ticdcApi(ticdcUrl, options.fetch === undefined ? {} : { fetch: options.fetch });
  await api.remove(id);
  options.logger.info({ action: "changefeed_deleted", id });
}

async function reconcile(
  api: TicdcApi,
  spec: ChangefeedSpec,
  current: ChangefeedInfo,
  options: ChangefeedOptions,
): Promise<ChangefeedOutcome> {
  const { id } = spec;
  if (current.state === "finished") {
    throw new ChangefeedError(
      `changefeed ${id} is finished (it reached its target-ts) and replicates nothing more; delete it ` +
        `('node ops/dist/main.js changefeed delete') and apply again: the new one starts from now, so ` +
        `changes made in between are not replicated`,
    );
  }
  if (current.state === "removed") {
    throw new ChangefeedError(
      `changefeed ${id} is being removed; wait until GET /api/v2/changefeeds/${id} answers ` +
        `CDC:ErrChangeFeedNotExists, then apply again to create it anew`,
    );
  }
  const currentRules = current.config?.filter?.rules ?? [];
  const sinkChanged = current.sink_uri === undefined || !sameSinkUri(current.sink_uri, spec.sinkUri);
  const filterChanged = !sameSet(currentRules, spec.filterRules);
  if (sinkChanged || filterChanged) {
    if (PAUSABLE.has(current.state)) {
      await api.pause(id);
      // The pause is queued for TiCDC's owner; PUT is refused until the state is stopped.
      await waitUntil(
        `changefeed ${id} is stopped after the pause`,
        async () => {
          const feed = await api.get(id);
          if (feed === undefined)
            throw new ChangefeedError(`changefeed ${id} disappeared while being paused`);
          return RESUMABLE.has(feed.state)
            ? { done: true, value: feed }
            : { done: false, seen: describe(feed) };
        },
        waitOptions(options),
      );
    } else if (!RESUMABLE.has(current.state)) {
      throw new ChangefeedError(`changefeed ${id} is ${current.state}: cannot pause it to update it`);
    }
    try {
      await api.update(id, {
        sink_uri: spec.sinkUri,
        // TiCDC replaces the whole replica config on update (verifyUpdateChangefeedConfig), starting from
        // defaults, not from the current one: send the current config with the new rules, as `cdc cli
        // changefeed update` does, so no other setting is reset.
        replica_config: withRules(current.config, spec.filterRules),
      });
    } catch (error) {
      if (PAUSABLE.has(current.state)) await resumeAfterRefusedUpdate(api, id, options.logger);
      throw error;
    }
    await api.resume(id);
    options.logger.info({
      action: "changefeed_updated",
      id,
      from: { sinkUri: current.sink_uri && redactSinkUri(current.sink_uri), filter: currentRules },
      to: { sinkUri: redactSinkUri(spec.sinkUri), filter: spec.filterRules },
      checkpointTs: current.checkpoint_ts,
    });
    return "updated";
  }
  if (RESUMABLE.has(current.state)) {
    await api.resume(id);
    options.logger.info({
      action: "changefeed_resumed",
      id,
      from: current.state,
      error: current.error?.message,
      checkpointTs: current.checkpoint_ts,
    });
    return "resumed";
  }
  // normal, or warning/pending: TiCDC retries those itself (a resume would be ignored); the wait decides.
  return "unchanged";
}

/**
 * A refused update leaves the changefeed paused by this step: resume it as it was, so replication goes on
 * with the previous sink and filter while the new ones are fixed. Best effort: the refusal is what fails.
 */
async function resumeAfterRefusedUpdate(api: TicdcApi, id: string, logger: Logger): Promise<void> {
  try {
    await api.resume(id);
    logger.warn(
      { action: "changefeed_resumed_unchanged", id },
      "update refused: resumed with the previous sink and filter",
    );
  } catch (error) {
    logger.error({ action: "changefeed_left_paused", id }, "update refused, and resuming failed too", error);
  }
}

/**
 * Waits until the changefeed is `normal`. `warning` and `pending` are TiCDC retrying after an error: keep
 * waiting. `failed` and `finished` will not recover on their own: stop at once with TiCDC's error, except
 * right after a resume, which TiCDC's owner applies a tick after answering: until some state other than
 * stopped or failed shows, the changefeed has not been resumed yet.
 */
function waitUntilNormal(
  api: TicdcApi,
  id: string,
  resumed: boolean,
  options: ChangefeedOptions,
): Promise<ChangefeedInfo> {
  let resumeApplied = !resumed;
  return waitUntil(
    `changefeed ${id} is normal`,
    async () => {
      const feed = await api.get(id);
      if (feed === undefined)
        throw new ChangefeedError(`changefeed ${id} does not exist (deleted meanwhile?)`);
      if (feed.state === "normal") return { done: true, value: feed };
      if (!RESUMABLE.has(feed.state)) resumeApplied = true;
      if ((feed.state === "failed" && resumeApplied) || feed.state === "finished") {
        throw new ChangefeedError(
          `changefeed ${id} is ${feed.state}: ${feed.error?.message ?? "no error reported"}`,
        );
      }
      return { done: false, seen: describe(feed), fields: { state: feed.state } };
    },
    waitOptions(options),
  );
}

function waitOptions(options: ChangefeedOptions) {
  return {
    logger: options.logger,
    timeoutMs: options.timeoutMs ?? 120_000,
    pollMs: options.pollMs ?? 1000,
    ...(options.progressMs === undefined ? {} : { progressMs: options.progressMs }),
  };
}

function describe(feed: ChangefeedInfo): string {
  const message = feed.error?.message;
  return message === undefined ? `state ${feed.state}` : `state ${feed.state}: ${message}`;
}

function withRules(config: ReplicaConfig | undefined, rules: readonly string[]): ReplicaConfig {
  return { ...config, filter: { ...config?.filter, rules: [...rules] } };
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a.map((rule) => rule.trim()));
  const right = new Set(b.map((rule) => rule.trim()));
  return left.size === right.size && [...left].every((rule) => right.has(rule));
}
