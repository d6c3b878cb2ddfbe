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
 *    /me rotates through TOKENS_IN_ROTATION distinct tokens of the table's 100,000, on both servers.
 * 2. The API alone at 10 connections: /health idle, /me.
 * 3. Logins side by side: the API before Argon2id (bench/scrypt-api.ts: scrypt N=2^17, cores − 1 at once)
 *    and the API, at 10 and at 50 concurrent logins; and /health's p99 at 10 connections, idle and during a
 *    50-login storm on the API. Rounds on fresh processes, medians.
 *
 *   BENCH_PARTS (side,alone,login): the parts to run; each rewrites its own section of docs/benchmarks.md
 *   BENCH_SIDE_RUNS (11), BENCH_SIDE_SECONDS (4), BENCH_RUNS (3), BENCH_SECONDS (8)
 *   BENCH_LOGIN_RUNS (3), BENCH_LOGIN_SECONDS (15)
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
import { randomUUID } from "node:crypto";
import { hashingConcurrency, machineResources } from "../src/hashing-concurrency.ts";
import { ARGON2ID_POLICY, hashMemoryBytes, OWASP_SCRYPT, PasswordHasher } from "../src/passwords.ts";
import { THREADPOOL_NICE } from "../src/threadpool-priority.ts";
import { hashToken } from "../src/tokens.ts";
import { adminConnection, ADMIN } from "../test/support.ts";

// Side by side: many short runs, so each pair shares the machine's load as closely as possible.
const SIDE_RUNS = Number(process.env["BENCH_SIDE_RUNS"] ?? 11);
const SIDE_SECONDS = Number(process.env["BENCH_SIDE_SECONDS"] ?? 4);
const RUNS = Number(process.env["BENCH_RUNS"] ?? 3);
const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 8);
const LOGIN_RUNS = Number(process.env["BENCH_LOGIN_RUNS"] ?? 3);
const LOGIN_SECONDS = Number(process.env["BENCH_LOGIN_SECONDS"] ?? 15);
const PARTS = new Set((process.env["BENCH_PARTS"] ?? "side,alone,login").split(","));
const PROFILE_DIR = process.env["BENCH_PROFILE"];
const TOKEN_ROWS = 100_000;
/** Sessions in use at once: /me requests rotate through this many distinct tokens. */
const TOKENS_IN_ROTATION = 10_000;
/** The user the scrypt API logs in (its hash made as before Argon2id). */
const SCRYPT_USER = { email: "scrypt-user@test.com", password: "scrypt-password" };
const DOCS = fileURLToPath(new URL("../../docs/benchmarks.md", import.meta.url));
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

/** Autocannon options that send `tokens` round-robin as bearer tokens, one per request. */
function rotating(url: string, tokens: readonly string[], connections: number): autocannon.Options {
  // Built once: autocannon runs in this process, and the client's work per request is not measured.
  const headers = tokens.map((token) => ({ authorization: `Bearer ${token}` }));
  let next = 0;
  return {
    url,
    connections,
    requests: [
      {
        setupRequest: (request) => {
          request.headers = headers[next++ % headers.length];
          return request;
        },
      },
    ],
  };
}

/** Load averages (1 min) as text. */
const loadList = (values: number[]): string => list(values, 2);

async function prepareDatabase(): Promise<{
  server: Awaited<ReturnType<typeof startMariaDb>>;
  dbEnv: Record<string, string>;
  tokens: string[];
}> {
  const server = await startMariaDb();
  const db = await createTestDatabase("bench", server.url);
  const account = { user: "bench_api", password: "bench-password" };
  const connection = await adminConnection(db);
  await migrate(connection, db.name, MIGRATIONS, ADMIN, getLogger("bench"), account);
  // 100,000 tokens of the admin's sessions, inserted in batches: /me must find its row by index, not by scan.
  const tokens: string[] = [];
  for (let batch = 0; batch < TOKEN_ROWS / 5000; batch++) {
    const rows = Array.from({ length: 5000 }, () => {
      const token = randomUUID();
      tokens.push(token);
      return [1, hashToken(token), new Date(), new Date(Date.now() + 3_600_000)];
    });
    await connection.query("INSERT INTO tokens (user_id, token_hash, created_at, expires_at) VALUES ?", [
      rows,
    ]);
  }
  // The user the API before Argon2id logs in: a scrypt hash made as it made them.
  const scrypt = new PasswordHasher({ policy: { algorithm: "scrypt", params: OWASP_SCRYPT } });
  await connection.query("INSERT INTO users (email, password_hash) VALUES (?, ?)", [
    SCRYPT_USER.email,
    await scrypt.hash(SCRYPT_USER.password),
  ]);
  await connection.end();
  const dbEnv = {
    DB_HOST: db.host,
    DB_PORT: String(db.port),
    DB_USER: account.user,
    DB_PASSWORD: account.password,
    DB_NAME: db.name,
  };
  return { server, dbEnv, tokens };
}

