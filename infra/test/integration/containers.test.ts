/**
 * Builds the service images from the root Dockerfile and runs the stack's containers on a Docker network
 * from the very specs the Pulumi program deploys (infra/src/lib/container-specs.ts): commands, environments,
 * healthchecks, uploads and data volumes, translated to `docker create` flags by the program's own
 * dockerRunFlags. Kafka and Prometheus run on lab images laid out like apache/kafka and prom/prometheus;
 * the migration runs as the program's one-off container; the API, the consumer and the token purge run with
 * the program's environments and default memory caps against a MariaDB standing in for TiDB. Every
 * container of the project's images (services and one-off steps) runs hardened as the program runs it:
 * read-only root filesystem, no capabilities, no-new-privileges. Every container is awaited as the program awaits
 * it: until Docker reports its own healthcheck healthy. Base images are the lab images of
 * scripts/lab/build.sh (no registry here); everything created is labelled and removed afterwards.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import * as pulumi from "@pulumi/pulumi";
import {
  docker,
  dockerAvailable,
  dockerLogs,
  freePort,
  imageExists,
  type NetworkRelay,
  relayFromNetwork,
  removeLabelled,
  runContainer,
  TEST_LABEL,
  TEST_RUN_ID,
  waitHealthy,
} from "@tidbstack/testenv";
import { consumerGroupOf, dlqTopicOf } from "@tidbstack/service-kit/contracts";
import { rowMessage } from "@tidbstack/consumer/test/fixtures";
import { FakeTicdc } from "@tidbstack/ops/test/fakes/ticdc";
import { clusterIdFor } from "../../src/components/kafka.ts";
import { loadStackConfig } from "../../src/config.ts";
import {
  type ContainerSpec,
  dockerRunFlags,
  hardeningFlags,
  kafkaContainerSpec,
  PROJECT_IMAGE_HARDENING,
  prometheusContainerSpec,
  serviceContainerSpec,
} from "../../src/lib/container-specs.ts";
import { PROMETHEUS_PORT } from "../../src/lib/monitoring/prometheus-config.ts";
import {
  API_PORT,
  apiEnvironment,
  CONSUMER_METRICS_PORT,
  consumerEnvironment,
  MIGRATION_COMMAND,
  migrationEnvironment,
  migrationSecretEnvironment,
  PURGE_COMMAND,
  PURGE_METRICS_PORT,
  purgeEnvironment,
} from "../../src/lib/service-env.ts";
import {
  CHANGEFEED_APPLY_COMMAND,
  changefeedEnvironment,
  type ChangefeedSettings,
} from "../../src/lib/steps.ts";
import { KAFKA_BOOTSTRAP, PORTS, sinkUri } from "../../src/lib/topology.ts";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const NAME = `tidbstack-test-${randomBytes(4).toString("hex")}`;
const LABEL = ["--label", `${TEST_LABEL}=${TEST_RUN_ID}`];
/**
 * The lab images by their recipe's own tag, as scripts/test.sh exports them from scripts/lab/build.sh (the
 * plain tags name whichever recipe was built last on this engine).
 */
const LAB = {
  node: process.env["LAB_NODE_IMAGE"] ?? "lab/node:24",
  kafka: process.env["LAB_KAFKA_IMAGE"] ?? "lab/kafka:3.9.1",
  prometheus: process.env["LAB_PROMETHEUS_IMAGE"] ?? "lab/prometheus",
  mariadb: process.env["LAB_MARIADB_IMAGE"] ?? "lab/mariadb",
};
const TOPIC = "appdb-cdc";
/** The changefeed step's settings with the stack's defaults: TiCDC and Kafka at their in-network addresses. */
const CHANGEFEED: ChangefeedSettings = {
  ticdcUrl: `http://ticdc:${PORTS.ticdc}`,
  kafkaBootstrap: KAFKA_BOOTSTRAP,
  id: "appdb-to-kafka",
  topic: TOPIC,
  partitions: 1,
  database: "appdb",
};
const API_DB_PASSWORD = "api-pw-in-test";
const PURGE_DB_PASSWORD = "purge-pw-in-test";
/** The migration step's secret variables, name → value, as the program passes them. */
const SECRETS = migrationSecretEnvironment({
  rootPassword: "root-pw-in-test",
  adminPassword: "temp-password",
  apiDbPassword: API_DB_PASSWORD,
  purgeDbPassword: PURGE_DB_PASSWORD,
});
/** How long the program's `wait` allows each container (waitTimeout in infra/src/components). */
const WAIT_MS = { kafka: 180_000, service: 120_000, prometheus: 120_000 };
/**
 * The program's defaults, for what the specs take from the config (the services' memory caps): the stack's
 * required secrets set, every optional one (the alert receivers) left out, as on a fresh stack.
 */
