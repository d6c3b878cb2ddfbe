/**
 * Which pod may reach which port in the stack's namespace, derived from the NetworkPolicies the program
 * declares (recorded under mocks), the ones Strimzi writes for what the program declares, and the labels
 * and ports every pod carries: the stack's own pods from their declared templates, the operators' pods as
 * TiDB Operator v1.6.6 and Strimzi 1.2.0 label them (written here from their sources, not from the program).
 * The result must equal the README's table of flows: every flow it lists allowed, nothing else.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type DeclaredResource, type ProgramRun, runProgram } from "../harness.ts";
import {
  allowed,
  matchesSelector,
  type Labels,
  type LabelSelector,
  type NetworkPolicy,
  type Pod,
  type PolicyPeer,
  type Source,
} from "../network-policy-model.ts";

const README = fileURLToPath(new URL("../../../README.md", import.meta.url));

const T = {
  networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
  deployment: "kubernetes:apps/v1:Deployment",
  job: "kubernetes:batch/v1:Job",
  cronJob: "kubernetes:batch/v1:CronJob",
  kafka: "kubernetes:kafka.strimzi.io/v1:Kafka",
  chart: "kubernetes:helm.sh/v4:Chart",
  podMonitor: "kubernetes:monitoring.coreos.com/v1:PodMonitor",
} as const;

/** A port no pod declares: a rule that opens every port would open it. */
const UNDECLARED_PORT = 65_000;

/** Everyone who may open a connection, by the name the README's table uses; `pod` also makes it a destination. */
interface Party {
  readonly name: string;
  readonly source: Source;
  readonly pod?: Pod;
}

type Inputs = Record<string, unknown>;
type Template = {
  metadata: { labels: Labels };
  spec: { containers: { ports?: { name: string; containerPort: number }[] }[] };
};

const metadata = (r: DeclaredResource) =>
  r.inputs["metadata"] as { name: string; namespace: string; labels?: Labels };
const spec = (r: DeclaredResource) => r.inputs["spec"] as Inputs;

const podIn = (namespace: string, labels: Labels, ports: Pod["ports"] = []): Pod => ({
  namespace,
  namespaceLabels: { "kubernetes.io/metadata.name": namespace },
  labels,
  ports,
});
const party = (name: string, pod: Pod): Party => ({ name, source: { pod }, pod });
const sourceOnly = (name: string, pod: Pod): Party => ({ name, source: { pod } });

/** The stack's own workloads by resource name, as the README names them. */
const ownNames = (stack: string): Record<string, string> => ({
  [`${stack}-api`]: "API",
  [`${stack}-consumer`]: "consumer",
  [`${stack}-migrate`]: "migration Job",
  [`${stack}-changefeed`]: "changefeed Job",
  [`${stack}-pd-max-replicas`]: "max-replicas Job",
  [`${stack}-purge`]: "purge CronJob",
});

/** The stack's own pods, as their declared pod templates label them and name their ports. */
function ownParties(run: ProgramRun, stack: string, namespace: string): Party[] {
  const names = ownNames(stack);
  const workloads = [...run.ofType(T.deployment), ...run.ofType(T.job), ...run.ofType(T.cronJob)];
  assert.deepEqual(
    workloads.map((w) => w.name).sort(),
    Object.keys(names).sort(),
    "every workload of the stack is named here, so none escapes the check",
  );
  return workloads.map((w) => {
    const template = (
      w.type === T.cronJob
        ? (spec(w)["jobTemplate"] as { spec: { template: Template } }).spec.template
        : spec(w)["template"]
    ) as Template;
    const ports = template.spec.containers.flatMap((c) =>
      (c.ports ?? []).map((p) => ({ number: p.containerPort, name: p.name })),
    );
    return party(names[w.name] ?? w.name, podIn(namespace, template.metadata.labels, ports));
  });
}

/** TiDB Operator v1.6.6's labels on a cluster's pods (pkg/apis/label/label.go), as the test knows them. */
const tidbLabels = (cluster: string, component: string): Labels => ({
  "app.kubernetes.io/name": "tidb-cluster",
  "app.kubernetes.io/managed-by": "tidb-operator",
  "app.kubernetes.io/instance": cluster,
  "app.kubernetes.io/component": component,
  "tidb.pingcap.com/cluster-id": "7400000000000000001",
});

