/**
 * Grafana dashboards written for this stack, as JSON models provisioned from files. Panels are laid out
 * two per row; ids follow their order, so they are unique by construction.
 */

export const DATASOURCE_UID = "prometheus";

export interface PanelSpec {
  readonly title: string;
  readonly description: string;
  /** PromQL per series, with its legend. */
  readonly queries: readonly { readonly expr: string; readonly legend: string }[];
  readonly unit: string;
  readonly type?: "timeseries" | "stat";
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly Record<string, unknown>[];
  readonly [key: string]: unknown;
}

function dashboard(uid: string, title: string, description: string, specs: readonly PanelSpec[]): Dashboard {
  return {
    uid,
    title,
    description,
    tags: ["tidbstack"],
    schemaVersion: 39,
    version: 1,
    editable: false,
    time: { from: "now-1h", to: "now" },
    refresh: "30s",
    panels: specs.map((spec, index) => ({
      id: index + 1,
      type: spec.type ?? "timeseries",
      title: spec.title,
      description: spec.description,
      datasource: { type: "prometheus", uid: DATASOURCE_UID },
      gridPos: { h: 8, w: 12, x: (index % 2) * 12, y: Math.floor(index / 2) * 8 },
      fieldConfig: { defaults: { unit: spec.unit }, overrides: [] },
      targets: spec.queries.map((query, q) => ({
        refId: String.fromCharCode(65 + q),
        datasource: { type: "prometheus", uid: DATASOURCE_UID },
        expr: query.expr,
        legendFormat: query.legend,
      })),
    })),
  };
}

const API = 'job="api"';
const CONSUMER = 'job="consumer"';

export const STACK_OVERVIEW = dashboard(
  "tidbstack-overview",
  "Stack overview",
  "The API (rate, errors, duration), logins, the CDC pipeline's throughput, freshness and lag, the DLQ, and every scrape target.",
  [
    {
      title: "API requests by route",
      description: "Requests per second by route template.",
      unit: "reqps",
      queries: [{ expr: `sum by (route) (rate(http_requests_total{${API}}[5m]))`, legend: "{{route}}" }],
    },
    {
      title: "API error ratio",
      description: "Share of requests answered 5xx; the SLO allows 0.1%.",
      unit: "percentunit",
      queries: [{ expr: "api:request_errors:ratio_rate5m", legend: "5xx ratio (5m)" }],
    },
    {
      title: "API p99 latency by route",
      description: "99th percentile time to answer, by route.",
      unit: "s",
      queries: [
        {
          expr: `histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{${API}}[5m])))`,
          legend: "{{route}}",
        },
      ],
    },
    {
      title: "Logins by outcome",
      description: "Login attempts per second: success, failure, rate_limited, invalid_request, unavailable.",
      unit: "reqps",
      queries: [{ expr: `sum by (outcome) (rate(login_attempts_total{${API}}[5m]))`, legend: "{{outcome}}" }],
    },
    {
      title: "CDC events by table and type",
      description: "Row changes the consumer processed per second.",
      unit: "ops",
      queries: [
        {
          expr: `sum by (table, type) (rate(cdc_events_total{${CONSUMER}}[5m]))`,
          legend: "{{table}} {{type}}",
        },
      ],
    },
    {
      title: "End-to-end freshness",
      description:
        "How stale the downstream is: age of the newest TiCDC watermark seen (everything committed before it has arrived), and of the newest row change processed.",
      unit: "s",
      queries: [
        { expr: `time() - max(cdc_last_watermark_timestamp_seconds{${CONSUMER}})`, legend: "watermark age" },
        { expr: `time() - max(cdc_last_commit_timestamp_seconds{${CONSUMER}})`, legend: "newest change age" },
      ],
    },
    {
      title: "Commit → consumer latency (p99)",
      description: "Time from a row's commit in TiDB to its processing by the consumer.",
      unit: "s",
      queries: [
        {
          expr: `histogram_quantile(0.99, sum by (le) (rate(cdc_event_lag_seconds_bucket{${CONSUMER}}[5m])))`,
          legend: "p99",
        },
      ],
    },
    {
      title: "Consumer group lag",
      description:
        "Messages not yet committed by each consumer group, per partition: groups are never added together, since each reads the whole topic.",
      unit: "short",
      queries: [
        {
          expr: `sum by (group, partition) (cdc_consumer_group_lag_messages{${CONSUMER}})`,
          legend: "{{group}} partition {{partition}}",
        },
      ],
    },
    {
      title: "Dead-lettered messages",
      description: "Messages copied to the DLQ in the last 5 minutes, by reason.",
      unit: "short",
      queries: [
        { expr: `sum by (reason) (increase(cdc_dlq_messages_total{${CONSUMER}}[5m]))`, legend: "{{reason}}" },
      ],
    },
    {
      title: "Scrape targets up",
      description: "1 when Prometheus reached the target at its last scrape.",
      unit: "short",
      type: "stat",
      queries: [{ expr: "up", legend: "{{job}} {{instance}}" }],
    },
  ],
);

