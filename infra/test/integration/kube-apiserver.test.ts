/**
 * Every Kubernetes object the Kubernetes target declares, as the mocks record it, applied to a real
 * kube-apiserver (with etcd; see testenv/src/kube.ts) by server-side apply with strict field validation,
 * after the TiDB Operator v1.6.6 and Strimzi 1.2.0 CRDs are applied server-side as the program applies
 * them. Each configuration's objects are stored for real, in turn, as successive `pulumi up`s would store
 * them, and read back: every field the program declares must come back as declared, or the provider
 * would report a change on every run. The CRDs are read back the same way. This also catches what mocks
 * accept and a cluster refuses: misspelt fields, wrong types, enum values outside a CRD's schema, invalid
 * names. The CRD files are copies of the upstream release files kept beside the repository
 * (../shared/k8s/crds), for tests only. Nothing runs pods here: operators, charts and reconciliation are
 * not exercised.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import yaml from "js-yaml";
import { startKubeApiServer, type KubeApiServer, type KubeResponse } from "@tidbstack/testenv/kube";
import { crdAsStored } from "../../src/kubernetes/strimzi-operator.ts";
import { runProgram } from "../harness.ts";
import { tidbClusterStatus, waitForExpressions, waitForSatisfied } from "../wait-for.ts";

const REPO_ROOT = fileURLToPath(new URL("../../..", import.meta.url));
/** Beside the repository, as CI lays it out; TEST_CRD_DIR points elsewhere (a git worktree, say). */
const CRD_DIR = process.env["TEST_CRD_DIR"] ?? join(REPO_ROOT, "..", "shared", "k8s", "crds");
const FIELD_MANAGER = "tidbstack-test";

interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly [field: string]: unknown;
}

/**
 * Configurations whose objects are checked: the defaults, and every switch that changes an object's shape
 * (counts, storage class, kept data, registry and pull secret, Ingress, a topic name that is not a valid
 * object name, the Prometheus Operator's PodMonitors, PrometheusRule and AlertmanagerConfig with every
 * kind of receiver, and with none).
 */
const CONFIGS: Record<string, string>[] = [
  {},
  {
    pdCount: "3",
    tikvCount: "3",
    topicPartitions: "3",
    storageClass: "fast-ssd",
    keepDataOnDestroy: "true",
    imageRegistry: "registry.example.com/team",
    imagePullSecret: "registry-login",
    ingressHost: "api.example.com",
    apiReplicas: "3",
  },
  { topic: "App_Events", namespace: "pipeline", name: "stack2" },
  {
    prometheusOperator: "true",
    prometheusRelease: "kube-prometheus-stack",
    runbookBaseUrl: "https://wiki.example.com/runbooks",
    // Secrets in the stack; plain here, which the program reads as secrets all the same.
    alertWebhookUrl: "https://hooks.example.com/tidbstack",
    alertSlackWebhookUrl: "https://hooks.slack.example.com/services/T0/B0/x",
    alertEmailPassword: "smtp-password",
    alertSlackChannel: "#tidbstack",
    alertEmailTo: "oncall@example.com",
    alertEmailFrom: "alerts@example.com",
    alertEmailSmarthost: "smtp.example.com:587",
    alertEmailUsername: "alerts",
  },
  { prometheusOperator: "true", namespace: "pipeline", name: "stack2" },
];

interface CrdFile {
  readonly file: string;
  readonly crds: KubeObject[];
}

function readCrdFiles(): CrdFile[] {
  if (!existsSync(CRD_DIR)) {
    throw new Error(
      `the CRD files this test applies are missing: expected them in ${CRD_DIR} (shared/k8s/crds beside the repository)`,
    );
  }
  const files = readdirSync(CRD_DIR)
    .filter((file) => file.endsWith(".yaml"))
    .map((file) => ({
      file,
      crds: yaml
        .loadAll(readFileSync(join(CRD_DIR, file), "utf8"))
        .filter((doc): doc is KubeObject => doc !== null),
    }));
  if (files.every((f) => f.crds.length === 0)) throw new Error(`no CRDs in ${CRD_DIR}`);
  return files;
}

