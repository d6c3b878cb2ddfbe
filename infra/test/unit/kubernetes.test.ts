import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { alertRules } from "../../src/lib/monitoring/alert-rules.ts";
import { DASHBOARDS } from "../../src/lib/monitoring/dashboards.ts";
import { apiEnvironment, consumerEnvironment, migrationEnvironment } from "../../src/lib/service-env.ts";
import { changefeedEnvironment } from "../../src/lib/steps.ts";
import { DEFAULT_SECRETS, type DeclaredResource, type ProgramRun, runProgram } from "../harness.ts";

/** The program with `target: kubernetes` and the given keys. */
const runKubernetesTarget = (config: Record<string, string>) =>
  runProgram({ target: "kubernetes", ...config });

type Inputs = Record<string, unknown>;
type Env = { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } };
type Container = {
  name: string;
  image: string;
  imagePullPolicy: string;
  command?: string[];
  env: Env[];
  ports?: { name: string; containerPort: number }[];
  readinessProbe?: Inputs;
  livenessProbe?: Inputs;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: Inputs;
};

const T = {
  namespace: "kubernetes:core/v1:Namespace",
  configFile: "kubernetes:yaml/v2:ConfigFile",
  chart: "kubernetes:helm.sh/v4:Chart",
  tidbCluster: "kubernetes:pingcap.com/v1alpha1:TidbCluster",
  kafka: "kubernetes:kafka.strimzi.io/v1:Kafka",
  nodePool: "kubernetes:kafka.strimzi.io/v1:KafkaNodePool",
  topic: "kubernetes:kafka.strimzi.io/v1:KafkaTopic",
  secret: "kubernetes:core/v1:Secret",
  job: "kubernetes:batch/v1:Job",
  cronJob: "kubernetes:batch/v1:CronJob",
  deployment: "kubernetes:apps/v1:Deployment",
  service: "kubernetes:core/v1:Service",
  pdb: "kubernetes:policy/v1:PodDisruptionBudget",
  ingress: "kubernetes:networking.k8s.io/v1:Ingress",
  networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
  podMonitor: "kubernetes:monitoring.coreos.com/v1:PodMonitor",
  rule: "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
  configMap: "kubernetes:core/v1:ConfigMap",
  image: "docker:index/image:Image",
} as const;

const metadata = (r: DeclaredResource) =>
  r.inputs["metadata"] as {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
const spec = (r: DeclaredResource) => r.inputs["spec"] as Inputs;
const podSpec = (r: DeclaredResource) =>
  (spec(r)["template"] as { spec: Inputs & { containers: Container[] } }).spec;
const container = (r: DeclaredResource): Container => {
  const [only] = podSpec(r).containers;
  assert.ok(only, `${r.name} has a container`);
  return only;
};
const plainEnv = (c: Container): Record<string, string> =>
  Object.fromEntries(c.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string]));
const secretRefs = (c: Container): Record<string, string> =>
  Object.fromEntries(
    c.env
      .filter((e) => e.valueFrom !== undefined)
      .map((e) => [e.name, `${e.valueFrom?.secretKeyRef.name}/${e.valueFrom?.secretKeyRef.key}`]),
  );
const kubernetesObjects = (run: ProgramRun) =>
  run.resources.filter(
    (r) => r.type.startsWith("kubernetes:") && r.type !== T.configFile && r.type !== T.chart,
  );
const one = (run: ProgramRun, type: string, name?: string): DeclaredResource => {
  const found = run.ofType(type).filter((r) => name === undefined || r.name === name);
  assert.equal(found.length, 1, `exactly one ${type} ${name ?? ""}`);
  return found[0] as DeclaredResource;
};
const job = (run: ProgramRun, role: string) => one(run, T.job, `tidbstack-${role}`);
const deployment = (run: ProgramRun, role: string) => one(run, T.deployment, `tidbstack-${role}`);

