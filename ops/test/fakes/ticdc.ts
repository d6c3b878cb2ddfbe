/**
 * A local HTTP server that answers like TiCDC v8.5's OpenAPI v2 changefeed endpoints. Each answer follows
 * pingcap/tiflow at v8.5.4 (the classic server that `cdc server` runs):
 * - cdc/api/v2/changefeed.go: createChangefeed, updateChangefeed (only while stopped or failed, else
 *   ErrChangefeedUpdateRefused), getChangeFeed (toAPIModel: sink URI masked, error only in states where
 *   shouldShowRunningError), pauseChangefeed / resumeChangefeed (queue an admin job and answer at once),
 *   deleteChangefeed (200 when the changefeed does not exist);
 * - cdc/owner/feed_state_manager.go handleAdminJob: pause applies to normal/warning/pending, resume to
 *   failed/stopped/finished; anything else is ignored;
 * - cdc/api/middleware/middleware.go + cdc/api/util.go: errors as {error_msg, error_code}, 400 for the
 *   httpBadRequestError list (ErrChangeFeedNotExists, ErrChangefeedUpdateRefused, ErrAPIInvalidParam ...),
 *   500 for the rest (so ErrChangeFeedAlreadyExists is 500);
 * - pkg/util/uri.go MaskSinkURI: sasl-password masked, the query then re-encoded in key order.
 */
import { FakeHttpServer, type Answer, type SeenRequest } from "./server.ts";

export interface FakeFeed {
  state: string;
  sink_uri: string;
  config: Record<string, unknown>;
  /** A real TSO, beyond 2^53, written to the wire exactly. */
  checkpoint_ts: bigint;
  error: { code: string; message: string } | null;
}

/** What the defaults of a created changefeed look like (GetDefaultReplicaConfig), trimmed to a few fields. */
export const DEFAULT_REPLICA_CONFIG = {
  memory_quota: 1073741824,
  case_sensitive: false,
  force_replicate: false,
  check_gc_safe_point: true,
  filter: { rules: ["*.*"] },
  sink: { protocol: "canal-json", encoder_concurrency: 32 },
};

const error = (status: number, code: string, message: string): Answer => ({
  status,
  body: { error_msg: message, error_code: `CDC:${code}` },
});

export class FakeTicdc extends FakeHttpServer {
  readonly feeds = new Map<string, FakeFeed>();
  /**
   * GETs after a pause or resume before the owner applies it: the handlers answer once the admin job is
   * queued (api.HandleOwnerJob), and the owner patches the state on a later tick.
   */
  ownerLag = 2;
  /** When set, PUT answers this instead of updating (e.g. a sink TiCDC rejects). */
  refuseUpdate: Answer | undefined;
  /** The next state of a changefeed and the GETs left before it applies. */
  private readonly pending = new Map<string, { state: string; gets: number }>();

  constructor() {
    super((request) => this.answer(request));
  }

  feed(id: string): FakeFeed {
    const feed = this.feeds.get(id);
    if (feed === undefined) throw new Error(`no changefeed ${id} in the fake`);
    return feed;
  }

  private answer(request: SeenRequest): Answer {
    const match = /^\/api\/v2\/changefeeds(?:\/([^/?]+))?(?:\/(pause|resume))?$/.exec(request.path);
    if (match === null) return error(404, "ErrUnknown", "no route");
    const [, rawId, verb] = match;
    const id = rawId === undefined ? undefined : decodeURIComponent(rawId);
    if (request.method === "POST" && id === undefined) return this.create(request.body);
    if (id === undefined) return error(405, "ErrUnknown", "method not allowed");
    if (request.method === "DELETE") {
      this.feeds.delete(id);
      return { status: 200, body: {} };
    }
    const feed = this.feeds.get(id);
    if (feed === undefined) return error(400, "ErrChangeFeedNotExists", `changefeed not exists, ${id}`);
    if (request.method === "GET") return this.get(id, feed);
    if (request.method === "PUT") return this.update(feed, request.body);
    if (request.method === "POST" && verb === "pause") {
      if (["normal", "warning", "pending"].includes(feed.state)) this.schedule(id, "stopped");
      return { status: 200, body: {} };
    }
    if (request.method === "POST" && verb === "resume") {
      if (!request.hasBody) return error(400, "ErrAPIInvalidParam", "invalid request: EOF");
      const overwrite = (request.body as { overwrite_checkpoint_ts?: number } | undefined)
        ?.overwrite_checkpoint_ts;
      if (overwrite !== undefined && overwrite !== 0) feed.checkpoint_ts = BigInt(overwrite);
      if (["failed", "stopped", "finished"].includes(feed.state)) this.schedule(id, "normal");
      return { status: 200, body: {} };
    }
    return error(405, "ErrUnknown", "method not allowed");
  }

