import type { Admin } from "kafkajs";
import type { Logger } from "@tidbstack/service-kit";

/**
 * The changefeed step of the stack: create the CDC topics with the partition count the changefeed needs,
 * then create (or resume) the TiCDC changefeed through its OpenAPI v2 and wait until it is `normal`.
 * Idempotent: re-running against a healthy changefeed changes nothing.
 */

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
}

/** Creates missing topics and adds partitions to ones that have too few; never removes anything. */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[], logger: Logger): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !existing.has(spec.topic));
  if (missing.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((spec) => ({
        topic: spec.topic,
        numPartitions: spec.partitions,
        replicationFactor: 1,
      })),
    });
    logger.info({ action: "topics_created", topics: missing.map((spec) => spec.topic) });
  }
  const present = specs.filter((spec) => existing.has(spec.topic));
  if (present.length === 0) return;
  const metadata = await admin.fetchTopicMetadata({ topics: present.map((spec) => spec.topic) });
  for (const spec of present) {
    const current = metadata.topics.find((t) => t.name === spec.topic)?.partitions.length ?? 0;
    if (current < spec.partitions) {
      await admin.createPartitions({ topicPartitions: [{ topic: spec.topic, count: spec.partitions }] });
      logger.info({
        action: "topic_partitions_added",
        topic: spec.topic,
        from: current,
        to: spec.partitions,
      });
    }
  }
}

export interface ChangefeedSpec {
  /** TiCDC's HTTP API, e.g. http://ticdc:8300 */
  readonly ticdcUrl: string;
  readonly id: string;
  readonly sinkUri: string;
  /** Table filter rules, e.g. ["appdb.*"]. */
  readonly filterRules: readonly string[];
}

export interface ChangefeedOptions {
  readonly logger: Logger;
  /** How long to wait for the changefeed to become normal, in ms. */
  readonly timeoutMs?: number;
  readonly pollMs?: number;
  readonly fetch?: typeof fetch;
}

interface ChangefeedInfo {
  readonly id: string;
  readonly state: string;
  readonly sink_uri?: string;
  readonly error?: { readonly message?: string } | null;
}

/** TiCDC's error body: decide on error_code, not on the status (it differs between TiCDC versions). */
interface TicdcError {
  readonly error_code?: string;
  readonly error_msg?: string;
}

export class ChangefeedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ChangefeedError";
  }
}

const NOT_EXISTS = "CDC:ErrChangeFeedNotExists";
const ALREADY_EXISTS = "CDC:ErrChangeFeedAlreadyExists";
/** States a changefeed leaves by being resumed; `finished` (target-ts reached) cannot be resumed. */
const RESUMABLE = new Set(["stopped", "error", "failed"]);

export type ChangefeedOutcome = "created" | "resumed" | "unchanged";

export async function ensureChangefeed(
  spec: ChangefeedSpec,
  options: ChangefeedOptions,
): Promise<ChangefeedOutcome> {
  const api = ticdcApi(spec.ticdcUrl, options.fetch ?? fetch);
  const { logger } = options;
  let outcome: ChangefeedOutcome = "unchanged";
  const current = await api.get(spec.id);
  if (current === undefined) {
    const created = await api.request("POST", "/api/v2/changefeeds", {
      changefeed_id: spec.id,
      sink_uri: spec.sinkUri,
      replica_config: { filter: { rules: spec.filterRules } },
    });
    if (created.ok) outcome = "created";
    // Another run created it between our GET and POST: carry on and wait for it like an existing one.
    else if (created.error?.error_code !== ALREADY_EXISTS)
      throw failure("create", created.status, created.error);
  } else {
    if (current.sink_uri !== undefined && current.sink_uri !== spec.sinkUri) {
      logger.warn(
        { action: "changefeed_sink_differs", id: spec.id, current: current.sink_uri, wanted: spec.sinkUri },
        "delete the changefeed to recreate it with the new sink",
      );
    }
    if (current.state === "finished")
      throw new ChangefeedError(
        `changefeed ${spec.id} is finished and cannot be resumed; delete it to recreate it`,
      );
    if (RESUMABLE.has(current.state)) {
      const resumed = await api.request(
        "POST",
        `/api/v2/changefeeds/${encodeURIComponent(spec.id)}/resume`,
        {},
      );
      if (!resumed.ok) throw failure("resume", resumed.status, resumed.error);
      outcome = "resumed";
    }
  }
  const state = await waitUntilNormal(api, spec.id, options.timeoutMs ?? 120_000, options.pollMs ?? 1000);
  logger.info({ action: "changefeed_ready", id: spec.id, outcome, state });
  return outcome;
}

/** Removes the changefeed; succeeds when it is already gone. */
export async function deleteChangefeed(
  ticdcUrl: string,
  id: string,
  options: ChangefeedOptions,
): Promise<void> {
  const api = ticdcApi(ticdcUrl, options.fetch ?? fetch);
  const deleted = await api.request("DELETE", `/api/v2/changefeeds/${encodeURIComponent(id)}`);
  if (!deleted.ok && deleted.error?.error_code !== NOT_EXISTS)
    throw failure("delete", deleted.status, deleted.error);
  options.logger.info({ action: "changefeed_deleted", id });
}

async function waitUntilNormal(
  api: TicdcApi,
  id: string,
  timeoutMs: number,
  pollMs: number,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last: ChangefeedInfo | undefined;
  for (;;) {
    last = await api.get(id);
    if (last?.state === "normal") return last.state;
    if (last?.state === "failed" || last?.state === "finished") {
      throw new ChangefeedError(
        `changefeed ${id} is ${last.state}: ${last.error?.message ?? "no error reported"}`,
      );
    }
    if (Date.now() + pollMs > deadline) {
      throw new ChangefeedError(
        `changefeed ${id} was not normal after ${timeoutMs} ms (state ${last?.state ?? "missing"}${last?.error?.message === undefined ? "" : `: ${last.error.message}`})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

function failure(what: string, status: number, error: TicdcError | undefined): ChangefeedError {
  return new ChangefeedError(
    `TiCDC refused to ${what} the changefeed (HTTP ${status}): ${error?.error_code ?? "no error code"} ${error?.error_msg ?? ""}`.trim(),
  );
}

interface TicdcApi {
  get(id: string): Promise<ChangefeedInfo | undefined>;
  request(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ ok: boolean; status: number; error?: TicdcError | undefined }>;
}

function ticdcApi(baseUrl: string, fetchImpl: typeof fetch): TicdcApi {
  const call = async (
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown }> => {
    const init: RequestInit = {
      method,
      headers: { "content-type": "application/json" },
      signal: AbortSignal.timeout(30_000),
    };
    if (body !== undefined) init.body = JSON.stringify(body);
    const response = await fetchImpl(new URL(path, baseUrl), init);
    const text = await response.text();
    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      json = { error_msg: text.slice(0, 500) };
    }
    return { status: response.status, json };
  };
  return {
    async get(id) {
      const { status, json } = await call("GET", `/api/v2/changefeeds/${encodeURIComponent(id)}`);
      if (status === 200) return json as ChangefeedInfo;
      const error = json as TicdcError | undefined;
      if (error?.error_code === NOT_EXISTS) return undefined;
      throw failure("read", status, error);
    },
    async request(method, path, body) {
      const { status, json } = await call(method, path, body);
      const ok = status >= 200 && status < 300;
      return ok ? { ok, status } : { ok, status, error: json as TicdcError | undefined };
    },
  };
}