const DEFAULTS = loadStackConfig({
  get: () => undefined,
  getSecret: (key) => (key.startsWith("alert") ? undefined : pulumi.secret("")),
});
/** How the program runs every one-off step of its images (lib/docker.ts oneOffRun). */
const HARDENED = hardeningFlags(PROJECT_IMAGE_HARDENING);
/** The Kafka tools run from `docker exec` with a small heap of their own, as the program's probe does. */
const KAFKA_TOOL_ENV = ["--env", "KAFKA_HEAP_OPTS=-Xms32m -Xmx128m"];

/**
 * Builds `workspace`'s image from the root Dockerfile with `context` as build context. The classic builder:
 * a Docker CLI without buildx cannot use BuildKit. The program builds with BuildKit through the engine's
 * API; the Dockerfile is written for both.
 */
async function buildImage(
  workspace: string,
  tag: string,
  context = ROOT,
): Promise<{ id: string; seconds: number; megabytes: number; stepsRun: number }> {
  const started = Date.now();
  const output = await docker(
    [
      "build",
      ...LABEL,
      "--build-arg",
      `BASE_IMAGE=${LAB.node}`,
      "--build-arg",
      `WORKSPACE=${workspace}`,
      "-f",
      join(context, "Dockerfile"),
      "-t",
      tag,
      context,
    ],
    { env: { ...process.env, DOCKER_BUILDKIT: "0" }, timeoutMs: 900_000 },
  );
  const [id = "", bytes = "0"] = (
    await docker(["image", "inspect", "--format", "{{.Id}} {{.Size}}", tag])
  ).split(" ");
  return {
    id,
    seconds: (Date.now() - started) / 1000,
    megabytes: Math.round(Number(bytes) / 1e6),
    // The classic builder runs a step in a container unless its cache has it.
    stepsRun: output.split("\n").filter((line) => line.includes("---> Running in")).length,
  };
}

/** Runs `spec` as the program would (docker create, uploads, start), named `<NAME>-<alias>`. */
async function runSpec(
  spec: ContainerSpec,
  image: string,
  network: string,
  extraFlags: string[] = [],
): Promise<string> {
  const name = `${NAME}-${spec.alias}`;
  await runContainer({
    name,
    image,
    network,
    runId: TEST_RUN_ID,
    flags: [...dockerRunFlags(spec), ...extraFlags],
    command: spec.command,
    uploads: spec.uploads,
    dataPath: spec.dataPath,
  });
  return name;
}

/**
 * What .dockerignore should let into the build context, from the working tree: the root manifests, compiler
 * settings and Dockerfile; every workspace's package.json (npm ci checks them all against the lock file);
 * and for the workspaces an image compiles (those with a tsconfig.build.json) their compiler settings and
 * sources, tests excepted.
 */
function expectedContext(): string[] {
  const workspaces = (
    JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { workspaces: string[] }
  ).workspaces;
  const compiled = workspaces.filter((ws) => existsSync(join(ROOT, ws, "tsconfig.build.json")));
  const sources = (ws: string): string[] =>
    readdirSync(join(ROOT, ws, "src"), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile() && !entry.name.endsWith(".test.ts"))
      .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
  return [
    "Dockerfile",
    "package-lock.json",
    "package.json",
    "tsconfig.json",
    ...workspaces.map((ws) => `${ws}/package.json`),
    ...compiled.flatMap((ws) => [`${ws}/tsconfig.build.json`, `${ws}/tsconfig.json`, ...sources(ws)]),
  ].sort();
}

