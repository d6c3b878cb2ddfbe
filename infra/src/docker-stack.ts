/**
 * The stack on one Docker engine: config → components → outputs. Dependency edges are explicit and
 * health-gated: every server container has a Docker healthcheck that Pulumi waits for (`wait: true`)
 * before anything that depends on it is created.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Changefeed } from "./components/changefeed.ts";
import { DatabaseMigration } from "./components/database-migration.ts";
import { Kafka } from "./components/kafka.ts";
import { Monitoring } from "./components/monitoring.ts";
import { ServiceContainer } from "./components/service-container.ts";
import { ServiceImage, type Workspace } from "./components/service-image.ts";
import { Ticdc } from "./components/ticdc.ts";
import { TidbCluster } from "./components/tidb-cluster.ts";
import type { StackConfig } from "./config.ts";
import { localUrl } from "./lib/host-address.ts";
import { repositoryRoot } from "./lib/paths.ts";
import {
  API_PORT,
  apiEnvironment,
  CONSUMER_METRICS_PORT,
  consumerEnvironment,
  PURGE_COMMAND,
  PURGE_METRICS_PORT,
  purgeEnvironment,
} from "./lib/service-env.ts";
import { splitHostPort } from "./lib/topology.ts";

/** Declares the whole stack on the Docker engine Pulumi's Docker provider talks to; returns its outputs. */
export function deployDocker(config: StackConfig): Record<string, unknown> {
  const name = config.name;
  const repoRoot = repositoryRoot();

  const network = new docker.Network(`${name}-net`, { name: `${name}-net`, driver: "bridge" });
  const networkName = network.name;

  const image = (workspace: Workspace) =>
    new ServiceImage(`${name}-${workspace}`, {
      context: repoRoot,
      workspace,
      baseImage: config.nodeBaseImage,
      stackName: name,
      ...(config.imagePlatform === undefined ? {} : { platform: config.imagePlatform }),
    });
  const images = { api: image("api"), consumer: image("consumer"), ops: image("ops") };

  const cluster = new TidbCluster(`${name}-tidb`, {
    networkName,
    version: config.tidbVersion,
    pdCount: config.pdCount,
    tikvCount: config.tikvCount,
    tikvMemoryMb: config.tikvMemoryMb,
    tikvNofile: config.tikvNofile,
    tidbMemoryMb: config.tidbMemoryMb,
    opsImage: images.ops.ref,
    publishTidb: config.exposeInternalPorts,
    keepData: config.keepDataOnDestroy,
    logRotation: config.logRotation,
  });

  const kafka = new Kafka(`${name}-kafka`, {
    networkName,
    version: config.kafkaVersion,
    heapMb: config.kafkaHeapMb,
    publishHostListener: config.exposeInternalPorts,
    keepData: config.keepDataOnDestroy,
    logRotation: config.logRotation,
  });

  const ticdc = new Ticdc(
    `${name}-ticdc`,
    {
      networkName,
      version: config.tidbVersion,
      pdEndpoints: cluster.pdEndpoints,
      publishApi: config.exposeInternalPorts,
      keepData: config.keepDataOnDestroy,
      logRotation: config.logRotation,
    },
    // TiCDC registers through PD and captures from TiKV: the cluster must serve first.
    { dependsOn: [cluster] },
  );

  const changefeed = new Changefeed(
    `${name}-changefeed`,
    {
      networkName,
      opsImage: images.ops.ref,
      opsImageTag: images.ops.tag,
      ticdcUrl: ticdc.apiUrl,
      kafkaBootstrap: kafka.bootstrap,
      id: config.changefeedId,
      topic: config.topic,
      partitions: config.topicPartitions,
      database: config.database,
    },
    // It creates the topic in Kafka and the changefeed in TiCDC, so both must be healthy.
    { dependsOn: [kafka, ticdc] },
  );

  const migration = new DatabaseMigration(
    `${name}-migrate`,
    {
      networkName,
      apiImage: images.api.ref,
      tidbHost: cluster.tidbHost,
      database: config.database,
      adminEmail: config.adminEmail,
      adminPassword: config.adminPassword,
      rootPassword: config.tidbRootPassword,
      apiDbPassword: config.apiDbPassword,
      purgeDbPassword: config.purgeDbPassword,
    },
    // TiDB must serve SQL; and the changefeed must exist first, so the consumer sees the schema and the
    // seed admin from the very first change.
    { dependsOn: [cluster, changefeed] },
  );

  const tidb = cluster.tidbHost.apply(splitHostPort);
  new ServiceContainer(
    `${name}-api`,
    {
      networkName,
      image: images.api.ref,
      alias: "api",
      env: apiEnvironment({
        dbHost: tidb.host,
        dbPort: tidb.port.apply(String),
        database: config.database,
        dbPassword: config.apiDbPassword,
        tokenTtlSeconds: config.tokenTtlSeconds,
        loginRateLimitPerMinute: config.loginRateLimitPerMinute,
        tokenCache: config.tokenCache,
        // One API container: a per-process limit is the whole limit.
        loginRateLimitStore: config.loginRateLimitStore ?? "memory",
        logLevel: config.logLevel,
      }),
      healthPort: API_PORT,
      // 127.0.0.1 unless apiHost says otherwise: the API answers this machine only by default.
      publish: { port: config.apiPort, host: config.apiHost },
      memoryMb: config.serviceMemoryMb.api,
      logRotation: config.logRotation,
    },
    // The API logs in as the account the migration creates, against the tables it creates.
    { dependsOn: [migration] },
  );

  const consumer = new ServiceContainer(
    `${name}-consumer`,
    {
      networkName,
      image: images.consumer.ref,
      alias: "consumer",
      env: consumerEnvironment({
        topic: config.topic,
        groupId: config.consumerGroup,
        logLevel: config.logLevel,
      }),
      healthPort: CONSUMER_METRICS_PORT,
      memoryMb: config.serviceMemoryMb.consumer,
      logRotation: config.logRotation,
    },
    // It subscribes without creating topics: the changefeed step creates them.
    { dependsOn: [changefeed] },
  );

  new ServiceContainer(
    `${name}-purge`,
    {
      networkName,
      image: images.api.ref,
      alias: "purge",
      command: PURGE_COMMAND,
      env: purgeEnvironment({
        dbHost: tidb.host,
        dbPort: tidb.port.apply(String),
        database: config.database,
        dbPassword: config.purgeDbPassword,
        intervalSeconds: config.purge.intervalSeconds,
        graceSeconds: config.purge.graceSeconds,
        batchSize: config.purge.batchSize,
        logLevel: config.logLevel,
      }),
      healthPort: PURGE_METRICS_PORT,
      memoryMb: config.serviceMemoryMb.purge,
      logRotation: config.logRotation,
    },
    // It logs in as the purge account the migration creates, and its indexes come with the migrations.
    { dependsOn: [migration] },
  );

  // Decided by the `monitoring` flag alone: a Grafana password left in the config changes nothing.
  const monitoring =
    config.monitoring === undefined
      ? undefined
      : new Monitoring(`${name}-monitoring`, {
          networkName,
          prometheusVersion: config.prometheusVersion,
          grafanaVersion: config.grafanaVersion,
          alertmanagerVersion: config.alerting.alertmanagerVersion,
          alertmanagerPort: config.alerting.alertmanagerPort,
          receivers: config.alerting.receivers,
          runbookBaseUrl: config.alerting.runbookBaseUrl,
          pdCount: config.pdCount,
          tikvCount: config.tikvCount,
          grafanaPort: config.grafanaPort,
          grafanaAdminPassword: config.monitoring.grafanaAdminPassword,
          publishPrometheus: config.exposeInternalPorts,
          keepData: config.keepDataOnDestroy,
          logRotation: config.logRotation,
        });

  return {
    apiUrl: pulumi.output(localUrl(config.apiHost, config.apiPort)),
    tidbHost: config.exposeInternalPorts ? pulumi.output("127.0.0.1:4000") : cluster.tidbHost,
    kafkaBootstrap: config.exposeInternalPorts ? pulumi.output("localhost:9092") : kafka.bootstrap,
    ticdcApi: config.exposeInternalPorts ? pulumi.output("http://127.0.0.1:8300") : ticdc.apiUrl,
    changefeedId: changefeed.id,
    topic: pulumi.output(config.topic),
    /** The consumer's Docker container, whose log `npm run smoke` follows: named after the stack's `name`. */
    consumerContainer: consumer.container.name,
    /** The cluster's shape as deployed, for a preflight to compare with the next config before `pulumi up`. */
    topology: {
      pdCount: config.pdCount,
      tikvCount: config.tikvCount,
      maxReplicas: cluster.maxReplicas,
    },
    ...(monitoring === undefined
      ? {}
      : { grafanaUrl: monitoring.grafanaUrl, alertmanagerUrl: monitoring.alertmanagerUrl }),
    ...(monitoring?.prometheusUrl === undefined ? {} : { prometheusUrl: monitoring.prometheusUrl }),
  };
}
