/**
 * A local HTTP server that keeps PD-like state and answers like PD v8.5's HTTP API. Each answer follows
 * tikv/pd at v8.5.4:
 * - server/api/router.go: the routes below, under /pd/api/v1;
 * - server/api/member.go: GET /members renders pdpb.GetMembersResponse ({header, members, leader,
 *   etcd_leader}; member_id is a uint64, written here wider than a double on purpose); DELETE
 *   /members/name/{name} answers 404 "not found, pd: <name>" or 200 "removed, pd: <name>";
 * - server/api/health.go: GET /health is an array of {name, member_id, client_urls, health};
 * - server/api/store.go + pkg/response/store.go: GET /stores is {count, stores: [{store, status}]} with
 *   Up and Offline stores only (newStoreStateFilter's default); GET /store/{id} is one StoreInfo or 404;
 *   DELETE /store/{id} answers 200 "The store is set as Offline.", 404 ErrStoreNotFound, 410
 *   ErrStoreRemoved for a tombstone, 400 for RemoveStore's refusals;
 * - server/cluster/cluster.go: RemoveStore refuses (ErrStoresNotEnough) when the Up stores left would be
 *   fewer than max-replicas, and is a no-op for a store already Offline; an Offline store is buried
 *   (Tombstone) once its regions have moved away; RemoveTombStoneRecords forgets tombstones;
 * - server/api/config.go: GET /config/replicate is the ReplicationConfig; POST merges the body into it.
 * Errors are JSON strings, as unrolled/render writes them; an unknown route is gorilla/mux's plain 404.
 */
import { FakeHttpServer, type Answer, type SeenRequest } from "./server.ts";

export interface FakeMember {
  name: string;
  healthy: boolean;
  /** Whether GET /members lists it yet (a joining PD appears once etcd has added it). */
  listed: boolean;
  /** Default http://<name>:2379. */
  clientUrl?: string;
}

export interface FakeStore {
  id: number;
  address: string;
  /** Disconnected: an Up store whose heartbeats stopped (BuildStoreInfo shows it so; RemoveStore counts it as Up). */
  state: "Up" | "Disconnected" | "Offline" | "Tombstone";
  regionCount: number;
  leaderCount: number;
}

/** A change that happens after some GETs, the way a joining PD or a starting TiKV shows up over time. */
interface Scheduled {
  gets: number;
  apply: () => void;
}

export class FakePd extends FakeHttpServer {
  members: FakeMember[] = [];
  stores: FakeStore[] = [];
  maxReplicas = 1;
  /** Regions PD moves off an Offline store per GET of that store. */
  regionsMovedPerPoll = 5;
  /** When set, every API call answers this (a PD without a leader answers 500/503). */
  outage: Answer | undefined;
  private readonly scheduled: Scheduled[] = [];
  private readonly hooks: { route: string; apply: () => void }[] = [];

  constructor() {
    super((request) => this.answer(request));
  }

  /** Adds members (listed and healthy) with client URLs http://<name>:2379. */
  withMembers(...names: string[]): this {
    this.members.push(...names.map((name) => ({ name, healthy: true, listed: true })));
    return this;
  }

  /** Adds Up stores with some regions each; ids are not contiguous (PD's allocator also numbers regions). */
  withStores(...addresses: string[]): this {
    for (const address of addresses) {
      this.stores.push({ id: this.nextStoreId(), address, state: "Up", regionCount: 12, leaderCount: 4 });
    }
    return this;
  }

  /** After `gets` more GET requests, run `apply` (a member joins, a store registers ...). */
  after(gets: number, apply: () => void): void {
    this.scheduled.push({ gets, apply });
  }

  /** Right after answering the next "METHOD /pd/api/v1/..." request, run `apply`. */
  when(route: string, apply: () => void): void {
    this.hooks.push({ route, apply });
  }

  store(address: string): FakeStore | undefined {
    return this.stores.find((s) => s.address === address);
  }

  nextStoreId(): number {
    return this.stores.reduce((max, s) => Math.max(max, s.id), 0) + (this.stores.length === 0 ? 1 : 3);
  }

  private answer(request: SeenRequest): Answer {
    const answer = this.route(request);
    const hook = this.hooks.find((h) => h.route === `${request.method} ${request.path}`);
    if (hook !== undefined) {
      this.hooks.splice(this.hooks.indexOf(hook), 1);
      hook.apply();
    }
    return answer;
  }

  private route(request: SeenRequest): Answer {
    if (request.method === "GET") this.tick();
    if (this.outage !== undefined) return this.outage;
    const path = request.path.replace(/^\/pd\/api\/v1/, "");
    const route = `${request.method} ${path}`;
    if (route === "GET /members") return this.getMembers();
    if (route === "GET /health") return this.getHealth();
    if (route === "GET /stores") return this.getStores();
    if (route === "DELETE /stores/remove-tombstone") {
      this.stores = this.stores.filter((s) => s.state !== "Tombstone");
      return ok("Remove tombstone successfully.");
    }
    if (route === "GET /config/replicate") return ok(this.replicationConfig());
    if (route === "POST /config/replicate") return this.setReplicationConfig(request.body);
    const member = /^DELETE \/members\/name\/([^/]+)$/.exec(route);
    if (member?.[1] !== undefined) return this.deleteMember(decodeURIComponent(member[1]));
    const store = /^(GET|DELETE) \/store\/(\d+)$/.exec(route);
    if (store?.[2] !== undefined) {
      const id = Number(store[2]);
      return store[1] === "GET" ? this.getStore(id) : this.deleteStore(id);
    }
    return { status: 404, raw: "404 page not found\n" };
  }

