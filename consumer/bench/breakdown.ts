/**
 * Where the consumer's time per event goes, without Kafka: the same pre-built message values run through
 * more and more of the consumer's work in this process, and each step's CPU time per event is measured.
 * The differences between steps are what each part costs. Kafka's own share (fetching and decoding) is in
 * the side-by-side table's do-nothing row.
 */
import { configureLogging, flushLogs, getLogger, type LineSink } from "@tidbstack/service-kit";
import { median } from "@tidbstack/testenv";
import { COMMIT_EVERY_MESSAGES } from "../src/consumer.ts";
import { createEventHandler, DEFAULT_DEDUP_WINDOW } from "../src/handler.ts";
import { createConsumerMetrics } from "../src/metrics.ts";
import { parseMessage } from "../src/parse.ts";

export interface BreakdownStep {
  readonly name: string;
  /** Median CPU time per event, µs. */
  readonly micros: number;
}

interface Step {
  readonly name: string;
  readonly logLevel: "info" | "warn";
  /** undefined: JSON.parse only; otherwise the handler with this dedup window (0: parse and validate only). */
  readonly window?: number;
}

const STEPS: readonly Step[] = [
  { name: "`JSON.parse` of the value (what the parse-only consumer does)", logLevel: "warn" },
  { name: "+ validation and the exact TSO (`parseMessage`)", logLevel: "warn", window: 0 },
  {
    name: "+ handler at level warn: key, redaction, the line's fields, metrics; dedup window of 1",
    logLevel: "warn",
    window: 1,
  },
  {
    name: `+ dedup window of ${DEFAULT_DEDUP_WINDOW.toLocaleString("en")}, no log line`,
    logLevel: "warn",
    window: DEFAULT_DEDUP_WINDOW,
  },
  {
    name: "+ the JSON log line (log4js, buffered): the whole consumer",
    logLevel: "info",
    window: DEFAULT_DEDUP_WINDOW,
  },
];

/**
 * Runs every step `runs` times over `values`, rotating the steps so none always runs first, and returns
 * each step's median. Log lines go to `sink` through the production appender, flushed every
 * COMMIT_EVERY_MESSAGES as the consumer flushes before each commit.
 */
export function measureBreakdown(values: readonly Buffer[], runs: number, sink: LineSink): BreakdownStep[] {
  const samples = STEPS.map(() => [] as number[]);
  for (let round = 0; round < runs; round++) {
    for (let k = 0; k < STEPS.length; k++) {
      const index = (round + k) % STEPS.length;
      samples[index]?.push(runStep(STEPS[index] as Step, values, sink));
    }
  }
  return STEPS.map((step, index) => ({ name: step.name, micros: median(samples[index] ?? []) }));
}

function runStep(step: Step, values: readonly Buffer[], sink: LineSink): number {
  configureLogging(step.logLevel, { buffered: true, sink });
  const window = step.window;
  const handle =
    window === undefined || window === 0
      ? undefined
      : createEventHandler({
          logger: getLogger("consumer"),
          metrics: createConsumerMetrics(),
          dedupWindow: window,
        });
  let rejected = 0;
  const cpu = process.cpuUsage();
  for (let index = 0; index < values.length; index++) {
    const value = values[index] as Buffer;
    if (window === undefined) {
      JSON.parse(value.toString("utf8"));
      continue;
    }
    const result = parseMessage(value);
    if (!result.ok) rejected++;
    else handle?.(result.event);
    if (index % COMMIT_EVERY_MESSAGES === COMMIT_EVERY_MESSAGES - 1) flushLogs();
  }
  flushLogs();
  const used = process.cpuUsage(cpu);
  if (rejected > 0) throw new Error(`${rejected} benchmark messages were rejected: the fixture is wrong`);
  return (used.user + used.system) / values.length;
}