const jsonLines = (text: string): Record<string, unknown>[] =>
  text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe(
  "the stack's containers, from the program's own specs, on a Docker engine",
  { timeout: 1_200_000 },
  () => {
    const network = `${NAME}-net`;
    const containers = { db: `${NAME}-tidb`, kafka: "", api: "", consumer: "", purge: "", prometheus: "" };
    /** The Node service containers: the API image twice (the API, the token purge) and the consumer image. */
    const services = () => [containers.api, containers.consumer, containers.purge];
    const images = { api: `${NAME}-api`, consumer: `${NAME}-consumer`, ops: `${NAME}-ops` };
    let ticdc: FakeTicdc | undefined;
    let relay: NetworkRelay | undefined;
    let apiUrl = "";
    let prometheusUrl = "";
    /** What the changefeed step printed: its log, one JSON line per record. */
    let changefeedOutput = "";
    const report: string[] = [];

    // Building three images from scratch takes minutes on a busy 2-core machine (the npm ci layer alone,
    // whenever the lock file changes): the hook gets the suite's budget, not the runner's per-test default.
    before(
      async () => {
        if (!(await dockerAvailable()))
          throw new Error("no Docker engine answers: scripts/lab/build.sh starts one (npm test runs it)");
        for (const image of Object.values(LAB)) {
          if (!(await imageExists(image)))
            throw new Error(`image ${image} is missing: run scripts/lab/build.sh`);
        }
        for (const workspace of ["api", "consumer", "ops"] as const) {
          const built = await buildImage(workspace, images[workspace]);
          report.push(`${workspace} image ${built.megabytes} MB (built in ${built.seconds} s)`);
        }

        await docker(["network", "create", ...LABEL, network]);
        await docker([
          "run",
          "-d",
          ...LABEL,
          "--name",
          containers.db,
          "--network",
          network,
          "--network-alias",
          "tidb",
          LAB.mariadb,
        ]);
        containers.kafka = await runSpec(
          kafkaContainerSpec({ clusterId: clusterIdFor(NAME), heapMb: 256 }),
          LAB.kafka,
          network,
        );
        const [kafkaMs] = await Promise.all([
          waitHealthy(containers.kafka, WAIT_MS.kafka),
          waitHealthy(containers.db, 120_000),
        ]);
        report.push(`kafka healthy (the program's kafka-topics.sh probe) after ${kafkaMs} ms`);

        // The changefeed step exactly as the program runs it, in the ops image: it creates the topic and its
        // dead-letter topic in Kafka, then the changefeed in TiCDC, here a local server answering like TiCDC's
        // API, reached at the program's address (http://ticdc:8300) through a relay on the network's gateway.
        ticdc = await new FakeTicdc().listen();
        const ticdcAddress = new URL(ticdc.url);
        relay = await relayFromNetwork(network, PORTS.ticdc, {
          host: ticdcAddress.hostname,
          port: Number(ticdcAddress.port),
        });
        const changefeedStarted = Date.now();
        changefeedOutput = await docker([
          "run",
          "--rm",
          ...LABEL,
          "--network",
          network,
          "--add-host",
          `ticdc:${relay.gateway}`,
          ...HARDENED,
          ...Object.entries(changefeedEnvironment(CHANGEFEED)).flatMap(([key, value]) => [
            "-e",
            `${key}=${value}`,
          ]),
          images.ops,
          ...CHANGEFEED_APPLY_COMMAND,
        ]);
        report.push(`changefeed step (ops image) done in ${Date.now() - changefeedStarted} ms`);

        // The init step as the program runs it: plain settings on the command line, secrets by name only.
        await docker(
          [
            "run",
            "--rm",
            ...LABEL,
            "--network",
            network,
            ...HARDENED,
            ...Object.entries(
              migrationEnvironment({ database: "appdb", adminEmail: "admin@test.com" }),
            ).flatMap(([key, value]) => ["-e", `${key}=${value}`]),
            ...Object.keys(SECRETS).flatMap((key) => ["-e", key]),
            images.api,
            ...MIGRATION_COMMAND,
          ],
          { env: { ...process.env, ...SECRETS } },
        );

        const apiHostPort = await freePort();
        containers.api = await runSpec(
          serviceContainerSpec({
            alias: "api",
            env: apiEnvironment({
              database: "appdb",
              dbPassword: API_DB_PASSWORD,
              tokenTtlSeconds: 3600,
              loginRateLimitPerMinute: 100,
              logLevel: "info",
            }),
            healthPort: API_PORT,
            memoryMb: DEFAULTS.serviceMemoryMb.api,
          }),
          images.api,
          network,
          ["--publish", `127.0.0.1:${apiHostPort}:${API_PORT}`],
        );
        apiUrl = `http://127.0.0.1:${apiHostPort}`;
        containers.consumer = await runSpec(
          serviceContainerSpec({
            alias: "consumer",
            env: consumerEnvironment({ topic: TOPIC, groupId: consumerGroupOf(TOPIC), logLevel: "info" }),
            healthPort: CONSUMER_METRICS_PORT,
            memoryMb: DEFAULTS.serviceMemoryMb.consumer,
          }),
          images.consumer,
          network,
        );

        // The token purge: another entry point of the API image, with the program's default settings.
        containers.purge = await runSpec(
          serviceContainerSpec({
            alias: "purge",
            command: PURGE_COMMAND,
            env: purgeEnvironment({
              database: "appdb",
              dbPassword: PURGE_DB_PASSWORD,
              intervalSeconds: 300,
              graceSeconds: 86_400,
              batchSize: 1000,
              logLevel: "info",
            }),
            healthPort: PURGE_METRICS_PORT,
            memoryMb: DEFAULTS.serviceMemoryMb.purge,
          }),
          images.api,
          network,
        );

        // Prometheus as the program configures it: its flags, the generated configuration and rules as uploads,
        // and a data volume at /prometheus. Only the api and consumer targets exist here.
        const prometheusHostPort = await freePort();
        containers.prometheus = await runSpec(
          prometheusContainerSpec({ pdCount: 1, tikvCount: 1 }),
          LAB.prometheus,
          network,
          ["--publish", `127.0.0.1:${prometheusHostPort}:${PROMETHEUS_PORT}`],
        );
        prometheusUrl = `http://127.0.0.1:${prometheusHostPort}`;
      },
      { timeout: 1_200_000 },
    );

    after(async () => {
      for (const line of report) console.log(`container test: ${line}`);
      await relay?.close();
      await ticdc?.close();
      await removeLabelled(TEST_RUN_ID);
      for (const image of Object.values(images)) await docker(["rmi", "-f", image]).catch(() => "");
    });

    it("Kafka, the services and Prometheus become healthy through the program's own healthchecks", async () => {
      const [apiMs, consumerMs, purgeMs, prometheusMs] = await Promise.all([
        ...services().map((container) => waitHealthy(container, WAIT_MS.service)),
        waitHealthy(containers.prometheus, WAIT_MS.prometheus),
      ]);
      report.push(
        `healthy after ${apiMs} ms (api), ${consumerMs} ms (consumer), ${purgeMs} ms (purge), ${prometheusMs} ms (prometheus)`,
      );
      for (const container of [containers.kafka, ...services(), containers.prometheus]) {
        const probe = await docker(["inspect", "--format", "{{json .Config.Healthcheck.Test}}", container]);
        assert.match(probe, /^\["CMD-SHELL",/, `${container} runs the spec's probe`);
      }
    });

    it("the changefeed step, run from the ops image, created both topics in Kafka and the changefeed in TiCDC", async () => {
      const topics = await docker([
        "exec",
        ...KAFKA_TOOL_ENV,
        containers.kafka,
        "/opt/kafka/bin/kafka-topics.sh",
        "--bootstrap-server",
        KAFKA_BOOTSTRAP,
        "--list",
      ]);
      assert.deepEqual(
        topics.split("\n").filter((t) => !t.startsWith("__")),
        [TOPIC, dlqTopicOf(TOPIC)],
      );
      const feed = ticdc?.feed(CHANGEFEED.id);
      assert.equal(feed?.sink_uri, sinkUri(TOPIC, 1, KAFKA_BOOTSTRAP));
      assert.equal(feed?.state, "normal");
    });

    it("the changefeed step's output has its log and no false warning (kafkajs's TimeoutNegativeWarning)", () => {
      const records = changefeedOutput.split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.ok(
        records.some((r) => String(r["action"]).startsWith("changefeed_")),
        `no changefeed line in: ${changefeedOutput}`,
      );
      assert.doesNotMatch(changefeedOutput, /TimeoutNegativeWarning/);
      assert.deepEqual(
        records.filter((r) => r["level"] === "warn" || r["level"] === "error"),
        [],
      );
    });

    it("the API answers through its published port: health, readiness, login with the seed admin, /me and logout", async () => {
      assert.deepEqual(await (await fetch(`${apiUrl}/health`)).json(), { status: "ok" });
      assert.deepEqual(await (await fetch(`${apiUrl}/ready`)).json(), { status: "ready" });
      // Its metrics are on a port of its own, which Prometheus reads in the network (see below).
      assert.equal((await fetch(`${apiUrl}/metrics`)).status, 404);
      const login = await fetch(`${apiUrl}/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "admin@test.com", password: "temp-password" }),
      });
      assert.equal(login.status, 200);
      const { token } = (await login.json()) as { token: string };
      const me = await fetch(`${apiUrl}/me`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(me.status, 200);
      assert.equal(((await me.json()) as { email: string }).email, "admin@test.com");
      assert.equal(
        (await fetch(`${apiUrl}/logout`, { method: "POST", headers: { authorization: `Bearer ${token}` } }))
          .status,
        204,
      );
      assert.equal(
        (await fetch(`${apiUrl}/me`, { headers: { authorization: `Bearer ${token}` } })).status,
        401,
      );
      const logs = await docker(["logs", containers.api]);
      assert.equal(jsonLines(logs).find((l) => l["action"] === "login")?.["outcome"], "success");
      assert.ok(
        !logs.includes(token) && !logs.includes(API_DB_PASSWORD),
        "the container's log holds a secret",
      );
    });

    it("a real Prometheus, configured by the program, scrapes the three services", async () => {
      const deadline = Date.now() + 90_000;
      let health: Record<string, string> = {};
      while (Date.now() < deadline) {
        const response = await fetch(`${prometheusUrl}/api/v1/targets`).catch(() => undefined);
        if (response?.ok === true) {
          const body = (await response.json()) as {
            data: { activeTargets: { labels: { job: string }; health: string }[] };
          };
          health = Object.fromEntries(body.data.activeTargets.map((t) => [t.labels.job, t.health]));
          if (health["api"] === "up" && health["consumer"] === "up" && health["purge"] === "up") break;
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      assert.deepEqual([health["api"], health["consumer"], health["purge"]], ["up", "up", "up"]);
    });

    it("the token purge logs in as its own account and logs its first run", async () => {
      const deadline = Date.now() + 30_000;
      let run: Record<string, unknown> | undefined;
      while (Date.now() < deadline && run === undefined) {
        run = jsonLines(await docker(["logs", containers.purge])).find(
          (l) => l["action"] === "tokens_purged",
        );
        if (run === undefined) await new Promise((resolve) => setTimeout(resolve, 500));
      }
      assert.equal(run?.["count"], 0);
    });

    it("the consumer logs canal-json change events produced to the topic, redacted", async () => {
      // Produced with the Kafka image's own console producer, through the in-network listener: one line, one message.
      const messages = [
        rowMessage({ data: [{ id: "42", email: "container@test.com", password_hash: "$scrypt$secret" }] }),
        "poison",
      ];
      await docker(
        [
          "exec",
          "-i",
          ...KAFKA_TOOL_ENV,
          containers.kafka,
          "/opt/kafka/bin/kafka-console-producer.sh",
          "--bootstrap-server",
          KAFKA_BOOTSTRAP,
          "--topic",
          TOPIC,
        ],
        { input: `${messages.join("\n")}\n` },
      );
      const deadline = Date.now() + 60_000;
      let lines: Record<string, unknown>[] = [];
      while (Date.now() < deadline) {
        lines = jsonLines(await docker(["logs", containers.consumer]));
        if (lines.some((l) => l["action"] === "db_change") && lines.some((l) => l["action"] === "dlq")) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const change = lines.find((l) => l["action"] === "db_change");
      assert.deepEqual(change?.["pk"], { id: "42" });
      assert.equal((change?.["data"] as Record<string, string> | undefined)?.["password_hash"], "[REDACTED]");
      assert.equal(lines.find((l) => l["action"] === "dlq")?.["reason"], "not_json");
      const metrics = await docker([
        "exec",
        containers.consumer,
        "node",
        "-e",
        `fetch("http://127.0.0.1:${CONSUMER_METRICS_PORT}/metrics").then(r => r.text()).then(t => console.log(t))`,
      ]);
      assert.match(metrics, /^cdc_events_total\{database="appdb",table="users",type="INSERT"\} 1$/m);
    });

    it("the DLQ alert becomes active in Prometheus after the poison message", async () => {
      const deadline = Date.now() + 90_000;
      let state: string | undefined;
      while (Date.now() < deadline && state === undefined) {
        const body = (await (await fetch(`${prometheusUrl}/api/v1/alerts`)).json()) as {
          data: { alerts: { labels: { alertname: string }; state: string }[] };
        };
        state = body.data.alerts.find((a) => a.labels.alertname === "DlqMessages")?.state;
        if (state === undefined) await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      assert.ok(state === "pending" || state === "firing", `DlqMessages is ${state ?? "not active"}`);
      report.push(`DlqMessages alert ${state} in Prometheus`);
    });

    it("every line each service writes, on stdout or stderr, is one JSON object", async () => {
      for (const container of services()) {
        const { stdout, stderr } = await dockerLogs(container);
        const lines = (stdout + stderr).split("\n").filter((line) => line !== "");
        assert.ok(lines.length > 0, `${container} logged nothing`);
        for (const line of lines) {
          assert.doesNotThrow(
            () => JSON.parse(line) as unknown,
            `${container} wrote a non-JSON line: ${line}`,
          );
        }
      }
    });

    it("the services run hardened as the program declares them: read-only, no capabilities, no-new-privileges, within their memory caps", async () => {
      const caps = DEFAULTS.serviceMemoryMb;
      const expected = [
        [containers.api, caps.api],
        [containers.consumer, caps.consumer],
        [containers.purge, caps.purge],
      ] as const;
      for (const [container, memoryMb] of expected) {
        const hostConfig = JSON.parse(
          await docker(["inspect", "--format", "{{json .HostConfig}}", container]),
        ) as { ReadonlyRootfs: boolean; CapDrop: string[]; SecurityOpt: string[]; Memory: number };
        assert.equal(hostConfig.ReadonlyRootfs, true, container);
        assert.deepEqual(hostConfig.CapDrop, ["ALL"], container);
        assert.deepEqual(hostConfig.SecurityOpt, ["no-new-privileges:true"], container);
        assert.equal(hostConfig.Memory, memoryMb * 1024 * 1024, container);
        // What the kernel enforces on the service's own process (PID 1).
        const status = await docker(["exec", container, "cat", "/proc/1/status"]);
        assert.match(status, /^NoNewPrivs:\s+1$/m, container);
        assert.match(status, /^CapEff:\s+0{16}$/m, container);
        assert.match(status, /^CapBnd:\s+0{16}$/m, container);
        const usage = await docker(["stats", "--no-stream", "--format", "{{.MemUsage}}", container]);
        report.push(`${container.replace(`${NAME}-`, "")} memory ${usage}`);
      }
    });

    it("writing to the root filesystem fails inside every service, and /tmp is their only writable place", async () => {
      for (const container of services()) {
        for (const path of ["/app/written", "/written"]) {
          await assert.rejects(
            docker(["exec", container, "node", "-e", `require("fs").writeFileSync("${path}", "x")`]),
            /EROFS|read-only file system/i,
            `${container} wrote ${path}`,
          );
        }
        await docker(["exec", container, "node", "-e", `require("fs").writeFileSync("/tmp/written", "x")`]);
      }
    });

    it("an ops command runs hardened as the program runs its steps, and cannot write its image either", async () => {
      // The changefeed step above already ran hardened (it created the topics); here the same flags, asked.
      const run = (script: string) =>
        docker(["run", "--rm", ...LABEL, ...HARDENED, images.ops, "node", "-e", script]);
      await assert.rejects(
        run(`require("fs").writeFileSync("/app/written", "x")`),
        /EROFS|read-only file system/i,
      );
      const status = await run(
        `process.stdout.write(require("fs").readFileSync("/proc/self/status", "utf8"))`,
      );
      assert.match(status, /^NoNewPrivs:\s+1$/m);
      assert.match(status, /^CapEff:\s+0{16}$/m);
    });

    it("each runs as its image's non-root user: node for the project's images, appuser for Kafka, nobody for Prometheus", async () => {
      const expected = [
        ...services().map((container) => [container, "node", "1000"] as const),
        [containers.kafka, "appuser", "1000"],
        [containers.prometheus, "nobody", "65534"],
      ] as const;
      for (const [container, user, uid] of expected) {
        assert.equal(await docker(["inspect", "--format", "{{.Config.User}}", container]), user, container);
        assert.equal(await docker(["exec", container, "id", "-u"]), uid, container);
      }
      for (const image of Object.values(images)) {
        assert.equal(
          await docker(["image", "inspect", "--format", "{{.Config.User}}", image]),
          "node",
          image,
        );
      }
    });

    it("every service exits 0 within 10 s of docker stop (node is PID 1 and drains on SIGTERM)", async () => {
      for (const container of services()) {
        assert.match(await docker(["exec", container, "cat", "/proc/1/cmdline"]), /^node\0/, container);
        const started = Date.now();
        await docker(["stop", "--time", "10", container]);
        const stopMs = Date.now() - started;
        const exitCode = await docker(["inspect", "--format", "{{.State.ExitCode}}", container]);
        report.push(
          `${container.replace(`${NAME}-`, "")} stopped in ${stopMs} ms with exit code ${exitCode}`,
        );
        assert.equal(exitCode, "0", `${container} exit code`);
        assert.ok(stopMs < 10_000, `${container} took ${stopMs} ms to stop`);
      }
    });

    it("the build context holds the manifests, compiler settings and sources of the image workspaces, nothing else", async () => {
      const probe = `${NAME}-context-probe`;
      try {
        await docker(["build", "-q", ...LABEL, "-t", probe, "-f", "-", ROOT], {
          env: { ...process.env, DOCKER_BUILDKIT: "0" },
          input: `FROM ${LAB.node}\nCOPY . /context\n`,
        });
        const sent = await docker([
          "run",
          "--rm",
          ...LABEL,
          "--workdir",
          "/context",
          probe,
          "find",
          ".",
          "-type",
          "f",
        ]);
        const files = sent
          .split("\n")
          .map((file) => file.replace(/^\.\//, ""))
          .sort();
        assert.deepEqual(files, expectedContext());
      } finally {
        await docker(["rmi", probe]).catch(() => "");
      }
    });

    it("a change outside the build context (stack config, README, the Pulumi program) rebuilds nothing", async () => {
      const copy = mkdtempSync(join(tmpdir(), "tidbstack-context-"));
      try {
        cpSync(ROOT, copy, {
          recursive: true,
          filter: (source) => !/\/(node_modules|\.cache|\.git)(\/|$)/.test(source.slice(ROOT.length - 1)),
        });
        appendFileSync(join(copy, "Pulumi.dev.yaml"), "# changed\n");
        appendFileSync(join(copy, "README.md"), "changed\n");
        appendFileSync(join(copy, "infra", "index.ts"), "// changed\n");
        const original = await docker(["image", "inspect", "--format", "{{.Id}}", images.api]);
        const rebuilt = await buildImage("api", `${NAME}-api-context`, copy);
        assert.equal(rebuilt.stepsRun, 0, "a build step ran again: something outside the context reached it");
        assert.equal(rebuilt.id, original);
        report.push(
          `api image rebuilt from cache in ${rebuilt.seconds} s after a change outside its context`,
        );
      } finally {
        rmSync(copy, { recursive: true, force: true });
        await docker(["rmi", `${NAME}-api-context`]).catch(() => "");
      }
    });
  },
);
