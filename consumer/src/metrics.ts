import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { LabelSetTable } from "@tidbstack/service-kit";
import { DLQ_REASONS } from "./events.ts";

export interface ConsumerMetrics {
  readonly registry: Registry;
  readonly events: Counter<"database" | "table" | "type">;
  /** Counts one processed row change in `events`; cheap enough to call once per row (see LabelSetTable). */
  readonly countEvent: (database: string, table: string, type: string) => void;
  readonly eventLag: Histogram;
  readonly ddl: Counter;
  readonly dlq: Counter<"reason">;
  readonly duplicates: Counter;
  readonly lastWatermark: Gauge;
  readonly lastCommit: Gauge;
  readonly groupLag: Gauge<"group" | "topic" | "partition">;
}

export function createConsumerMetrics(): ConsumerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const eventCounts = new LabelSetTable((database: string, table: string, type: string) => ({
    labels: { database, table, type },
    count: 0,
  }));
  const events = new Counter({
    name: "cdc_events_total",
    help: "Row changes processed, by database, table and type (INSERT, UPDATE, DELETE)",
    labelNames: ["database", "table", "type"],
    registers,
    collect: () => {
      eventCounts.flushCounts((labels, count) => {
        events.inc(labels, count);
      });
    },
  });
  const metrics: ConsumerMetrics = {
    registry,
    events,
    countEvent: (database, table, type) => {
      eventCounts.entry(database, table, type).count++;
    },
    eventLag: new Histogram({
      name: "cdc_event_lag_seconds",
      help: "Time from the row's commit in TiDB to its processing here",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers,
    }),
    ddl: new Counter({ name: "cdc_ddl_total", help: "DDL statements seen in the change stream", registers }),
    dlq: new Counter({
      name: "cdc_dlq_messages_total",
      help: "Messages copied to the dead-letter topic, by reason",
      labelNames: ["reason"],
      registers,
    }),
    duplicates: new Counter({
      name: "cdc_duplicates_skipped_total",
      help: "Row changes delivered again and skipped (same database, table, primary key and commitTs)",
      registers,
    }),
    lastWatermark: new Gauge({
      name: "cdc_last_watermark_timestamp_seconds",
      help: "Commit time of the newest TiCDC watermark seen: everything committed before it has been delivered",
      registers,
    }),
    lastCommit: new Gauge({
      name: "cdc_last_commit_timestamp_seconds",
      help: "Commit time in TiDB of the newest row change processed",
      registers,
    }),
    groupLag: new Gauge({
      name: "cdc_consumer_group_lag_messages",
      help: "Messages on each partition not yet committed by the consumer group (high watermark - committed offset)",
      labelNames: ["group", "topic", "partition"],
      registers,
    }),
  };
  // Export every DLQ series at 0 from the start: a labelled counter born at 1 has no earlier sample, so
  // increase() and rate() would never see the first dead letter.
  for (const reason of DLQ_REASONS) metrics.dlq.inc({ reason }, 0);
  return metrics;
}
