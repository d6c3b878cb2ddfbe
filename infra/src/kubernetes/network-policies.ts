/**
 * The stack namespace's NetworkPolicies. One policy denies every pod of the namespace all ingress; then one
 * policy per destination allows exactly the flows the stack needs, each listed with its reason in the
 * README's table. Kafka and the entity operator are Strimzi's: it writes their policies itself, and the Kafka
 * listener's `networkPolicyPeers` (kafkaClientPeers) keeps the client port as tight as these. Egress is left
 * open: DNS, and the kube-apiserver for TiDB Operator's discovery pod.
 *
 * Two things need no rule: kubelet probes (traffic from a pod's own node is always allowed) and a pod
 * calling itself (a pod cannot block access to itself), both per Kubernetes' NetworkPolicy documentation.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { childOf } from "../lib/options.ts";
import { PORTS } from "../lib/topology.ts";
import { appLabels, TICDC_OPERATOR_PORT, TIDB_DISCOVERY_PORT } from "./names.ts";

type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;
type Labels = Readonly<Record<string, string>>;

/** The pods TiDB Operator runs for a TidbCluster, by their `app.kubernetes.io/component`. */
export type TidbComponent = "pd" | "tikv" | "tidb" | "ticdc" | "discovery";

/** TiDB Operator v1.6's labels on a cluster's pods: label.New().Instance(tc).<Component>() (pkg/apis/label). */
export function tidbComponentLabels(cluster: string, component: TidbComponent): Labels {
  return {
    "app.kubernetes.io/name": "tidb-cluster",
    "app.kubernetes.io/managed-by": "tidb-operator",
    "app.kubernetes.io/instance": cluster,
    "app.kubernetes.io/component": component,
  };
}

/** Pods of the policy's own namespace with these labels. */
const podsWith = (labels: Labels): Peer => ({ podSelector: { matchLabels: { ...labels } } });

/**
 * TiDB Operator's controller manager, by the labels of its chart's pod template that do not depend on the
 * Helm release name (charts/tidb-operator/templates/controller-manager-deployment.yaml), in its namespace.
 */
const tidbOperatorController = (namespace: string): Peer => ({
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } },
  podSelector: {
    matchLabels: {
      "app.kubernetes.io/name": "tidb-operator",
      "app.kubernetes.io/component": "controller-manager",
    },
  },
});

/**
 * A Prometheus run by the Prometheus Operator, in whichever namespace: its StatefulSet's pods carry these
 * two labels whatever the Prometheus object's name.
 */
const PROMETHEUS: Peer = {
  namespaceSelector: {},
  podSelector: {
    matchLabels: {
      "app.kubernetes.io/name": "prometheus",
      "app.kubernetes.io/managed-by": "prometheus-operator",
    },
  },
};

/** One of the stack's own pods (`role` is its `app.kubernetes.io/name`) and one of its ports. */
export interface RolePort {
  readonly role: string;
  readonly port: number;
}

export interface NetworkPoliciesArgs {
  /** The stack's name: the `app.kubernetes.io/instance` of its own pods, and the policies' name prefix. */
  readonly stack: string;
  readonly namespace: pulumi.Input<string>;
  /** The TidbCluster's name (its pods' `app.kubernetes.io/instance`). */
  readonly tidbCluster: string;
  /** Where TiDB Operator's controller manager runs. */
  readonly tidbOperatorNamespace: string;
  /** Ports open to every client, in or outside the cluster: the API's public port. */
  readonly publicPorts: readonly RolePort[];
  /** Where the stack's own pods serve /metrics, opened to Prometheus when `prometheus` is set. */
  readonly metricsPorts: readonly RolePort[];
  /** A Prometheus Operator's Prometheus scrapes the namespace: open every metrics port to it. */
  readonly prometheus: boolean;
  /** The roles of the stack's own pods that call each TiDB component. */
  readonly clients: {
    /** Log in to TiDB (SQL, 4000). */
    readonly tidb: readonly string[];
    /** Call PD's API (2379). */
    readonly pd: readonly string[];
    /** Call TiCDC's OpenAPI (8301). */
    readonly ticdc: readonly string[];
  };
}

/** An ingress rule: a TCP port, and who may reach it ("anyone": every pod and every address). */
interface Allow {
  readonly port: number;
  readonly from: readonly Peer[] | "anyone";
}

/** The TiCDC pods, the consumer and whatever else the stack names: Strimzi's `networkPolicyPeers` for its listener. */
export function kafkaClientPeers(stack: string, tidbCluster: string, roles: readonly string[]): Peer[] {
  return [
    podsWith(tidbComponentLabels(tidbCluster, "ticdc")),
    ...roles.map((role) => podsWith(appLabels(stack, role))),
  ];
}

export class NetworkPolicies extends pulumi.ComponentResource {
  readonly policies: k8s.networking.v1.NetworkPolicy[];

