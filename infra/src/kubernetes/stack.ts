/**
 * The stack on Kubernetes: TiDB under TiDB Operator, Kafka under Strimzi, the changefeed and the migration
 * as Jobs, the API and the consumer as Deployments. The same config and service environments as the Docker
 * target, and the same outputs. Readiness gates every edge through Pulumi's await: the operators'
 * Deployments available before their custom resources, the TidbCluster, Kafka and topics Ready, the Jobs
 * complete, the Deployments rolled out. Nothing sleeps.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { dlqTopicOf } from "@tidbstack/service-kit/contracts";
import type { StackConfig } from "../config.ts";
import { repositoryRoot } from "../lib/paths.ts";
import {
  API_METRICS_PORT,
  API_PORT,
  apiEnvironment,
  CONSUMER_METRICS_PORT,
  consumerEnvironment,
  MIGRATION_COMMAND,
  migrationEnvironment,
  migrationSecretEnvironment,
  PURGE_COMMAND,
  purgeEnvironment,
} from "../lib/service-env.ts";
import { CHANGEFEED_APPLY_COMMAND, changefeedEnvironment } from "../lib/steps.ts";
import { PORTS } from "../lib/topology.ts";
import type { KubernetesConfig } from "./config.ts";
import { KafkaCluster } from "./kafka-cluster.ts";
import { kafkaBootstrap, ticdcApiUrl, tidbServiceHost } from "./names.ts";
import { kafkaClientPeers, NetworkPolicies } from "./network-policies.ts";
import { OperatorMonitoring } from "./operator-monitoring.ts";
import { PD_MAX_REPLICAS_ROLE, pdMaxReplicasStep } from "./pd-max-replicas-step.ts";
import { RunOnceJob } from "./run-once-job.ts";
import { ScheduledJob } from "./scheduled-job.ts";
import { ServiceDeployment } from "./service-deployment.ts";
import { ServiceImages } from "./service-images.ts";
import { StackSecrets } from "./stack-secrets.ts";
import { StrimziOperator } from "./strimzi-operator.ts";
import { TidbCluster } from "./tidb-cluster.ts";
import { TidbOperator } from "./tidb-operator.ts";
import { envVars, httpProbe } from "./workload.ts";

/** Where the operators run. Fixed, as in their upstream guides: their CRDs are cluster-wide anyway. */
export const TIDB_OPERATOR_NAMESPACE = "tidb-admin";
export const STRIMZI_NAMESPACE = "strimzi";

/**
 * Pod Security Admission for the stack's namespace: the operators' pods meet "baseline" (no privileged,
 * host or extra-capability pods); the stack's own pods meet "restricted", and a pod that does not is
 * reported on apply and audited.
 */
export const APP_NAMESPACE_LABELS = {
  "pod-security.kubernetes.io/enforce": "baseline",
  "pod-security.kubernetes.io/warn": "restricted",
  "pod-security.kubernetes.io/audit": "restricted",
} as const;

/**
 * How long each Job may run, image pull included: the changefeed step itself gives up after 120 s
 * (CHANGEFEED_TIMEOUT_SECONDS' default) and the migration within seconds; the rest is for pulling the
 * image on a node that has none and for the Job's retries.
 */
const JOB_TIMEOUT_SECONDS = 600;

/** Named container ports, referred to by probes, Services and PodMonitors. */
const API_HTTP = { name: "http", number: API_PORT } as const;
/** The API's /metrics: named in its pods for the PodMonitor, exposed by neither its Service nor its Ingress. */
const API_METRICS = { name: "metrics", number: API_METRICS_PORT } as const;
const CONSUMER_HTTP = { name: "metrics", number: CONSUMER_METRICS_PORT } as const;

/**
 * When the token purge runs: every five minutes, its interval on Docker. Each run deletes what is due, so a
 * run that is skipped only delays deletion.
 */
const PURGE_SCHEDULE = "*/5 * * * *";
/** A purge run deletes in small batches and ends within seconds; a stuck one is stopped before the next. */
const PURGE_DEADLINE_SECONDS = 240;

