import type { Admin } from "kafkajs";
import type { Logger } from "@tidbstack/service-kit";
import type { ConsumerMetrics } from "./metrics.ts";

export interface LagMonitorDeps {
  readonly admin: Admin;
  readonly topic: string;
  readonly groupId: string;
  readonly metrics: ConsumerMetrics;
  readonly logger: Logger;
  /** How often to measure, in ms. Default 10 s, a little under a typical scrape interval. */
  readonly intervalMs?: number;
}

/**
 * Measures the consumer group's lag per partition (high watermark minus committed offset) with the Kafka
 * admin API and exports it as cdc_consumer_group_lag_messages, labelled with the group: several groups may
 * read the topic, and each one's lag is its own. Measured from the group's committed offsets, so it also
 * shows lag while this process is down or stuck. Failures are logged and retried next interval.
 */
export async function measureLag(deps: LagMonitorDeps): Promise<void> {
  const [ends, committed] = await Promise.all([
    deps.admin.fetchTopicOffsets(deps.topic),
    deps.admin.fetchOffsets({ groupId: deps.groupId, topics: [deps.topic] }),
  ]);
  const committedByPartition = new Map(
    (committed[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]),
  );
  for (const end of ends) {
    const high = BigInt(end.high);
    const done = committedByPartition.get(end.partition) ?? -1n;
    // -1: nothing committed yet; the group starts at the earliest offset, so all of it is lag.
    const from = done < 0n ? BigInt(end.low) : done;
    deps.metrics.groupLag.set(
      { group: deps.groupId, topic: deps.topic, partition: String(end.partition) },
      Number(high > from ? high - from : 0n),
    );
  }
}

export function startLagMonitor(deps: LagMonitorDeps): { stop: () => Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const tick = (): void => {
    running = measureLag(deps).catch((error: unknown) => {
      deps.logger.warn(
        { action: "lag_measure_failed", groupId: deps.groupId },
        error instanceof Error ? error.message : String(error),
      );
    });
  };
  tick();
  const timer = setInterval(tick, deps.intervalMs ?? 10_000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
