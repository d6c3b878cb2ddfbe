/**
 * The whole stack: config → components → outputs. Dependency edges are explicit and health-gated: every
 * server container has a Docker healthcheck that Pulumi waits for (`wait: true`) before anything that
 * depends on it is created.
 */
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Changefeed } from "./src/components/changefeed.ts";
import { DatabaseMigration } from "./src/components/database-migration.ts";
import { Kafka } from "./src/components/kafka.ts";
import { Monitoring } from "./src/components/monitoring.ts";
import { ServiceContainer } from "./src/components/service-container.ts";
import { ServiceImage, type Workspace } from "./src/components/service-image.ts";
import { Ticdc } from "./src/components/ticdc.ts";
import { TidbCluster } from "./src/components/tidb-cluster.ts";
import { loadStackConfig } from "./src/config.ts";
import {
  API_PORT,
  apiEnvironment,
  CONSUMER_METRICS_PORT,
  consumerEnvironment,
  PURGE_COMMAND,
  PURGE_METRICS_PORT,
  purgeEnvironment,
} from "./src/lib/service-env.ts";
import { splitHostPort } from "./src/lib/topology.ts";

const config = loadStackConfig();
const name = config.name;
// The repository root (the images' build context) relative to the directory Pulumi runs the program and the
// Docker provider in: "." from the project root, ".." from infra/. Relative, so no path of this machine
// enters the resource inputs and a second `pulumi up` elsewhere changes nothing.
const repoRoot = relative(process.cwd(), fileURLToPath(new URL("..", import.meta.url))) || ".";

const network = new docker.Network(`${name}-net`, { name: `${name}-net`, driver: "bridge" });
const networkName = network.name;

const image = (workspace: Workspace) =>
  new ServiceImage(`${name}-${workspace}`, {
    context: repoRoot,
    workspace,
    baseImage: config.nodeBaseImage,
    ...(config.imagePlatform === undefined ? {} : { platform: config.imagePlatform }),
  });
const images = { api: image("api"), consumer: image("consumer"), ops: image("ops") };

const cluster = new TidbCluster(`${name}-tidb`, {
  networkName,
  version: config.tidbVersion,
  pdCount: config.pdCount,
  tikvCount: config.tikvCount,
  tikvMemoryMb: config.tikvMemoryMb,
  tidbMemoryMb: config.tidbMemoryMb,
  opsImage: images.ops.ref,
  publishTidb: config.exposeInternalPorts,
  keepData: config.keepDataOnDestroy,
});

const kafka = new Kafka(`${name}-kafka`, {
  networkName,
  version: config.kafkaVersion,
  heapMb: config.kafkaHeapMb,
  publishHostListener: config.exposeInternalPorts,
  keepData: config.keepDataOnDestroy,
});

const ticdc = new Ticdc(
  `${name}-ticdc`,
  {
    networkName,
    version: config.tidbVersion,
    pdEndpoints: cluster.pdEndpoints,
    publishApi: config.exposeInternalPorts,
    keepData: config.keepDataOnDestroy,
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
      loginRateLimitStore: config.loginRateLimitStore,
      logLevel: config.logLevel,
    }),
    healthPort: API_PORT,
    publishOn: config.apiPort,
  },
  // The API logs in as the account the migration creates, against the tables it creates.
  { dependsOn: [migration] },
);

new ServiceContainer(
  `${name}-consumer`,
  {
    networkName,
    image: images.consumer.ref,
    alias: "consumer",
    env: consumerEnvironment({ topic: config.topic, logLevel: config.logLevel }),
    healthPort: CONSUMER_METRICS_PORT,
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
        pdCount: config.pdCount,
        tikvCount: config.tikvCount,
        grafanaPort: config.grafanaPort,
        grafanaAdminPassword: config.monitoring.grafanaAdminPassword,
        publishPrometheus: config.exposeInternalPorts,
        keepData: config.keepDataOnDestroy,
      });

/**
 * The stack outputs. A default export, which Pulumi's Node.js runtime uses for an ES module program
 * (@pulumi/pulumi cmd/run/run.js: the module's `default`, called and awaited if it is a function, becomes
 * the outputs; named exports beside it are refused), so that an output that does not exist is left out
 * rather than exported as undefined (which warns on every preview and up).
 */
export default {
  apiUrl: pulumi.output(`http://localhost:${config.apiPort}`),
  tidbHost: config.exposeInternalPorts ? pulumi.output("127.0.0.1:4000") : cluster.tidbHost,
  kafkaBootstrap: config.exposeInternalPorts ? pulumi.output("localhost:9092") : kafka.bootstrap,
  ticdcApi: config.exposeInternalPorts ? pulumi.output("http://127.0.0.1:8300") : ticdc.apiUrl,
  changefeedId: changefeed.id,
  topic: pulumi.output(config.topic),
  /** The cluster's shape as deployed, for a preflight to compare with the next config before `pulumi up`. */
  topology: {
    pdCount: config.pdCount,
    tikvCount: config.tikvCount,
    maxReplicas: cluster.maxReplicas,
  },
  ...(monitoring === undefined ? {} : { grafanaUrl: monitoring.grafanaUrl }),
  ...(monitoring?.prometheusUrl === undefined ? {} : { prometheusUrl: monitoring.prometheusUrl }),
};
