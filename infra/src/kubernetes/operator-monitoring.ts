import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { alertRules } from "../lib/monitoring/alert-rules.ts";
import {
  type AlertReceivers,
  alertmanagerConfigSpec,
  receiverSecrets,
} from "../lib/monitoring/alertmanager-config.ts";
import { DASHBOARDS } from "../lib/monitoring/dashboards.ts";
import { SCRAPE_INTERVAL } from "../lib/monitoring/prometheus-config.ts";
import { childOf } from "../lib/options.ts";

export interface OperatorMonitoringArgs {
  readonly stack: string;
  readonly namespace: pulumi.Input<string>;
  /** The TidbCluster's name (its pods carry it as `app.kubernetes.io/instance`). */
  readonly tidbCluster: string;
  /** The stack's scraped services and the named port each serves /metrics on. */
  readonly services: readonly { readonly role: string; readonly port: string }[];
  /** A `release` label for a kube-prometheus-stack that selects by it; undefined: no such label. */
  readonly release?: string | undefined;
  /** Where alerts go (secret values stay Outputs); none: they collect in Alertmanager's UI. */
  readonly receivers: AlertReceivers<pulumi.Input<string>>;
  /** Base of every alert's `runbook_url`. */
  readonly runbookBaseUrl: string;
}

/**
 * The TiDB components' metrics ports by name, as TiDB Operator v1.6 names them in its pods (TiKV's only with
 * `enableNamedStatusPort`). TiDB and TiKV share "status"; each pod matches the endpoints whose port it has.
 */
const TIDB_METRICS_PORTS = ["client", "status", "ticdc"] as const;
const TIDB_COMPONENTS = ["pd", "tikv", "tidb", "ticdc"] as const;

/**
 * Monitoring through a Prometheus Operator already in the cluster: PodMonitors for the TiDB cluster and the
 * stack's services, whose `job` labels are the ones the Docker target's Prometheus uses (pd, tikv, tidb,
 * ticdc, api, consumer), so the same alert rules and dashboards apply unchanged; a PrometheusRule built from
 * those rules; an AlertmanagerConfig routing them as the Docker target's Alertmanager does, its receivers'
 * secrets in a Secret of its own; and the dashboards as ConfigMaps for Grafana's dashboard sidecar.
 */
export class OperatorMonitoring extends pulumi.ComponentResource {
  constructor(name: string, args: OperatorMonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:kubernetes:OperatorMonitoring", name, {}, opts);
    const labels = {
      "app.kubernetes.io/part-of": "tidbstack",
      ...(args.release === undefined ? {} : { release: args.release }),
    };
    const metadata = (suffix: string, extra: Record<string, string> = {}) => ({
      name: `${args.stack}-${suffix}`,
      namespace: args.namespace,
      labels: { ...labels, ...extra },
    });
    const child = childOf(this, opts);

    new k8s.apiextensions.CustomResource(
      `${name}-tidb`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PodMonitor",
        metadata: metadata("tidb"),
        spec: {
          // The operator labels each pod with its component: pd, tikv, tidb, ticdc.
          jobLabel: "app.kubernetes.io/component",
          selector: {
            matchLabels: {
              "app.kubernetes.io/instance": args.tidbCluster,
              "app.kubernetes.io/managed-by": "tidb-operator",
            },
            matchExpressions: [
              { key: "app.kubernetes.io/component", operator: "In", values: [...TIDB_COMPONENTS] },
            ],
          },
          podMetricsEndpoints: TIDB_METRICS_PORTS.map((port) => ({
            port,
            path: "/metrics",
            interval: SCRAPE_INTERVAL,
          })),
        },
      },
      child,
    );

    new k8s.apiextensions.CustomResource(
      `${name}-services`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PodMonitor",
        metadata: metadata("services"),
        spec: {
          // `app.kubernetes.io/name` is api or consumer: the job names the rules and dashboards select.
          jobLabel: "app.kubernetes.io/name",
          selector: {
            matchLabels: { "app.kubernetes.io/instance": args.stack },
            matchExpressions: [
              { key: "app.kubernetes.io/name", operator: "In", values: args.services.map((s) => s.role) },
            ],
          },
          podMetricsEndpoints: [...new Set(args.services.map((s) => s.port))].map((port) => ({
            port,
            path: "/metrics",
            interval: SCRAPE_INTERVAL,
          })),
        },
      },
      child,
    );

    new k8s.apiextensions.CustomResource(
      `${name}-rules`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: metadata("rules"),
        spec: alertRules({ runbookBaseUrl: args.runbookBaseUrl }),
      },
      child,
    );

    // The Secret holds exactly the configured receivers' secrets; with none, there is nothing to hold.
    const secrets = receiverSecrets(args.receivers);
    const secretName = `${args.stack}-alert-receivers`;
    const receiverSecret =
      secrets.length === 0
        ? undefined
        : new k8s.core.v1.Secret(
            `${name}-alert-receivers`,
            {
              metadata: metadata("alert-receivers"),
              type: "Opaque",
              // pulumi.secret again, in case a caller passes a plain value: the state stays encrypted.
              stringData: Object.fromEntries(secrets.map(([key, value]) => [key, pulumi.secret(value)])),
            },
            child,
          );
    new k8s.apiextensions.CustomResource(
      `${name}-alerts`,
      {
        apiVersion: "monitoring.coreos.com/v1alpha1",
        kind: "AlertmanagerConfig",
        metadata: metadata("alerts"),
        spec: alertmanagerConfigSpec(args.receivers, secretName),
      },
      // The operator reads the Secret when it renders the configuration: it must exist first.
      receiverSecret === undefined ? child : { ...child, dependsOn: [receiverSecret] },
    );

    for (const dashboard of DASHBOARDS) {
      new k8s.core.v1.ConfigMap(
        `${name}-dashboard-${dashboard.uid}`,
        {
          // grafana_dashboard is the label Grafana's sidecar (kube-prometheus-stack's default) collects.
          metadata: metadata(`dashboard-${dashboard.uid}`, { grafana_dashboard: "1" }),
          data: { [`${dashboard.uid}.json`]: JSON.stringify(dashboard) },
        },
        child,
      );
    }
    this.registerOutputs({});
  }
}
