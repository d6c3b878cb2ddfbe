/**
 * Pure builders for the TiDB cluster's and Kafka's command lines and config files. Every address a server
 * advertises is its network alias: never localhost (other containers would reach themselves) and never
 * 0.0.0.0 (TiKV refuses it as an advertised address).
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

/** Network aliases of the i-th PD / TiKV: `pd`/`tikv` for a single node, `pd0`, `pd1`... for several. */
export const pdName = (index: number, count: number): string => (count === 1 ? "pd" : `pd${index}`);
export const tikvName = (index: number, count: number): string => (count === 1 ? "tikv" : `tikv${index}`);

const range = (count: number): number[] => Array.from({ length: count }, (_, i) => i);

/** PD endpoints as clients list them: `pd:2379` or `pd0:2379,pd1:2379,pd2:2379`. */
export function pdEndpoints(pdCount: number): string {
  return range(pdCount)
    .map((i) => `${pdName(i, pdCount)}:${PORTS.pdClient}`)
    .join(",");
}

export function pdCommand(index: number, pdCount: number): string[] {
  const name = pdName(index, pdCount);
  const initialCluster = range(pdCount)
    .map((i) => `${pdName(i, pdCount)}=http://${pdName(i, pdCount)}:${PORTS.pdPeer}`)
    .join(",");
  return [
    `--name=${name}`,
    "--data-dir=/data/pd",
    `--client-urls=http://0.0.0.0:${PORTS.pdClient}`,
    `--advertise-client-urls=http://${name}:${PORTS.pdClient}`,
    `--peer-urls=http://0.0.0.0:${PORTS.pdPeer}`,
    `--advertise-peer-urls=http://${name}:${PORTS.pdPeer}`,
    `--initial-cluster=${initialCluster}`,
    "--config=/etc/pd/pd.toml",
  ];
}

/** PD's config: never ask for more replicas than there are TiKV stores, or regions stay under-replicated. */
export function pdConfig(tikvCount: number): string {
  return `[replication]\nmax-replicas = ${Math.min(3, tikvCount)}\n`;
}

export function tikvCommand(index: number, tikvCount: number, pdCount: number): string[] {
  const name = tikvName(index, tikvCount);
  return [
    `--addr=0.0.0.0:${PORTS.tikv}`,
    `--advertise-addr=${name}:${PORTS.tikv}`,
    `--status-addr=0.0.0.0:${PORTS.tikvStatus}`,
    `--advertise-status-addr=${name}:${PORTS.tikvStatus}`,
    `--pd=${pdEndpoints(pdCount)}`,
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

export function tidbCommand(pdCount: number): string[] {
  return [
    "--store=tikv",
    `--path=${pdEndpoints(pdCount)}`,
    "--advertise-address=tidb",
    `--P=${PORTS.tidb}`,
    `--status=${PORTS.tidbStatus}`,
  ];
}

export function ticdcCommand(pdCount: number): string[] {
  const pd = range(pdCount)
    .map((i) => `http://${pdName(i, pdCount)}:${PORTS.pdClient}`)
    .join(",");
  return [
    "/cdc",
    "server",
    `--addr=0.0.0.0:${PORTS.ticdc}`,
    `--advertise-addr=ticdc:${PORTS.ticdc}`,
    `--pd=${pd}`,
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

/**
 * TiCDC's Kafka sink: canal-json with the TiDB extension, on Kafka's in-network listener (the Docker
 * network's by default; the Kubernetes target passes Strimzi's bootstrap Service).
 */
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
