/**
 * `npm run soak`: the API and the consumer as real processes under steady mixed load, their memory and
 * event-loop delay sampled from /metrics; fails (exit 1) if either's memory grows without bound (the
 * criterion is in scripts/soak/growth.ts), if the API gives an answer its contract does not, or if the
 * consumer does not account for every event.
 *
 *   npm run soak                      10 minutes measured, after the warm-up
 *   npm run soak -- --duration 60     a short run (`npm test` runs one: scripts/test/integration)
 *   npm run soak -- --docs            also writes the figures to docs/benchmarks.md
 *
 * Options: --duration <s> (600), --interval <s> between samples (5; 2 under 3 minutes), --api-rate
 * <requests/s> of the steady API mix (100), --event-rate <events/s> after the opening burst (200).
 *
 * Runs on the servers of the test environment (TEST_MYSQL_URL, TEST_KAFKA_BROKERS): `npm run soak`
 * starts a private MariaDB and Kafka through testenv's runner; `npm test` has already started them.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { closeSync, openSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Kafka, logLevel } from "kafkajs";
import {
  createTestDatabase,
  eventually,
  freePort,
  kafkaBrokers,
  machineDescription,
  mysqlUrl,
  uniqueName,
  writeSection,
} from "@tidbstack/testenv";
import { dlqTopicOf } from "@tidbstack/service-kit/contracts";
import { ADMIN, migrateTestDatabase } from "../api/test/support.ts";
import { startEvents } from "./soak/events.ts";
import { analyseGrowth, median, type Growth, type Sample } from "./soak/growth.ts";
import { metricSum, sampleProcess, type ProcessSample } from "./soak/metrics.ts";
import { startTraffic } from "./soak/traffic.ts";

const MIB = 2 ** 20;
/** Heap growth under 16 MiB or 20% never fails: a young generation's garbage and lazily compiled code. */
const HEAP_LIMITS = { minBytes: 16 * MIB, fraction: 0.2 };
/** RSS also holds V8's free pages and the allocator's, which it returns to the system late or never. */
const RSS_LIMITS = { minBytes: 32 * MIB, fraction: 0.2 };
/** The warm-up (excluded from the analysis) lasts at least this long, and until the burst is consumed. */
const MIN_WARMUP_SECONDS = 10;

function options() {
  const { values } = parseArgs({
    options: {
      duration: { type: "string", default: "600" },
      interval: { type: "string" },
      "api-rate": { type: "string", default: "100" },
      "event-rate": { type: "string", default: "200" },
      docs: { type: "boolean", default: false },
    },
  });
  const number = (name: string, value: string | undefined, min: number): number => {
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < min)
      throw new Error(`--${name} must be a number of at least ${min}`);
    return parsed;
  };
  const duration = number("duration", values.duration, 20);
  return {
    duration,
    interval: number("interval", values.interval ?? (duration < 180 ? "2" : "5"), 0.5),
    apiRate: number("api-rate", values["api-rate"], 1),
    eventRate: number("event-rate", values["event-rate"], 1),
    docs: values.docs,
  };
}

interface Service {
  readonly name: string;
  readonly child: ChildProcess;
  readonly metricsUrl: string;
  readonly exited: Promise<unknown>;
}

/** A service's src/main.ts as its own process, its JSON log lines to /dev/null. */
function spawnService(name: string, main: string, env: Record<string, string>, metricsUrl: string): Service {
  const out = openSync("/dev/null", "w");
  const child = spawn(
    process.execPath,
    ["--conditions=source", fileURLToPath(new URL(main, import.meta.url))],
    {
      env: { ...process.env, ...env, LOG_LEVEL: "info", NODE_NO_WARNINGS: "1" },
      stdio: ["ignore", out, "inherit"],
    },
  );
  closeSync(out);
  return { name, child, metricsUrl, exited: once(child, "exit") };
}

/** `condition` polled every 250 ms; a request refused while a process starts counts as not yet. */
const waitFor = (what: string, condition: () => Promise<boolean>, timeoutMs: number): Promise<void> =>
  eventually(what, () => condition().catch(() => false), timeoutMs, 250);

async function stopService(service: Service): Promise<void> {
  if (service.child.exitCode !== null || service.child.signalCode !== null) return;
  service.child.kill("SIGTERM");
  const timer = setTimeout(() => service.child.kill("SIGKILL"), 20_000);
  await service.exited;
  clearTimeout(timer);
}

interface Series {
  readonly t: number;
  readonly sample: ProcessSample;
}

interface ServiceReport {
  readonly name: string;
  readonly heap: Growth;
  readonly rss: Growth;
  readonly eventLoopP99Median: number;
  readonly eventLoopP99Max: number;
}