/**
 * A CRD as the program applies it: Strimzi's through the chart's transformation (StrimziOperator), TiDB
 * Operator's as the release file has it (TidbOperator's ConfigFile). The Prometheus Operator's are
 * installed with it, outside the program, and applied as they are.
 */
const asTheProgramAppliesIt = (file: string, crd: KubeObject): KubeObject =>
  file.startsWith("strimzi-") ? crdAsStored(crd) : crd;

/** The CRDs of the operators the program installs: those whose read-back the program answers for. */
const installedByTheProgram = (file: string): boolean =>
  file.startsWith("strimzi-") || file.startsWith("tidb-operator-");

/** Maps `apiVersion/kind` to the REST resource serving it, from the server's own discovery documents. */
class Resources {
  private readonly cache = new Map<string, { name: string; kind: string; namespaced: boolean }[]>();
  private readonly server: KubeApiServer;
  constructor(server: KubeApiServer) {
    this.server = server;
  }

  async path(object: KubeObject, withName = true): Promise<string> {
    const base = object.apiVersion.includes("/") ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
    let list = this.cache.get(object.apiVersion);
    if (list === undefined) {
      const response = await this.server.request("GET", base);
      assert.equal(response.status, 200, `discovery of ${object.apiVersion}: ${response.body}`);
      list = (
        JSON.parse(response.body) as { resources: { name: string; kind: string; namespaced: boolean }[] }
      ).resources;
      this.cache.set(object.apiVersion, list);
    }
    const resource = list.find((r) => r.kind === object.kind && !r.name.includes("/"));
    assert.ok(resource, `the server serves no ${object.kind} in ${object.apiVersion}`);
    const namespace = resource.namespaced ? `/namespaces/${object.metadata.namespace ?? "default"}` : "";
    return `${base}${namespace}/${resource.name}${withName ? `/${object.metadata.name}` : ""}`;
  }
}

/** Server-side apply of one object; `dryRun` validates and admits it without storing it. */
async function apply(
  server: KubeApiServer,
  resources: Resources,
  object: KubeObject,
  dryRun: boolean,
): Promise<KubeResponse> {
  const query = new URLSearchParams({
    fieldManager: FIELD_MANAGER,
    fieldValidation: "Strict",
    force: "true",
  });
  if (dryRun) query.set("dryRun", "All");
  // JSON is YAML: the apply-patch content type takes it as it is.
  return server.request(
    "PATCH",
    `${await resources.path(object)}?${query.toString()}`,
    object,
    "application/apply-patch+yaml",
  );
}

