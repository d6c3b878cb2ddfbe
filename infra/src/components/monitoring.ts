import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { grafanaContainerSpec, prometheusContainerSpec, type LogRotation } from "../lib/container-specs.ts";
import { dataVolume, loopbackPort, serverContainer } from "../lib/docker.ts";
import { childOf } from "../lib/options.ts";
import { GRAFANA_PORT } from "../lib/monitoring/grafana-provisioning.ts";
import { PROMETHEUS_PORT } from "../lib/monitoring/prometheus-config.ts";

export interface MonitoringArgs {
  /** Name of the Docker network Prometheus and Grafana join. */
  readonly networkName: pulumi.Input<string>;
  /** prom/prometheus tag (v3.x). */
  readonly prometheusVersion: string;
  /** grafana/grafana tag. */
  readonly grafanaVersion: string;
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

/** Prometheus scraping every server of the stack with the project's alert rules, and Grafana with its dashboards. */
export class Monitoring extends pulumi.ComponentResource {
  /** Grafana on the host's loopback interface. */
  readonly grafanaUrl: pulumi.Output<string>;
  /** Prometheus on the host's loopback interface; undefined unless published. */
  readonly prometheusUrl: pulumi.Output<string> | undefined;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:monitoring:Monitoring", name, {}, opts);
    const parent = { parent: this };
    const volume = (role: string) => dataVolume(`${name}-${role}-data`, this, args.keepData);
    // Not measured: both serve within seconds once their image is local; two minutes, twice Docker's default.
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
        spec: prometheusContainerSpec({ pdCount: args.pdCount, tikvCount: args.tikvCount }),
        volume: volume("prometheus"),
        ports: args.publishPrometheus === true ? [loopbackPort(PROMETHEUS_PORT)] : [],
        waitTimeout,
        logRotation: args.logRotation,
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
        logRotation: args.logRotation,
      },
      // Its only datasource is this Prometheus.
      { ...parent, dependsOn: [prometheus] },
    );

    this.grafanaUrl = pulumi.output(`http://127.0.0.1:${args.grafanaPort}`);
    this.prometheusUrl =
      args.publishPrometheus === true ? pulumi.output(`http://127.0.0.1:${PROMETHEUS_PORT}`) : undefined;
    this.registerOutputs({
      grafanaUrl: this.grafanaUrl,
      ...(this.prometheusUrl === undefined ? {} : { prometheusUrl: this.prometheusUrl }),
    });
  }
}
