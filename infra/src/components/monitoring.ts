import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { dataVolume, envList, loopbackPort } from "../lib/docker.ts";
import { grafanaHealth, prometheusHealth } from "../lib/healthchecks.ts";
import { alertRules } from "../lib/monitoring/alert-rules.ts";
import { GRAFANA_PORT, grafanaProvisioningFiles } from "../lib/monitoring/grafana-provisioning.ts";
import { prometheusConfig, PROMETHEUS_PORT, RULES_DIR } from "../lib/monitoring/prometheus-config.ts";

export interface MonitoringArgs {
  readonly networkName: pulumi.Input<string>;
  /** prom/prometheus tag (v3.x). */
  readonly prometheusVersion: string;
  /** grafana/grafana tag. */
  readonly grafanaVersion: string;
  /** The cluster's shape, so every PD and TiKV is a scrape target. */
  readonly pdCount: number;
  readonly tikvCount: number;
  /** Host port of Grafana, published on 127.0.0.1 only. */
  readonly grafanaPort: number;
  readonly grafanaAdminPassword: pulumi.Input<string>;
  /** Also publish Prometheus on 127.0.0.1:9090. Default false. */
  readonly publishPrometheus?: boolean;
  readonly keepData?: boolean;
}

/** Prometheus scraping every server of the stack with the project's alert rules, and Grafana with its dashboards. */
export class Monitoring extends pulumi.ComponentResource {
  readonly grafanaUrl: pulumi.Output<string>;
  readonly prometheusUrl: pulumi.Output<string | undefined>;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:monitoring:Monitoring", name, {}, opts);
    const parent = { parent: this };
    const volume = (role: string) => dataVolume(`${name}-${role}-data`, this, args.keepData);

    const prometheusImage = new docker.RemoteImage(
      `${name}-prometheus-image`,
      { name: `prom/prometheus:${args.prometheusVersion}`, keepLocally: true },
      parent,
    );
    const prometheus = new docker.Container(
      `${name}-prometheus`,
      {
        name: `${name}-prometheus`,
        image: prometheusImage.imageId,
        command: [
          "--config.file=/etc/prometheus/prometheus.yml",
          "--storage.tsdb.path=/prometheus",
          "--storage.tsdb.retention.time=15d",
        ],
        uploads: [
          {
            file: "/etc/prometheus/prometheus.yml",
            content: JSON.stringify(prometheusConfig(args), null, 2),
          },
          { file: `${RULES_DIR}/tidbstack.yml`, content: JSON.stringify(alertRules(), null, 2) },
        ],
        networksAdvanced: [{ name: args.networkName, aliases: ["prometheus"] }],
        volumes: [{ volumeName: volume("prometheus").name, containerPath: "/prometheus" }],
        ports: args.publishPrometheus === true ? [loopbackPort(PROMETHEUS_PORT)] : [],
        healthcheck: prometheusHealth(PROMETHEUS_PORT),
        restart: "unless-stopped",
        wait: true,
        waitTimeout: 120,
      },
      parent,
    );

    const grafanaImage = new docker.RemoteImage(
      `${name}-grafana-image`,
      { name: `grafana/grafana:${args.grafanaVersion}`, keepLocally: true },
      parent,
    );
    new docker.Container(
      `${name}-grafana`,
      {
        name: `${name}-grafana`,
        image: grafanaImage.imageId,
        envs: envList({
          GF_SECURITY_ADMIN_PASSWORD: args.grafanaAdminPassword,
          // A local stack: anyone who can reach 127.0.0.1 may look; only the admin may change anything.
          GF_AUTH_ANONYMOUS_ENABLED: "true",
          GF_AUTH_ANONYMOUS_ORG_ROLE: "Viewer",
          GF_USERS_ALLOW_SIGN_UP: "false",
          GF_ANALYTICS_REPORTING_ENABLED: "false",
          GF_ANALYTICS_CHECK_FOR_UPDATES: "false",
          GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH: "/etc/grafana/dashboards/tidbstack-overview.json",
        }),
        uploads: grafanaProvisioningFiles(),
        networksAdvanced: [{ name: args.networkName, aliases: ["grafana"] }],
        volumes: [{ volumeName: volume("grafana").name, containerPath: "/var/lib/grafana" }],
        ports: [loopbackPort(GRAFANA_PORT, args.grafanaPort)],
        healthcheck: grafanaHealth(GRAFANA_PORT),
        restart: "unless-stopped",
        wait: true,
        waitTimeout: 120,
      },
      // Its only datasource is this Prometheus.
      { ...parent, dependsOn: [prometheus] },
    );

    this.grafanaUrl = pulumi.output(`http://127.0.0.1:${args.grafanaPort}`);
    this.prometheusUrl = pulumi.output(
      args.publishPrometheus === true ? `http://127.0.0.1:${PROMETHEUS_PORT}` : undefined,
    );
    this.registerOutputs({ grafanaUrl: this.grafanaUrl, prometheusUrl: this.prometheusUrl });
  }
}