function report(name: string, series: readonly Series[], warmup: number): ServiceReport {
  const after = series.filter((s) => s.t >= warmup);
  const of = (read: (s: ProcessSample) => number): Sample[] =>
    after.map((s) => ({ t: s.t, value: read(s.sample) }));
  const lags = after.map((s) => s.sample.eventLoopP99 * 1000);
  return {
    name,
    heap: analyseGrowth(
      of((s) => s.heapUsed),
      HEAP_LIMITS,
    ),
    rss: analyseGrowth(
      of((s) => s.rss),
      RSS_LIMITS,
    ),
    eventLoopP99Median: median(lags),
    eventLoopP99Max: Math.max(...lags),
  };
}

const mib = (bytes: number): string => (bytes / MIB).toFixed(1);

function table(reports: readonly ServiceReport[]): string {
  const rows = reports.flatMap((r) =>
    (
      [
        ["heap used", r.heap],
        ["RSS", r.rss],
      ] as const
    ).map(
      ([what, g]) =>
        `| ${r.name} | ${what} | ${mib(g.firstMedian)} | ${mib(g.middleMedian)} | ${mib(g.lastMedian)} | ${g.growth >= 0 ? "+" : ""}${mib(g.growth)} | ${(g.slopePerMinute / MIB).toFixed(2)} | ${mib(g.limit)} | ${g.unbounded ? "**unbounded**" : "bounded"} |`,
    ),
  );
  return [
    "| process | memory | first third (MiB) | middle third (MiB) | last third (MiB) | growth (MiB) | slope (MiB/min) | limit (MiB) | verdict |",
    "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ...rows,
  ].join("\n");
}

