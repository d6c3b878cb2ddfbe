import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { childOf } from "../lib/options.ts";
import { KAFKA_PLAIN_PORT, kafkaBootstrap, topicObjectName } from "./names.ts";

export interface KafkaTopicSpec {
  readonly topic: string;
  readonly partitions: number;
}

export interface KafkaClusterArgs {
  /** The `Kafka` object's name; Strimzi names its Services after it (`<clusterName>-kafka-bootstrap`). */
  readonly clusterName: string;
  readonly namespace: pulumi.Input<string>;
  /** Apache Kafka release (4.x, one the Strimzi release supports). */
  readonly version: string;
  /** KRaft metadata version of that release, e.g. 4.3-IV0. */
  readonly metadataVersion: string;
  /** The broker's JVM heap, in MiB. */
  readonly heapMb: number;
  /** Size of the broker's log volume, as a Kubernetes quantity. */
  readonly storage: string;
  /** StorageClass of its claim; undefined: the cluster's default class. */
  readonly storageClass?: string | undefined;
  /** Keep the volume claim when the node pool is deleted. Default false. */
  readonly keepData?: boolean;
  /** Topics declared as KafkaTopics, so they exist with these partitions before any client uses them. */
  readonly topics: readonly KafkaTopicSpec[];
  /**
   * The pods allowed to reach the plain listener: its `networkPolicyPeers`, which Strimzi writes into the
   * NetworkPolicy it keeps for the brokers. At least one: an empty list opens the listener to every pod.
   */
  readonly clientPeers: readonly k8s.types.input.networking.v1.NetworkPolicyPeer[];
}

/**
 * Strimzi's per-operation limit (the chart's operationTimeoutMs, 300 s). A new Kafka is Ready after the
 * broker pods roll out and the entity operator starts, each one such operation, after an image pull that
 * gets a third; a topic needs one operation.
 */
const STRIMZI_OPERATION_SECONDS = 300;
export const KAFKA_READY_TIMEOUT_SECONDS = 3 * STRIMZI_OPERATION_SECONDS;
export const TOPIC_READY_TIMEOUT_SECONDS = STRIMZI_OPERATION_SECONDS;

const awaitReady = (timeoutSeconds: number): Record<string, string> => ({
  "pulumi.com/waitFor": "condition=Ready",
  "pulumi.com/timeoutSeconds": String(timeoutSeconds),
});

/** The node pool's name: one pool of nodes that are both KRaft controller and broker, as on Docker. */
export const NODE_POOL = "dual-role";

/**
 * One Kafka node in KRaft mode under Strimzi (a `KafkaNodePool` with both roles and a `Kafka` with a plain
 * internal listener), and a `KafkaTopic` per topic. Topics are never auto-created: a client that
 * touched a missing topic would create it with one partition, racing the Topic Operator.
 */
export class KafkaCluster extends pulumi.ComponentResource {
  readonly nodePool: k8s.apiextensions.CustomResource;
  readonly kafka: k8s.apiextensions.CustomResource;
  readonly topics: k8s.apiextensions.CustomResource[];
  /** `<clusterName>-kafka-bootstrap.<ns>.svc:9092`. */
  readonly bootstrap: pulumi.Output<string>;

  constructor(name: string, args: KafkaClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:kubernetes:KafkaCluster", name, {}, opts);
    if (args.clientPeers.length === 0) {
      throw new Error(`KafkaCluster ${name}: clientPeers is empty, which would open Kafka to every pod`);
    }
    const clusterLabel = { "strimzi.io/cluster": args.clusterName };
    const volume = {
      id: 0,
      type: "persistent-claim",
      size: args.storage,
      ...(args.storageClass === undefined ? {} : { class: args.storageClass }),
      deleteClaim: args.keepData !== true,
      // The KRaft metadata log shares the data volume: one volume per node, as on Docker.
      kraftMetadata: "shared",
    };
    this.nodePool = new k8s.apiextensions.CustomResource(
      `${name}-${NODE_POOL}`,
      {
        apiVersion: "kafka.strimzi.io/v1",
        kind: "KafkaNodePool",
        metadata: { name: NODE_POOL, namespace: args.namespace, labels: clusterLabel },
        spec: {
          replicas: 1,
          roles: ["controller", "broker"],
          storage: { type: "jbod", volumes: [volume] },
          jvmOptions: { "-Xms": `${args.heapMb}m`, "-Xmx": `${args.heapMb}m` },
          // Twice the heap: the JVM's off-heap memory (metaspace, network buffers) lives outside -Xmx.
          resources: {
            requests: { memory: `${2 * args.heapMb}Mi` },
            limits: { memory: `${2 * args.heapMb}Mi` },
          },
        },
      },
      // What the component waits for (the operator) is waited for here; the Kafka and topics follow the pool.
      childOf(this, opts),
    );
    this.kafka = new k8s.apiextensions.CustomResource(
      `${name}-kafka`,
      {
        apiVersion: "kafka.strimzi.io/v1",
        kind: "Kafka",
        metadata: {
          name: args.clusterName,
          namespace: args.namespace,
          annotations: awaitReady(KAFKA_READY_TIMEOUT_SECONDS),
        },
        spec: {
          kafka: {
            version: args.version,
            metadataVersion: args.metadataVersion,
            listeners: [
              {
                name: "plain",
                port: KAFKA_PLAIN_PORT,
                type: "internal",
                tls: false,
                networkPolicyPeers: [...args.clientPeers],
              },
            ],
            config: {
              "auto.create.topics.enable": false,
              // One node: internal topics cannot have more replicas, or consumer groups never get a
              // coordinator (the same settings as the Docker target's kafkaEnvironment).
              "offsets.topic.replication.factor": 1,
              "transaction.state.log.replication.factor": 1,
              "transaction.state.log.min.isr": 1,
              "default.replication.factor": 1,
              "min.insync.replicas": 1,
            },
          },
          entityOperator: { topicOperator: {} },
        },
      },
      // Strimzi builds the Kafka's nodes from its pools: the pool must exist when it first reconciles it.
      { parent: this, dependsOn: [this.nodePool] },
    );
    this.topics = args.topics.map(
      (spec) =>
        new k8s.apiextensions.CustomResource(
          `${name}-topic-${topicObjectName(spec.topic)}`,
          {
            apiVersion: "kafka.strimzi.io/v1",
            kind: "KafkaTopic",
            metadata: {
              name: topicObjectName(spec.topic),
              namespace: args.namespace,
              labels: clusterLabel,
              annotations: awaitReady(TOPIC_READY_TIMEOUT_SECONDS),
            },
            spec: { topicName: spec.topic, partitions: spec.partitions, replicas: 1 },
          },
          // The Topic Operator runs inside the entity operator, which is up once the Kafka is Ready.
          { parent: this, dependsOn: [this.kafka] },
        ),
    );
    this.bootstrap = pulumi.output(args.namespace).apply((ns) => kafkaBootstrap(args.clusterName, ns));
    this.registerOutputs({ bootstrap: this.bootstrap });
  }
}