/** Strimzi 1.2.0's labels (Labels.generateDefaultLabels) on the pods of a Kafka's components. */
const strimziLabels = (cluster: string, componentType: "kafka" | "entity-operator"): Labels => ({
  "strimzi.io/cluster": cluster,
  "strimzi.io/kind": "Kafka",
  "strimzi.io/name": `${cluster}-${componentType}`,
  "strimzi.io/component-type": componentType,
  "app.kubernetes.io/name": componentType,
  "app.kubernetes.io/instance": cluster,
  "app.kubernetes.io/part-of": `strimzi-${cluster}`,
  "app.kubernetes.io/managed-by": "strimzi-cluster-operator",
});

const TIDB_OPERATOR_LABELS: Labels = {
  "app.kubernetes.io/name": "tidb-operator",
  "app.kubernetes.io/instance": "tidb-operator-release",
  "app.kubernetes.io/component": "controller-manager",
};
const STRIMZI_OPERATOR_LABELS: Labels = {
  name: "strimzi-cluster-operator",
  "strimzi.io/kind": "cluster-operator",
};

/**
 * TiDB Operator's pods: README name, `app.kubernetes.io/component`, and container ports by name as its
 * member managers (and the discovery Service) declare them.
 */
const TIDB_PODS: readonly [string, string, Record<string, number>][] = [
  ["PD", "pd", { server: 2380, client: 2379 }],
  ["TiKV", "tikv", { server: 20160, status: 20180 }],
  ["TiDB", "tidb", { server: 4000, status: 10080 }],
  ["TiCDC", "ticdc", { ticdc: 8301 }],
  ["discovery", "discovery", { discovery: 10261, proxy: 10262 }],
];

/** The pods the operators run, and the rest. */
function otherParties(cluster: string, namespace: string): Party[] {
  return [
    ...TIDB_PODS.map(([name, component, ports]) =>
      party(
        name,
        podIn(
          namespace,
          tidbLabels(cluster, component),
          Object.entries(ports).map(([portName, number]) => ({ number, name: portName })),
        ),
      ),
    ),
    party(
      "Kafka",
      podIn(
        namespace,
        {
          ...strimziLabels(cluster, "kafka"),
          "strimzi.io/pool-name": "dual-role",
          "strimzi.io/broker-role": "true",
          "strimzi.io/controller-role": "true",
        },
        [9090, 9091, 9092, 8443].map((number) => ({ number })),
      ),
    ),
    party("entity operator", podIn(namespace, strimziLabels(cluster, "entity-operator"), [{ number: 8080 }])),
    sourceOnly("TiDB Operator", podIn("tidb-admin", TIDB_OPERATOR_LABELS)),
    sourceOnly("Strimzi operator", podIn("strimzi", STRIMZI_OPERATOR_LABELS)),
    sourceOnly(
      "Prometheus",
      podIn("monitoring", {
        "app.kubernetes.io/name": "prometheus",
        "app.kubernetes.io/managed-by": "prometheus-operator",
        "app.kubernetes.io/instance": "kube-prometheus-stack-prometheus",
        "operator.prometheus.io/name": "kube-prometheus-stack-prometheus",
      }),
    ),
    // Everyone else, who must get nothing beyond what "anyone" gets.
    sourceOnly("an unrelated pod in the namespace", podIn(namespace, { app: "debug-shell" })),
    sourceOnly("a pod in another namespace", podIn("default", {})),
    sourceOnly("a pod elsewhere labelled as PD", podIn("elsewhere", tidbLabels(cluster, "pd"))),
    sourceOnly("a pod elsewhere labelled as TiDB Operator", podIn("elsewhere", TIDB_OPERATOR_LABELS)),
    sourceOnly("a pod elsewhere labelled as Strimzi's operator", podIn("elsewhere", STRIMZI_OPERATOR_LABELS)),
    { name: "a client outside the cluster", source: { outside: "203.0.113.7" } },
  ];
}

const declaredPolicies = (run: ProgramRun): NetworkPolicy[] =>
  run.ofType(T.networkPolicy).map((r) => ({
    namespace: metadata(r).namespace,
    name: metadata(r).name,
    spec: spec(r) as unknown as NetworkPolicy["spec"],
  }));

/**
 * The policies Strimzi 1.2.0 writes for the declared Kafka (KafkaCluster.generateNetworkPolicy and
 * EntityOperator.generateNetworkPolicy, NetworkPolicyUtils): each listener from its networkPolicyPeers (none:
 * open to all), its own ports from its own components, and the cluster operator from the namespaces its
 * STRIMZI_OPERATOR_NAMESPACE_LABELS (the chart's image.operatorNamespaceLabels) name, or from all.
 */