describe("the Kubernetes target with the default config", () => {
  let run: ProgramRun;
  before(async () => {
    run = await runKubernetesTarget({});
  });

  it("puts the operators in their own namespaces and everything else in the stack's namespace", () => {
    const namespaces = run
      .ofType(T.namespace)
      .map((r) => metadata(r).name)
      .sort();
    assert.deepEqual(namespaces, ["strimzi", "tidb-admin", "tidbstack"]);
    for (const r of kubernetesObjects(run).filter((r) => r.type !== T.namespace)) {
      assert.equal(metadata(r).namespace, "tidbstack", `${r.type} ${r.name}`);
    }
    assert.equal(one(run, T.chart, "tidbstack-tidb-operator-chart").inputs["namespace"], "tidb-admin");
    assert.equal(one(run, T.chart, "tidbstack-strimzi-chart").inputs["namespace"], "strimzi");
  });

  it("declares exactly the objects of the pipeline, and no monitoring objects unless asked", () => {
    const counts: Record<string, number> = {};
    for (const r of kubernetesObjects(run)) counts[r.type] = (counts[r.type] ?? 0) + 1;
    assert.deepEqual(counts, {
      [T.namespace]: 3,
      [T.tidbCluster]: 1,
      [T.nodePool]: 1,
      [T.kafka]: 1,
      [T.topic]: 2,
      [T.secret]: 4,
      [T.networkPolicy]: 7,
      [T.job]: 3,
      [T.cronJob]: 1,
      [T.deployment]: 2,
      [T.service]: 2,
      [T.pdb]: 1,
    });
    assert.equal(run.ofType(T.image).length, 0, "no registry: nothing is built or pushed");
  });

  it("enforces the baseline Pod Security Standard on the stack's namespace and warns on anything short of restricted", () => {
    const labels = metadata(one(run, T.namespace, "tidbstack-namespace")).labels;
    assert.equal(labels?.["pod-security.kubernetes.io/enforce"], "baseline");
    assert.equal(labels?.["pod-security.kubernetes.io/warn"], "restricted");
  });

  it("installs TiDB Operator v1.6.6: the release's CRDs first, then PingCAP's pinned chart", () => {
    const crds = one(run, T.configFile);
    assert.equal(
      crds.inputs["file"],
      "https://raw.githubusercontent.com/pingcap/tidb-operator/v1.6.6/manifests/crd.yaml",
    );
    const chart = one(run, T.chart, "tidbstack-tidb-operator-chart");
    assert.equal(chart.inputs["chart"], "tidb-operator");
    assert.equal(chart.inputs["version"], "v1.6.6");
    assert.deepEqual(chart.inputs["repositoryOpts"], { repo: "https://charts.pingcap.com/" });
    assert.deepEqual(chart.dependsOn, [`${T.configFile}::tidbstack-tidb-operator-crds`]);
  });

  it("installs Strimzi 1.2.0 from its OCI chart, watching only the stack's namespace", () => {
    const chart = one(run, T.chart, "tidbstack-strimzi-chart");
    assert.equal(chart.inputs["chart"], "oci://quay.io/strimzi-helm/strimzi-kafka-operator");
    assert.equal(chart.inputs["version"], "1.2.0");
    assert.deepEqual(chart.inputs["values"], {
      watchNamespaces: ["tidbstack"],
      watchAnyNamespace: false,
      image: { operatorNamespaceLabels: "kubernetes.io/metadata.name=strimzi" },
    });
  });

  it("declares a TidbCluster of one release with PD, TiKV, TiDB and TiCDC sized like the Docker target", () => {
    const tc = one(run, T.tidbCluster);
    assert.equal(tc.inputs["apiVersion"], "pingcap.com/v1alpha1");
    assert.equal(metadata(tc).name, "tidbstack");
    const s = spec(tc) as Record<string, Inputs>;
    assert.equal(s["version"], "v8.5.4");
    assert.equal(s["pvReclaimPolicy"], "Delete");
    assert.deepEqual(s["discovery"], {});
    assert.equal(s["pd"]?.["baseImage"], "pingcap/pd");
    assert.equal(s["pd"]?.["replicas"], 1);
    assert.deepEqual(s["pd"]?.["requests"], { storage: "1Gi" });
    assert.match(String(s["pd"]?.["config"]), /\[replication\]\nmax-replicas = 1\n/);
    assert.equal(s["tikv"]?.["baseImage"], "pingcap/tikv");
    assert.equal(s["tikv"]?.["replicas"], 1);
    assert.deepEqual(s["tikv"]?.["requests"], { storage: "10Gi", memory: "2048Mi" });
    assert.deepEqual(s["tikv"]?.["limits"], { memory: "2048Mi" });
    assert.equal(s["tikv"]?.["enableNamedStatusPort"], true);
    assert.match(String(s["tikv"]?.["config"]), /capacity = "819MB"/);
    assert.match(String(s["tikv"]?.["config"]), /reserve-space = "0MB"/);
    assert.equal(s["tidb"]?.["replicas"], 1);
    assert.deepEqual(s["tidb"]?.["limits"], { memory: "1024Mi" });
    assert.deepEqual(s["tidb"]?.["service"], { type: "ClusterIP" });
    assert.equal(s["ticdc"]?.["baseImage"], "pingcap/ticdc");
    assert.equal(s["ticdc"]?.["replicas"], 1);
    assert.deepEqual(s["ticdc"]?.["storageVolumes"], [
      { name: "sort-dir", storageSize: "5Gi", mountPath: "/var/lib/sort-dir" },
    ]);
    for (const component of ["pd", "tikv", "tidb", "ticdc"]) {
      assert.equal(s[component]?.["storageClassName"], undefined, `${component}: the default StorageClass`);
    }
  });

  it("awaits the TidbCluster's Ready condition, and only after the operator's CRDs and chart", () => {
    const tc = one(run, T.tidbCluster);
    assert.equal(metadata(tc).annotations?.["pulumi.com/waitFor"], "condition=Ready");
    assert.equal(metadata(tc).annotations?.["pulumi.com/timeoutSeconds"], "1800");
    assert.deepEqual(tc.dependsOn, [
      `${T.chart}::tidbstack-tidb-operator-chart`,
      `${T.configFile}::tidbstack-tidb-operator-crds`,
    ]);
  });

  it("runs Kafka 4.3.1 in KRaft under Strimzi: one dual-role node, a plain internal listener, no topic auto-creation", () => {
    const kafka = one(run, T.kafka);
    assert.equal(kafka.inputs["apiVersion"], "kafka.strimzi.io/v1");
    assert.equal(metadata(kafka).name, "tidbstack");
    const k = (spec(kafka)["kafka"] ?? {}) as Inputs;
    assert.equal(k["version"], "4.3.1");
    assert.equal(k["metadataVersion"], "4.3-IV0");
    assert.deepEqual(
      (k["listeners"] as Inputs[]).map(({ networkPolicyPeers: _peers, ...listener }) => listener),
      [{ name: "plain", port: 9092, type: "internal", tls: false }],
    );
    const kafkaConfig = k["config"] as Inputs;
    assert.equal(kafkaConfig["auto.create.topics.enable"], false);
    assert.equal(kafkaConfig["offsets.topic.replication.factor"], 1);
    assert.deepEqual(spec(kafka)["entityOperator"], { topicOperator: {} });
    assert.equal(metadata(kafka).annotations?.["pulumi.com/waitFor"], "condition=Ready");
    assert.equal(metadata(kafka).annotations?.["pulumi.com/timeoutSeconds"], "900");

    const pool = one(run, T.nodePool);
    assert.deepEqual(metadata(pool).labels, { "strimzi.io/cluster": "tidbstack" });
    assert.deepEqual(spec(pool)["roles"], ["controller", "broker"]);
    assert.equal(spec(pool)["replicas"], 1);
    assert.deepEqual(spec(pool)["storage"], {
      type: "jbod",
      volumes: [
        { id: 0, type: "persistent-claim", size: "10Gi", deleteClaim: true, kraftMetadata: "shared" },
      ],
    });
    assert.deepEqual(spec(pool)["jvmOptions"], { "-Xms": "512m", "-Xmx": "512m" });
    assert.deepEqual(pool.dependsOn, [`${T.chart}::tidbstack-strimzi-chart`]);
    assert.deepEqual(kafka.dependsOn, [`${T.nodePool}::tidbstack-kafka-dual-role`]);
  });

  it("declares the CDC topic and its DLQ as KafkaTopics with the configured partitions, awaited Ready after the Kafka", () => {
    const topics = run.ofType(T.topic);
    assert.deepEqual(
      topics.map((t) => [metadata(t).name, spec(t)]),
      [
        ["appdb-cdc", { topicName: "appdb-cdc", partitions: 1, replicas: 1 }],
        ["appdb-cdc.dlq", { topicName: "appdb-cdc.dlq", partitions: 1, replicas: 1 }],
      ],
    );
    for (const t of topics) {
      assert.equal(metadata(t).labels?.["strimzi.io/cluster"], "tidbstack");
      assert.equal(metadata(t).annotations?.["pulumi.com/waitFor"], "condition=Ready");
      assert.deepEqual(t.dependsOn, [`${T.kafka}::tidbstack-kafka-kafka`]);
    }
  });

  it("keeps each credential in its own Secret, as a secret input", () => {
    const secrets = run.ofType(T.secret);
    assert.deepEqual(secrets.map((s) => metadata(s).name).sort(), [
      "tidbstack-secrets-admin",
      "tidbstack-secrets-api-db",
      "tidbstack-secrets-purge-db",
      "tidbstack-secrets-tidb-root",
    ]);
    for (const s of secrets) assert.deepEqual(s.secretInputs, ["stringData"], s.name);
    assert.deepEqual(one(run, T.secret, "tidbstack-secrets-api-db").inputs["stringData"], {
      password: DEFAULT_SECRETS.apiDbPassword,
    });
  });

  it("has secret values only in the Secrets' stringData: in no other input of any resource, not even encrypted", () => {
    const values = Object.values(DEFAULT_SECRETS);
    for (const r of run.resources) {
      const isSecretObject = r.type === T.secret;
      // A secret Output inside a pod spec would be encrypted in Pulumi's state yet plain in the cluster.
      assert.deepEqual(r.secretInputs, isSecretObject ? ["stringData"] : [], `${r.type} ${r.name}`);
      for (const [key, value] of Object.entries(r.inputs)) {
        if (isSecretObject && key === "stringData") continue;
        const text = JSON.stringify(value) ?? "";
        for (const secret of values) assert.ok(!text.includes(secret), `${r.type} ${r.name}.${key}`);
      }
    }
    const secretNames = ["DB_PASSWORD", "ADMIN_PASSWORD", "APP_DB_PASSWORD"];
    for (const r of [...run.ofType(T.job), ...run.ofType(T.deployment)]) {
      for (const e of container(r).env) {
        if (secretNames.includes(e.name)) assert.equal(e.value, undefined, `${r.name} ${e.name}`);
      }
    }
  });

  it("runs the changefeed step as a Job of the ops image with the shared environment, after TiCDC and both topics", () => {
    const changefeed = job(run, "changefeed");
    const c = container(changefeed);
    assert.equal(c.image, "tidbstack-ops:local");
    assert.deepEqual(c.command, ["node", "ops/dist/main.js", "changefeed", "apply"]);
    assert.deepEqual(
      plainEnv(c),
      changefeedEnvironment({
        ticdcUrl: "http://tidbstack-ticdc-peer.tidbstack.svc:8301",
        kafkaBootstrap: "tidbstack-kafka-bootstrap.tidbstack.svc:9092",
        id: "appdb-to-kafka",
        topic: "appdb-cdc",
        partitions: 1,
        database: "appdb",
      }),
    );
    assert.equal(
      plainEnv(c)["CHANGEFEED_SINK_URI"]?.startsWith(
        "kafka://tidbstack-kafka-bootstrap.tidbstack.svc:9092/appdb-cdc?",
      ),
      true,
    );
    assert.doesNotMatch(plainEnv(c)["CHANGEFEED_SINK_URI"] ?? "", /kafka-version/);
    assert.deepEqual(secretRefs(c), {});
    assert.deepEqual(changefeed.dependsOn, [
      `${T.topic}::tidbstack-kafka-topic-appdb-cdc`,
      `${T.topic}::tidbstack-kafka-topic-appdb-cdc.dlq`,
      `${T.tidbCluster}::tidbstack-tidb-cluster`,
    ]);
  });

  it("runs the token purge every five minutes as a CronJob of the API image, once per run, never two at a time", () => {
    const cron = one(run, T.cronJob, "tidbstack-purge");
    const cronSpec = spec(cron) as Inputs & {
      jobTemplate: { spec: { template: { spec: Inputs & { containers: Container[] } } } };
    };
    assert.equal(cronSpec["schedule"], "*/5 * * * *");
    assert.equal(cronSpec["concurrencyPolicy"], "Forbid");
    const pod = cronSpec.jobTemplate.spec.template.spec;
    assert.equal(pod["restartPolicy"], "Never");
    const [c] = pod.containers;
    assert.ok(c);
    assert.equal(c.image, "tidbstack-api:local");
    assert.deepEqual(c.command, ["node", "api/dist/purge.js", "--once"]);
    assert.equal(plainEnv(c)["DB_USER"], "purge");
    assert.equal(plainEnv(c)["DB_HOST"], "tidbstack-tidb.tidbstack.svc");
    assert.deepEqual(secretRefs(c), { DB_PASSWORD: "tidbstack-secrets-purge-db/password" });
    assert.equal(c.securityContext["readOnlyRootFilesystem"], true);
    assert.equal(c.securityContext["allowPrivilegeEscalation"], false);
    assert.deepEqual(cron.dependsOn, [`${T.job}::tidbstack-migrate`]);
  });

  it("runs the migration as a Job of the API image with root, admin, API and purge passwords from Secrets, after the changefeed", () => {
    const migration = job(run, "migrate");
    const c = container(migration);
    assert.equal(c.image, "tidbstack-api:local");
    assert.deepEqual(c.command, ["node", "api/dist/migrate.js"]);
    assert.deepEqual(
      plainEnv(c),
      migrationEnvironment({
        database: "appdb",
        adminEmail: "admin@test.com",
        dbHost: "tidbstack-tidb.tidbstack.svc",
        dbPort: 4000,
      }),
    );
    assert.deepEqual(secretRefs(c), {
      DB_PASSWORD: "tidbstack-secrets-tidb-root/password",
      ADMIN_PASSWORD: "tidbstack-secrets-admin/password",
      APP_DB_PASSWORD: "tidbstack-secrets-api-db/password",
      PURGE_DB_PASSWORD: "tidbstack-secrets-purge-db/password",
    });
    assert.deepEqual(migration.dependsOn, [
      `${T.job}::tidbstack-changefeed`,
      `${T.tidbCluster}::tidbstack-tidb-cluster`,
    ]);
  });

  it("names each Job after a digest of what it runs, replaces it when unready, and bounds how long Pulumi waits", () => {
    for (const role of ["changefeed", "migrate"]) {
      const j = job(run, role);
      const annotations = metadata(j).annotations ?? {};
      const hash = annotations["tidbstack.dev/content-hash"] ?? "";
      assert.match(hash, /^[0-9a-f]{10}$/);
      assert.equal(metadata(j).name, `tidbstack-${role}-${hash}`);
      assert.equal(annotations["pulumi.com/replaceUnready"], "true");
      assert.equal(annotations["pulumi.com/timeoutSeconds"], "600");
      assert.equal(spec(j)["activeDeadlineSeconds"], 600);
      assert.equal(spec(j)["backoffLimit"], 3);
      assert.equal(podSpec(j)["restartPolicy"], "Never");
    }
  });

  it("runs the API as a Deployment of 2 replicas probing /ready and /health, with a PodDisruptionBudget and a Service", () => {
    const api = deployment(run, "api");
    assert.equal(spec(api)["replicas"], 2);
    assert.deepEqual(spec(api)["strategy"], {
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    });
    const c = container(api);
    assert.equal(c.image, "tidbstack-api:local");
    assert.deepEqual(c.ports, [{ name: "http", containerPort: 3000, protocol: "TCP" }]);
    assert.deepEqual(c.readinessProbe, {
      httpGet: { path: "/ready", port: "http" },
      timeoutSeconds: 2,
      periodSeconds: 5,
      failureThreshold: 3,
    });
    assert.deepEqual(c.livenessProbe, {
      httpGet: { path: "/health", port: "http" },
      timeoutSeconds: 2,
      periodSeconds: 10,
      failureThreshold: 3,
      initialDelaySeconds: 5,
    });
    assert.deepEqual(c.resources, {
      requests: { cpu: "250m", memory: "256Mi" },
      limits: { cpu: "2", memory: "768Mi" },
    });
    const { DB_PASSWORD: _password, ...plainApiEnv } = apiEnvironment({
      database: "appdb",
      dbPassword: "",
      tokenTtlSeconds: 3600,
      loginRateLimitPerMinute: 10,
      // Two replicas by default: the login limit is kept in the database, shared by both.
      loginRateLimitStore: "database",
      logLevel: "info",
      dbHost: "tidbstack-tidb.tidbstack.svc",
      dbPort: "4000",
    });
    assert.deepEqual(plainEnv(c), plainApiEnv);
    assert.deepEqual(secretRefs(c), { DB_PASSWORD: "tidbstack-secrets-api-db/password" });
    assert.deepEqual(api.dependsOn, [`${T.job}::tidbstack-migrate`]);

    const podLabels = (spec(api)["selector"] as { matchLabels: Record<string, string> }).matchLabels;
    assert.deepEqual(podLabels, {
      "app.kubernetes.io/name": "api",
      "app.kubernetes.io/instance": "tidbstack",
      "app.kubernetes.io/part-of": "tidbstack",
    });
    const pdb = one(run, T.pdb);
    assert.deepEqual(spec(pdb), {
      selector: { matchLabels: podLabels },
      maxUnavailable: 1,
      unhealthyPodEvictionPolicy: "AlwaysAllow",
    });
    const service = one(run, T.service, "tidbstack-api-service");
    assert.equal(metadata(service).name, "tidbstack-api");
    assert.deepEqual(spec(service), {
      type: "ClusterIP",
      selector: podLabels,
      ports: [{ name: "http", port: 3000, targetPort: "http" }],
    });
  });

  it("runs the consumer as a Deployment probing its /health on port 9464, after the changefeed step", () => {
    const consumer = deployment(run, "consumer");
    assert.equal(spec(consumer)["replicas"], 1);
    const c = container(consumer);
    assert.equal(c.image, "tidbstack-consumer:local");
    assert.deepEqual(c.ports, [{ name: "metrics", containerPort: 9464, protocol: "TCP" }]);
    assert.deepEqual((c.readinessProbe?.["httpGet"] as Inputs | undefined) ?? {}, {
      path: "/health",
      port: "metrics",
    });
    assert.deepEqual((c.livenessProbe?.["httpGet"] as Inputs | undefined) ?? {}, {
      path: "/health",
      port: "metrics",
    });
    assert.equal(c.livenessProbe?.["failureThreshold"], 6);
    assert.deepEqual(
      plainEnv(c),
      consumerEnvironment({
        topic: "appdb-cdc",
        groupId: "appdb-cdc-consumer",
        logLevel: "info",
        brokers: "tidbstack-kafka-bootstrap.tidbstack.svc:9092",
      }),
    );
    assert.deepEqual(consumer.dependsOn, [`${T.job}::tidbstack-changefeed`]);
  });

  it("runs every pod of the stack's images as uid 1000, non-root, read-only, without privilege escalation or capabilities", () => {
    for (const r of [...run.ofType(T.job), ...run.ofType(T.deployment)]) {
      const pod = podSpec(r);
      assert.deepEqual(
        pod["securityContext"],
        { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
        r.name,
      );
      assert.equal(pod["automountServiceAccountToken"], false, r.name);
      assert.deepEqual(
        container(r).securityContext,
        {
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
          seccompProfile: { type: "RuntimeDefault" },
        },
        r.name,
      );
      assert.equal(container(r).imagePullPolicy, "Never", `${r.name}: images are loaded into the cluster`);
      assert.ok(container(r).resources.limits["memory"], `${r.name} has a memory limit`);
    }
  });

  it("outputs what the Docker target outputs, with in-cluster addresses, and a port-forward to reach the API", () => {
    assert.deepEqual(run.outputs, {
      apiUrl: "http://localhost:3000",
      apiAccess: "kubectl -n tidbstack port-forward svc/tidbstack-api 3000:3000",
      tidbHost: "tidbstack-tidb.tidbstack.svc:4000",
      kafkaBootstrap: "tidbstack-kafka-bootstrap.tidbstack.svc:9092",
      ticdcApi: "http://tidbstack-ticdc-peer.tidbstack.svc:8301",
      changefeedId: "appdb-to-kafka",
      topic: "appdb-cdc",
    });
  });

  it("declares identical inputs on a second run", async () => {
    const again = await runKubernetesTarget({});
    assert.deepEqual(
      again.resources.map((r) => [r.type, r.name, r.inputs, r.dependsOn]),
      run.resources.map((r) => [r.type, r.name, r.inputs, r.dependsOn]),
    );
  });
});

describe("the Kubernetes target with 3 PD and 3 TiKV, 3 partitions and kept data", () => {
  let run: ProgramRun;
  let defaults: ProgramRun;
  before(async () => {
    defaults = await runKubernetesTarget({});
    run = await runKubernetesTarget({
      pdCount: "3",
      tikvCount: "3",
      topicPartitions: "3",
      keepDataOnDestroy: "true",
      storageClass: "fast-ssd",
    });
  });

  it("asks the operator for 3 PD members and 3 TiKV stores, and PD for 3 replicas", () => {
    const s = spec(one(run, T.tidbCluster)) as Record<string, Inputs>;
    assert.equal(s["pd"]?.["replicas"], 3);
    assert.equal(s["tikv"]?.["replicas"], 3);
    assert.equal(s["tidb"]?.["replicas"], 1);
    assert.match(String(s["pd"]?.["config"]), /max-replicas = 3/);
  });

  it("keeps volumes on the configured StorageClass and retains their data", () => {
    const s = spec(one(run, T.tidbCluster)) as Record<string, Inputs>;
    assert.equal(s["pvReclaimPolicy"], "Retain");
    for (const component of ["pd", "tikv"]) assert.equal(s[component]?.["storageClassName"], "fast-ssd");
    assert.deepEqual(s["ticdc"]?.["storageVolumes"], [
      { name: "sort-dir", storageSize: "5Gi", mountPath: "/var/lib/sort-dir", storageClassName: "fast-ssd" },
    ]);
    const volume = (spec(one(run, T.nodePool))["storage"] as { volumes: Inputs[] }).volumes[0];
    assert.equal(volume?.["class"], "fast-ssd");
    assert.equal(volume?.["deleteClaim"], false);
  });

  it("gives both topics 3 partitions and passes them to the changefeed's sink", () => {
    for (const t of run.ofType(T.topic)) assert.equal(spec(t)["partitions"], 3);
    const env = plainEnv(container(job(run, "changefeed")));
    assert.equal(env["TOPIC_PARTITIONS"], "3");
    assert.match(env["CHANGEFEED_SINK_URI"] ?? "", /partition-num=3/);
  });

  it("re-runs the changefeed Job (a new name) but not the migration, whose inputs did not change", () => {
    assert.notEqual(metadata(job(run, "changefeed")).name, metadata(job(defaults, "changefeed")).name);
    assert.equal(metadata(job(run, "migrate")).name, metadata(job(defaults, "migrate")).name);
  });
});

describe("the Kubernetes target with an image registry", () => {
  let run: ProgramRun;
  before(async () => {
    run = await runKubernetesTarget({
      imageRegistry: "registry.example.com/team",
      imagePullSecret: "registry-login",
      apiReplicas: "3",
    });
  });

  it("builds and pushes the API, consumer and ops images to the registry", () => {
    const images = run.ofType(T.image);
    assert.deepEqual(images.map((i) => i.inputs["imageName"]).sort(), [
      "registry.example.com/team/tidbstack-api:dev",
      "registry.example.com/team/tidbstack-consumer:dev",
      "registry.example.com/team/tidbstack-ops:dev",
    ]);
    for (const i of images) {
      assert.equal(i.inputs["skipPush"], false);
      const build = i.inputs["build"] as Inputs;
      // The root Dockerfile, as on Docker, the workspace named by a build argument.
      assert.match(String(build["dockerfile"]), /^(\.\.\/)?Dockerfile$/);
      assert.match(
        String(i.inputs["imageName"]),
        new RegExp(`tidbstack-${String((build["args"] as Inputs)["WORKSPACE"])}:`),
      );
      assert.equal(build["builderVersion"], "BuilderBuildKit");
    }
  });

  it("runs pods from the pushed digests, pulled with the configured secret when absent", () => {
    const expected: Record<string, string> = {
      "tidbstack-api": "api",
      "tidbstack-consumer": "consumer",
      "tidbstack-migrate": "api",
      "tidbstack-changefeed": "ops",
      "tidbstack-pd-max-replicas": "ops",
    };
    for (const r of [...run.ofType(T.job), ...run.ofType(T.deployment)]) {
      const c = container(r);
      assert.match(
        c.image,
        new RegExp(`^registry\\.example\\.com/team/tidbstack-${expected[r.name]}@sha256:`),
        r.name,
      );
      assert.equal(c.imagePullPolicy, "IfNotPresent", r.name);
      assert.deepEqual(podSpec(r)["imagePullSecrets"], [{ name: "registry-login" }], r.name);
    }
  });

  it("scales the API to the configured replicas", () => {
    assert.equal(spec(deployment(run, "api"))["replicas"], 3);
  });
});

describe("the Kubernetes target with an Ingress and the Prometheus Operator", () => {
  let run: ProgramRun;
  before(async () => {
    run = await runKubernetesTarget({
      ingressHost: "api.example.com",
      prometheusOperator: "true",
      prometheusRelease: "kube-prometheus-stack",
    });
  });

  it("routes the host to the API's Service and outputs its URL", () => {
    const ingress = one(run, T.ingress);
    assert.deepEqual(spec(ingress)["rules"], [
      {
        host: "api.example.com",
        http: {
          paths: [
            {
              path: "/",
              pathType: "Prefix",
              backend: { service: { name: "tidbstack-api", port: { name: "http" } } },
            },
          ],
        },
      },
    ]);
    assert.equal(run.outputs["apiUrl"], "http://api.example.com");
    assert.match(String(run.outputs["apiAccess"]), /^Ingress api\.example\.com/);
  });

  it("has the API believe one proxy, the ingress controller, about the client's address", () => {
    assert.equal(plainEnv(container(deployment(run, "api")))["TRUST_PROXY"], "1");
  });

  it("scrapes the TiDB components by their named metrics ports, with job labels pd, tikv, tidb and ticdc", () => {
    const tidb = one(run, T.podMonitor, "tidbstack-monitoring-tidb");
    assert.equal(spec(tidb)["jobLabel"], "app.kubernetes.io/component");
    assert.deepEqual(spec(tidb)["selector"], {
      matchLabels: {
        "app.kubernetes.io/instance": "tidbstack",
        "app.kubernetes.io/managed-by": "tidb-operator",
      },
      matchExpressions: [
        { key: "app.kubernetes.io/component", operator: "In", values: ["pd", "tikv", "tidb", "ticdc"] },
      ],
    });
    assert.deepEqual(
      (spec(tidb)["podMetricsEndpoints"] as Inputs[]).map((e) => [e["port"], e["path"], e["interval"]]),
      [
        ["client", "/metrics", "15s"],
        ["status", "/metrics", "15s"],
        ["ticdc", "/metrics", "15s"],
      ],
    );
  });

  it("scrapes the API and the consumer with job labels api and consumer, as the alert rules select", () => {
    const services = one(run, T.podMonitor, "tidbstack-monitoring-services");
    assert.equal(spec(services)["jobLabel"], "app.kubernetes.io/name");
    assert.deepEqual(spec(services)["selector"], {
      matchLabels: { "app.kubernetes.io/instance": "tidbstack" },
      matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["api", "consumer"] }],
    });
    assert.deepEqual(
      (spec(services)["podMetricsEndpoints"] as Inputs[]).map((e) => e["port"]),
      ["http", "metrics"],
    );
    for (const role of ["api", "consumer"]) {
      assert.equal(metadata(deployment(run, role)).labels?.["app.kubernetes.io/name"], role);
    }
  });

  it("turns the same alert rules into a PrometheusRule and the same dashboards into sidecar ConfigMaps", () => {
    assert.deepEqual(spec(one(run, T.rule)), alertRules());
    const maps = run.ofType(T.configMap);
    assert.equal(maps.length, DASHBOARDS.length);
    for (const dashboard of DASHBOARDS) {
      const map = maps.find((m) => metadata(m).name === `tidbstack-dashboard-${dashboard.uid}`);
      assert.ok(map, dashboard.uid);
      assert.equal(metadata(map).labels?.["grafana_dashboard"], "1");
      assert.deepEqual(
        JSON.parse((map.inputs["data"] as Record<string, string>)[`${dashboard.uid}.json`] ?? ""),
        dashboard,
      );
    }
  });

  it("labels every monitoring object with the Prometheus release that selects it", () => {
    for (const r of [...run.ofType(T.podMonitor), ...run.ofType(T.rule), ...run.ofType(T.configMap)]) {
      assert.equal(metadata(r).labels?.["release"], "kube-prometheus-stack", r.name);
    }
  });
});
