/**
 * The stack's alert rules, written for its own services and the upstream metrics that matter here. Every
 * alert carries a `severity` (page or ticket: how Alertmanager routes it), a `job` (the scrape job of the
 * service it is about, so that an inhibition rule can silence it while that job's target is down), and the
 * annotations the Prometheus community's tools read: `summary`, a `description` with the value that fired,
 * and `runbook_url`, the alert's page under docs/runbooks/. JSON is valid YAML: the rule file is this
 * object serialised.
 */

/** The API's availability objective: 99.9% of requests answered without a 5xx. */
export const API_SLO = 0.999;
/**
 * The share of requests allowed to fail, 0.001. `1 - 0.999` is 0.0010000000000000009 in binary floating
 * point, which would be written into the rules as such: rounded to the SLO's own precision.
 */
export const ERROR_BUDGET = Number((1 - API_SLO).toFixed(6));

/**
 * Where the runbook pages are read when no `runbookBaseUrl` is set: docs/runbooks/ of this repository, as a
 * path the person paged opens in their clone. The program cannot know where the repository is published,
 * so a made-up web address would be a dead link; setting `runbookBaseUrl` to the published folder (a
 * GitHub `blob/main/docs/runbooks` address, an internal docs site) makes the links clickable.
 */
export const DEFAULT_RUNBOOK_BASE_URL = "docs/runbooks";

/** The runbook page of an alert: `<base>/<AlertName>.md`, the file docs/runbooks/<AlertName>.md. */
export const runbookUrl = (baseUrl: string, alertName: string): string =>
  `${baseUrl.replace(/\/+$/, "")}/${alertName}.md`;

/** Requests that count for the SLO: real traffic, not probes and scrapes. */
const SLI_SELECTOR = 'job="api",route!~"/health|/ready|/metrics"';

export type Severity = "page" | "ticket";