function strimziPolicies(run: ProgramRun): NetworkPolicy[] {
  const [kafka] = run.ofType(T.kafka);
  const chart = run.ofType(T.chart).find((c) => String(c.inputs["chart"]).includes("strimzi"));
  assert.ok(kafka && chart, "a Kafka and Strimzi's chart are declared");
  const { name: cluster, namespace } = metadata(kafka);
  const labelsText = (chart.inputs["values"] as { image?: { operatorNamespaceLabels?: string } }).image
    ?.operatorNamespaceLabels;
  const operatorNamespaces: LabelSelector =
    labelsText === undefined
      ? {}
      : {
          matchLabels: Object.fromEntries(
            labelsText.split(",").map((pair): [string, string] => {
              const [key = "", value = ""] = pair.split("=", 2);
              return [key.trim(), value.trim()];
            }),
          ),
        };
  const operator: PolicyPeer = {
    podSelector: { matchLabels: { "strimzi.io/kind": "cluster-operator" } },
    namespaceSelector: operatorNamespaces,
  };
  const named = (component: string): PolicyPeer => ({
    podSelector: { matchLabels: { "strimzi.io/name": `${cluster}-${component}` } },
  });
  const kafkaSelector = {
    matchLabels: {
      "strimzi.io/cluster": cluster,
      "strimzi.io/name": `${cluster}-kafka`,
      "strimzi.io/kind": "Kafka",
    },
  };
  const rule = (port: number, from: readonly PolicyPeer[]) => ({ ports: [{ port, protocol: "TCP" }], from });
  const listeners = (
    spec(kafka)["kafka"] as { listeners: { port: number; networkPolicyPeers?: PolicyPeer[] }[] }
  ).listeners;
  return [
    {
      namespace,
      name: `${cluster}-network-policy-kafka`,
      spec: {
        podSelector: kafkaSelector,
        ingress: [
          rule(9090, [{ podSelector: kafkaSelector }, operator]),
          rule(9091, [
            operator,
            { podSelector: kafkaSelector },
            named("entity-operator"),
            named("kafka-exporter"),
            named("cruise-control"),
          ]),
          rule(8443, [operator]),
          ...listeners.map((l) => rule(l.port, l.networkPolicyPeers ?? [])),
        ],
      },
    },
    {
      namespace,
      name: `${cluster}-entity-operator`,
      spec: {
        podSelector: {
          matchLabels: {
            "strimzi.io/cluster": cluster,
            "strimzi.io/name": `${cluster}-entity-operator`,
            "strimzi.io/kind": "Kafka",
          },
        },
        // The topic operator's health port, open to all.
        ingress: [rule(8080, [])],
      },
    },
  ];
}

/** `<to> <port>` → who may connect: "anyone" when every party may, else their names, sorted. */
type Flows = Record<string, string[]>;

function derivedFlows(parties: readonly Party[], policies: readonly NetworkPolicy[]): Flows {
  const flows: Flows = {};
  for (const destination of parties) {
    if (destination.pod === undefined) continue;
    for (const port of [...destination.pod.ports.map((p) => p.number), UNDECLARED_PORT]) {
      const from = parties.filter((p) => allowed(policies, p.source, destination.pod as Pod, port));
      if (from.length === 0) continue;
      flows[`${destination.name} ${port}`] =
        from.length === parties.length ? ["anyone"] : [...new Set(from.map((p) => p.name))].sort();
    }
  }
  return flows;
}

/** The README's table of flows (columns from, to, port, why), rows with the same destination and port merged. */
function readmeFlows(withPrometheus: boolean): Flows {
  const lines = readFileSync(README, "utf8").split("\n");
  const header = lines.findIndex((line) => /^\| from +\| to +\| port +\| why +\|$/.test(line));
  assert.ok(header >= 0, "the README has a table with the columns from, to, port, why");
  const flows: Flows = {};
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith("|")) break;
    const [from = "", to = "", ports = ""] = line
      .split("|")
      .slice(1, -1)
      .map((cell) => cell.trim());
    const sources = from.split(", ").filter((name) => withPrometheus || name !== "Prometheus");
    for (const port of ports.split(", ")) {
      const key = `${to} ${Number(port)}`;
      const merged = new Set([...(flows[key] ?? []), ...sources]);
      if (merged.size > 0) flows[key] = merged.has("anyone") ? ["anyone"] : [...merged].sort();
    }
  }
  return flows;
}

