/**
 * `npm run bench -w api`: throughput and p99 latency of the real API process against a real MariaDB
 * (started privately, with 100,000 rows in the tokens table), written to docs/benchmarks.md. The API runs
 * as in production: its own process, LOG_LEVEL=info, JSON lines to /dev/null.
 *
 * 1. Side by side at 50 connections, interleaved and repeated: a bare Express 5 app (bench/baseline.ts)
 *    and the API, on GET /health and on GET /me (for the bare app: the same indexed lookup on a mysql2
 *    pool of the same size, nothing else), and the bare app's /health with the API's security headers.
 *    Every round starts both processes afresh: one process can run a fifth faster or slower than the
 *    next for its whole life (JIT decisions, where the scheduler puts it), which rounds on the same
 *    processes would never average out. Reported: median requests/s, the median of each round's
 *    API/bare ratio (the pair ran back to back, sharing the machine's load), p99, and the server's CPU
 *    time per request (from /proc/<pid>/stat), whose ratio is what the API would serve relative to the
 *    bare app wherever the server's CPU is the limit: steadier than requests/s on a shared machine.
 * 2. The API alone at 10 connections: /health idle, /me, POST /login (scrypt), /health during 20 logins.
 *
 *   BENCH_SIDE_RUNS (11), BENCH_SIDE_SECONDS (4), BENCH_RUNS (3), BENCH_SECONDS (8)
 *   BENCH_PROFILE=<dir>  runs the API with --cpu-prof into <dir> and prints its top functions by self time
 *                        (the profiler slows the API a little: take the figures from a run without it)
 */
import { spawn, type ChildProcess } from "node:child_process";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { getLogger } from "@tidbstack/service-kit";
import {
  createTestDatabase,
  freePort,
  machineDescription,
  median,
  startMariaDb,
  topSelfTime,
  writeSection,
  type CpuProfile,
} from "@tidbstack/testenv";
import { MIGRATIONS } from "../src/migrations.ts";
import { migrate } from "../src/migrator.ts";
import { hashToken } from "../src/tokens.ts";
import { adminConnection, ADMIN, login } from "../test/support.ts";

// Side by side: many short runs, so each pair shares the machine's load as closely as possible.
const SIDE_RUNS = Number(process.env["BENCH_SIDE_RUNS"] ?? 11);
const SIDE_SECONDS = Number(process.env["BENCH_SIDE_SECONDS"] ?? 4);
const RUNS = Number(process.env["BENCH_RUNS"] ?? 3);
const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 8);
const PROFILE_DIR = process.env["BENCH_PROFILE"];
const TOKEN_ROWS = 100_000;
const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

interface Sample {
  rps: number;
  p99: number;
}

