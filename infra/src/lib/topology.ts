/**
 * Pure builders for the TiDB cluster's and Kafka's names, addresses, command lines and config files. Every
 * address a server advertises is its network alias: never localhost (other containers would reach
 * themselves) and never 0.0.0.0 (TiKV refuses it as an advertised address).
 */

export const PORTS = {
  pdClient: 2379,
  pdPeer: 2380,
  tikv: 20160,
  tikvStatus: 20180,
  tidb: 4000,
  tidbStatus: 10080,
  ticdc: 8300,
  kafkaInternal: 19092,
  kafkaHost: 9092,
  kafkaController: 29093,
} as const;

/**
 * Network alias (and PD member name) of the i-th PD / TiKV, the same at every node count: index 0 is `pd` /
 * `tikv` (the names a single-node stack has always had, so its containers and volumes are kept), index i ≥ 1
 * is `pd${i}` / `tikv${i}`. A name that changed with the count would give an existing node a new container
 * and an empty volume: a new PD cluster, or a TiKV store's data deleted.
 */
export const pdName = (index: number): string => (index === 0 ? "pd" : `pd${index}`);
export const tikvName = (index: number): string => (index === 0 ? "tikv" : `tikv${index}`);

export const range = (count: number): number[] => Array.from({ length: count }, (_, i) => i);

/** PD client endpoints as TiKV and TiDB list them: `pd:2379` or `pd:2379,pd1:2379,pd2:2379`. */
export function pdEndpoints(pdCount: number): string {
  return range(pdCount)
    .map((i) => `${pdName(i)}:${PORTS.pdClient}`)
    .join(",");
}

/** The client URL of the i-th PD, e.g. `http://pd1:2379`. */
export const pdClientUrl = (index: number): string => `http://${pdName(index)}:${PORTS.pdClient}`;

/** The address a TiKV store registers with PD (its advertise address), e.g. `tikv1:20160`. */
export const tikvStoreAddress = (index: number): string => `${tikvName(index)}:${PORTS.tikv}`;

/**
 * PD's `max-replicas` for a number of TiKV stores: never more replicas than stores (regions would stay
 * under-replicated), and TiDB's default of 3 once there are enough.
 */
export const maxReplicasFor = (tikvCount: number): number => Math.min(3, tikvCount);

/**
 * How the i-th PD finds its cluster. PD 0 bootstraps the one-member cluster `pd=http://pd:2380`, and keeps
 * that flag forever: once its data directory holds a member, etcd restarts from it and ignores the initial
 * cluster. PD i ≥ 1 joins through the client URLs of PDs 0..i-1 (never its own: PD refuses "join self"),
 * so no PD's flags depend on pdCount and a 1 → 3 change adds two members to the running cluster instead of
 * bootstrapping a new one.
 *
 * Checked in tikv/pd v8.5.4, server/join/join.go (PrepareJoinCluster): with `--join`, a PD whose data dir
 * has a `join` file restarts from that file's member list; one whose `member` dir has data restarts as an
 * existing member and does nothing else; one with no data lists the members through the join URLs, refuses
 * if a member of its own name is listed ("missing data or join a duplicated pd"), else adds itself
 * (MemberAdd) and writes the `join` file. server/config/config.go refuses `--join` together with
 * `--initial-cluster`.
 */
export function pdClusterFlag(index: number): string {
  if (index === 0) return `--initial-cluster=${pdName(0)}=http://${pdName(0)}:${PORTS.pdPeer}`;
  return `--join=${range(index).map(pdClientUrl).join(",")}`;
}

export function pdCommand(index: number): string[] {
  const name = pdName(index);
  return [
    `--name=${name}`,
    "--data-dir=/data/pd",
    `--client-urls=http://0.0.0.0:${PORTS.pdClient}`,
    `--advertise-client-urls=http://${name}:${PORTS.pdClient}`,
    `--peer-urls=http://0.0.0.0:${PORTS.pdPeer}`,
    `--advertise-peer-urls=http://${name}:${PORTS.pdPeer}`,
    pdClusterFlag(index),
  ];
}

/** TiKV's flags; `pd` is the comma list of every current PD's client endpoint. */
export function tikvCommand(index: number, pd: string): string[] {
  const name = tikvName(index);
  return [
    `--addr=0.0.0.0:${PORTS.tikv}`,
    `--advertise-addr=${name}:${PORTS.tikv}`,
    `--status-addr=0.0.0.0:${PORTS.tikvStatus}`,
    `--advertise-status-addr=${name}:${PORTS.tikvStatus}`,
    `--pd=${pd}`,
    "--data-dir=/data/tikv",
    "--config=/etc/tikv/tikv.toml",
  ];
}

