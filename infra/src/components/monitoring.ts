import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
  alertmanagerContainerSpec,
  grafanaContainerSpec,
  prometheusContainerSpec,
} from "../lib/container-specs.ts";
import { dataVolume, loopbackPort, serverContainer } from "../lib/docker.ts";
import { childOf } from "../lib/options.ts";
import { ALERTMANAGER_PORT, type AlertReceivers } from "../lib/monitoring/alertmanager-config.ts";
import { GRAFANA_PORT } from "../lib/monitoring/grafana-provisioning.ts";
import { PROMETHEUS_PORT } from "../lib/monitoring/prometheus-config.ts";

export interface MonitoringArgs {
  /** Name of the Docker network Prometheus and Grafana join. */
  readonly networkName: pulumi.Input<string>;
  /** prom/prometheus tag (v3.x). */
  readonly prometheusVersion: string;
  /** grafana/grafana tag. */
  readonly grafanaVersion: string;
  /** prom/alertmanager tag (v0.26 or newer: the webhook's URL is read from a file). */
  readonly alertmanagerVersion: string;
  /** Host port of Alertmanager's UI and API, published on 127.0.0.1 only. */
  readonly alertmanagerPort: number;
  /** Where alerts go (secret values stay Outputs); none: they collect in Alertmanager's UI. */
  readonly receivers: AlertReceivers<pulumi.Input<string>>;
  /** Base of every alert's `runbook_url`. */
  readonly runbookBaseUrl: string;
  /** PD servers in the cluster: each is a scrape target. */
  readonly pdCount: number;
  /** TiKV stores in the cluster: each is a scrape target. */
  readonly tikvCount: number;
  /** Host port of Grafana, published on 127.0.0.1 only. */
  readonly grafanaPort: number;
  /** Grafana's admin password (a secret). */
  readonly grafanaAdminPassword: pulumi.Input<string>;
  /** Also publish Prometheus on 127.0.0.1:9090. Default false. */
  readonly publishPrometheus?: boolean;
  /** Leave the data volumes in Docker when the stack is destroyed. Default false. */
  readonly keepData?: boolean;
}

/**
 * Prometheus scraping every server of the stack with the project's alert rules, Alertmanager routing what
 * fires to the configured receivers, and Grafana with its dashboards.
 */
export class Monitoring extends pulumi.ComponentResource {
  /** Grafana on the host's loopback interface. */
  readonly grafanaUrl: pulumi.Output<string>;
  /** Alertmanager's UI and API on the host's loopback interface. */
  readonly alertmanagerUrl: pulumi.Output<string>;
  /** Prometheus on the host's loopback interface; undefined unless published. */
  readonly prometheusUrl: pulumi.Output<string> | undefined;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:monitoring:Monitoring", name, {}, opts);
    const parent = { parent: this };
    const volume = (role: string) => dataVolume(`${name}-${role}-data`, this, args.keepData);
    // Not measured: all three serve within seconds once their image is local; two minutes, twice Docker's default.
    const waitTimeout = 120;

    const prometheusImage = new docker.RemoteImage(
      `${name}-prometheus-image`,
      { name: `prom/prometheus:${args.prometheusVersion}`, keepLocally: true },
      parent,
    );
    const prometheus = serverContainer(
      `${name}-prometheus`,
      {
        networkName: args.networkName,
        image: prometheusImage.imageId,
        spec: prometheusContainerSpec({
          pdCount: args.pdCount,
          tikvCount: args.tikvCount,
          runbookBaseUrl: args.runbookBaseUrl,
        }),
        volume: volume("prometheus"),
        ports: args.publishPrometheus === true ? [loopbackPort(PROMETHEUS_PORT)] : [],
        waitTimeout,
      },
      childOf(this, opts),
    );

    const alertmanagerImage = new docker.RemoteImage(
      `${name}-alertmanager-image`,
      { name: `prom/alertmanager:${args.alertmanagerVersion}`, keepLocally: true },
      parent,
    );
    // Prometheus finds it by its alias whenever it is up, and keeps firing alerts until it is, so neither
    // waits for the other.
    serverContainer(
      `${name}-alertmanager`,
      {
        networkName: args.networkName,
        image: alertmanagerImage.imageId,
        spec: alertmanagerContainerSpec({ receivers: args.receivers }),
        volume: volume("alertmanager"),
        ports: [loopbackPort(ALERTMANAGER_PORT, args.alertmanagerPort)],
        waitTimeout,
      },
      childOf(this, opts),
    );

    const grafanaImage = new docker.RemoteImage(
      `${name}-grafana-image`,
      { name: `grafana/grafana:${args.grafanaVersion}`, keepLocally: true },
      parent,
    );
    serverContainer(
      `${name}-grafana`,
      {
        networkName: args.networkName,
        image: grafanaImage.imageId,
        spec: grafanaContainerSpec({ adminPassword: args.grafanaAdminPassword }),
        volume: volume("grafana"),
        ports: [loopbackPort(GRAFANA_PORT, args.grafanaPort)],
        waitTimeout,
      },
      // Its only datasource is this Prometheus.
      { ...parent, dependsOn: [prometheus] },
    );

    this.grafanaUrl = pulumi.output(`http://127.0.0.1:${args.grafanaPort}`);
    this.alertmanagerUrl = pulumi.output(`http://127.0.0.1:${args.alertmanagerPort}`);
    this.prometheusUrl =
      args.publishPrometheus === true ? pulumi.output(`http://127.0.0.1:${PROMETHEUS_PORT}`) : undefined;
    this.registerOutputs({
      grafanaUrl: this.grafanaUrl,
      alertmanagerUrl: this.alertmanagerUrl,
      ...(this.prometheusUrl === undefined ? {} : { prometheusUrl: this.prometheusUrl }),
    });
  }
}