async function load(options: autocannon.Options): Promise<Sample> {
  const result = await autocannon({ duration: SECONDS, ...options });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${options.url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  // Completed requests over the run's duration: exact also at a few requests per second, where
  // autocannon's per-second average is not.
  return { rps: result.requests.total / result.duration, p99: result.latency.p99 };
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name, in parentheses, may contain spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

interface Server {
  readonly url: string;
  readonly child: ChildProcess;
}

async function startServer(
  script: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<Server> {
  const port = await freePort();
  // Several APIs run at once here: each needs a metrics port of its own too.
  const metricsPort = await freePort();
  const child = spawn(
    process.execPath,
    [...nodeArgs, "--conditions=source", fileURLToPath(new URL(script, import.meta.url))],
    {
      env: { ...process.env, ...env, PORT: String(port), METRICS_PORT: String(metricsPort) },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if ((await fetch(`${url}/health`).catch(() => undefined))?.status === 200) break;
    if (i > 200) throw new Error(`${script} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url, child };
}

async function stopServer({ child }: Server): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

interface SideSample extends Sample {
  cpuMicros: number;
}

/** One load run against `server`, with the server's CPU time per completed request. */
async function measured(server: Server, options: autocannon.Options, seconds: number): Promise<SideSample> {
  const pid = server.child.pid as number;
  const before = cpuSeconds(pid);
  const result = await autocannon({ duration: seconds, ...options });
  const cpu = cpuSeconds(pid) - before;
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${options.url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return {
    rps: result.requests.total / result.duration,
    p99: result.latency.p99,
    cpuMicros: (cpu / result.requests.total) * 1e6,
  };
}

const fmt = (n: number): string => (n < 100 ? n.toFixed(1) : Math.round(n).toLocaleString("en"));
const list = (values: number[], digits = 0): string => values.map((v) => v.toFixed(digits)).join(", ");

async function main(): Promise<void> {
  const server = await startMariaDb();
  const db = await createTestDatabase("bench", server.url);
  const account = { user: "bench_api", password: "bench-password" };
  const connection = await adminConnection(db);
  await migrate(connection, db.name, MIGRATIONS, ADMIN, getLogger("bench"), account);
  // 100,000 tokens of other sessions, inserted in batches: /me must find its row by index, not by scan.
  for (let batch = 0; batch < TOKEN_ROWS / 5000; batch++) {
    const rows = Array.from({ length: 5000 }, (_, i) => [
      1,
      hashToken(`filler-${batch}-${i}`),
      new Date(),
      new Date(Date.now() + 3_600_000),
    ]);
    await connection.query("INSERT INTO tokens (user_id, token_hash, created_at, expires_at) VALUES ?", [
      rows,
    ]);
  }
  await connection.end();

  const dbEnv = {
    DB_HOST: db.host,
    DB_PORT: String(db.port),
    DB_USER: account.user,
    DB_PASSWORD: account.password,
    DB_NAME: db.name,
  };
  const apiEnv = { ...dbEnv, LOG_LEVEL: "info", LOGIN_RATE_LIMIT_PER_MINUTE: "1000000" };
  // The API of part 2, also used to log in once: tokens live in the database, for every API process.
  const api = await startServer(
    "../src/main.ts",
    apiEnv,
    PROFILE_DIR === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`],
  );
  try {
    const token = await login(api.url);
    const bearer = { authorization: `Bearer ${token}` };

    // Side by side at 50 connections, on fresh processes every round.
    const sideScenarios: [string, "bare" | "api", string, Record<string, string>][] = [
      ["bare /health", "bare", "/health", {}],
      ["bare+headers /health", "bare", "/health-with-headers", {}],
      ["api /health", "api", "/health", {}],
      ["bare /me", "bare", "/me", bearer],
      ["api /me", "api", "/me", bearer],
    ];
    const side = new Map<string, SideSample[]>(sideScenarios.map(([name]) => [name, []]));
    const ratios = { health: [] as number[], me: [] as number[] };
    const loads: number[] = [];
    for (let i = 0; i < SIDE_RUNS; i++) {
      loads.push(loadavg()[0] ?? 0);
      const servers = {
        bare: await startServer("./baseline.ts", dbEnv),
        api: await startServer("../src/main.ts", apiEnv),
      };
      try {
        const run = ([, server, path, headers]: (typeof sideScenarios)[number], seconds: number) =>
          measured(
            servers[server],
            { url: `${servers[server].url}${path}`, headers, connections: 50 },
            seconds,
          );
        // Two seconds of each first: the JIT's warm-up and the database's buffer pool are not measured.
        for (const scenario of sideScenarios) await run(scenario, 2);
        // Rotate the order, so no scenario always runs first or last.
        for (let k = 0; k < sideScenarios.length; k++) {
          const scenario = sideScenarios[(i + k) % sideScenarios.length] as (typeof sideScenarios)[number];
          side.get(scenario[0])?.push(await run(scenario, SIDE_SECONDS));
        }
      } finally {
        await Promise.all([stopServer(servers.bare), stopServer(servers.api)]);
      }
      const last = (name: string) => side.get(name)?.at(-1)?.rps ?? 0;
      ratios.health.push(last("api /health") / last("bare /health"));
      ratios.me.push(last("api /me") / last("bare /me"));
      console.log(
        `round ${i + 1} (load ${loads.at(-1)?.toFixed(2)}): ${sideScenarios.map(([name]) => `${name} ${Math.round(last(name))}`).join(", ")} req/s; /health ${(ratios.health.at(-1) ?? 0).toFixed(2)}×, /me ${(ratios.me.at(-1) ?? 0).toFixed(2)}×`,
      );
    }
    const sideMedian = (name: string, key: keyof SideSample) =>
      median((side.get(name) ?? []).map((s) => s[key]));
    const cpuRatio = (route: "health" | "me") =>
      sideMedian(`api /${route}`, "cpuMicros") / sideMedian(`bare /${route}`, "cpuMicros");
    const titles: Record<string, string> = {
      "bare /health": "bare Express 5: `GET /health`",
      "bare+headers /health": "bare Express 5 + the API's security headers: `GET /health`",
      "api /health": "the API: `GET /health`",
      "bare /me": "bare Express 5 + mysql2: `GET /me`'s lookup",
      "api /me": "the API: `GET /me`",
    };
    const sideTable = sideScenarios
      .map(
        ([name]) =>
          `| ${titles[name] ?? name} | ${fmt(sideMedian(name, "rps"))} | ${sideMedian(name, "p99")} | ${sideMedian(name, "cpuMicros").toFixed(0)} |`,
      )
      .join("\n");

    // The API alone at 10 connections.
    const credentials = JSON.stringify(ADMIN);
    // 20 clients logging in as fast as they are answered: alone, and as the background load.
    const logins = () =>
      load({
        url: `${api.url}/login`,
        connections: 20,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: credentials,
      });
    const scenarios: [string, () => Promise<Sample>][] = [
      ["GET /health (idle)", () => load({ url: `${api.url}/health`, connections: 10 })],
      [
        `GET /me (${TOKEN_ROWS.toLocaleString("en")} tokens in the table)`,
        () => load({ url: `${api.url}/me`, connections: 10, headers: bearer }),
      ],
      ["POST /login", logins],
      [
        "GET /health during 20 concurrent logins",
        async () => {
          const [health] = await Promise.all([load({ url: `${api.url}/health`, connections: 10 }), logins()]);
          return health;
        },
      ],
    ];
    const results: { name: string; rps: number; p99: number }[] = [];
    for (const [name, run] of scenarios) {
      const samples: Sample[] = [];
      for (let i = 0; i < RUNS; i++) samples.push(await run());
      results.push({ name, rps: median(samples.map((s) => s.rps)), p99: median(samples.map((s) => s.p99)) });
      console.log(
        `${name}: ${(results.at(-1)?.rps ?? 0).toFixed(1)} req/s, p99 ${results.at(-1)?.p99 ?? 0} ms`,
      );
    }
    const [idle, me, , busy] = results;
    const table = results.map((r) => `| ${r.name} | ${fmt(r.rps)} | ${r.p99} |`).join("\n");

    let profileText = "";
    if (PROFILE_DIR !== undefined) {
      await stopServer(api);
      const file = readdirSync(PROFILE_DIR)
        .filter((f) => f.endsWith(".cpuprofile"))
        .sort()
        .at(-1);
      if (file !== undefined) {
        profileText = topSelfTime(
          JSON.parse(readFileSync(join(PROFILE_DIR, file), "utf8")) as CpuProfile,
          15,
        );
        console.log(`profile of the API process (${join(PROFILE_DIR, file)}):\n${profileText}`);
      }
    }

    writeSection(
      fileURLToPath(new URL("../../docs/benchmarks.md", import.meta.url)),
      "api",
      `## API (\`npm run bench -w api\`)

Run on ${new Date().toISOString().slice(0, 10)}: ${machineDescription()}; MariaDB 10.11 on the same machine,
the API as its own process (\`LOG_LEVEL=info\`, JSON lines to /dev/null), autocannon in the benchmark
process. Load average (1 min) at the start of each side-by-side round: ${list(loads, 2)}.

**Side by side, 50 connections.** A bare Express 5 app (\`api/bench/baseline.ts\`: the route and nothing else;
for \`/me\` the token's SHA-256 and the same prepared statement on a mysql2 pool of the same size) and the API
with everything it does (security headers, metrics, request log, token validation); and the bare app
setting the API's security headers, which shows what those headers cost by themselves. ${SIDE_RUNS} rounds,
each on newly started processes, of 2 s of warm-up then ${SIDE_SECONDS} s per server and route, rotating the order; medians.

| server and route | requests/s | p99 latency (ms) | server CPU µs/request |
|---|---:|---:|---:|
${sideTable}

- \`GET /health\`: the API serves **${median(ratios.health).toFixed(2)}×** the bare app's requests/s (rounds: ${list(ratios.health, 2)}; target: at least
  0.9×); per request it uses ${cpuRatio("health").toFixed(2)}× the bare app's CPU time, so where CPU is the limit it serves ${(1 / cpuRatio("health")).toFixed(2)}×.
  The bare app with the same security headers uses ${(sideMedian("bare+headers /health", "cpuMicros") / sideMedian("bare /health", "cpuMicros")).toFixed(2)}× the bare app's CPU time per request.
- \`GET /me\`: the API serves **${median(ratios.me).toFixed(2)}×** the requests/s of the bare app with the same lookup (rounds: ${list(ratios.me, 2)});
  ${cpuRatio("me").toFixed(2)}× its CPU time per request (${(1 / cpuRatio("me")).toFixed(2)}×). Unlike \`/health\`, \`/me\` writes a request log line at \`info\`.

**The API alone, 10 connections.** Medians of ${RUNS} runs of ${SECONDS} s each.

| scenario | requests/s | p99 latency (ms) |
|---|---:|---:|
${table}

- \`GET /me\` p99 is ${((me?.p99 ?? 0) / (idle?.p99 || 1)).toFixed(1)}× \`GET /health\`'s (target: within 2×).
- \`GET /health\` p99 during logins is ${((busy?.p99 ?? 0) / (idle?.p99 || 1)).toFixed(1)}× its idle p99 (target: within 2×).
- Login throughput is bounded by scrypt at N=2^17 (128 MiB, a few hundred ms per hash), with at most
  cores − 1 hashes at once so logins cannot starve the event loop: one at a time on this 2-core machine.
  autocannon's p99 has a resolution of 1 ms, so at these latencies one millisecond is a factor of two.${
    profileText === ""
      ? ""
      : `

CPU profile of the API process over the whole benchmark (\`BENCH_PROFILE\`), top functions by self time:

\`\`\`text
${profileText}
\`\`\``
  }`,
    );
  } finally {
    await stopServer(api);
    await server.destroy();
  }
}

await main();
