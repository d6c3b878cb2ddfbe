import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
  alertmanagerContainerSpec,
  type ContainerSpec,
  grafanaContainerSpec,
  type LogRotation,
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
  /** How its containers' logs are rotated (config logMaxSize, logMaxFiles). */
  readonly logRotation: LogRotation;
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

    /** One upstream server: its image pulled by tag and kept locally, its container on a volume of its own. */
    const server = (
      role: string,
      image: string,
      spec: ContainerSpec<pulumi.Input<string>>,
      ports: docker.types.input.ContainerPort[],
      options: pulumi.CustomResourceOptions,
    ) => {
      const remote = new docker.RemoteImage(
        `${name}-${role}-image`,
        { name: image, keepLocally: true },
        parent,
      );
      return serverContainer(
        `${name}-${role}`,
        {
          networkName: args.networkName,
          image: remote.imageId,
          spec,
          volume: volume(role),
          ports,
          waitTimeout,
          logRotation: args.logRotation,
        },
        options,
      );
    };

    const prometheus = server(
      "prometheus",
      `prom/prometheus:${args.prometheusVersion}`,
      prometheusContainerSpec({
        pdCount: args.pdCount,
        tikvCount: args.tikvCount,
        runbookBaseUrl: args.runbookBaseUrl,
      }),
      args.publishPrometheus === true ? [loopbackPort(PROMETHEUS_PORT)] : [],
      childOf(this, opts),
    );
    // Prometheus finds it by its alias whenever it is up, and keeps firing alerts until it is, so neither
    // waits for the other.
    server(
      "alertmanager",
      `prom/alertmanager:${args.alertmanagerVersion}`,
      alertmanagerContainerSpec({ receivers: args.receivers }),
      [loopbackPort(ALERTMANAGER_PORT, args.alertmanagerPort)],
      childOf(this, opts),
    );
    server(
      "grafana",
      `grafana/grafana:${args.grafanaVersion}`,
      grafanaContainerSpec({ adminPassword: args.grafanaAdminPassword }),
      [loopbackPort(GRAFANA_PORT, args.grafanaPort)],
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