  private tick(): void {
    for (const item of [...this.scheduled]) {
      if (--item.gets <= 0) {
        this.scheduled.splice(this.scheduled.indexOf(item), 1);
        item.apply();
      }
    }
  }

  private memberJson(member: FakeMember, index: number): string {
    // member_id: etcd's random uint64, beyond 2^53 (JSON.parse would round it), written raw.
    return `{"name":${JSON.stringify(member.name)},"member_id":${9_876_543_210_123_456_700n + BigInt(index)},"peer_urls":["http://${member.name}:2380"],"client_urls":[${JSON.stringify(clientUrl(member))}],"deploy_path":"/","binary_version":"v8.5.4"}`;
  }

  private getMembers(): Answer {
    const listed = this.members.filter((m) => m.listed);
    const items = listed.map((m, i) => this.memberJson(m, i));
    const leader = items[0] ?? "null";
    return {
      status: 200,
      raw: `{"header":{"cluster_id":7400000000000000001},"members":[${items.join(",")}],"leader":${leader},"etcd_leader":${leader}}`,
    };
  }

  private getHealth(): Answer {
    const items = this.members
      .filter((m) => m.listed)
      .map(
        (m, i) =>
          `{"name":${JSON.stringify(m.name)},"member_id":${9_876_543_210_123_456_700n + BigInt(i)},"client_urls":[${JSON.stringify(clientUrl(m))}],"health":${m.healthy}}`,
      );
    return { status: 200, raw: `[${items.join(",")}]` };
  }

  private deleteMember(name: string): Answer {
    const index = this.members.findIndex((m) => m.listed && m.name === name);
    if (index === -1) return { status: 404, body: `not found, pd: ${name}` };
    this.members.splice(index, 1);
    return ok(`removed, pd: ${name}`);
  }

  private storeInfo(store: FakeStore): unknown {
    return {
      store: {
        id: store.id,
        address: store.address,
        version: "8.5.4",
        peer_address: store.address,
        status_address: store.address.replace(/:\d+$/, ":20180"),
        git_hash: "0000000",
        start_timestamp: 1764243601,
        deploy_path: "/",
        last_heartbeat: 1764243601000000000,
        state_name: store.state,
      },
      status: {
        capacity: "100GiB",
        available: "90GiB",
        used_size: "1GiB",
        leader_count: store.leaderCount,
        leader_weight: 1,
        leader_score: store.leaderCount,
        leader_size: store.leaderCount,
        region_count: store.regionCount,
        region_weight: 1,
        region_score: store.regionCount,
        region_size: store.regionCount,
        start_ts: "2025-11-27T12:00:01Z",
        last_heartbeat_ts: "2025-11-27T12:10:01Z",
        uptime: "10m0s",
      },
    };
  }

  private getStores(): Answer {
    const stores = this.stores.filter((s) => s.state !== "Tombstone").map((s) => this.storeInfo(s));
    return ok({ count: stores.length, stores });
  }

  private getStore(id: number): Answer {
    const store = this.stores.find((s) => s.id === id);
    if (store === undefined) return { status: 404, body: `[PD:core:ErrStoreNotFound]store ${id} not found` };
    if (store.state === "Offline") {
      // The region checker moves regions off an Offline store; an empty one is buried.
      store.regionCount = Math.max(0, store.regionCount - this.regionsMovedPerPoll);
      store.leaderCount = 0;
      if (store.regionCount === 0) store.state = "Tombstone";
    }
    return ok(this.storeInfo(store));
  }

  private deleteStore(id: number): Answer {
    const store = this.stores.find((s) => s.id === id);
    if (store === undefined) return { status: 404, body: `[PD:core:ErrStoreNotFound]store ${id} not found` };
    if (store.state === "Tombstone") {
      return { status: 410, body: `[PD:core:ErrStoreRemoved]store ${id} has been removed` };
    }
    if (store.state === "Up" || store.state === "Disconnected") {
      const upLeft = this.stores.filter((s) => s.state === "Up" || s.state === "Disconnected").length - 1;
      if (upLeft < this.maxReplicas) {
        return {
          status: 400,
          body: `[PD:core:ErrStoresNotEnough]can not remove store ${id} since the number of up stores would be ${upLeft} while need ${this.maxReplicas}`,
        };
      }
      store.state = "Offline";
    }
    return ok("The store is set as Offline.");
  }

  private replicationConfig(): Record<string, unknown> {
    return {
      "max-replicas": this.maxReplicas,
      "location-labels": "",
      "strictly-match-label": "false",
      "enable-placement-rules": "true",
      "enable-placement-rules-cache": "false",
      "isolation-level": "",
    };
  }

  private setReplicationConfig(body: unknown): Answer {
    const value = (body as Record<string, unknown> | undefined)?.["max-replicas"];
    if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
      return {
        status: 400,
        body: "json: cannot unmarshal into Go struct field ReplicationConfig.max-replicas",
      };
    }
    this.maxReplicas = value;
    return ok("The config is updated.");
  }
}

const ok = (body: unknown): Answer => ({ status: 200, body });
const clientUrl = (member: FakeMember): string => member.clientUrl ?? `http://${member.name}:2379`;
