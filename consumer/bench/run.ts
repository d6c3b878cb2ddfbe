/**
 * `npm run bench -w consumer`: throughput of the consumer on a private Kafka broker, written to
 * docs/benchmarks.md.
 *
 * 1. Side by side on one pre-filled topic of one partition, interleaved and repeated: kafkajs doing
 *    nothing, kafkajs + JSON.parse of each value, and the real consumer (parse, validate, dedup, redact,
 *    one JSON log line per row through the production appender, buffered as in production and written
 *    synchronously to /dev/null; metrics; commits after processing). Reported: median events/s, the
 *    median of each round's real/parse ratio
 *    (the pairs ran back to back, so they share the machine's load), and CPU time per event.
 * 2. Scaling: real consumer processes (src/main.ts, logging to /dev/null) in one group on a topic of 4
 *    partitions, 1 process and then 2. They join while the topic is empty, are frozen (SIGSTOP) while it
 *    is filled, and thawed together (SIGCONT): the clock runs from the thaw to the group's last commit,
 *    so neither start-up nor the producer is measured.
 *
 *   BENCH_EVENTS (200,000), BENCH_RUNS (9), BENCH_SCALE_EVENTS (100,000), BENCH_SCALE_RUNS (5)
 *   BENCH_PROFILE=<file>  also writes a CPU profile of the real consumer's measured runs (Chrome
 *                          .cpuprofile) and prints its top functions by self time (the profiler slows
 *                          the real consumer a little: take the figures from a run without it)
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { closeSync, openSync, writeFileSync, writeSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel, type Admin } from "kafkajs";
import { configureLogging, getLogger } from "@tidbstack/service-kit";
import {
  eventually,
  freePort,
  machineDescription,
  median,
  mergeProfiles,
  startKafka,
  topSelfTime,
  uniqueName,
  writeSection,
  type CpuProfile,
} from "@tidbstack/testenv";
import { COMMIT_EVERY_MESSAGES, startConsumer } from "../src/consumer.ts";
import { createEventHandler, DEFAULT_DEDUP_WINDOW } from "../src/handler.ts";
import { createConsumerMetrics } from "../src/metrics.ts";
import { rowMessage } from "../test/fixtures.ts";
import { measureBreakdown, type BreakdownStep } from "./breakdown.ts";

const EVENTS = Number(process.env["BENCH_EVENTS"] ?? 200_000);
/** The original measure: events per second over the first 50,000, from connecting. */
const FIRST = 50_000;
if (!(EVENTS > DEFAULT_DEDUP_WINDOW && EVENTS >= FIRST)) {
  throw new Error(`BENCH_EVENTS must exceed the dedup window of ${DEFAULT_DEDUP_WINDOW} events`);
}
const RUNS = Number(process.env["BENCH_RUNS"] ?? 9);
const SCALE_EVENTS = Number(process.env["BENCH_SCALE_EVENTS"] ?? 100_000);
const SCALE_RUNS = Number(process.env["BENCH_SCALE_RUNS"] ?? 5);
const SCALE_PARTITIONS = 4;
const PROFILE = process.env["BENCH_PROFILE"];

// The real consumer's lines go through the production appender, buffered as in src/main.ts, to /dev/null,
// so the cost of formatting and writing them is measured without flooding the terminal.
const devNull = openSync("/dev/null", "w");
const toDevNull = (chunk: string): void => {
  writeSync(devNull, chunk);
};
configureLogging("info", { buffered: true, sink: toDevNull });

const BASE_TS = 462531487334400000n;

/** The k-th event: an INSERT into users, with the sensitive column the consumer must redact. */
const eventValue = (k: number): string =>
  rowMessage({
    data: [
      { id: String(k), email: `user${k}@test.com`, password_hash: "$scrypt$ln=17,r=8,p=1$c2FsdA$aGFzaA" },
    ],
    commitTs: String(BASE_TS + BigInt(k)),
  });

async function fill(kafka: Kafka, topic: string, events: number, partitions = 1): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  for (let from = 0; from < events; from += 1000) {
    const messages = Array.from({ length: Math.min(1000, events - from) }, (_, i) => ({
      value: eventValue(from + i),
      partition: (from + i) % partitions,
    }));
    await producer.send({ topic, messages });
  }
  await producer.disconnect();
}