async function main(): Promise<number> {
  const opts = options();
  const kafka = new Kafka({ clientId: "soak", brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
  const db = await createTestDatabase("soak", mysqlUrl());
  const account = await migrateTestDatabase(db);
  const topic = uniqueName("soak");
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic, numPartitions: 1 },
      { topic: dlqTopicOf(topic), numPartitions: 1 },
    ],
  });
  const [apiPort, apiMetricsPort, consumerPort] = [await freePort(), await freePort(), await freePort()];
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const api = spawnService(
    "API",
    "../api/src/main.ts",
    {
      PORT: String(apiPort),
      METRICS_PORT: String(apiMetricsPort),
      DB_HOST: db.host,
      DB_PORT: String(db.port),
      DB_USER: account.user,
      DB_PASSWORD: account.password,
      DB_NAME: db.name,
      // The soak is about memory over time, not about the limiter: every login must go through.
      LOGIN_RATE_LIMIT_PER_MINUTE: "1000000",
    },
    `http://127.0.0.1:${apiMetricsPort}/metrics`,
  );
  const consumer = spawnService(
    "consumer",
    "../consumer/src/main.ts",
    {
      KAFKA_BROKERS: kafkaBrokers().join(","),
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: uniqueName("soak"),
      METRICS_PORT: String(consumerPort),
    },
    `http://127.0.0.1:${consumerPort}/metrics`,
  );
  const services = [api, consumer];
  const failures: string[] = [];
  // A process that dies mid-run fails the soak at once, with the rest of the report.
  let crashed = false as boolean;
  let stopping = false as boolean;
  for (const service of services) {
    void service.exited.then(() => {
      if (!stopping) {
        crashed = true;
        failures.push(`the ${service.name} process exited during the run (code ${service.child.exitCode})`);
      }
    });
  }
  const loads: number[] = [];
  try {
    await waitFor("the API to be ready", async () => (await fetch(`${apiUrl}/ready`)).status === 200, 60_000);
    await waitFor(
      "the consumer to join its group",
      async () => (await fetch(consumer.metricsUrl.replace("/metrics", "/health"))).status === 200,
      60_000,
    );
    const started = performance.now();
    const elapsed = (): number => (performance.now() - started) / 1000;
    const series = new Map<Service, Series[]>(services.map((s) => [s, []]));
    let consumed = 0;
    let sampling = true as boolean;
    // Set once the traffic starts; until then no login is in flight.
    let loginInFlight = (): boolean => false;
    const sampler = (async () => {
      while (sampling && !crashed) {
        const t = elapsed();
        loads.push(loadavg()[0] ?? 0);
        for (const service of services) {
          // The API is sampled between logins: a password hash's work buffer (19 MiB for Argon2id), held
          // while it is hashed and unmapped after, would otherwise add to RSS at whichever samples it caught.
          const deadline = performance.now() + 3000;
          while (service === api && loginInFlight() && performance.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
          const { sample, text } = await sampleProcess(service.metricsUrl);
          series.get(service)?.push({ t, sample });
          if (service === consumer) consumed = metricSum(text, "cdc_events_total") ?? 0;
        }
        await new Promise((resolve) =>
          setTimeout(resolve, Math.max(0, opts.interval * 1000 - (elapsed() - t) * 1000)),
        );
      }
    })();

    const traffic = await startTraffic({ url: apiUrl, credentials: ADMIN, rate: opts.apiRate });
    loginInFlight = traffic.loginInFlight;
    const events = await startEvents(kafka, topic, opts.eventRate);
    console.log(
      `soak: burst of ${events.burstRows.toLocaleString("en")} row events produced at ${elapsed().toFixed(0)} s`,
    );
    await waitFor(
      "the consumer to process the burst",
      () => Promise.resolve(consumed >= events.burstRows || crashed),
      600_000,
    );
    const warmup = Math.max(MIN_WARMUP_SECONDS, elapsed());
    while (elapsed() < warmup) await new Promise((resolve) => setTimeout(resolve, 250));
    console.log(`soak: warm-up over at ${warmup.toFixed(0)} s; measuring for ${opts.duration} s`);
    while (elapsed() < warmup + opts.duration && !crashed) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    sampling = false;
    const [stats, counts] = await Promise.all([traffic.stop(), events.stop()]);
    await sampler;
    if (crashed) throw new Error(failures.join("; "));

    // Every row event logged once, every redelivery dropped, every poison message dead-lettered.
    let last = { rows: 0, duplicates: 0, dlq: 0 };
    await waitFor(
      "the consumer to account for every event",
      async () => {
        const text = await (await fetch(consumer.metricsUrl)).text();
        last = {
          rows: metricSum(text, "cdc_events_total") ?? 0,
          duplicates: metricSum(text, "cdc_duplicates_skipped_total") ?? 0,
          dlq: metricSum(text, "cdc_dlq_messages_total") ?? 0,
        };
        return last.rows >= counts.rows && last.duplicates >= counts.duplicates && last.dlq >= counts.poison;
      },
      120_000,
    ).catch(() => undefined);
    if (last.rows !== counts.rows || last.duplicates !== counts.duplicates || last.dlq !== counts.poison) {
      failures.push(
        `the consumer logged ${last.rows} of ${counts.rows} row events, skipped ${last.duplicates} of ${counts.duplicates} redeliveries and dead-lettered ${last.dlq} of ${counts.poison} poison messages`,
      );
    }
    if (stats.unexpected > 0) {
      failures.push(
        `${stats.unexpected} API answers were not what the contract says: ${stats.examples.join("; ")}`,
      );
    }

    const reports = services.map((s) => report(s.name, series.get(s) ?? [], warmup));
    for (const r of reports) {
      for (const [what, g] of [
        ["heap", r.heap],
        ["RSS", r.rss],
      ] as const) {
        if (g.unbounded) failures.push(`the ${r.name}'s ${what} grows without bound: ${g.verdict}`);
      }
    }
    const measured = elapsed() - warmup;
    const requests = Object.entries(stats.answered)
      .sort()
      .map(([key, n]) => `${key}: ${n.toLocaleString("en")}`)
      .join(", ");
    const text = `Run on ${new Date().toISOString().slice(0, 10)}: ${machineDescription()}; MariaDB and Kafka of the test
environment on the same machine. Command: \`${["npm run soak", ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : [])].join(" ")}\`. Warm-up ${warmup.toFixed(0)} s
(until the opening burst of ${events.burstRows.toLocaleString("en")} row events was consumed), then ${measured.toFixed(0)} s measured, sampled every
${opts.interval} s (${reports[0]?.heap.samples ?? 0} samples per process). Load average (1 min) at the samples: median ${median(loads).toFixed(2)}, from ${Math.min(...loads).toFixed(2)} to ${Math.max(...loads).toFixed(2)}.

Traffic: ${stats.total.toLocaleString("en")} API requests (${(stats.total / (warmup + measured)).toFixed(0)}/s; ${requests}), ${stats.unexpected} unexpected answers;
${counts.sent.toLocaleString("en")} change messages (${counts.rows.toLocaleString("en")} row events logged once each, ${counts.duplicates.toLocaleString("en")} redeliveries skipped, ${counts.poison} poison messages dead-lettered).

${table(reports)}

Event-loop delay p99 (per sampling interval, after the warm-up): ${reports.map((r) => `${r.name} median ${r.eventLoopP99Median.toFixed(1)} ms, max ${r.eventLoopP99Max.toFixed(1)} ms`).join("; ")}.

Memory grows without bound when the last third's median exceeds the first's by more than the limit
(heap: 16 MiB or 20%, RSS: 32 MiB or 20%, whichever is larger) **and** the last third is still at least a
quarter of that growth above the middle third: a leak grows at the same pace throughout, a filling cache
flattens. Medians of thirds, because the heap saws by tens of MiB between collections.`;
    console.log(`\n${text}\n`);
    if (opts.docs && failures.length === 0) {
      writeSection(
        fileURLToPath(new URL("../docs/benchmarks.md", import.meta.url)),
        "soak",
        `## Soak (\`npm run soak\`)\n\n${text}`,
      );
    }
  } catch (error) {
    failures.push(error instanceof Error ? error.message : String(error));
  } finally {
    stopping = true;
    await Promise.all(services.map(stopService));
    await admin.deleteTopics({ topics: [topic, dlqTopicOf(topic)] }).catch(() => undefined);
    await admin.disconnect();
    await db.drop();
  }
  for (const failure of failures) console.error(`soak FAILED: ${failure}`);
  if (failures.length === 0) console.log("soak passed");
  return failures.length === 0 ? 0 : 1;
}

process.exitCode = await main();