/**
 * TiKV's config for a laptop: no 5 GB reserved disk, a block cache sized to the container's memory cap
 * instead of 45% of the host's, and few open files so it starts without a huge nofile limit.
 */
export function tikvConfig(memoryLimitMb: number): string {
  const blockCacheMb = Math.max(128, Math.floor(memoryLimitMb * 0.4));
  return [
    "[storage]",
    'reserve-space = "0MB"',
    "[storage.block-cache]",
    `capacity = "${blockCacheMb}MB"`,
    "[rocksdb]",
    "max-open-files = 256",
    "[raftdb]",
    "max-open-files = 256",
    "",
  ].join("\n");
}

export function tidbCommand(pd: string): string[] {
  return [
    "--store=tikv",
    `--path=${pd}`,
    "--advertise-address=tidb",
    `--P=${PORTS.tidb}`,
    `--status=${PORTS.tidbStatus}`,
  ];
}

/** TiCDC's command (the image has no entrypoint); `pd` as for TiKV, turned into the URLs TiCDC wants. */
export function ticdcCommand(pd: string): string[] {
  const urls = pd
    .split(",")
    .map((endpoint) => `http://${endpoint}`)
    .join(",");
  return [
    "/cdc",
    "server",
    `--addr=0.0.0.0:${PORTS.ticdc}`,
    `--advertise-addr=ticdc:${PORTS.ticdc}`,
    `--pd=${urls}`,
    "--data-dir=/data/ticdc",
  ];
}

/**
 * The apache/kafka image's environment for one KRaft node (broker and controller). Once any KAFKA_* variable
 * is set the image ignores its defaults, so this is the whole set.
 */
export function kafkaEnvironment(clusterId: string, heapMb: number): Record<string, string> {
  return {
    CLUSTER_ID: clusterId,
    KAFKA_NODE_ID: "1",
    KAFKA_PROCESS_ROLES: "broker,controller",
    KAFKA_CONTROLLER_QUORUM_VOTERS: `1@kafka:${PORTS.kafkaController}`,
    KAFKA_LISTENERS: `CONTROLLER://:${PORTS.kafkaController},PLAINTEXT://:${PORTS.kafkaInternal},PLAINTEXT_HOST://:${PORTS.kafkaHost}`,
    KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://kafka:${PORTS.kafkaInternal},PLAINTEXT_HOST://localhost:${PORTS.kafkaHost}`,
    KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT",
    KAFKA_CONTROLLER_LISTENER_NAMES: "CONTROLLER",
    KAFKA_INTER_BROKER_LISTENER_NAME: "PLAINTEXT",
    // One broker: internal topics cannot have more replicas, or consumer groups never get a coordinator.
    KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: "1",
    KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: "1",
    KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: "1",
    KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: "0",
    // Topics are created on purpose by the changefeed step, with the partition count it needs.
    KAFKA_AUTO_CREATE_TOPICS_ENABLE: "false",
    KAFKA_LOG_DIRS: "/var/lib/kafka/data",
    KAFKA_HEAP_OPTS: `-Xmx${heapMb}m -Xms${heapMb}m`,
  };
}

/** Kafka's address inside the stack network: what TiCDC and the services use. */
export const KAFKA_BOOTSTRAP = `kafka:${PORTS.kafkaInternal}`;

/** TiCDC's Kafka sink: canal-json with the TiDB extension, on Kafka's in-network listener. */
export function sinkUri(topic: string, partitions: number, bootstrap: string = KAFKA_BOOTSTRAP): string {
  const query = new URLSearchParams({
    protocol: "canal-json",
    "enable-tidb-extension": "true",
    "partition-num": String(partitions),
    "replication-factor": "1",
    "max-message-bytes": "1048576",
  });
  return `kafka://${bootstrap}/${topic}?${query.toString()}`;
}

/** `host:port` → its parts; a clear error for anything else (the address came from another component). */
export function splitHostPort(address: string): { host: string; port: number } {
  const match = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(address);
  if (match === null) throw new Error(`expected host:port, got "${address}"`);
  return { host: match[1] ?? "", port: Number(match[2]) };
}