async function createTopic(admin: Admin, partitions: number): Promise<string> {
  const topic = uniqueName("bench");
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic, numPartitions: partitions },
      { topic: `${topic}.dlq`, numPartitions: 1 },
    ],
  });
  return topic;
}

interface Run {
  /** Events per second over the first FIRST events, from connecting. */
  first: number;
  /** Events per second from event DEFAULT_DEDUP_WINDOW to the last: the dedup window full. */
  full: number;
  /** CPU time of this process per event over the whole run (µs). */
  cpuMicros: number;
}

/**
 * Runs `consume` until `count()` reaches EVENTS, noting when it passes FIRST and DEFAULT_DEDUP_WINDOW
 * (polled every 5 ms); times the phases in wall clock and the run in this process's CPU.
 */
async function measure(
  consume: () => Promise<{ count: () => number | Promise<number>; stop: () => Promise<void> }>,
): Promise<Run> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const consumer = await consume();
  let firstDone: number | undefined;
  let windowFull: number | undefined;
  for (;;) {
    const count = await consumer.count();
    const now = performance.now();
    if (firstDone === undefined && count >= FIRST) firstDone = now;
    if (windowFull === undefined && count >= DEFAULT_DEDUP_WINDOW) windowFull = now;
    if (count >= EVENTS) {
      const used = process.cpuUsage(cpu);
      await consumer.stop();
      return {
        first: FIRST / (((firstDone ?? now) - started) / 1000),
        full: (EVENTS - DEFAULT_DEDUP_WINDOW) / ((now - (windowFull ?? started)) / 1000),
        cpuMicros: (used.user + used.system) / EVENTS,
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The consumer as main.ts wires it, with a new group reading the topic from the beginning. */
const realConsumer = (kafka: Kafka, topic: string) =>
  measure(async () => {
    const metrics = createConsumerMetrics();
    const logger = getLogger("consumer");
    const consumer = await startConsumer({
      kafka,
      topic,
      dlqTopic: `${topic}.dlq`,
      groupId: uniqueName("real"),
      fromBeginning: true,
      handle: createEventHandler({ logger, metrics }),
      metrics,
      logger,
    });
    return {
      count: async () => (await metrics.events.get()).values.reduce((sum, v) => sum + v.value, 0),
      stop: () => consumer.stop(),
    };
  });

/** kafkajs reading the topic; `work` runs on every message value (nothing, or just JSON.parse). */
const baselineConsumer = (kafka: Kafka, topic: string, work: (value: Buffer | null) => void) =>
  measure(async () => {
    let seen = 0;
    const consumer = kafka.consumer({ groupId: uniqueName("base"), allowAutoTopicCreation: false });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: ({ batch }) => {
        for (const message of batch.messages) work(message.value);
        seen += batch.messages.length;
        return Promise.resolve();
      },
    });
    return { count: () => seen, stop: () => consumer.disconnect() };
  });

type Phase = "first" | "full";

interface SideBySide {
  runs: Map<string, Run[]>;
  /** real / parse of each round, per phase. */
  ratios: Record<Phase, number[]>;
  loads: number[];
  profile?: CpuProfile;
}

async function sideBySide(kafka: Kafka, topic: string): Promise<SideBySide> {
  const consumers: [string, () => Promise<Run>][] = [
    ["noop", () => baselineConsumer(kafka, topic, () => undefined)],
    [
      "parse",
      () =>
        baselineConsumer(kafka, topic, (value) => {
          JSON.parse(value?.toString("utf8") ?? "null");
        }),
    ],
    ["real", () => realConsumer(kafka, topic)],
  ];
  // One unmeasured read each warms the broker's page cache and every code path's JIT.
  for (const [, run] of consumers) await run();
  const session = PROFILE === undefined ? undefined : new Session();
  if (session !== undefined) {
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 200 });
  }
  const result: SideBySide = {
    runs: new Map(consumers.map(([name]) => [name, []])),
    ratios: { first: [], full: [] },
    loads: [],
  };
  const profileParts: CpuProfile[] = [];
  for (let i = 0; i < RUNS; i++) {
    result.loads.push(loadavg()[0] ?? 0);
    const round = new Map<string, Run>();
    // Rotate the order, so no consumer always runs on the warmest machine.
    for (let k = 0; k < consumers.length; k++) {
      const [name, run] = consumers[(i + k) % consumers.length] as [string, () => Promise<Run>];
      const profiled = session !== undefined && name === "real";
      if (profiled) await session.post("Profiler.start");
      const measured = await run();
      if (profiled) profileParts.push((await session.post("Profiler.stop")).profile as CpuProfile);
      result.runs.get(name)?.push(measured);
      round.set(name, measured);
    }
    for (const phase of ["first", "full"] as const) {
      result.ratios[phase].push((round.get("real")?.[phase] ?? 0) / (round.get("parse")?.[phase] ?? 1));
    }
    console.log(
      `round ${i + 1} (load ${result.loads.at(-1)?.toFixed(2)}): ${[...round].map(([name, r]) => `${name} ${Math.round(r.first)}/${Math.round(r.full)} (${r.cpuMicros.toFixed(1)} µs)`).join(", ")} events/s (first ${FIRST}/window full; CPU per event); real/parse ${list(result.ratios.first.slice(-1).map((r) => r * 100))}%/${list(result.ratios.full.slice(-1).map((r) => r * 100))}%`,
    );
  }
  session?.disconnect();
  if (profileParts.length > 0) result.profile = mergeProfiles(profileParts);
  return result;
}

