import { MAX_PROXY_HOPS } from "@tidbstack/service-kit/contracts";
import { type ConfigSource, StackConfigError } from "../config.ts";

/**
 * The config keys only the Kubernetes target reads. Sizes, versions and counts the two targets share
 * (pdCount, tikvCount, memory caps, tidbVersion, topic...) stay in StackConfig.
 */
export interface KubernetesConfig {
  /** Namespace of the TidbCluster, Kafka, the Jobs and the services. Default: the stack's `name`. */
  readonly namespace: string;
  /** StorageClass of every volume claim; undefined uses the cluster's default class. */
  readonly storageClass: string | undefined;
  /** Volume sizes, as Kubernetes quantities (`10Gi`). */
  readonly pdStorage: string;
  readonly tikvStorage: string;
  readonly ticdcStorage: string;
  readonly kafkaStorage: string;
  /** API Deployment replicas. Default 2. */
  readonly apiReplicas: number;
  /**
   * Registry (and path) the cluster pulls the service images from, e.g. `registry.example.com/team`; the
   * program builds and pushes them there. Undefined: the images are loaded into the cluster by hand
   * (`kind load docker-image`) and never pulled.
   */
  readonly imageRegistry: string | undefined;
  /** An existing `kubernetes.io/dockerconfigjson` Secret in the namespace, for a private registry. */
  readonly imagePullSecret: string | undefined;
  /** Publish the API through an Ingress for this host; undefined: reach it with `kubectl port-forward`. */
  readonly ingressHost: string | undefined;
  /**
   * Proxies between clients and the API whose X-Forwarded-For entries the API believes (its TRUST_PROXY).
   * Default 1 with `ingressHost` (the ingress controller, which appends the address it saw) and 0 without:
   * otherwise every login behind the Ingress would count against one client, the controller, and a single
   * client could exhaust everyone's login limit. Raise it for each further HTTP proxy in front of the
   * controller.
   */
  readonly apiProxyHops: number;
  /** Declare PodMonitors, a PrometheusRule and dashboard ConfigMaps for a Prometheus Operator in the cluster. */
  readonly prometheusOperator: boolean;
  /**
   * Value of a `release` label on the monitoring objects: kube-prometheus-stack only selects objects
   * labelled with its release name unless told otherwise.
   */
  readonly prometheusRelease: string | undefined;
  /** TiDB Operator release: its CRDs and the `tidb-operator` chart (v1.6.x, the line for TiDB 8.x). */
  readonly tidbOperatorVersion: string;
  /** Strimzi release: the `strimzi-kafka-operator` chart (1.x: KRaft and `kafka.strimzi.io/v1` only). */
  readonly strimziVersion: string;
  /** Apache Kafka release Strimzi runs: one its release supports (4.x; Strimzi 1.x has no 3.x). */
  readonly kafkaVersion: string;
  /** KRaft metadata version matching `kafkaVersion`, from Strimzi's kafka-versions.yaml. */
  readonly kafkaMetadataVersion: string;
}

/**
 * Kafka releases Strimzi 1.2.0 supports, with their KRaft metadata versions (Strimzi's
 * kafka-versions.yaml at tag 1.2.0, `supported: true` rows).
 */
export const STRIMZI_KAFKA_VERSIONS: Readonly<Record<string, string>> = {
  "4.2.0": "4.2-IV1",
  "4.2.1": "4.2-IV1",
  "4.3.0": "4.3-IV0",
  "4.3.1": "4.3-IV0",
};

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;
const QUANTITY = /^[1-9]\d{0,5}(Mi|Gi|Ti)$/;

/** Reads and validates the Kubernetes target's keys; a bad value throws StackConfigError naming its key. */
export function loadKubernetesConfig(config: ConfigSource, defaultNamespace: string): KubernetesConfig {
  const optional = (key: string, pattern: RegExp, what: string): string | undefined => {
    const value = config.get(key);
    if (value === undefined) return undefined;
    if (!pattern.test(value)) throw new StackConfigError(key, `must be ${what}, got "${value}"`);
    return value;
  };
  const text = (key: string, fallback: string, pattern: RegExp, what: string): string =>
    optional(key, pattern, what) ?? fallback;
  const size = (key: string, fallback: string): string =>
    text(key, fallback, QUANTITY, "a size in Mi, Gi or Ti, like 10Gi");
  const flag = (key: string, fallback: boolean): boolean => {
    const raw = config.get(key);
    if (raw === undefined) return fallback;
    if (raw === "true" || raw === "false") return raw === "true";
    throw new StackConfigError(key, `must be true or false, got "${raw}"`);
  };
  const count = (key: string, fallback: number, min: number, max: number): number => {
    const raw = config.get(key);
    const value = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new StackConfigError(key, `must be a whole number from ${min} to ${max}, got "${raw ?? ""}"`);
    }
    return value;
  };

  const ingressHost = optional("ingressHost", DNS_SUBDOMAIN, "a host name, like api.example.com");
  const kafkaVersion = text("kubernetesKafkaVersion", "4.3.1", /^4\.\d+\.\d+$/, "a Kafka 4.x release");
  const kafkaMetadataVersion = STRIMZI_KAFKA_VERSIONS[kafkaVersion];
  if (kafkaMetadataVersion === undefined) {
    throw new StackConfigError(
      "kubernetesKafkaVersion",
      `must be a release Strimzi supports (${Object.keys(STRIMZI_KAFKA_VERSIONS).join(", ")}), got "${kafkaVersion}"`,
    );
  }
  return {
    namespace: text(
      "namespace",
      defaultNamespace,
      DNS_LABEL,
      "a DNS label (lower-case letters, digits, dashes)",
    ),
    storageClass: optional("storageClass", DNS_SUBDOMAIN, "a StorageClass name"),
    pdStorage: size("pdStorage", "1Gi"),
    tikvStorage: size("tikvStorage", "10Gi"),
    ticdcStorage: size("ticdcStorage", "5Gi"),
    kafkaStorage: size("kafkaStorage", "10Gi"),
    apiReplicas: count("apiReplicas", 2, 1, 20),
    imageRegistry: optional(
      "imageRegistry",
      /^[a-z0-9.-]+(:\d{1,5})?(\/[a-z0-9._-]+)*$/,
      "a registry host with an optional port and path, like registry.example.com/team",
    ),
    imagePullSecret: optional("imagePullSecret", DNS_SUBDOMAIN, "a Secret name"),
    ingressHost,
    apiProxyHops: count("apiProxyHops", ingressHost === undefined ? 0 : 1, 0, MAX_PROXY_HOPS),
    prometheusOperator: flag("prometheusOperator", false),
    prometheusRelease: optional("prometheusRelease", DNS_LABEL, "a Helm release name"),
    tidbOperatorVersion: text(
      "tidbOperatorVersion",
      "v1.6.6",
      /^v1\.6\.\d+$/,
      "a v1.6.x release (the TiDB Operator line for TiDB 8.x)",
    ),
    strimziVersion: text("strimziVersion", "1.2.0", /^1\.2\.\d+$/, "a 1.2.x release"),
    kafkaVersion,
    kafkaMetadataVersion,
  };
}
