/**
 * Builds the API and consumer images from their Dockerfiles and runs them on a Docker network the way the
 * Pulumi program does: the migration as a one-off container of the API image, then the two services with
 * the environments the program gives them (imported from its own code), against a MariaDB standing in for
 * TiDB and an Apache Kafka configured by the program's own Kafka settings. Base images are the lab images
 * of scripts/lab/build.sh (no registry here); everything created is labelled and removed afterwards.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import { getLogger } from "@tidbstack/service-kit";
import {
  docker,
  dockerAvailable,
  dockerLogs,
  freePort,
  imageExists,
  removeLabelled,
  TEST_LABEL,
  waitHealthy,
} from "@tidbstack/testenv";
import { ensureTopics } from "../../../consumer/src/changefeed.ts";
import { rowMessage } from "../../../consumer/test/fixtures.ts";
import { clusterIdFor } from "../../src/components/kafka.ts";
import {
  API_PORT,
  apiEnvironment,
  CONSUMER_METRICS_PORT,
  consumerEnvironment,
  dlqTopicOf,
  MIGRATION_COMMAND,
  migrationEnvironment,
  migrationSecretEnvironment,
} from "../../src/lib/service-env.ts";
import { alertRules } from "../../src/lib/monitoring/alert-rules.ts";
import { PROMETHEUS_PORT, prometheusConfig } from "../../src/lib/monitoring/prometheus-config.ts";
import { kafkaEnvironment, PORTS } from "../../src/lib/topology.ts";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const RUN = randomBytes(4).toString("hex");
const NAME = `tidbstack-test-${RUN}`;
const LABEL = ["--label", `${TEST_LABEL}=${RUN}`];
const KAFKA_IMAGE = "lab/kafka:3.9.1";
const BASE_IMAGE = process.env["LAB_NODE_IMAGE"] ?? "lab/node:24";
const SECRETS = {
  DB_PASSWORD: "root-pw-in-test",
  ADMIN_PASSWORD: "temp-password",
  APP_DB_PASSWORD: "api-pw-in-test",
};
const TOPIC = "appdb-cdc";
const env = (vars: Record<string, string>): string[] =>
  Object.entries(vars).flatMap(([key, value]) => ["-e", `${key}=${value}`]);

async function dockerBuild(
  service: "api" | "consumer",
): Promise<{ image: string; seconds: number; megabytes: number }> {
  const image = `${NAME}-${service}`;
  const started = Date.now();
  await docker(
    [
      "build",
      "-q",
      ...LABEL,
      "--build-arg",
      `BASE_IMAGE=${BASE_IMAGE}`,
      "-f",
      `${ROOT}/${service}/Dockerfile`,
      "-t",
      image,
      ROOT,
    ],
    {
      env: { ...process.env, DOCKER_BUILDKIT: "0" },
      timeoutMs: 900_000,
    },
  );
  const bytes = Number(await docker(["image", "inspect", "--format", "{{.Size}}", image]));
  return { image, seconds: (Date.now() - started) / 1000, megabytes: Math.round(bytes / 1e6) };
}

describe("the API and consumer images, built and run on a Docker engine", { timeout: 1_200_000 }, () => {
  const network = `${NAME}-net`;
  const containers = {
    db: `${NAME}-tidb`,
    kafka: `${NAME}-kafka`,
    api: `${NAME}-api`,
    consumer: `${NAME}-consumer`,
    prometheus: `${NAME}-prometheus`,
  };
  const images = { api: "", consumer: "" };
  let apiUrl = "";
  let prometheusUrl = "";
  let kafkaHostPort = 0;
  const report: string[] = [];

  before(async () => {
    if (!(await dockerAvailable()))
      throw new Error("no Docker engine answers: scripts/lab/build.sh starts one (npm test runs it)");
    for (const image of [BASE_IMAGE, KAFKA_IMAGE, "lab/mariadb", "lab/prometheus"]) {
      if (!(await imageExists(image))) throw new Error(`image ${image} is missing: run scripts/lab/build.sh`);
    }
    const [api, consumer] = [await dockerBuild("api"), await dockerBuild("consumer")];
    images.api = api.image;
    images.consumer = consumer.image;
    report.push(
      `api image ${api.megabytes} MB (built in ${api.seconds} s)`,
      `consumer image ${consumer.megabytes} MB (built in ${consumer.seconds} s)`,
    );

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
      "lab/mariadb",
    ]);
    // The stack's own Kafka settings, with the host listener moved to a free port for this test's producer.
    kafkaHostPort = await freePort();
    const kafkaEnv = {
      ...kafkaEnvironment(clusterIdFor(NAME), 256),
      KAFKA_LISTENERS: `CONTROLLER://:${PORTS.kafkaController},PLAINTEXT://:${PORTS.kafkaInternal},PLAINTEXT_HOST://:${kafkaHostPort}`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://kafka:${PORTS.kafkaInternal},PLAINTEXT_HOST://127.0.0.1:${kafkaHostPort}`,
    };
    await docker([
      "run",
      "-d",
      ...LABEL,
      "--name",
      containers.kafka,
      "--network",
      network,
      "--network-alias",
      "kafka",
      "-p",
      `127.0.0.1:${kafkaHostPort}:${kafkaHostPort}`,
      ...env(kafkaEnv),
      KAFKA_IMAGE,
    ]);
    await waitHealthy(containers.db, 120_000);

    const kafka = new Kafka({
      clientId: "container-test",
      brokers: [`127.0.0.1:${kafkaHostPort}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 30, initialRetryTime: 500, maxRetryTime: 2000 },
    });
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(
      admin,
      [
        { topic: TOPIC, partitions: 1 },
        { topic: dlqTopicOf(TOPIC), partitions: 1 },
      ],
      getLogger("test"),
    );
    await admin.disconnect();

    // The init step exactly as the program runs it: plain settings on the command line, secrets by name.
    await docker(
      [
        "run",
        "--rm",
        ...LABEL,
        "--network",
        network,
        ...env(migrationEnvironment({ database: "appdb", adminEmail: "admin@test.com" })),
        ...Object.keys(
          migrationSecretEnvironment({
            rootPassword: SECRETS.DB_PASSWORD,
            adminPassword: SECRETS.ADMIN_PASSWORD,
            apiDbPassword: SECRETS.APP_DB_PASSWORD,
          }),
        ).flatMap((key) => ["-e", key]),
        images.api,
        ...MIGRATION_COMMAND,
      ],
      { env: { ...process.env, ...SECRETS } },
    );

    const apiHostPort = await freePort();
    const apiEnv = apiEnvironment({
      database: "appdb",
      dbPassword: SECRETS.APP_DB_PASSWORD,
      tokenTtlSeconds: 3600,
      loginRateLimitPerMinute: 100,
      logLevel: "info",
    });
    await docker([
      "run",
      "-d",
      ...LABEL,
      "--name",
      containers.api,
      "--network",
      network,
      "--network-alias",
      "api",
      "-p",
      `127.0.0.1:${apiHostPort}:${API_PORT}`,
      ...env(apiEnv),
      images.api,
    ]);
    await docker([
      "run",
      "-d",
      ...LABEL,
      "--name",
      containers.consumer,
      "--network",
      network,
      "--network-alias",
      "consumer",
      ...env(consumerEnvironment({ topic: TOPIC, logLevel: "info" })),
      images.consumer,
    ]);
    apiUrl = `http://127.0.0.1:${apiHostPort}`;

    // Prometheus with the program's own scrape configuration and rules (only api and consumer exist here).
    const config = mkdtempSync(join(tmpdir(), "tidbstack-prometheus-"));
    mkdirSync(join(config, "rules"));
    writeFileSync(
      join(config, "prometheus.yml"),
      JSON.stringify(prometheusConfig({ pdCount: 1, tikvCount: 1 })),
    );
    writeFileSync(join(config, "rules", "tidbstack.yml"), JSON.stringify(alertRules()));
    chmodSync(config, 0o755);
    const prometheusHostPort = await freePort();
    await docker([
      "run",
      "-d",
      ...LABEL,
      "--name",
      containers.prometheus,
      "--network",
      network,
      "--network-alias",
      "prometheus",
      "-p",
      `127.0.0.1:${prometheusHostPort}:${PROMETHEUS_PORT}`,
      "-v",
      `${config}:/etc/prometheus:ro`,
      "lab/prometheus",
      "--config.file=/etc/prometheus/prometheus.yml",
    ]);
    prometheusUrl = `http://127.0.0.1:${prometheusHostPort}`;
  });

  after(async () => {
    for (const line of report) console.log(`container test: ${line}`);
    await removeLabelled(RUN);
    for (const image of [images.api, images.consumer].filter(Boolean))
      await docker(["rmi", "-f", image]).catch(() => "");
  });

  it("both services report healthy through Docker's own healthcheck", async () => {
    const [apiMs, consumerMs] = await Promise.all([
      waitHealthy(containers.api, 90_000),
      waitHealthy(containers.consumer, 90_000),
    ]);
    report.push(`healthy after ${apiMs} ms (api), ${consumerMs} ms (consumer)`);
  });

  it("the API answers through its published port: health, readiness, login with the seed admin, /me and logout", async () => {
    assert.deepEqual(await (await fetch(`${apiUrl}/health`)).json(), { status: "ok" });
    assert.deepEqual(await (await fetch(`${apiUrl}/ready`)).json(), { status: "ready" });
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
    const login_line = logs
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l["action"] === "login");
    assert.equal(login_line?.["outcome"], "success");
    assert.ok(
      !logs.includes(token) && !logs.includes(SECRETS.APP_DB_PASSWORD),
      "the container's log holds a secret",
    );
  });

  it("a real Prometheus, configured by the program, scrapes both services", async () => {
    const deadline = Date.now() + 90_000;
    let health: Record<string, string> = {};
    while (Date.now() < deadline) {
      const response = await fetch(`${prometheusUrl}/api/v1/targets`).catch(() => undefined);
      if (response?.ok === true) {
        const body = (await response.json()) as {
          data: { activeTargets: { labels: { job: string }; health: string }[] };
        };
        health = Object.fromEntries(body.data.activeTargets.map((t) => [t.labels.job, t.health]));
        if (health["api"] === "up" && health["consumer"] === "up") break;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    assert.equal(health["api"], "up");
    assert.equal(health["consumer"], "up");
  });

  it("the consumer logs canal-json change events produced to the topic, redacted", async () => {
    const kafka = new Kafka({
      clientId: "container-test",
      brokers: [`127.0.0.1:${kafkaHostPort}`],
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({
      topic: TOPIC,
      messages: [
        {
          value: rowMessage({
            data: [{ id: "42", email: "container@test.com", password_hash: "$scrypt$secret" }],
          }),
        },
        { value: "poison" },
      ],
    });
    await producer.disconnect();
    const deadline = Date.now() + 60_000;
    let lines: Record<string, unknown>[] = [];
    while (Date.now() < deadline) {
      lines = (await docker(["logs", containers.consumer]))
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
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

  it("every line either service writes, on stdout or stderr, is one JSON object", async () => {
    for (const container of [containers.api, containers.consumer]) {
      const { stdout, stderr } = await dockerLogs(container);
      const output = stdout + stderr;
      const lines = output.split("\n").filter((line) => line !== "");
      assert.ok(lines.length > 0, `${container} logged nothing`);
      for (const line of lines) {
        assert.doesNotThrow(() => JSON.parse(line) as unknown, `${container} wrote a non-JSON line: ${line}`);
      }
    }
  });

  it("both run as the non-root node user", async () => {
    for (const container of [containers.api, containers.consumer]) {
      assert.equal(await docker(["exec", container, "id", "-u"]), "1000", container);
      assert.equal(await docker(["inspect", "--format", "{{.Config.User}}", container]), "node", container);
    }
  });

  it("both exit 0 within 10 s of docker stop (node is PID 1 and drains on SIGTERM)", async () => {
    for (const container of [containers.api, containers.consumer]) {
      const started = Date.now();
      await docker(["stop", "--time", "10", container]);
      const stopMs = Date.now() - started;
      const exitCode = await docker(["inspect", "--format", "{{.State.ExitCode}}", container]);
      report.push(`${container.replace(`${NAME}-`, "")} stopped in ${stopMs} ms with exit code ${exitCode}`);
      assert.equal(exitCode, "0", `${container} exit code`);
      assert.ok(stopMs < 10_000, `${container} took ${stopMs} ms to stop`);
    }
  });
});
