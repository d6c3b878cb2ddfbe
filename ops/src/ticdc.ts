/**
 * TiCDC's OpenAPI v2 changefeed endpoints (tiflow cdc/api/v2/changefeed.go, v8.5; docs.pingcap.com
 * "TiCDC OpenAPI v2"). TiCDC answers errors as `{"error_code": "CDC:Err...", "error_msg": "..."}` with 400
 * for the errors in cdc/api/util.go's httpBadRequestError list and 500 for everything else, so callers
 * decide on `error_code`, never on the status alone (ErrChangeFeedAlreadyExists is 500 on v8.5 and 400 on
 * the newer engine).
 */
import {
  ApiError,
  describeBody,
  jsonClient,
  type JsonClientOptions,
  type JsonResponse,
} from "./http-json.ts";

export const NOT_EXISTS = "CDC:ErrChangeFeedNotExists";
export const ALREADY_EXISTS = "CDC:ErrChangeFeedAlreadyExists";

/** A replica config as GET returns it (v2 ReplicaConfig); only the filter rules are read here. */
export type ReplicaConfig = Readonly<Record<string, unknown>> & {
  readonly filter?: Readonly<Record<string, unknown>> & { readonly rules?: readonly string[] };
};

/** GET /api/v2/changefeeds/{id} (v2 ChangeFeedInfo), the fields this step uses. */
export interface ChangefeedInfo {
  readonly id: string;
  /** v8.5: normal, pending, failed, stopped, removed, finished, warning (cdc/model/changefeed.go). */
  readonly state: string;
  /** Passwords masked by TiCDC (util.MaskSinkURI), and the query re-encoded when it masks one. */
  readonly sink_uri?: string;
  readonly config?: ReplicaConfig;
  /** A TSO: beyond 2^53, so a bigint once parsed. */
  readonly checkpoint_ts?: number | bigint;
  /** Only shown in states where it matters (shouldShowRunningError: not normal, stopped, finished, removed). */
  readonly error?: { readonly code?: string; readonly message?: string } | null;
}

/** POST /api/v2/changefeeds and PUT /api/v2/changefeeds/{id} (v2 ChangefeedConfig), the fields this step sends. */
export interface ChangefeedConfig {
  readonly changefeed_id?: string;
  readonly sink_uri: string;
  readonly replica_config: ReplicaConfig;
}

/** TiCDC refused a request or answered something unexpected. */
export class TicdcError extends ApiError {
  /** TiCDC's error_code, e.g. CDC:ErrSinkURIInvalid. */
  readonly code: string | undefined;

  constructor(what: string, response: JsonResponse) {
    const code = errorCode(response.body);
    const detail = isObject(response.body) ? response.body["error_msg"] : response.body;
    super(
      `TiCDC refused to ${what} (HTTP ${response.status}): ${code ?? "no error code"} ${typeof detail === "string" ? detail : describeBody(detail)}`.trim(),
      response.status,
    );
    this.name = "TicdcError";
    this.code = code;
  }
}

export interface TicdcApi {
  readonly baseUrl: string;
  /** The changefeed, or undefined when TiCDC says it does not exist. */
  get(id: string): Promise<ChangefeedInfo | undefined>;
  /** "exists" when another run created the same id first. */
  create(config: ChangefeedConfig): Promise<"created" | "exists">;
  /** Only accepted while the changefeed is stopped or failed (ErrChangefeedUpdateRefused otherwise). */
  update(id: string, config: ChangefeedConfig): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /** Succeeds when it is already gone: v8.5 answers 200 for a missing changefeed. */
  remove(id: string): Promise<void>;
}

export function ticdcApi(baseUrl: string, options: JsonClientOptions = {}): TicdcApi {
  const client = jsonClient(baseUrl, options);
  const path = (id: string, verb = "") => `/api/v2/changefeeds/${encodeURIComponent(id)}${verb}`;
  const expectOk = async (
    what: string,
    method: string,
    url: string,
    body?: unknown,
  ): Promise<JsonResponse> => {
    const response = await client.call(method, url, body);
    if (!response.ok) throw new TicdcError(what, response);
    return response;
  };
  return {
    baseUrl,
    async get(id) {
      const response = await client.call("GET", path(id));
      if (!response.ok) {
        if (errorCode(response.body) === NOT_EXISTS) return undefined;
        throw new TicdcError(`read changefeed ${id}`, response);
      }
      if (!isObject(response.body) || typeof response.body["state"] !== "string") {
        throw new ApiError(
          `TiCDC answered GET ${path(id)} with ${describeBody(response.body)}`,
          response.status,
        );
      }
      return response.body as unknown as ChangefeedInfo;
    },
    async create(config) {
      const response = await client.call("POST", "/api/v2/changefeeds", config);
      if (response.ok) return "created";
      if (errorCode(response.body) === ALREADY_EXISTS) return "exists";
      throw new TicdcError(`create changefeed ${config.changefeed_id ?? ""}`, response);
    },
    async update(id, config) {
      await expectOk(`update changefeed ${id}`, "PUT", path(id), config);
    },
    async pause(id) {
      await expectOk(`pause changefeed ${id}`, "POST", path(id, "/pause"));
    },
    async resume(id) {
      // The resume handler binds a JSON body (ResumeChangefeedConfig): an empty body is ErrAPIInvalidParam.
      await expectOk(`resume changefeed ${id}`, "POST", path(id, "/resume"), {});
    },
    async remove(id) {
      const response = await client.call("DELETE", path(id));
      // Older releases answered ErrChangeFeedNotExists for a missing one; either way it is gone.
      if (!response.ok && errorCode(response.body) !== NOT_EXISTS) {
        throw new TicdcError(`delete changefeed ${id}`, response);
      }
    },
  };
}

function errorCode(body: unknown): string | undefined {
  const code = isObject(body) ? body["error_code"] : undefined;
  return typeof code === "string" ? code : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
