import type { Metric, Registry } from "prom-client";

/** Label values of one series, in the order Prometheus text lists them after `le`. */
export type SeriesLabels = Readonly<Record<string, string>>;

/** One label set's observations: per-bucket counts (not cumulative), their sum and their number. */
export interface HistogramSeries {
  readonly labels: SeriesLabels;
  readonly buckets: number[];
  sum: number;
  count: number;
}

interface ExportedValue {
  labels: Record<string, string | number>;
  sharedLabels: SeriesLabels;
  value: number;
  metricName: string;
  exemplar: null | undefined;
}

/**
 * A Prometheus histogram whose series are created once and then observed with a few additions, for
 * observing every HTTP request. prom-client's Histogram validates and hashes the label set and converts
 * the bucket bound to a property name on every observe(), which cost several microseconds per request,
 * about half of what the API's middleware added to a bare Express app.
 *
 * It is registered on a prom-client Registry and exports exactly what prom-client's Histogram exports for
 * the same observations (same names, labels, cumulative buckets, +Inf, _sum and _count; a unit test
 * compares the two), through the two methods the Registry calls: `getForPromString()` for the text
 * format and `get()` for JSON.
 */
export class RequestHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  private readonly bounds: readonly number[];
  private series: HistogramSeries[] = [];

  constructor(options: {
    name: string;
    help: string;
    labelNames: readonly string[];
    buckets: readonly number[];
    registry: Registry;
  }) {
    if (options.buckets.some((bound, i) => i > 0 && bound <= (options.buckets[i - 1] as number))) {
      throw new RangeError("histogram buckets must increase");
    }
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames;
    this.bounds = options.buckets;
    options.registry.registerMetric(this as unknown as Metric);
  }

  /** A new series for `labels`; the caller keeps it and observes it for the process's life. */
  newSeries(labels: SeriesLabels): HistogramSeries {
    const series: HistogramSeries = { labels, buckets: this.bounds.map(() => 0), sum: 0, count: 0 };
    this.series.push(series);
    return series;
  }

  /** Adds `value` to the first bucket whose bound is at least `value` (none: only +Inf), as prom-client does. */
  observe(series: HistogramSeries, value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const { bounds } = this;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    if (i < bounds.length) series.buckets[i] = (series.buckets[i] as number) + 1;
    series.sum += value;
    series.count++;
  }

  /** Forgets every observation (Registry.resetMetrics()); the series stay valid, unexported until observed. */
  reset(): void {
    for (const series of this.series) {
      series.buckets.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }

  getForPromString(): Promise<{
    name: string;
    help: string;
    type: "histogram";
    values: ExportedValue[];
    aggregator: "sum";
  }> {
    const values: ExportedValue[] = [];
    for (const series of this.series) {
      // prom-client has a series only once it is observed (again, after a reset).
      if (series.count === 0) continue;
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += series.buckets[i] as number;
        values.push(this.value({ le: bound }, cumulative, "_bucket", series.labels, null));
      });
      values.push(this.value({ le: "+Inf" }, series.count, "_bucket", series.labels, null));
      values.push(this.value({}, series.sum, "_sum", series.labels, undefined));
      values.push(this.value({}, series.count, "_count", series.labels, undefined));
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    });
  }

  /** The JSON form (Registry.getMetricsAsJSON()): each value's labels include its series' labels. */
  async get(): Promise<{
    name: string;
    help: string;
    type: "histogram";
    values: {
      labels: Record<string, string | number>;
      value: number;
      metricName: string;
      exemplar: null | undefined;
    }[];
    aggregator: "sum";
  }> {
    const data = await this.getForPromString();
    return {
      ...data,
      values: data.values.map(({ sharedLabels, labels, ...rest }) => ({
        ...rest,
        labels: { ...labels, ...sharedLabels },
      })),
    };
  }

  private value(
    labels: Record<string, string | number>,
    value: number,
    suffix: string,
    sharedLabels: SeriesLabels,
    exemplar: null | undefined,
  ): ExportedValue {
    return { labels, sharedLabels, value, metricName: `${this.name}${suffix}`, exemplar };
  }
}