  private create(body: unknown): Answer {
    const config = body as {
      changefeed_id: string;
      sink_uri: string;
      replica_config?: Record<string, unknown>;
    };
    if (this.feeds.has(config.changefeed_id)) {
      return error(500, "ErrChangeFeedAlreadyExists", `changefeed already exists, ${config.changefeed_id}`);
    }
    // createChangefeed starts from the default replica config and overlays what was sent.
    const feed: FakeFeed = {
      state: "normal",
      sink_uri: config.sink_uri,
      config: { ...DEFAULT_REPLICA_CONFIG, ...config.replica_config },
      checkpoint_ts: 462712345940000001n,
      error: null,
    };
    this.feeds.set(config.changefeed_id, feed);
    return { status: 200, raw: this.info(config.changefeed_id, feed) };
  }

  private update(feed: FakeFeed, body: unknown): Answer {
    if (this.refuseUpdate !== undefined) return this.refuseUpdate;
    if (feed.state !== "stopped" && feed.state !== "failed") {
      return error(
        400,
        "ErrChangefeedUpdateRefused",
        "[CDC:ErrChangefeedUpdateRefused]can only update changefeed config when it is stopped or failed",
      );
    }
    const update = body as { sink_uri?: string; replica_config?: Record<string, unknown> };
    if (update.sink_uri !== undefined && update.sink_uri !== "") feed.sink_uri = update.sink_uri;
    // verifyUpdateChangefeedConfig replaces the config with the one sent (over defaults, with every
    // scalar taken from the body): settings left out are not kept from the old config.
    if (update.replica_config !== undefined) feed.config = { ...update.replica_config };
    return { status: 200, raw: "{}" };
  }

  private get(id: string, feed: FakeFeed): Answer {
    const next = this.pending.get(id);
    if (next !== undefined && next.gets-- <= 0) {
      feed.state = next.state;
      if (next.state === "normal") feed.error = null;
      this.pending.delete(id);
    }
    return { status: 200, raw: this.info(id, feed) };
  }

  /** After `gets` more GETs of it, the changefeed is in `state` (TiCDC's owner acting on its own). */
  becomes(id: string, state: string, gets: number): void {
    this.pending.set(id, { state, gets });
  }

  private schedule(id: string, state: string): void {
    this.becomes(id, state, this.ownerLag);
  }

  private info(id: string, feed: FakeFeed): string {
    const showError = !["normal", "stopped", "finished", "removed"].includes(feed.state);
    const body = JSON.stringify({
      id,
      namespace: "default",
      sink_uri: maskSinkUri(feed.sink_uri),
      config: feed.config,
      state: feed.state,
      checkpoint_ts: "__CHECKPOINT__",
      ...(showError && feed.error !== null ? { error: feed.error } : {}),
    });
    return body.replace('"__CHECKPOINT__"', feed.checkpoint_ts.toString());
  }
}

/**
 * MaskSinkURI: a sasl-password is masked, which makes Go re-encode the query sorted by key; url.Redacted
 * masks a user-info password.
 */
function maskSinkUri(uri: string): string {
  const url = new URL(uri);
  let masked = false;
  if (url.searchParams.has("sasl-password")) {
    url.searchParams.set("sasl-password", "xxxxx");
    url.searchParams.sort();
    masked = true;
  }
  if (url.password !== "") {
    url.password = "xxxxx";
    masked = true;
  }
  return masked ? url.href : uri;
}
