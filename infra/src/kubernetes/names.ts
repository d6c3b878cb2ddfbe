import { createHash } from "node:crypto";
import { PORTS } from "../lib/topology.ts";

/**
 * Names and in-cluster addresses on the Kubernetes target. The operators derive their Services' names from
 * the custom resource's name; these functions say which, so every address is written once.
 */

/** TiCDC's port as TiDB Operator v1.6 runs it (DefaultTiCDCPort in pkg/apis/pingcap/v1alpha1/constants.go). */
export const TICDC_OPERATOR_PORT = 8301;

/** The `<tc>-discovery` Service's port, which every PD calls at start (pkg/manager/member/tidb_discovery_manager.go). */
export const TIDB_DISCOVERY_PORT = 10261;

/** The plain internal listener Strimzi opens on the bootstrap Service. */
export const KAFKA_PLAIN_PORT = 9092;

/** `<tc>-tidb.<ns>.svc`: the MySQL Service TiDB Operator creates for a TidbCluster. */
export const tidbServiceHost = (cluster: string, namespace: string): string =>
  `${cluster}-tidb.${namespace}.svc`;

export const tidbAddress = (cluster: string, namespace: string): string =>
  `${tidbServiceHost(cluster, namespace)}:${PORTS.tidb}`;

/** TiCDC's OpenAPI behind the operator's headless peer Service: port 8301, not the 8300 of the Docker target. */
export const ticdcApiUrl = (cluster: string, namespace: string): string =>
  `http://${cluster}-ticdc-peer.${namespace}.svc:${TICDC_OPERATOR_PORT}`;

/** PD's client API behind the `<tc>-pd` Service TiDB Operator creates. */
export const pdServiceUrl = (cluster: string, namespace: string): string =>
  `http://${cluster}-pd.${namespace}.svc:${PORTS.pdClient}`;

/**
 * The address the i-th TiKV pod registers with PD: TiDB Operator v1.6 starts it with `--advertise-addr=
 * <pod>.<tc>-tikv-peer.<ns>.svc:20160` (pkg/manager/member/startscript/v1/template.go).
 */
export const tikvPodStoreAddress = (cluster: string, namespace: string, index: number): string =>
  `${cluster}-tikv-${index}.${cluster}-tikv-peer.${namespace}.svc:${PORTS.tikv}`;

/** `<kafka>-kafka-bootstrap.<ns>.svc:9092`: Strimzi's bootstrap Service for the plain listener. */
export const kafkaBootstrap = (kafka: string, namespace: string): string =>
  `${kafka}-kafka-bootstrap.${namespace}.svc:${KAFKA_PLAIN_PORT}`;

/** A short, stable digest of any JSON-serialisable value, for names and annotations that must change with it. */
export function contentHash(value: unknown, length = 10): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, length);
}

/**
 * A Kubernetes object name for a Kafka topic. Topic names may hold upper case and underscores, object names
 * may not; a name that had to change gets a digest of the original so two topics never collide.
 */
export function topicObjectName(topic: string): string {
  const slug = topic
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, "-")
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "");
  if (slug === topic) return topic;
  return `${slug === "" ? "topic" : slug.slice(0, 50)}-${contentHash(topic, 8)}`;
}

/** Labels every object of the stack's own workloads carries; `app.kubernetes.io/name` is also the Prometheus job. */
export function appLabels(stack: string, component: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": component,
    "app.kubernetes.io/instance": stack,
    "app.kubernetes.io/part-of": "tidbstack",
  };
}
