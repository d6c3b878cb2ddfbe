import { DASHBOARDS, DATASOURCE_UID } from "./dashboards.ts";
import { PROMETHEUS_PORT } from "./prometheus-config.ts";

export const GRAFANA_PORT = 3000;
export const DASHBOARDS_DIR = "/etc/grafana/dashboards";

/** Files Grafana reads at start: the Prometheus datasource, one dashboards folder, and the dashboards. */
export function grafanaProvisioningFiles(): { file: string; content: string }[] {
  return [
    {
      file: "/etc/grafana/provisioning/datasources/prometheus.yml",
      content: JSON.stringify({
        apiVersion: 1,
        datasources: [
          {
            name: "Prometheus",
            uid: DATASOURCE_UID,
            type: "prometheus",
            access: "proxy",
            url: `http://prometheus:${PROMETHEUS_PORT}`,
            isDefault: true,
            editable: false,
          },
        ],
      }),
    },
    {
      file: "/etc/grafana/provisioning/dashboards/tidbstack.yml",
      content: JSON.stringify({
        apiVersion: 1,
        providers: [
          {
            name: "tidbstack",
            folder: "tidbstack",
            type: "file",
            disableDeletion: true,
            allowUiUpdates: false,
            options: { path: DASHBOARDS_DIR },
          },
        ],
      }),
    },
    ...DASHBOARDS.map((dashboard) => ({
      file: `${DASHBOARDS_DIR}/${dashboard.uid}.json`,
      content: JSON.stringify(dashboard, null, 2),
    })),
  ];
}
