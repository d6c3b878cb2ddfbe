import { API_METRICS_PORT, CONSUMER_METRICS_PORT, PURGE_METRICS_PORT } from "../service-env.ts";
import { pdName, PORTS, range, tikvName } from "../topology.ts";
import { ALERTMANAGER_PORT } from "./alertmanager-config.ts";

export const PROMETHEUS_PORT = 9090;
export const RULES_DIR = "/etc/prometheus/rules";
/** How often every target is scraped and rules evaluated. */
export const SCRAPE_INTERVAL = "15s";

export interface ScrapeTopology {
  /** PD servers: each is a target of job pd. */
  readonly pdCount: number;
  /** TiKV stores: each is a target of job tikv. */
  readonly tikvCount: number;
}

export interface PrometheusOptions {
  /** How often targets are scraped and rules evaluated; default SCRAPE_INTERVAL. A test shortens it. */
  readonly scrapeInterval?: string;
}

/**
 * Prometheus's configuration, generated from the same topology the program declares, so a cluster of three
 * PDs and three TiKVs is scraped as three targets each. Job names pd, tikv, tidb and ticdc are the ones
 * TiDB's own dashboards and alert rules expect. Firing alerts go to the stack's Alertmanager. JSON is
 * valid YAML, so this is written out as JSON.
 */
export function prometheusConfig(
  topology: ScrapeTopology,
  options: PrometheusOptions = {},
): Record<string, unknown> {
  const job = (name: string, targets: string[]) => ({ job_name: name, static_configs: [{ targets }] });
  const interval = options.scrapeInterval ?? SCRAPE_INTERVAL;
  return {
    global: { scrape_interval: interval, evaluation_interval: interval },
    alerting: {
      alertmanagers: [{ static_configs: [{ targets: [`alertmanager:${ALERTMANAGER_PORT}`] }] }],
    },
    rule_files: [`${RULES_DIR}/*.yml`],
    scrape_configs: [
      job("prometheus", [`127.0.0.1:${PROMETHEUS_PORT}`]),
      job(
        "pd",
        range(topology.pdCount).map((i) => `${pdName(i)}:${PORTS.pdClient}`),
      ),
      // TiKV serves metrics on its status address, which the program binds to 0.0.0.0 so it is reachable here.
      job(
        "tikv",
        range(topology.tikvCount).map((i) => `${tikvName(i)}:${PORTS.tikvStatus}`),
      ),
      job("tidb", [`tidb:${PORTS.tidbStatus}`]),
      job("ticdc", [`ticdc:${PORTS.ticdc}`]),
      job("api", [`api:${API_METRICS_PORT}`]),
      job("consumer", [`consumer:${CONSUMER_METRICS_PORT}`]),
      job("purge", [`purge:${PURGE_METRICS_PORT}`]),
    ],
  };
}