async function main(): Promise<void> {
  const { server, dbEnv, tokens } = await prepareDatabase();
  const apiEnv = { ...dbEnv, LOG_LEVEL: "info", LOGIN_RATE_LIMIT_PER_MINUTE: "1000000" };
  const inRotation = tokens.slice(0, TOKENS_IN_ROTATION);
  try {
    if (PARTS.has("side")) await sideBySide(dbEnv, apiEnv, inRotation);
    if (PARTS.has("alone")) await apiAlone(apiEnv, inRotation);
    if (PARTS.has("login")) await logins(apiEnv);
  } finally {
    await server.destroy();
  }
}

/** Part 1: the bare app and the API side by side at 50 connections, fresh processes every round. */
async function sideBySide(
  dbEnv: Record<string, string>,
  apiEnv: Record<string, string>,
  inRotation: readonly string[],
): Promise<void> {
  const sideScenarios: [string, "bare" | "api", string, boolean][] = [
    ["bare /health", "bare", "/health", false],
    ["bare+headers /health", "bare", "/health-with-headers", false],
    ["api /health", "api", "/health", false],
    ["bare /me", "bare", "/me", true],
    ["api /me", "api", "/me", true],
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
      const run = ([, server, path, withTokens]: (typeof sideScenarios)[number], seconds: number) => {
        const url = `${servers[server].url}${path}`;
        return measured(
          servers[server],
          withTokens ? rotating(url, inRotation, 50) : { url, connections: 50 },
          seconds,
        );
      };
      // Two seconds of each first: the JIT's warm-up and the database's buffer pool are not measured;
      // then every token in rotation once, so the API's token cache holds the sessions in use, as it
      // does in steady state (the bare app's database sees the same lookups).
      for (const scenario of sideScenarios) await run(scenario, 2);
      for (const server of ["bare", "api"] as const) {
        await autocannon({
          ...rotating(`${servers[server].url}/me`, inRotation, 50),
          amount: inRotation.length,
        });
      }
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
    "api /me": "the API: `GET /me` (token cache on, its default)",
  };
  const sideTable = sideScenarios
    .map(
      ([name]) =>
        `| ${titles[name] ?? name} | ${fmt(sideMedian(name, "rps"))} | ${sideMedian(name, "p99")} | ${sideMedian(name, "cpuMicros").toFixed(0)} |`,
    )
    .join("\n");

  writeSection(
    DOCS,
    "api",
    `## API (\`npm run bench -w api\`)

Run on ${new Date().toISOString().slice(0, 10)}: ${machineDescription()}; MariaDB 10.11 on the same machine,
the API as its own process (\`LOG_LEVEL=info\`, JSON lines to /dev/null), autocannon in the benchmark
process. Load average (1 min) at the start of each side-by-side round: ${loadList(loads)}.

**Side by side, 50 connections** (\`BENCH_PARTS=side\`). A bare Express 5 app (\`api/bench/baseline.ts\`: the route and nothing else;
for \`/me\` the token's SHA-256 and the same prepared statement on a mysql2 pool of the same size) and the API
with everything it does (security headers, metrics, request log, token validation, its token cache); and the bare app
setting the API's security headers, which shows what those headers cost by themselves. \`/me\` rotates through
${TOKENS_IN_ROTATION.toLocaleString("en")} distinct tokens of the ${TOKEN_ROWS.toLocaleString("en")} in the table, one per request, on both servers. ${SIDE_RUNS} rounds,
each on newly started processes, of 2 s of warm-up and one \`/me\` per token in rotation, then ${SIDE_SECONDS} s per server and route, rotating the
order; medians.

| server and route | requests/s | p99 latency (ms) | server CPU µs/request |
|---|---:|---:|---:|
${sideTable}

- \`GET /health\`: the API serves **${median(ratios.health).toFixed(2)}×** the bare app's requests/s (rounds: ${list(ratios.health, 2)}; target: at least
  0.9×); per request it uses ${cpuRatio("health").toFixed(2)}× the bare app's CPU time, so where CPU is the limit it serves ${(1 / cpuRatio("health")).toFixed(2)}×.
  The bare app with the same security headers uses ${(sideMedian("bare+headers /health", "cpuMicros") / sideMedian("bare /health", "cpuMicros")).toFixed(2)}× the bare app's CPU time per request.
- \`GET /me\`: the API serves **${median(ratios.me).toFixed(2)}×** the requests/s of the bare app with the same lookup (rounds: ${list(ratios.me, 2)}; target: at least 2×);
  ${cpuRatio("me").toFixed(2)}× its CPU time per request (${(1 / cpuRatio("me")).toFixed(2)}×). After the warm-up the API's token cache holds every
  session in rotation, while the bare app asks the database every time; unlike \`/health\`, \`/me\` writes a request log
  line at \`info\`, so a cached \`/me\` still costs the API ${(sideMedian("api /me", "cpuMicros") / sideMedian("api /health", "cpuMicros")).toFixed(1)}× its \`/health\` in CPU per request.${
    median(ratios.me) >= 2
      ? ""
      : " The 2× target is not met in this run: MariaDB and autocannon share the machine's two cores with both servers, and a cached `/me` still pays for its request log line, which the bare app does not write."
  }`,
  );
}

