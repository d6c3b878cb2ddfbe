/**
 * PD's HTTP API (tikv/pd server/api/router.go, v8.5; docs.pingcap.com "PD Control" and the PD API
 * reference), the endpoints the reconcile step uses. PD answers errors with a JSON string body, e.g.
 * `"not found, pd: pd2"`, or an errcode object for invalid input.
 */
import {
  ApiError,
  describeBody,
  jsonClient,
  type JsonClientOptions,
  type JsonResponse,
} from "./http-json.ts";

/** One member of GET /pd/api/v1/members (pdpb.Member). member_id is left out: a uint64, and names suffice. */
export interface PdMember {
  readonly name: string;
  readonly clientUrls: readonly string[];
}

/** One entry of GET /pd/api/v1/health (server/api/health.go Health). */
export interface PdHealth {
  readonly name: string;
  readonly health: boolean;
}

/** A store as GET /pd/api/v1/stores and /store/{id} describe it (pkg/response/store.go StoreInfo). */
export interface PdStore {
  readonly id: number;
  /** The TiKV's advertised address, e.g. tikv1:20160. */
  readonly address: string;
  /** Up, Offline or Tombstone; an Up store that misses heartbeats shows Disconnected, then Down. */
  readonly state: string;
  readonly regionCount: number;
  readonly leaderCount: number;
}

export interface PdApi {
  readonly baseUrl: string;
  members(): Promise<PdMember[]>;
  health(): Promise<PdHealth[]>;
  /** Removes the member from the etcd cluster; "absent" when PD does not know the name (404). */
  deleteMember(name: string): Promise<"deleted" | "absent">;
  /** Up and Offline stores: GET /stores leaves Tombstone out unless asked (newStoreStateFilter). */
  stores(): Promise<PdStore[]>;
  /** undefined when PD has no such store (404), e.g. once its tombstone is removed. */
  store(id: number): Promise<PdStore | undefined>;
  /**
   * Takes the store offline: PD moves its regions away, then marks it Tombstone. "gone" when it already is
   * a tombstone (410) or unknown (404). PD itself refuses (400) when fewer Up stores than max-replicas would
   * be left (RaftCluster.checkReplicaBeforeOfflineStore).
   */
  deleteStore(id: number): Promise<"offline" | "gone">;
  /** Forgets every Tombstone store. */
  removeTombstones(): Promise<void>;
  maxReplicas(): Promise<number>;
  /** POST /config/replicate merges the given fields into the current replication config. */
  setMaxReplicas(count: number): Promise<void>;
}

export function pdApi(baseUrl: string, options: JsonClientOptions = {}): PdApi {
  const client = jsonClient(baseUrl, options);
  const expectOk = async (method: string, path: string, body?: unknown): Promise<JsonResponse> => {
    const response = await client.call(method, path, body);
    if (!response.ok) throw refused(method, path, response);
    return response;
  };
  const get = async (path: string): Promise<unknown> => (await expectOk("GET", path)).body;
  return {
    baseUrl,
    async members() {
      const answer = await get("/pd/api/v1/members");
      const members = field(answer, "members");
      if (!Array.isArray(members)) throw unexpected("/pd/api/v1/members", answer);
      return members.map((m: unknown) => ({
        name: stringField(m, "name", "/pd/api/v1/members"),
        clientUrls: stringArray(field(m, "client_urls")),
      }));
    },
    async health() {
      const answer = await get("/pd/api/v1/health");
      if (!Array.isArray(answer)) throw unexpected("/pd/api/v1/health", answer);
      return answer.map((h: unknown) => ({
        name: stringField(h, "name", "/pd/api/v1/health"),
        health: field(h, "health") === true,
      }));
    },
    async deleteMember(name) {
      const path = `/pd/api/v1/members/name/${encodeURIComponent(name)}`;
      const response = await client.call("DELETE", path);
      if (response.status === 404) return "absent";
      if (!response.ok) throw refused("DELETE", path, response);
      return "deleted";
    },
    async stores() {
      const answer = await get("/pd/api/v1/stores");
      const stores = field(answer, "stores");
      if (!Array.isArray(stores)) throw unexpected("/pd/api/v1/stores", answer);
      return stores.map((s: unknown) => toStore(s, "/pd/api/v1/stores"));
    },
    async store(id) {
      const path = `/pd/api/v1/store/${id}`;
      const response = await client.call("GET", path);
      if (response.status === 404) return undefined;
      if (!response.ok) throw refused("GET", path, response);
      return toStore(response.body, path);
    },
    async deleteStore(id) {
      const path = `/pd/api/v1/store/${id}`;
      const response = await client.call("DELETE", path);
      // storeHandler.responseStoreErr: 404 ErrStoreNotFound, 410 ErrStoreRemoved (already a tombstone).
      if (response.status === 404 || response.status === 410) return "gone";
      if (!response.ok) throw refused("DELETE", path, response);
      return "offline";
    },
    async removeTombstones() {
      await expectOk("DELETE", "/pd/api/v1/stores/remove-tombstone");
    },
    async maxReplicas() {
      const answer = await get("/pd/api/v1/config/replicate");
      const value = field(answer, "max-replicas");
      if (typeof value !== "number") throw unexpected("/pd/api/v1/config/replicate", answer);
      return value;
    },
    async setMaxReplicas(count) {
      await expectOk("POST", "/pd/api/v1/config/replicate", { "max-replicas": count });
    },
  };
}

function toStore(info: unknown, path: string): PdStore {
  const meta = field(info, "store");
  const status = field(info, "status");
  const id = field(meta, "id");
  const address = field(meta, "address");
  const state = field(meta, "state_name");
  if (typeof id !== "number" || typeof address !== "string" || typeof state !== "string") {
    throw unexpected(path, info);
  }
  const count = (name: string): number => {
    const value = field(status, name);
    return typeof value === "number" ? value : 0;
  };
  return { id, address, state, regionCount: count("region_count"), leaderCount: count("leader_count") };
}

function refused(method: string, path: string, response: JsonResponse): ApiError {
  return new ApiError(
    `PD refused ${method} ${path} (HTTP ${response.status}): ${describeBody(response.body)}`,
    response.status,
  );
}

function unexpected(path: string, body: unknown): ApiError {
  return new ApiError(`PD answered GET ${path} with an unexpected body: ${describeBody(body)}`, 200);
}

function field(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

function stringField(value: unknown, name: string, path: string): string {
  const text = field(value, name);
  if (typeof text !== "string") throw unexpected(path, value);
  return text;
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}
