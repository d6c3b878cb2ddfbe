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

const CRD_TYPE = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition";

type Schema = Record<string, unknown>;
const isSchema = (value: unknown): value is Schema =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * A copy of an OpenAPI schema without the empty `properties: {}` of its object schemas, at any depth. The
 * API server drops an empty `properties` when it stores a CRD, so a CRD declaring one never reads back as
 * declared and the provider reports a change to it on every run. An empty `properties` constrains nothing,
 * so the schema means the same without it. Only schema positions are walked (properties' values, items,
 * additionalProperties, allOf/anyOf/oneOf/not): a property that happens to be named `properties` is kept.
 */
export function withoutEmptyProperties(schema: Schema): Schema {
  const copy: Schema = { ...schema };
  const properties = copy["properties"];
  if (isSchema(properties)) {
    if (Object.keys(properties).length === 0) delete copy["properties"];
    else {
      copy["properties"] = Object.fromEntries(
        Object.entries(properties).map(([key, value]) => [
          key,
          isSchema(value) ? withoutEmptyProperties(value) : value,
        ]),
      );
    }
  }
  for (const key of ["items", "additionalProperties", "not"]) {
    const nested = copy[key];
    if (isSchema(nested)) copy[key] = withoutEmptyProperties(nested);
  }
  for (const key of ["allOf", "anyOf", "oneOf"]) {
    const list = copy[key];
    if (Array.isArray(list))
      copy[key] = list.map((s: unknown) => (isSchema(s) ? withoutEmptyProperties(s) : s));
  }
  return copy;
}

/** A CRD whose every version's schema is `withoutEmptyProperties`: what the API server stores of it. */
export function crdAsStored<T extends object>(crd: T): T {
  const spec = (crd as { spec?: unknown }).spec as
    { versions?: { schema?: { openAPIV3Schema?: Schema } }[] } | undefined;
  if (spec?.versions === undefined) return crd;
  return {
    ...crd,
    spec: {
      ...spec,
      versions: spec.versions.map((version) => {
        const schema = version.schema?.openAPIV3Schema;
        return schema === undefined
          ? version
          : { ...version, schema: { ...version.schema, openAPIV3Schema: withoutEmptyProperties(schema) } };
      }),
    },
  };
}

/**
 * Rewrites the CRDs a chart renders to `crdAsStored`, so a second `pulumi up` finds them unchanged (Strimzi
 * 1.2.0's `kafkas.kafka.strimzi.io` declares `status.clusterSecurity` with `properties: {}`).
 */
export const crdsAsStored: pulumi.ResourceTransform = ({ type, props, opts }) =>
  type === CRD_TYPE ? { props: crdAsStored(props), opts } : undefined;

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
      { ...childOf(this, opts), transforms: [crdsAsStored] },
    );
    this.registerOutputs({});
  }
}