/** Part 2: the API alone at 10 connections. */
async function apiAlone(apiEnv: Record<string, string>, inRotation: readonly string[]): Promise<void> {
  const api = await startServer(
    "../src/main.ts",
    apiEnv,
    PROFILE_DIR === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`],
  );
  const loads: number[] = [];
  try {
    const scenarios: [string, () => Promise<Sample>][] = [
      ["GET /health (idle)", () => load({ url: `${api.url}/health`, connections: 10 })],
      [
        `GET /me (${TOKEN_ROWS.toLocaleString("en")} tokens in the table, ${TOKENS_IN_ROTATION.toLocaleString("en")} in rotation)`,
        () => load(rotating(`${api.url}/me`, inRotation, 10)),
      ],
    ];
    const results: { name: string; rps: number; p99: number }[] = [];
    for (const [name, run] of scenarios) {
      loads.push(loadavg()[0] ?? 0);
      const samples: Sample[] = [];
      for (let i = 0; i < RUNS; i++) samples.push(await run());
      results.push({ name, rps: median(samples.map((s) => s.rps)), p99: median(samples.map((s) => s.p99)) });
      console.log(
        `${name}: ${(results.at(-1)?.rps ?? 0).toFixed(1)} req/s, p99 ${results.at(-1)?.p99 ?? 0} ms`,
      );
    }
    const [idle, me] = results;
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
      DOCS,
      "api-alone",
      `### The API alone, 10 connections (\`BENCH_PARTS=alone\`)

Run on ${new Date().toISOString().slice(0, 10)}: ${machineDescription()}. Medians of ${RUNS} runs of ${SECONDS} s each;
load average (1 min) at the start of each scenario: ${loadList(loads)}.

| scenario | requests/s | p99 latency (ms) |
|---|---:|---:|
${table}

- \`GET /me\` p99 is ${((me?.p99 ?? 0) / (idle?.p99 || 1)).toFixed(1)}× \`GET /health\`'s (target: within 2×).
  autocannon's p99 has a resolution of 1 ms, so at these latencies one millisecond is a factor of two.${
    profileText === ""
      ? ""
      : `

CPU profile of the API process over this part (\`BENCH_PROFILE\`), top functions by self time:

\`\`\`text
${profileText}
\`\`\``
  }`,
    );
  } finally {
    await stopServer(api);
  }
}

/** Logins as fast as they are answered: `connections` clients, each sending its next login on an answer. */
function loginLoad(url: string, credentials: { email: string; password: string }, connections: number) {
  return load({
    url: `${url}/login`,
    connections,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(credentials),
    duration: LOGIN_SECONDS,
    // A queued login waits for every hash ahead of it: at 50 clients and scrypt, tens of seconds.
    timeout: 120,
  });
}

/** Part 3: logins before (scrypt) and after (Argon2id), and /health during a login storm. */
async function logins(apiEnv: Record<string, string>): Promise<void> {
  const CONNECTIONS = [10, 50] as const;
  const samples = new Map<string, Sample[]>();
  const push = (key: string, sample: Sample) => samples.set(key, [...(samples.get(key) ?? []), sample]);
  const ratios = new Map<number, number[]>(CONNECTIONS.map((c) => [c, []]));
  const healthRatios: number[] = [];
  const loads: number[] = [];
  // What the API computes at start-up on this machine (main.ts, through PasswordHasher's default).
  const argon2idAtOnce = hashingConcurrency(machineResources(hashMemoryBytes(ARGON2ID_POLICY)));
  const concurrency = `Argon2id m=19456 KiB, t=2, p=1, ${argon2idAtOnce} at once, pool threads at nice ${THREADPOOL_NICE}, token cache on`;
  for (let i = 0; i < LOGIN_RUNS; i++) {
    loads.push(loadavg()[0] ?? 0);
    const servers = {
      scrypt: await startServer("./scrypt-api.ts", apiEnv),
      argon2id: await startServer("../src/main.ts", apiEnv),
    };
    try {
      for (const connections of CONNECTIONS) {
        // Alternate which goes first, so neither always meets the machine's load first.
        const order = i % 2 === 0 ? (["scrypt", "argon2id"] as const) : (["argon2id", "scrypt"] as const);
        for (const name of order) {
          const credentials = name === "scrypt" ? SCRYPT_USER : ADMIN;
          push(`${name} ${connections}`, await loginLoad(servers[name].url, credentials, connections));
        }
        const rate = (name: string) => samples.get(`${name} ${connections}`)?.at(-1)?.rps ?? 0;
        ratios.get(connections)?.push(rate("argon2id") / rate("scrypt"));
      }
      const health = () => load({ url: `${servers.argon2id.url}/health`, connections: 10 });
      const idle = await health();
      const [busy] = await Promise.all([health(), loginLoad(servers.argon2id.url, ADMIN, 50)]);
      push("health idle", idle);
      push("health storm", busy);
      healthRatios.push(busy.p99 / idle.p99);
    } finally {
      await Promise.all([stopServer(servers.scrypt), stopServer(servers.argon2id)]);
    }
    console.log(
      `login round ${i + 1} (load ${loads.at(-1)?.toFixed(2)}): ${[...samples].map(([key, s]) => `${key} ${(s.at(-1)?.rps ?? 0).toFixed(1)}/s p99 ${s.at(-1)?.p99 ?? 0} ms`).join("; ")}`,
    );
  }
  const med = (key: string, field: keyof Sample) => median((samples.get(key) ?? []).map((s) => s[field]));
  const rows = CONNECTIONS.flatMap((c) => [
    `| scrypt N=2^17 (before), ${c} concurrent | ${med(`scrypt ${c}`, "rps").toFixed(1)} | ${med(`scrypt ${c}`, "p99")} |`,
    `| Argon2id m=19 MiB, t=2 (the API), ${c} concurrent | ${med(`argon2id ${c}`, "rps").toFixed(1)} | ${med(`argon2id ${c}`, "p99")} |`,
  ]).join("\n");

  writeSection(
    DOCS,
    "api-login",
    `### Logins before and after Argon2id (\`BENCH_PARTS=login\`)

Run on ${new Date().toISOString().slice(0, 10)}: ${machineDescription()}; load average (1 min) at the start of each round:
${loadList(loads)}. Each round starts both servers afresh: \`api/bench/scrypt-api.ts\`, the API as it hashed
before (scrypt N=2^17, r=8, p=1, 128 MiB per hash, cores − 1 = at least one hash at once, every \`/me\` from the
database), and the API itself (${concurrency}). Clients log in as fast as they are answered,
${LOGIN_SECONDS} s per server and concurrency, alternating which server goes first; ${LOGIN_RUNS} rounds, medians.

| server | logins/s | p99 latency (ms) |
|---|---:|---:|
${rows}

- At 10 concurrent logins the API completes **${median(ratios.get(10) ?? []).toFixed(1)}×** the logins/s of scrypt (rounds: ${list(ratios.get(10) ?? [], 1)}); at 50,
  **${median(ratios.get(50) ?? []).toFixed(1)}×** (rounds: ${list(ratios.get(50) ?? [], 1)}). Target: at least 8×.
- \`GET /health\` at 10 connections on the API: p99 ${med("health idle", "p99")} ms idle, ${med("health storm", "p99")} ms during 50 concurrent logins
  (${med("health idle", "rps").toFixed(0)} and ${med("health storm", "rps").toFixed(0)} requests/s); the storm's p99 is **${median(healthRatios).toFixed(1)}×** idle
  (rounds: ${list(healthRatios, 1)}; target: within 2×). autocannon's p99 has a resolution of 1 ms.
- Latencies are those of the logins completed within the run. 50 clients queued behind scrypt take about
  ${(50 / Math.max(0.1, med("scrypt 50", "rps"))).toFixed(0)} s to drain, longer than a run: its p99 at 50 leaves out the longest waits, so it understates them.`,
  );
}

await main();