export interface Rule {
  readonly record?: string;
  readonly alert?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

export interface AlertRuleOptions {
  /** Base of every `runbook_url` (see runbookUrl). Default DEFAULT_RUNBOOK_BASE_URL. */
  readonly runbookBaseUrl?: string;
  /**
   * One `for` duration for every alert instead of each one's own: a test uses it to see alerts fire in
   * seconds. Default: each alert's own.
   */
  readonly pendingFor?: string;
}

interface AlertSpec {
  readonly name: string;
  readonly expr: string;
  /** How long the condition must hold before the alert fires. */
  readonly for: string;
  readonly severity: Severity;
  /**
   * The scrape job of the service the alert is about (see the module comment); undefined when the alert's
   * series carry their own.
   */
  readonly job: string | undefined;
  /** One line, without values: a notification's title. */
  readonly summary: string;
  /** What fired, with the value (`{{ $value }}`) and the labels that locate it. */
  readonly description: string;
}

/** API error ratio over each window the burn-rate alerts use. */
const errorRatioRules: Rule[] = ["5m", "30m", "1h", "6h"].map((window) => ({
  record: `api:request_errors:ratio_rate${window}`,
  expr: `sum(rate(http_requests_total{${SLI_SELECTOR},status=~"5.."}[${window}])) / sum(rate(http_requests_total{${SLI_SELECTOR}}[${window}]))`,
}));

/** Every alert of the stack; each has its page docs/runbooks/<name>.md. */
export const ALERTS: readonly AlertSpec[] = [
  {
    name: "TargetDown",
    expr: "up == 0",
    for: "2m",
    severity: "page",
    // The series' own job label names the target's job.
    job: undefined,
    summary: "A scrape target is down",
    description: "{{ $labels.job }} target {{ $labels.instance }} has not answered a scrape for 2 minutes",
  },
  // Multi-window burn rates (Google SRE workbook): 2% of a 30-day budget in an hour pages; 5% in six hours opens a ticket.
  {
    name: "ApiErrorBudgetFastBurn",
    expr: `api:request_errors:ratio_rate1h > (14.4 * ${ERROR_BUDGET}) and api:request_errors:ratio_rate5m > (14.4 * ${ERROR_BUDGET})`,
    for: "2m",
    severity: "page",
    job: "api",
    summary: "The API is burning its error budget 14x too fast",
    description:
      "The API is burning its 99.9% availability budget 14x too fast (5xx ratio {{ $value | humanizePercentage }})",
  },
  {
    name: "ApiErrorBudgetSlowBurn",
    expr: `api:request_errors:ratio_rate6h > (6 * ${ERROR_BUDGET}) and api:request_errors:ratio_rate30m > (6 * ${ERROR_BUDGET})`,
    for: "15m",
    severity: "ticket",
    job: "api",
    summary: "The API is burning its error budget 6x too fast",
    description:
      "The API is burning its 99.9% availability budget 6x too fast (5xx ratio {{ $value | humanizePercentage }})",
  },
  {
    name: "LoginLatencyHigh",
    expr: 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job="api",route="/login"}[5m]))) > 2',
    for: "10m",
    severity: "ticket",
    job: "api",
    summary: "Logins are slow",
    description: "Login p99 latency is {{ $value | humanizeDuration }}: password hashing is saturated",
  },
  {
    name: "ChangefeedNotNormal",
    expr: "max by (changefeed) (ticdc_owner_status) > 0",
    for: "5m",
    severity: "page",
    job: "ticdc",
    summary: "A TiCDC changefeed is not normal",
    description: "TiCDC changefeed {{ $labels.changefeed }} is not normal (state code {{ $value }})",
  },
  {
    name: "TicdcCheckpointLagHigh",
    expr: "max by (changefeed) (ticdc_owner_checkpoint_ts_lag) > 60",
    for: "5m",
    severity: "page",
    job: "ticdc",
    summary: "A TiCDC changefeed's checkpoint is behind",
    description:
      "TiCDC changefeed {{ $labels.changefeed }} checkpoint is {{ $value | humanizeDuration }} behind",
  },
  // TiCDC sends watermarks even when nothing changes, so an old one means the pipeline has stalled.
  {
    name: "CdcFreshnessStale",
    expr: 'time() - max(cdc_last_watermark_timestamp_seconds{job="consumer"}) > 120',
    for: "5m",
    severity: "page",
    job: "consumer",
    summary: "Downstream data is stale",
    description:
      "The consumer's newest TiCDC watermark is {{ $value | humanizeDuration }} old: downstream is stale",
  },
  // Per group: each group reads the whole topic, so two groups' lags added together mean nothing.
  {
    name: "ConsumerLagGrowing",
    expr: 'sum by (group) (cdc_consumer_group_lag_messages{job="consumer"}) > 1000 and deriv(sum by (group) (cdc_consumer_group_lag_messages{job="consumer"})[15m:1m]) > 0',
    for: "10m",
    severity: "ticket",
    job: "consumer",
    summary: "A consumer group is falling behind",
    description:
      "Consumer group {{ $labels.group }} is {{ $value }} messages behind and falling further behind",
  },
  {
    name: "DlqMessages",
    expr: 'sum(increase(cdc_dlq_messages_total{job="consumer"}[10m])) > 0',
    for: "0m",
    severity: "ticket",
    job: "consumer",
    summary: "Messages went to the dead-letter topic",
    description:
      'About {{ $value | printf "%.0f" }} message(s) went to the dead-letter topic in the last 10 minutes',
  },
  {
    name: "TikvStoreDown",
    expr: 'sum(pd_cluster_status{job="pd",type=~"store_down_count|store_disconnected_count"}) > 0',
    for: "1m",
    severity: "page",
    job: "tikv",
    summary: "A TiKV store is down",
    description: "PD reports {{ $value }} TiKV store(s) down or disconnected",
  },
];

const alertRule = (spec: AlertSpec, options: AlertRuleOptions): Rule => ({
  alert: spec.name,
  expr: spec.expr,
  for: options.pendingFor ?? spec.for,
  labels: { severity: spec.severity, ...(spec.job === undefined ? {} : { job: spec.job }) },
  annotations: {
    summary: spec.summary,
    description: spec.description,
    runbook_url: runbookUrl(options.runbookBaseUrl ?? DEFAULT_RUNBOOK_BASE_URL, spec.name),
  },
});

export function alertRules(options: AlertRuleOptions = {}): { groups: { name: string; rules: Rule[] }[] } {
  return {
    groups: [
      { name: "tidbstack-recording", rules: errorRatioRules },
      { name: "tidbstack-alerts", rules: ALERTS.map((spec) => alertRule(spec, options)) },
    ],
  };
}