export function deployKubernetes(
  config: StackConfig,
  kube: KubernetesConfig,
): Record<string, pulumi.Output<unknown>> {
  const name = config.name;
  const namespace = new k8s.core.v1.Namespace(
    `${name}-namespace`,
    { metadata: { name: kube.namespace, labels: APP_NAMESPACE_LABELS } },
    // Deleting a namespace deletes every volume claim in it, and with the usual Delete reclaim policy the
    // volumes too: with keepDataOnDestroy the namespace stays, holding the TiDB and Kafka claims that the
    // operators keep when their clusters are deleted, for the next `up` to find.
    { retainOnDelete: config.keepDataOnDestroy },
  );
  const ns = namespace.metadata.name;

  const tidbOperator = new TidbOperator(`${name}-tidb-operator`, {
    version: kube.tidbOperatorVersion,
    namespace: TIDB_OPERATOR_NAMESPACE,
  });
  const strimzi = new StrimziOperator(`${name}-strimzi`, {
    version: kube.strimziVersion,
    namespace: STRIMZI_NAMESPACE,
    watchNamespaces: [ns],
  });

  const tidb = new TidbCluster(
    `${name}-tidb`,
    {
      clusterName: name,
      namespace: ns,
      version: config.tidbVersion,
      pdCount: config.pdCount,
      tikvCount: config.tikvCount,
      tikvMemoryMb: config.tikvMemoryMb,
      tidbMemoryMb: config.tidbMemoryMb,
      pdStorage: kube.pdStorage,
      tikvStorage: kube.tikvStorage,
      ticdcStorage: kube.ticdcStorage,
      storageClass: kube.storageClass,
      keepData: config.keepDataOnDestroy,
    },
    // Its CRD must be served and the operator running, or the cluster would sit unreconciled (or fail
    // at preview with "no matches for kind").
    { dependsOn: [tidbOperator.crds, tidbOperator.chart] },
  );

  const kafka = new KafkaCluster(
    `${name}-kafka`,
    {
      clusterName: name,
      namespace: ns,
      version: kube.kafkaVersion,
      metadataVersion: kube.kafkaMetadataVersion,
      heapMb: config.kafkaHeapMb,
      storage: kube.kafkaStorage,
      storageClass: kube.storageClass,
      keepData: config.keepDataOnDestroy,
      topics: [
        { topic: config.topic, partitions: config.topicPartitions },
        { topic: dlqTopicOf(config.topic), partitions: config.topicPartitions },
      ],
      clientPeers: kafkaClientPeers(name, name, ["consumer", "changefeed"]),
    },
    // The chart carries the Strimzi CRDs and the operator that reconciles them.
    { dependsOn: [strimzi.chart] },
  );

  const secrets = new StackSecrets(`${name}-secrets`, {
    namespace: ns,
    tidbRootPassword: config.tidbRootPassword,
    apiDbPassword: config.apiDbPassword,
    adminPassword: config.adminPassword,
    purgeDbPassword: config.purgeDbPassword,
  });

  const images = new ServiceImages(`${name}-images`, {
    stack: name,
    registry: kube.imageRegistry,
    context: repositoryRoot(),
    baseImage: config.nodeBaseImage,
    platform: config.imagePlatform,
    tag: pulumi.getStack(),
  });
  const pod = {
    namespace: ns,
    imagePullPolicy: images.pullPolicy,
    imagePullSecret: kube.imagePullSecret,
  };

  new NetworkPolicies(`${name}-network-policies`, {
    stack: name,
    namespace: ns,
    tidbCluster: name,
    tidbOperatorNamespace: TIDB_OPERATOR_NAMESPACE,
    publicPorts: [{ role: "api", port: API_HTTP.number }],
    metricsPorts: [
      { role: "api", port: API_METRICS.number },
      { role: "consumer", port: CONSUMER_HTTP.number },
    ],
    prometheus: kube.prometheusOperator,
    clients: { tidb: ["api", "purge", "migrate"], pd: [PD_MAX_REPLICAS_ROLE], ticdc: ["changefeed"] },
  });

  new RunOnceJob(
    `${name}-pd-max-replicas`,
    {
      ...pod,
      stack: name,
      image: images.refs.ops,
      ...pdMaxReplicasStep({ clusterName: name, namespace: kube.namespace, tikvCount: config.tikvCount }),
    },
    // Beside the TidbCluster, not after it: TiDB Operator takes no store offline while that would leave
    // fewer Up stores than max-replicas, so after a scale-in the cluster is Ready only once this has run.
    // It waits for the wanted stores itself, for as long as Pulumi waits for the cluster.
    { dependsOn: [tidbOperator.crds, tidbOperator.chart] },
  );

  const changefeed = new RunOnceJob(
    `${name}-changefeed`,
    {
      ...pod,
      stack: name,
      role: "changefeed",
      image: images.refs.ops,
      command: CHANGEFEED_APPLY_COMMAND,
      env: envVars(
        changefeedEnvironment({
          ticdcUrl: ticdcApiUrl(name, kube.namespace),
          kafkaBootstrap: kafkaBootstrap(name, kube.namespace),
          id: config.changefeedId,
          topic: config.topic,
          partitions: config.topicPartitions,
          database: config.database,
        }),
      ),
      timeoutSeconds: JOB_TIMEOUT_SECONDS,
    },
    // TiCDC (part of the cluster's Ready) and both topics must exist: TiCDC checks the topic's partitions
    // when the changefeed is created.
    { dependsOn: [tidb.cluster, ...kafka.topics] },
  );

  const migrationSecrets = migrationSecretEnvironment({
    rootPassword: secrets.tidbRoot,
    adminPassword: secrets.admin,
    apiDbPassword: secrets.apiDb,
    purgeDbPassword: secrets.purgeDb,
  });
  const migration = new RunOnceJob(
    `${name}-migrate`,
    {
      ...pod,
      stack: name,
      role: "migrate",
      image: images.refs.api,
      command: MIGRATION_COMMAND,
      env: envVars(
        migrationEnvironment({
          database: config.database,
          adminEmail: config.adminEmail,
          dbHost: tidbServiceHost(name, kube.namespace),
          dbPort: PORTS.tidb,
        }),
        migrationSecrets,
        Object.keys(migrationSecrets),
      ),
      timeoutSeconds: JOB_TIMEOUT_SECONDS,
    },
    // TiDB must serve SQL; and the changefeed must exist first, so the consumer sees the schema and the
    // seed admin from the very first change (as on Docker).
    { dependsOn: [tidb.cluster, changefeed.job] },
  );

  const api = new ServiceDeployment(
    `${name}-api`,
    {
      ...pod,
      stack: name,
      role: "api",
      image: images.refs.api,
      replicas: kube.apiReplicas,
      env: envVars(
        apiEnvironment({
          database: config.database,
          // Replaced below by a secretKeyRef: the value never enters the pod spec.
          dbPassword: "",
          tokenTtlSeconds: config.tokenTtlSeconds,
          loginRateLimitPerMinute: config.loginRateLimitPerMinute,
          tokenCache: config.tokenCache,
          // Several replicas answer logins: only a limit kept in the database holds across them.
          loginRateLimitStore: config.loginRateLimitStore ?? (kube.apiReplicas > 1 ? "database" : "memory"),
          logLevel: config.logLevel,
          proxyHops: kube.apiProxyHops,
          dbHost: tidbServiceHost(name, kube.namespace),
          dbPort: String(PORTS.tidb),
        }),
        { DB_PASSWORD: secrets.apiDb },
      ),
      port: API_HTTP,
      metricsPort: API_METRICS,
      // Ready only while TiDB answers (the API's /ready runs SELECT 1): the Service skips a pod that
      // cannot serve logins.
      readinessProbe: httpProbe("/ready", API_HTTP.name, { periodSeconds: 5, failureThreshold: 3 }),
      // /health never touches the database, so a TiDB outage does not restart every pod.
      livenessProbe: httpProbe("/health", API_HTTP.name, {
        periodSeconds: 10,
        failureThreshold: 3,
        initialDelaySeconds: 5,
      }),
      // Up to four scrypt hashes at once (libuv's thread pool) at 128 MiB each, plus the process.
      resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "2", memory: "768Mi" } },
      disruptionBudget: true,
      ingressHost: kube.ingressHost,
    },
    // The API logs in as the account the migration creates, against the tables it creates.
    { dependsOn: [migration.job] },
  );

  new ServiceDeployment(
    `${name}-consumer`,
    {
      ...pod,
      stack: name,
      role: "consumer",
      image: images.refs.consumer,
      replicas: 1,
      env: envVars(
        consumerEnvironment({
          topic: config.topic,
          groupId: config.consumerGroup,
          logLevel: config.logLevel,
          brokers: kafkaBootstrap(name, kube.namespace),
        }),
      ),
      port: CONSUMER_HTTP,
      // /health is 503 while the consumer group is not running (Kafka away, a rebalance): out of the
      // Service at once, but restarted only after two minutes, since the consumer reconnects by itself.
      readinessProbe: httpProbe("/health", CONSUMER_HTTP.name, { periodSeconds: 10, failureThreshold: 1 }),
      livenessProbe: httpProbe("/health", CONSUMER_HTTP.name, {
        periodSeconds: 20,
        failureThreshold: 6,
        initialDelaySeconds: 20,
      }),
      resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "1", memory: "256Mi" } },
    },
    // It subscribes without creating topics; the changefeed step has checked them and started the feed.
    { dependsOn: [changefeed.job] },
  );

  new ScheduledJob(
    `${name}-purge`,
    {
      ...pod,
      stack: name,
      role: "purge",
      image: images.refs.api,
      command: [...PURGE_COMMAND, "--once"],
      env: envVars(
        purgeEnvironment({
          database: config.database,
          // Replaced by a secretKeyRef: the value never enters the pod spec.
          dbPassword: "",
          intervalSeconds: config.purge.intervalSeconds,
          graceSeconds: config.purge.graceSeconds,
          batchSize: config.purge.batchSize,
          logLevel: config.logLevel,
          dbHost: tidbServiceHost(name, kube.namespace),
          dbPort: String(PORTS.tidb),
        }),
        { DB_PASSWORD: secrets.purgeDb },
      ),
      schedule: PURGE_SCHEDULE,
      deadlineSeconds: PURGE_DEADLINE_SECONDS,
    },
    // It logs in as the purge account the migration creates.
    { dependsOn: [migration.job] },
  );

  if (kube.prometheusOperator) {
    new OperatorMonitoring(`${name}-monitoring`, {
      stack: name,
      namespace: ns,
      tidbCluster: name,
      services: [
        { role: "api", port: API_METRICS.name },
        { role: "consumer", port: CONSUMER_HTTP.name },
      ],
      release: kube.prometheusRelease,
      receivers: config.alerting.receivers,
      runbookBaseUrl: config.alerting.runbookBaseUrl,
    });
  }

  const portForward = `kubectl -n ${kube.namespace} port-forward svc/${api.serviceName} ${config.apiPort}:${API_PORT}`;
  return {
    apiUrl: pulumi.output(
      kube.ingressHost === undefined ? `http://localhost:${config.apiPort}` : `http://${kube.ingressHost}`,
    ),
    // How to reach apiUrl from outside the cluster.
    apiAccess: pulumi.output(
      kube.ingressHost === undefined ? portForward : `Ingress ${kube.ingressHost} (or: ${portForward})`,
    ),
    tidbHost: tidb.tidbHost,
    kafkaBootstrap: kafka.bootstrap,
    ticdcApi: tidb.ticdcApi,
    changefeedId: pulumi.output(config.changefeedId),
    topic: pulumi.output(config.topic),
  };
}
