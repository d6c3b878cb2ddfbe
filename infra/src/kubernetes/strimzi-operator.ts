import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { childOf } from "../lib/options.ts";

export interface StrimziOperatorArgs {
  /** Strimzi release, e.g. 1.2.0 (the chart's version). */
  readonly version: string;
  /** Namespace the cluster operator runs in (created here). */
  readonly namespace: string;
  /**
   * Namespaces whose Kafka resources it manages. Pass the Namespace objects' names (Outputs), so the
   * chart's RoleBindings in them wait for the namespaces to exist.
   */
  readonly watchNamespaces: readonly pulumi.Input<string>[];
}

/** Strimzi's OCI chart; the old HTTP chart repository is deprecated. */
export const STRIMZI_CHART = "oci://quay.io/strimzi-helm/strimzi-kafka-operator";

/**
 * The Strimzi cluster operator (1.x: KRaft and node pools only, `kafka.strimzi.io/v1`). Its CRDs ship in
 * the chart's crds/ folder and are applied with it. It is granted the namespaces it watches only, not the
 * whole cluster.
 */
export class StrimziOperator extends pulumi.ComponentResource {
  /** Its Deployment is awaited until available, so depending on it means the operator is running. */
  readonly chart: k8s.helm.v4.Chart;

  constructor(name: string, args: StrimziOperatorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:kubernetes:StrimziOperator", name, {}, opts);
    if (!/^1\.\d+\.\d+$/.test(args.version)) {
      throw new Error(`StrimziOperator ${name}: version must be a 1.x release, got "${args.version}"`);
    }
    const namespace = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      { metadata: { name: args.namespace } },
      { parent: this },
    );
    this.chart = new k8s.helm.v4.Chart(
      `${name}-chart`,
      {
        chart: STRIMZI_CHART,
        version: args.version,
        namespace: namespace.metadata.name,
        values: {
          watchNamespaces: args.watchNamespaces,
          watchAnyNamespace: false,
          // STRIMZI_OPERATOR_NAMESPACE_LABELS: the NetworkPolicies Strimzi writes for the brokers then let
          // the cluster operator in from this namespace only, instead of from every namespace.
          image: { operatorNamespaceLabels: `kubernetes.io/metadata.name=${args.namespace}` },
        },
      },
      childOf(this, opts),
    );
    this.registerOutputs({});
  }
}