  constructor(name: string, args: NetworkPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:kubernetes:NetworkPolicies", name, {}, opts);
    const metadata = (suffix: string) => ({
      name: `${args.stack}-${suffix}`,
      namespace: args.namespace,
      labels: { "app.kubernetes.io/part-of": "tidbstack", "app.kubernetes.io/instance": args.stack },
    });
    const child = childOf(this, opts);

    const denyAll = new k8s.networking.v1.NetworkPolicy(
      `${name}-deny-ingress`,
      // Selects every pod of the namespace, allows nothing: what the other policies do not allow is refused.
      { metadata: metadata("deny-ingress"), spec: { podSelector: {}, policyTypes: ["Ingress"] } },
      child,
    );
    this.policies = [denyAll];
    for (const [destination, pods, declared] of destinations(args)) {
      // A rule whose `from` is empty matches every source: a port nobody is named for stays closed instead.
      const allows = declared.filter((allow) => allow.from === "anyone" || allow.from.length > 0);
      if (allows.length === 0) continue;
      this.policies.push(
        new k8s.networking.v1.NetworkPolicy(
          `${name}-${destination}`,
          {
            metadata: metadata(`ingress-${destination}`),
            spec: {
              podSelector: { matchLabels: { ...pods } },
              policyTypes: ["Ingress"],
              ingress: allows.map((allow) => ({
                ports: [{ protocol: "TCP", port: allow.port }],
                ...(allow.from === "anyone" ? {} : { from: [...allow.from] }),
              })),
            },
          },
          child,
        ),
      );
    }
    this.registerOutputs({});
  }
}

/** Each destination (a name for its policy, its pods' labels) and what may reach it. */
function destinations(args: NetworkPoliciesArgs): [string, Labels, Allow[]][] {
  const tidb = (component: TidbComponent) => tidbComponentLabels(args.tidbCluster, component);
  const from = (component: TidbComponent) => podsWith(tidb(component));
  const own = (role: string) => podsWith(appLabels(args.stack, role));
  const operator = tidbOperatorController(args.tidbOperatorNamespace);
  const scrapers = args.prometheus ? [PROMETHEUS] : [];
  const byTidbComponent: [TidbComponent, Allow[]][] = [
    [
      "pd",
      [
        {
          // PD members forward requests to their leader; the rest register, read and write through PD;
          // discovery asks PD for its members when a PD starts; the operator reads PD to reconcile.
          port: PORTS.pdClient,
          from: [
            ...(["pd", "tikv", "tidb", "ticdc", "discovery"] as const).map(from),
            operator,
            ...args.clients.pd.map(own),
            ...scrapers,
          ],
        },
        // etcd's peer traffic between PD members.
        { port: PORTS.pdPeer, from: [from("pd")] },
      ],
    ],
    [
      "tikv",
      [
        // Raft between stores, reads and writes from TiDB, TiCDC's change stream, PD's calls to its stores,
        // and the operator's gRPC call before it restarts a TiKV (pkg/tikvapi: flushing log backup tasks).
        { port: PORTS.tikv, from: [...(["pd", "tikv", "tidb", "ticdc"] as const).map(from), operator] },
        // PD reads each store's config from its status port; the operator counts its leaders there.
        { port: PORTS.tikvStatus, from: [from("pd"), operator, ...scrapers] },
      ],
    ],
    [
      "tidb",
      [
        { port: PORTS.tidb, from: args.clients.tidb.map(own) },
        { port: PORTS.tidbStatus, from: [operator, ...scrapers] },
      ],
    ],
    [
      "ticdc",
      // Captures call each other and their owner; the operator checks each capture's /status.
      [
        {
          port: TICDC_OPERATOR_PORT,
          from: [from("ticdc"), operator, ...args.clients.ticdc.map(own), ...scrapers],
        },
      ],
    ],
    // Every PD asks the discovery service whether to bootstrap or join, at each start.
    ["discovery", [{ port: TIDB_DISCOVERY_PORT, from: [from("pd")] }]],
  ];

  const ownAllows = new Map<string, Allow[]>();
  const allowOn = (role: string, allow: Allow) =>
    ownAllows.set(role, [...(ownAllows.get(role) ?? []), allow]);
  for (const { role, port } of args.publicPorts) allowOn(role, { port, from: "anyone" });
  for (const { role, port } of args.metricsPorts) {
    const isPublic = args.publicPorts.some((p) => p.role === role && p.port === port);
    if (args.prometheus && !isPublic) allowOn(role, { port, from: scrapers });
  }
  return [
    ...byTidbComponent.map(([component, allows]): [string, Labels, Allow[]] => [
      component,
      tidb(component),
      allows,
    ]),
    ...[...ownAllows].map(([role, allows]): [string, Labels, Allow[]] => [
      role,
      appLabels(args.stack, role),
      allows,
    ]),
  ];
}