interface ScaleRun {
  consumers: number;
  rate: number;
  /** Events each process handled, from its cdc_events_total. */
  split: number[];
  load: number;
}

/** The real consumer process, stdout (its JSON lines) to /dev/null. */
async function spawnConsumerProcess(
  brokers: string,
  topic: string,
  groupId: string,
): Promise<{ child: ChildProcess; metricsUrl: string }> {
  const port = await freePort();
  const out = openSync("/dev/null", "w");
  const child = spawn(
    process.execPath,
    ["--conditions=source", fileURLToPath(new URL("../src/main.ts", import.meta.url))],
    {
      env: {
        ...process.env,
        KAFKA_BROKERS: brokers,
        KAFKA_TOPIC: topic,
        KAFKA_GROUP_ID: groupId,
        METRICS_PORT: String(port),
        LOG_LEVEL: "info",
        NODE_NO_WARNINGS: "1",
      },
      stdio: ["ignore", out, "inherit"],
    },
  );
  closeSync(out);
  return { child, metricsUrl: `http://127.0.0.1:${port}` };
}

async function processedBy(metricsUrl: string): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(/^cdc_events_total\{[^}]*\} (\d+)$/gm)) total += Number(match[1]);
  return total;
}

/** `condition` polled every 50 ms; a request refused while a process starts counts as not yet. */
const waitFor = (what: string, condition: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> =>
  eventually(what, () => condition().catch(() => false), timeoutMs, 50);

async function scaleRun(kafka: Kafka, admin: Admin, brokers: string, consumers: number): Promise<ScaleRun> {
  const topic = await createTopic(admin, SCALE_PARTITIONS);
  const groupId = uniqueName("scale");
  const processes = await Promise.all(
    Array.from({ length: consumers }, () => spawnConsumerProcess(brokers, topic, groupId)),
  );
  const exits = processes.map(({ child }) => once(child, "exit"));
  try {
    await waitFor("every consumer to join the group", async () => {
      const [group] = (await admin.describeGroups([groupId])).groups;
      return group?.state === "Stable" && group.members.length === consumers;
    });
    await Promise.all(
      processes.map(({ metricsUrl }) =>
        waitFor("/health", async () => (await fetch(`${metricsUrl}/health`)).status === 200),
      ),
    );
    // Frozen while the producer fills the topic: it gets the machine to itself, and every consumer
    // starts on a full topic at the same instant. Filling takes far less than the 30 s session timeout.
    for (const { child } of processes) child.kill("SIGSTOP");
    await fill(kafka, topic, SCALE_EVENTS, SCALE_PARTITIONS);
    const load = loadavg()[0] ?? 0;
    const started = process.hrtime.bigint();
    for (const { child } of processes) child.kill("SIGCONT");
    for (;;) {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const committed = (offsets?.partitions ?? []).reduce(
        (sum, p) => sum + Math.max(0, Number(p.offset)),
        0,
      );
      if (committed >= SCALE_EVENTS) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const split = await Promise.all(processes.map(({ metricsUrl }) => processedBy(metricsUrl)));
    const [group] = (await admin.describeGroups([groupId])).groups;
    if (group?.members.length !== consumers) throw new Error(`the group lost members during the run`);
    return { consumers, rate: SCALE_EVENTS / seconds, split, load };
  } finally {
    for (const { child } of processes) {
      child.kill("SIGCONT");
      child.kill("SIGTERM");
    }
    await Promise.all(exits);
    await admin.deleteTopics({ topics: [topic, `${topic}.dlq`] }).catch(() => undefined);
  }
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en");

function breakdownTable(steps: readonly BreakdownStep[]): string {
  const rows = steps.map((step, index) => {
    const before = steps[index - 1]?.micros;
    const added =
      before === undefined
        ? ""
        : `${step.micros - before >= 0 ? "+" : ""}${(step.micros - before).toFixed(2)}`;
    return `| ${step.name} | ${step.micros.toFixed(2)} | ${added} |`;
  });
  return ["| work per event | CPU µs/event | added |", "|---|---:|---:|", ...rows].join("\n");
}
const list = (values: number[], digits = 0): string => values.map((v) => v.toFixed(digits)).join(", ");

async function main(): Promise<void> {
  const broker = await startKafka();
  const kafka = new Kafka({ clientId: "bench", brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topic = await createTopic(admin, 1);
    await fill(kafka, topic, EVENTS);
    const side = await sideBySide(kafka, topic);
    const of = (name: string, key: keyof Run): number =>
      median((side.runs.get(name) ?? []).map((r) => r[key]));
    const ratio = (phase: Phase): number => median(side.ratios[phase]);
    console.log(
      `median over the first ${FIRST}: do-nothing ${fmt(of("noop", "first"))}, parse-only ${fmt(of("parse", "first"))}, real ${fmt(of("real", "first"))} events/s; real/parse ${(ratio("first") * 100).toFixed(0)}%`,
    );
    console.log(
      `median with the window full: do-nothing ${fmt(of("noop", "full"))}, parse-only ${fmt(of("parse", "full"))}, real ${fmt(of("real", "full"))} events/s; real/parse ${(ratio("full") * 100).toFixed(0)}%`,
    );
    let profileText = "";
    if (side.profile !== undefined && PROFILE !== undefined) {
      writeFileSync(PROFILE, JSON.stringify(side.profile));
      profileText = topSelfTime(side.profile, 15);
      console.log(`profile of the real consumer's measured runs (${PROFILE}):\n${profileText}`);
    }

    const breakdown = measureBreakdown(
      Array.from({ length: EVENTS }, (_, k) => Buffer.from(eventValue(k))),
      RUNS,
      toDevNull,
    );
    configureLogging("info", { buffered: true, sink: toDevNull });
    for (const step of breakdown) console.log(`breakdown: ${step.micros.toFixed(2)} µs/event  ${step.name}`);

    const scale: ScaleRun[] = [];
    for (let i = 0; i < SCALE_RUNS; i++) {
      for (const consumers of i % 2 === 0 ? [1, 2] : [2, 1]) {
        const run = await scaleRun(kafka, admin, broker.bootstrap, consumers);
        scale.push(run);
        console.log(
          `scale: ${consumers} consumer(s), ${fmt(run.rate)} events/s (split ${run.split.join("/")}, load ${run.load.toFixed(2)})`,
        );
      }
    }
    const scaleRate = (n: number) => median(scale.filter((r) => r.consumers === n).map((r) => r.rate));
    const scaleLoads = (n: number) => scale.filter((r) => r.consumers === n).map((r) => r.load);
    const splits = scale.filter((r) => r.consumers === 2).map((r) => r.split.join(" / "));

    writeSection(
      fileURLToPath(new URL("../../docs/benchmarks.md", import.meta.url)),
      "consumer",
      `## Consumer (\`npm run bench -w consumer\`)

Run on ${new Date().toISOString().slice(0, 10)}: ${machineDescription()}; Apache Kafka 3.9.1 (one KRaft node) on
the same machine. Load average (1 min) at the start of each round: ${list(side.loads, 2)}.

**Side by side.** One topic of one partition pre-filled with ${EVENTS.toLocaleString("en")} canal-json INSERT
events; each consumer reads all of it with a new group. Each run is timed over its first ${FIRST.toLocaleString("en")} events from
connecting (the original measure; the dedup window is still filling), and from event ${DEFAULT_DEDUP_WINDOW.toLocaleString("en")} to the last
(the window full and evicting, as in production after the first ${DEFAULT_DEDUP_WINDOW.toLocaleString("en")} changes). After one unmeasured
warm-up read each, ${RUNS} rounds, rotating which consumer goes first; medians.

| consumer | events/s, first ${FIRST.toLocaleString("en")} | events/s, window full | CPU µs/event (this process) |
|---|---:|---:|---:|
| kafkajs, doing nothing (\`eachBatch\` that only counts) | ${fmt(of("noop", "first"))} | ${fmt(of("noop", "full"))} | ${of("noop", "cpuMicros").toFixed(1)} |
| kafkajs + \`JSON.parse\` of each value, nothing else | ${fmt(of("parse", "first"))} | ${fmt(of("parse", "full"))} | ${of("parse", "cpuMicros").toFixed(1)} |
| this consumer (parse, validate, dedup, redact, JSON log line, metrics, commit every ${COMMIT_EVERY_MESSAGES.toLocaleString("en")}) | ${fmt(of("real", "first"))} | ${fmt(of("real", "full"))} | ${of("real", "cpuMicros").toFixed(1)} |

The real consumer reaches **${(ratio("first") * 100).toFixed(0)}%** of the parse-only consumer over the first ${FIRST.toLocaleString("en")} events and
**${(ratio("full") * 100).toFixed(0)}%** with the window full (medians of the rounds' ratios: ${list(side.ratios.first.map((r) => r * 100))} % and
${list(side.ratios.full.map((r) => r * 100))} %; target: 60%). The rates are wall clock and include the broker's share of the
machine; the CPU column is this process alone.

**Where the time goes.** The same ${EVENTS.toLocaleString("en")} message values, in this process without Kafka, through more
and more of the consumer's work (\`bench/breakdown.ts\`); CPU time per event, medians of ${RUNS} rounds. Each row's
increase over the row above is what that part costs.

${breakdownTable(breakdown)}

**Scaling.** Real consumer processes (\`src/main.ts\`, JSON lines to /dev/null) in one group on a topic of
${SCALE_PARTITIONS} partitions holding ${SCALE_EVENTS.toLocaleString("en")} events. The processes join while the topic is empty,
are frozen (SIGSTOP) while it is filled and thawed together (SIGCONT); the clock runs from the thaw to the
group's last commit. ${SCALE_RUNS} runs each, alternating; medians.

| consumers in the group | events/s | load at start of each run |
|---|---:|---|
| 1 | ${fmt(scaleRate(1))} | ${list(scaleLoads(1), 2)} |
| 2 | ${fmt(scaleRate(2))} | ${list(scaleLoads(2), 2)} |

Two consumers drain the topic ${(scaleRate(2) / scaleRate(1)).toFixed(2)}× as fast as one (events per process: ${splits.join("; ")}).
Both processes and the broker share the machine's ${cpus().length} cores, so this is a floor for what two replicas on
their own machines do.${
        profileText === ""
          ? ""
          : `

CPU profile of the real consumer's measured runs (\`BENCH_PROFILE\`), top functions by self time:

\`\`\`text
${profileText}
\`\`\``
      }`,
    );
  } finally {
    await admin.disconnect();
    await broker.destroy();
  }
}

await main();