/** One line per destination port, sorted, so a failure shows the very flow that differs. */
const sortedEntries = (flows: Flows): string[] =>
  Object.entries(flows)
    .map(([to, from]) => `${to} from ${from.join(", ")}`)
    .sort();

/** The run's parties and every policy in force, for a stack named `stack` in `namespace`. */
async function model(config: Record<string, string>, stack: string, namespace: string) {
  const run = await runProgram({ target: "kubernetes", ...config });
  const parties = [...ownParties(run, stack, namespace), ...otherParties(stack, namespace)];
  return { run, parties, policies: [...declaredPolicies(run), ...strimziPolicies(run)] };
}

describe("the Kubernetes namespace's NetworkPolicies", () => {
  let monitored: Awaited<ReturnType<typeof model>>;
  before(async () => {
    monitored = await model(
      { prometheusOperator: "true", ingressHost: "api.example.com" },
      "tidbstack",
      "tidbstack",
    );
  });

  it("allow exactly the flows of the README's table, Prometheus's included, with the Prometheus Operator", () => {
    assert.deepEqual(
      sortedEntries(derivedFlows(monitored.parties, monitored.policies)),
      sortedEntries(readmeFlows(true)),
    );
  });

  it("allow exactly the table's flows less Prometheus's without the Prometheus Operator", async () => {
    const plain = await model({}, "tidbstack", "tidbstack");
    assert.deepEqual(
      sortedEntries(derivedFlows(plain.parties, plain.policies)),
      sortedEntries(readmeFlows(false)),
    );
  });

  it("follow the stack's name and namespace: the same flows for a stack named stack2 in namespace pipeline", async () => {
    const other = await model({ name: "stack2", namespace: "pipeline" }, "stack2", "pipeline");
    assert.deepEqual(
      sortedEntries(derivedFlows(other.parties, other.policies)),
      sortedEntries(readmeFlows(false)),
    );
    for (const policy of declaredPolicies(other.run)) {
      assert.equal(policy.namespace, "pipeline", policy.name);
      assert.match(policy.name, /^stack2-/);
    }
  });

  it("open every port a PodMonitor scrapes to Prometheus", () => {
    const prometheus = monitored.parties.find((p) => p.name === "Prometheus");
    assert.ok(prometheus);
    const pods = monitored.parties.flatMap((p) =>
      p.pod === undefined ? [] : [{ name: p.name, pod: p.pod }],
    );
    let scraped = 0;
    for (const monitor of monitored.run.ofType(T.podMonitor)) {
      const selector = spec(monitor)["selector"] as LabelSelector;
      const endpoints = (spec(monitor)["podMetricsEndpoints"] as { port: string }[]).map((e) => e.port);
      const selected = pods.filter(
        ({ pod }) => pod.namespace === metadata(monitor).namespace && matchesSelector(selector, pod.labels),
      );
      assert.ok(selected.length > 0, `${monitor.name} selects pods`);
      for (const { name, pod } of selected) {
        const ports = pod.ports.filter((p) => p.name !== undefined && endpoints.includes(p.name));
        assert.ok(ports.length > 0, `${monitor.name} scrapes a port of ${name}`);
        for (const port of ports) {
          assert.ok(
            allowed(monitored.policies, prometheus.source, pod, port.number),
            `Prometheus may reach ${name}'s ${port.name} (${port.number})`,
          );
          scraped++;
        }
      }
    }
    assert.ok(scraped >= 6, `${scraped} scraped ports checked`);
  });

  it("deny every pod of the namespace all ingress first, and isolate ingress only", () => {
    const policies = declaredPolicies(monitored.run);
    const denyAll = policies.filter((p) => Object.keys(p.spec.podSelector).length === 0);
    assert.deepEqual(
      denyAll.map((p) => [p.name, p.spec]),
      [["tidbstack-deny-ingress", { podSelector: {}, policyTypes: ["Ingress"] }]],
    );
    for (const policy of policies) assert.deepEqual(policy.spec.policyTypes, ["Ingress"], policy.name);
  });

  it("name Kafka's clients on its listener, so Strimzi's policy does not open it to every pod", () => {
    const [kafka] = monitored.run.ofType(T.kafka);
    assert.ok(kafka);
    const [listener] = (spec(kafka)["kafka"] as { listeners: { networkPolicyPeers?: unknown[] }[] })
      .listeners;
    assert.equal(listener?.networkPolicyPeers?.length, 3, "TiCDC, the consumer and the changefeed Job");
  });
});