export const TIDB_CLUSTER = dashboard(
  "tidbstack-tidb",
  "TiDB cluster",
  "A compact view of the upstream metrics that matter to this stack: TiDB load, TiKV stores, PD's view of regions, and TiCDC's progress.",
  [
    {
      title: "TiDB queries per second",
      description: "Statements TiDB executed per second, by type.",
      unit: "ops",
      queries: [
        { expr: 'sum by (type) (rate(tidb_server_query_total{job="tidb"}[1m]))', legend: "{{type}}" },
      ],
    },
    {
      title: "TiDB query duration (p99)",
      description: "99th percentile statement duration.",
      unit: "s",
      queries: [
        {
          expr: 'histogram_quantile(0.99, sum by (le) (rate(tidb_server_handle_query_duration_seconds_bucket{job="tidb"}[1m])))',
          legend: "p99",
        },
      ],
    },
    {
      title: "TiKV stores by state",
      description: "PD's count of stores per state (up, down, disconnected, offline, tombstone).",
      unit: "short",
      queries: [
        { expr: 'sum by (type) (pd_cluster_status{job="pd",type=~"store_.*_count"})', legend: "{{type}}" },
      ],
    },
    {
      title: "TiKV capacity",
      description: "Store capacity and available space per TiKV.",
      unit: "bytes",
      queries: [
        {
          expr: 'sum by (instance, type) (tikv_store_size_bytes{job="tikv",type=~"capacity|available"})',
          legend: "{{instance}} {{type}}",
        },
      ],
    },
    {
      title: "PD region health",
      description: "Regions PD considers unhealthy, by kind (miss-peer, extra-peer, pending-peer ...).",
      unit: "short",
      queries: [{ expr: 'sum by (type) (pd_regions_status{job="pd"})', legend: "{{type}}" }],
    },
    {
      title: "TiCDC checkpoint lag",
      description: "How far each changefeed's checkpoint is behind now.",
      unit: "s",
      queries: [
        {
          expr: 'max by (changefeed) (ticdc_owner_checkpoint_ts_lag{job="ticdc"})',
          legend: "{{changefeed}}",
        },
      ],
    },
    {
      title: "TiCDC resolved-ts lag",
      description: "How far each changefeed's resolved timestamp is behind now.",
      unit: "s",
      queries: [
        { expr: 'max by (changefeed) (ticdc_owner_resolved_ts_lag{job="ticdc"})', legend: "{{changefeed}}" },
      ],
    },
    {
      title: "Changefeed state",
      description: "TiCDC's state code per changefeed: 0 normal, anything else needs attention.",
      unit: "short",
      type: "stat",
      queries: [{ expr: 'max by (changefeed) (ticdc_owner_status{job="ticdc"})', legend: "{{changefeed}}" }],
    },
  ],
);

export const DASHBOARDS: readonly Dashboard[] = [STACK_OVERVIEW, TIDB_CLUSTER];

/**
 * Metric names of TiDB, TiKV, PD and TiCDC that the dashboards and rules rely on. Everything else they use
 * must be registered by the API or the consumer; a test checks both.
 */
export const UPSTREAM_METRICS: readonly string[] = [
  "up",
  "tidb_server_query_total",
  "tidb_server_handle_query_duration_seconds_bucket",
  "pd_cluster_status",
  "pd_regions_status",
  "tikv_store_size_bytes",
  "ticdc_owner_checkpoint_ts_lag",
  "ticdc_owner_resolved_ts_lag",
  "ticdc_owner_status",
];
