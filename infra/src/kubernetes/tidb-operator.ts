import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export interface TidbOperatorArgs {
  /** TiDB Operator release, e.g. v1.6.6: the CRDs and the chart of the same release. */
  readonly version: string;
  /** Namespace the operator runs in (created here). */
  readonly namespace: string;
}

/** PingCAP's chart repository, where the `tidb-operator` chart is published. */
export const PINGCAP_CHARTS = "https://charts.pingcap.com/";

/** The release's CRD manifest, as PingCAP's installation guide applies it. */
export const tidbOperatorCrdUrl = (version: string): string =>
  `https://raw.githubusercontent.com/pingcap/tidb-operator/${version}/manifests/crd.yaml`;

/**
 * PingCAP's TiDB Operator: its CRDs and its controller manager, in a namespace of its own. The CRDs are not
 * in the chart; they are applied from the release's manifest, server-side (the provider's default): at
 * 2.9 MB the file is too big for a client-side apply's last-applied annotation.
 */
export class TidbOperator extends pulumi.ComponentResource {
  readonly crds: k8s.yaml.v2.ConfigFile;
  /** Its Deployments are awaited until available, so depending on it means the operator is running. */
  readonly chart: k8s.helm.v4.Chart;

  constructor(name: string, args: TidbOperatorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:kubernetes:TidbOperator", name, {}, opts);
    if (!/^v1\.6\.\d+$/.test(args.version)) {
      throw new Error(`TidbOperator ${name}: version must be a v1.6.x release, got "${args.version}"`);
    }
    const namespace = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      { metadata: { name: args.namespace } },
      { parent: this },
    );
    this.crds = new k8s.yaml.v2.ConfigFile(
      `${name}-crds`,
      { file: tidbOperatorCrdUrl(args.version) },
      { parent: this },
    );
    this.chart = new k8s.helm.v4.Chart(
      `${name}-chart`,
      {
        chart: "tidb-operator",
        version: args.version,
        repositoryOpts: { repo: PINGCAP_CHARTS },
        namespace: namespace.metadata.name,
      },
      // The controller manager watches TidbClusters from its start: their CRDs must be served first.
      { parent: this, dependsOn: [this.crds] },
    );
    this.registerOutputs({});
  }
}