async function waitEstablished(server: KubeApiServer, name: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const response = await server.request(
      "GET",
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
    );
    const conditions =
      (JSON.parse(response.body) as { status?: { conditions?: { type: string; status: string }[] } }).status
        ?.conditions ?? [];
    if (conditions.some((c) => c.type === "Established" && c.status === "True")) return;
    if (Date.now() > deadline) throw new Error(`CRD ${name} not established after 60 s: ${response.body}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Each configuration's plain Kubernetes objects (not the chart and YAML components), in declared order. */
async function declaredObjects(): Promise<KubeObject[][]> {
  const perConfig: KubeObject[][] = [];
  for (const config of CONFIGS) {
    const run = await runProgram({ target: "kubernetes", ...config });
    perConfig.push(
      run.resources
        .filter(
          (r) =>
            r.type.startsWith("kubernetes:") && !r.type.includes(":helm.sh/") && !r.type.includes(":yaml/"),
        )
        .map((r) => r.inputs as unknown as KubeObject),
    );
  }
  return perConfig;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * The fields the program declares that do not read back as declared, as `path: declared → read back`.
 * Fields the server adds (defaults, status, its own metadata) are not the program's and are not compared;
 * a declared empty object or list must come back, since the provider compares it too.
 */
function differences(declared: unknown, stored: unknown, path = ""): string[] {
  if (declared === undefined) return [];
  const differs = [`${path || "."}: ${JSON.stringify(declared)} → ${JSON.stringify(stored) ?? "absent"}`];
  if (isRecord(declared)) {
    if (!isRecord(stored)) return differs;
    return Object.entries(declared).flatMap(([key, value]) =>
      differences(value, stored[key], `${path}.${key}`),
    );
  }
  if (Array.isArray(declared)) {
    if (!Array.isArray(stored) || stored.length !== declared.length) return differs;
    return declared.flatMap((value, i) => differences(value, stored[i], `${path}[${i}]`));
  }
  return declared === stored ? [] : differs;
}

/**
 * What the server keeps of a declared object: a Secret's write-only `stringData` is stored base64-encoded
 * under `data`.
 */
function asStored(object: KubeObject): KubeObject {
  if (object.kind !== "Secret" || !isRecord(object["stringData"])) return object;
  const { stringData, ...rest } = object;
  const data = Object.fromEntries(
    Object.entries(stringData as Record<string, string>).map(([key, value]) => [
      key,
      Buffer.from(value).toString("base64"),
    ]),
  );
  return { ...rest, data: { ...(isRecord(rest["data"]) ? rest["data"] : {}), ...data } };
}

/** The message of a refusal (a `Status` object). */
const refusal = (response: KubeResponse): string =>
  (JSON.parse(response.body) as { message?: string }).message ?? response.body;

const describeObject = (o: KubeObject): string =>
  `${o.kind} ${o.metadata.namespace === undefined ? "" : `${o.metadata.namespace}/`}${o.metadata.name}`;

describe("the Kubernetes target's objects, applied to a real kube-apiserver", () => {
  let server: KubeApiServer | undefined;
  let resources: Resources;
  let crdFiles: CrdFile[];
  let perConfig: KubeObject[][];
  /** Every object of every configuration, once each. */
  let objects: KubeObject[];
  const api = (): KubeApiServer => {
    assert.ok(server, "the API server started");
    return server;
  };
  /** The stored object, as a GET returns it. */
  const readBack = async (object: KubeObject): Promise<Record<string, unknown>> => {
    const response = await api().request("GET", await resources.path(object));
    assert.equal(response.status, 200, `reading ${describeObject(object)}: ${response.body}`);
    return JSON.parse(response.body) as Record<string, unknown>;
  };

  before(
    async () => {
      crdFiles = readCrdFiles();
      perConfig = await declaredObjects();
      objects = [...new Map(perConfig.flat().map((o) => [JSON.stringify(o), o])).values()];
      server = await startKubeApiServer();
      resources = new Resources(server);
      for (const { file, crds } of crdFiles) {
        for (const crd of crds) {
          const response = await apply(server, resources, asTheProgramAppliesIt(file, crd), false);
          assert.ok(
            response.status < 300,
            `applying CRD ${crd.metadata.name}: ${response.status} ${response.body}`,
          );
        }
      }
      for (const { crds } of crdFiles)
        for (const crd of crds) await waitEstablished(server, crd.metadata.name);
    },
    { timeout: 240_000 },
  );
  after(async () => {
    await server?.destroy();
  });

  it("serves the TiDB Operator and Strimzi kinds the program uses once their CRDs are applied server-side", async () => {
    const kinds = [
      { apiVersion: "pingcap.com/v1alpha1", kind: "TidbCluster" },
      { apiVersion: "kafka.strimzi.io/v1", kind: "Kafka" },
      { apiVersion: "kafka.strimzi.io/v1", kind: "KafkaNodePool" },
      { apiVersion: "kafka.strimzi.io/v1", kind: "KafkaTopic" },
    ];
    for (const kind of kinds) {
      const path = await resources.path({ ...kind, metadata: { name: "", namespace: "tidbstack" } }, false);
      const response = await api().request("GET", path);
      assert.equal(response.status, 200, `${kind.kind}: ${response.body}`);
    }
  });

  it("reads back the operators' CRDs exactly as the program applies them, so a second up leaves them unchanged", async () => {
    const changed: string[] = [];
    let checked = 0;
    for (const { file, crds } of crdFiles.filter((f) => installedByTheProgram(f.file))) {
      for (const crd of crds) {
        const declared = asTheProgramAppliesIt(file, crd);
        changed.push(
          ...differences(declared, await readBack(declared)).map((d) => `${file} ${crd.metadata.name}${d}`),
        );
        checked += 1;
      }
    }
    assert.ok(checked >= 5, `the TiDB Operator and Strimzi CRDs are among the files (${checked})`);
    assert.deepEqual(changed, []);
  });

  it("would read back Strimzi's Kafka CRD changed without the program's transformation: the server drops its empty properties", async () => {
    const upstream = crdFiles
      .filter((f) => f.file.startsWith("strimzi-"))
      .flatMap((f) => f.crds)
      .find((c) => c.metadata.name === "kafkas.kafka.strimzi.io");
    assert.ok(upstream, "Strimzi's Kafka CRD is among the files");
    // A dry run answers with the object as the server would store it, without replacing the stored one.
    const response = await apply(api(), resources, upstream, true);
    assert.equal(response.status, 200, response.body);
    const changed = differences(upstream, JSON.parse(response.body));
    assert.deepEqual(changed, [
      ".spec.versions[0].schema.openAPIV3Schema.properties.status.properties.clusterSecurity.properties: {} → absent",
    ]);
  });

  it("stores every object of each configuration, in turn, and reads back every field as declared", async (t) => {
    const kinds = new Set(objects.map((o) => o.kind));
    for (const kind of [
      "TidbCluster",
      "Kafka",
      "KafkaNodePool",
      "KafkaTopic",
      "Job",
      "Deployment",
      "Secret",
      "NetworkPolicy",
    ]) {
      assert.ok(kinds.has(kind), `the program declares a ${kind}`);
    }
    const refused: string[] = [];
    const changed: string[] = [];
    for (const [i, declared] of perConfig.entries()) {
      // Namespaces first, as the provider orders them: the other objects are stored in them.
      const ordered = [
        ...declared.filter((o) => o.kind === "Namespace"),
        ...declared.filter((o) => o.kind !== "Namespace"),
      ];
      for (const object of ordered) {
        const response = await apply(api(), resources, object, false);
        if (response.status >= 300) {
          refused.push(`config ${i} ${describeObject(object)}: ${response.status} ${response.body}`);
          continue;
        }
        changed.push(
          ...differences(asStored(object), await readBack(object)).map(
            (d) => `config ${i} ${describeObject(object)} ${d}`,
          ),
        );
      }
    }
    assert.deepEqual(refused, [], refused.join("\n"));
    assert.deepEqual(changed, [], changed.join("\n"));
    t.diagnostic(
      `${objects.length} objects of ${kinds.size} kinds stored and read back from ${CONFIGS.length} configurations`,
    );
  });

  it("counts among those objects the NetworkPolicies, the Kafka listener's peers and the PD max-replicas Job", () => {
    const named = (kind: string, prefix: string) =>
      objects
        .filter((o) => o.kind === kind && o.metadata.name.startsWith(prefix))
        .map((o) => o.metadata.name);
    assert.ok(named("NetworkPolicy", "tidbstack-deny-ingress").length > 0);
    assert.ok(named("NetworkPolicy", "tidbstack-ingress-pd").length > 0);
    assert.ok(named("Job", "tidbstack-pd-max-replicas-").length > 0);
    const kafka = objects.find((o) => o.kind === "Kafka");
    const [listener] = (kafka?.["spec"] as { kafka: { listeners: { networkPolicyPeers?: unknown[] }[] } })
      .kafka.listeners;
    assert.ok((listener?.networkPolicyPeers ?? []).length > 0);
  });

  it("keeps the status fields the TidbCluster's await reads: after a scale to 3 PD and 3 TiKV the old shape's status does not end it, the new shape's does", async () => {
    const cluster = objects.find(
      (o) => o.kind === "TidbCluster" && (o["spec"] as { pd: { replicas: number } }).pd.replicas === 3,
    );
    assert.ok(cluster, "a configuration with 3 PD members");
    const annotations = (cluster.metadata as { annotations?: Record<string, string> }).annotations ?? {};
    const expressions = waitForExpressions(annotations["pulumi.com/waitFor"] ?? "");
    assert.ok((await apply(api(), resources, cluster, false)).status < 300);
    // The operator's write, under its own field manager. The CRD has no status subresource, so the status
    // is applied with the object; the server prunes whatever its schema does not declare.
    const operatorWrites = async (status: Record<string, unknown>) => {
      const { apiVersion, kind, metadata } = cluster;
      const response = await api().request(
        "PATCH",
        `${await resources.path(cluster)}?fieldManager=tidb-operator&force=true`,
        { apiVersion, kind, metadata: { name: metadata.name, namespace: metadata.namespace }, status },
        "application/apply-patch+yaml",
      );
      assert.ok(response.status < 300, response.body);
    };
    const shape = { tidb: 1, ticdc: 1, version: "v8.5.4" };
    await operatorWrites(tidbClusterStatus({ ...shape, pd: 1, tikv: 1 }));
    assert.equal(
      waitForSatisfied(expressions, await readBack(cluster)),
      false,
      "Ready, but of 1 PD and 1 TiKV",
    );
    await operatorWrites(tidbClusterStatus({ ...shape, pd: 3, tikv: 3 }));
    assert.equal(waitForSatisfied(expressions, await readBack(cluster)), true, "Ready with 3 PD and 3 TiKV");
  });

  it("raises no warning for any object, so the stack's own pods meet the restricted Pod Security Standard", async () => {
    const warned: string[] = [];
    for (const object of objects.filter((o) => o.kind !== "Namespace")) {
      const response = await apply(api(), resources, object, true);
      if (response.warnings.length > 0)
        warned.push(`${describeObject(object)}: ${response.warnings.join(" | ")}`);
    }
    assert.deepEqual(warned, []);
    const namespace = objects.find((o) => o.kind === "Namespace" && o.metadata.name === "tidbstack");
    assert.equal(
      (namespace?.metadata as { labels?: Record<string, string> }).labels?.[
        "pod-security.kubernetes.io/warn"
      ],
      "restricted",
      "the namespace asks for those warnings",
    );
  });

  it("finds a field that does not read back as declared", () => {
    const declared = { spec: { schema: { type: "object", properties: {} }, replicas: 3, list: [1] } };
    assert.deepEqual(
      differences(declared, { spec: { schema: { type: "object" }, replicas: "3", list: [1, 2] } }),
      [".spec.schema.properties: {} → absent", '.spec.replicas: 3 → "3"', ".spec.list: [1] → [1,2]"],
    );
    assert.deepEqual(differences(declared, { ...declared, status: {} }), []);
  });

  it("refuses a misspelt field in a custom resource that mocks accept", async () => {
    const cluster = structuredClone(objects.find((o) => o.kind === "TidbCluster"));
    assert.ok(cluster);
    const pd = (cluster["spec"] as { pd: Record<string, unknown> }).pd;
    pd["replica"] = pd["replicas"];
    delete pd["replicas"];
    const response = await apply(api(), resources, cluster, true);
    // Server-side apply refuses it while building the typed patch, before validation, and answers 500
    // for that (kube-apiserver 1.34): a refusal all the same, naming the field.
    assert.ok(response.status >= 400, `${response.status} ${response.body}`);
    assert.match(refusal(response), /\.spec\.pd\.replica: field not declared in schema/);
  });

  it("refuses a misspelt probe field in a Deployment", async () => {
    const deployment = structuredClone(objects.find((o) => o.kind === "Deployment"));
    assert.ok(deployment);
    const [container] = (
      deployment["spec"] as {
        template: { spec: { containers: { readinessProbe: Record<string, unknown> }[] } };
      }
    ).template.spec.containers;
    assert.ok(container);
    container.readinessProbe["periodSecond"] = 5;
    const response = await apply(api(), resources, deployment, true);
    assert.ok(response.status >= 400, `${response.status} ${response.body}`);
    assert.match(refusal(response), /readinessProbe\.periodSecond: field not declared in schema/);
  });

  it("refuses a listener type outside Strimzi's enum", async () => {
    const kafka = structuredClone(objects.find((o) => o.kind === "Kafka"));
    assert.ok(kafka);
    const [listener] = (kafka["spec"] as { kafka: { listeners: Record<string, unknown>[] } }).kafka.listeners;
    assert.ok(listener);
    listener["type"] = "internl";
    const response = await apply(api(), resources, kafka, true);
    assert.equal(response.status, 422, response.body);
    assert.match(refusal(response), /spec\.kafka\.listeners\[0\]\.type: Unsupported value: "internl"/);
  });
});
