/**
 * NetworkPolicy semantics (networking.k8s.io/v1, as the Kubernetes documentation and API reference define
 * them), for tests that ask which pod may reach which port of which other pod. Ingress only: the stack's
 * policies isolate nothing for egress.
 * - A pod is isolated for ingress when a policy of its namespace selects it with Ingress among its
 *   policyTypes (which default to Ingress); a pod no policy selects accepts everything.
 * - An isolated pod accepts a connection when any rule of any policy selecting it matches both the source
 *   and the port; rules add up, none subtracts.
 * - A rule without `from` matches every source; without `ports`, every port. A peer with only a podSelector
 *   means pods of the policy's own namespace; with a namespaceSelector, pods of the matching namespaces
 *   (podSelector narrowing them); an ipBlock, addresses (a source outside the cluster here).
 * - A port is a number or a container port's name, resolved on the destination pod; protocol TCP unless set.
 */

export type Labels = Readonly<Record<string, string>>;

export interface LabelSelector {
  readonly matchLabels?: Labels;
  readonly matchExpressions?: readonly {
    readonly key: string;
    readonly operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
    readonly values?: readonly string[];
  }[];
}

export interface PolicyPeer {
  readonly podSelector?: LabelSelector;
  readonly namespaceSelector?: LabelSelector;
  readonly ipBlock?: { readonly cidr: string; readonly except?: readonly string[] };
}

export interface PolicyPort {
  readonly protocol?: string;
  readonly port?: number | string;
  readonly endPort?: number;
}

export interface NetworkPolicy {
  readonly namespace: string;
  readonly name: string;
  readonly spec: {
    readonly podSelector: LabelSelector;
    readonly policyTypes?: readonly string[];
    readonly ingress?: readonly {
      readonly from?: readonly PolicyPeer[];
      readonly ports?: readonly PolicyPort[];
    }[];
  };
}

/** A pod as the policies see it: its namespace (and that namespace's labels), its labels and ports by name. */
export interface Pod {
  readonly namespace: string;
  readonly namespaceLabels: Labels;
  readonly labels: Labels;
  /** Container ports; a name is what a policy or a PodMonitor may refer to it by. */
  readonly ports: readonly { readonly number: number; readonly name?: string }[];
}

/** Where a connection comes from: a pod, or an address outside the cluster. */
export type Source = { readonly pod: Pod } | { readonly outside: string };

export function matchesSelector(selector: LabelSelector, labels: Labels): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const byExpressions = (selector.matchExpressions ?? []).every((e) => {
    const value = labels[e.key];
    switch (e.operator) {
      case "In":
        return value !== undefined && (e.values ?? []).includes(value);
      case "NotIn":
        return value === undefined || !(e.values ?? []).includes(value);
      case "Exists":
        return value !== undefined;
      case "DoesNotExist":
        return value === undefined;
    }
  });
  return byLabels && byExpressions;
}

function peerMatches(peer: PolicyPeer, policyNamespace: string, source: Source): boolean {
  if ("outside" in source) return peer.ipBlock !== undefined && cidrContains(peer.ipBlock, source.outside);
  if (peer.ipBlock !== undefined) return false;
  const { pod } = source;
  const inNamespace =
    peer.namespaceSelector === undefined
      ? pod.namespace === policyNamespace
      : matchesSelector(peer.namespaceSelector, pod.namespaceLabels);
  return inNamespace && (peer.podSelector === undefined || matchesSelector(peer.podSelector, pod.labels));
}

function portMatches(rulePort: PolicyPort, destination: Pod, port: number): boolean {
  if ((rulePort.protocol ?? "TCP") !== "TCP") return false;
  if (rulePort.port === undefined) return true;
  const first =
    typeof rulePort.port === "number"
      ? rulePort.port
      : destination.ports.find((p) => p.name === rulePort.port)?.number;
  if (first === undefined) return false;
  return port >= first && port <= (rulePort.endPort ?? first);
}

const selects = (policy: NetworkPolicy, pod: Pod): boolean =>
  policy.namespace === pod.namespace &&
  (policy.spec.policyTypes ?? ["Ingress"]).includes("Ingress") &&
  matchesSelector(policy.spec.podSelector, pod.labels);

/** Whether `source` may open a TCP connection to `port` of `destination` under `policies`. */
export function allowed(
  policies: readonly NetworkPolicy[],
  source: Source,
  destination: Pod,
  port: number,
): boolean {
  const selecting = policies.filter((policy) => selects(policy, destination));
  if (selecting.length === 0) return true;
  return selecting.some((policy) =>
    (policy.spec.ingress ?? []).some(
      (rule) =>
        (rule.from === undefined ||
          rule.from.length === 0 ||
          rule.from.some((peer) => peerMatches(peer, policy.namespace, source))) &&
        (rule.ports === undefined ||
          rule.ports.length === 0 ||
          rule.ports.some((p) => portMatches(p, destination, port))),
    ),
  );
}

/** IPv4 only: enough for the addresses these tests use. */
function cidrContains(block: { cidr: string; except?: readonly string[] }, address: string): boolean {
  const toNumber = (ip: string) => ip.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
  const inCidr = (cidr: string) => {
    const [base = "", bits = "32"] = cidr.split("/");
    const size = 2 ** (32 - Number(bits));
    return Math.floor(toNumber(address) / size) === Math.floor(toNumber(base) / size);
  };
  return inCidr(block.cidr) && !(block.except ?? []).some(inCidr);
}
