/**
 * Alerts reach a person: a real Prometheus (Debian's package) evaluates the stack's generated rules and
 * sends to a real Alertmanager of the release the stack pins (built by scripts/lib/alertmanager.sh, which
 * exports ALERTMANAGER_BIN and AMTOOL_BIN), configured by the program's own generator with a webhook
 * receiver whose URL is a secret file; a local HTTP server is that webhook. The scrape targets are local
 * stand-ins for TiDB and the API, so a test can stop one or make it fail. Only the `for` durations, the
 * scrape interval and Alertmanager's group timings are shortened (parameters of the generators).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import {
  eventually,
  freePort,
  listenOnLoopback,
  type ServerProcess,
  startServerProcess,
  waitUntilReady,
} from "@tidbstack/testenv";
import { alertRules } from "../../src/lib/monitoring/alert-rules.ts";
import {
  type AlertReceivers,
  type AlertRouting,
  alertmanagerConfig,
  alertmanagerSecretFiles,
} from "../../src/lib/monitoring/alertmanager-config.ts";
import { prometheusConfig } from "../../src/lib/monitoring/prometheus-config.ts";

const run = promisify(execFile);

function binary(variable: string): string {
  const path = process.env[variable];
  if (path === undefined || path === "") {
    throw new Error(
      `${variable} is not set: scripts/test.sh builds Alertmanager and amtool (scripts/lib/alertmanager.sh) and exports it; run the test with 'npm test'`,
    );
  }
  return path;
}

const RUNBOOK_BASE = "https://runbooks.example.com/tidbstack";
/** Seconds, not minutes: the same routes, so that a test sees a notification, its repeat and its resolution. */
const FAST_ROUTING: AlertRouting = {
  page: { groupWait: "1s", groupInterval: "2s", repeatInterval: "1h" },
  ticket: { groupWait: "1s", groupInterval: "2s", repeatInterval: "1h" },
};
/**
 * How long an alert may take from its cause to the webhook: a failed scrape (1 s interval), the 2 s `for`,
 * the next evaluation (1 s), Prometheus's send and the 1 s group wait make about 5 s; six times that for a
 * loaded two-core machine.
 */
const DELIVERY_BOUND_MS = 30_000;

interface WebhookAlert {
  readonly status: "firing" | "resolved";
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}
interface WebhookPayload {
  readonly version: string;
  readonly status: string;
  readonly receiver: string;
  readonly alerts: WebhookAlert[];
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** A webhook that answers only on its secret path and keeps every payload it receives, stamped. */
async function startWebhook(secretPath: string) {
  const received: { at: number; payload: WebhookPayload }[] = [];
  const server = createServer((request, response) => {
    void readBody(request).then((body) => {
      if (request.method !== "POST" || request.url !== secretPath) {
        response.writeHead(404).end();
        return;
      }
      received.push({ at: Date.now(), payload: JSON.parse(body) as WebhookPayload });
      response.writeHead(200).end();
    });
  });
  const port = await listenOnLoopback(server);
  return { server, url: `http://127.0.0.1:${port}${secretPath}`, received };
}

/** A stand-in scrape target: serves `metrics()` at /metrics while it runs; stop() and start() again. */
class Exporter {
  private server: Server | undefined;
  readonly port: number;
  private readonly metrics: () => string;
  constructor(port: number, metrics: () => string) {
    this.port = port;
    this.metrics = metrics;
  }
  async start(): Promise<void> {
    const server = createServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(this.metrics());
    });
    server.listen(this.port, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    this.server = server;
  }
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/**
 * The generated Prometheus configuration with its jobs pointed at the stand-ins: only the jobs that have
 * one are kept (the others' servers do not run here and would fire TargetDown), and the Alertmanager
 * target is the local one.
 */
function localPrometheusConfig(
  targets: Record<string, string>,
  alertmanager: string,
  rulesDir: string,
): Record<string, unknown> {
  const generated = prometheusConfig({ pdCount: 1, tikvCount: 1 }, { scrapeInterval: "1s" }) as {
    scrape_configs: { job_name: string }[];
  };
  return {
    ...generated,
    rule_files: [join(rulesDir, "*.yml")],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [alertmanager] }] }] },
    scrape_configs: generated.scrape_configs
      .filter((job) => job.job_name in targets)
      .map((job) => ({ ...job, static_configs: [{ targets: [targets[job.job_name]] }] })),
  };
}

/** A readiness probe for waitUntilReady: fails until `url` answers 200. */
const answers200 = (url: string) => async (): Promise<void> => {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
};

const writeJson = (file: string, value: unknown): string => {
  writeFileSync(file, JSON.stringify(value, null, 2));
  return file;
};

async function amtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(binary("AMTOOL_BIN"), args);
    return stdout + stderr;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`amtool ${args.join(" ")} failed:\n${stdout ?? ""}${stderr ?? ""}`);
  }
}

describe("alerts from the real Prometheus reach the webhook through the real Alertmanager", () => {
  const dir = mkdtempSync(join(tmpdir(), "tidbstack-alerting-"));
  const processes: ServerProcess[] = [];
  let webhook: Awaited<ReturnType<typeof startWebhook>>;
  let tidb: Exporter;
  let api: Exporter;
  let alertmanagerUrl = "";
  /** While true, half of the API's requests fail. */
  let apiFailing = false;
  let requests = { ok: 0, failed: 0 };
  const counters = setInterval(() => {
    requests = { ok: requests.ok + 10, failed: requests.failed + (apiFailing ? 10 : 0) };
  }, 100);

  const delivered = (alertname: string, status: "firing" | "resolved") =>
    webhook.received.filter((r) =>
      r.payload.alerts.some((a) => a.labels["alertname"] === alertname && a.status === status),
    );

  before(async () => {
    webhook = await startWebhook(`/hooks/${randomBytes(12).toString("hex")}`);
    tidb = new Exporter(await freePort(), () => "tidb_server_connections 1\n");
    api = new Exporter(await freePort(), () =>
      [
        "# TYPE http_requests_total counter",
        `http_requests_total{method="GET",route="/me",status="200"} ${requests.ok}`,
        `http_requests_total{method="GET",route="/me",status="503"} ${requests.failed}`,
        "",
      ].join("\n"),
    );
    await api.start();
    // TiDB's stand-in is down from the start: its TargetDown is the first alert.

    const receivers: AlertReceivers<string> = { webhookUrl: webhook.url };
    const secretsDir = join(dir, "secrets");
    mkdirSync(secretsDir);
    for (const file of alertmanagerSecretFiles(receivers, secretsDir)) writeFileSync(file.file, file.content);
    const alertmanagerPort = await freePort();
    const alertmanagerConfigFile = writeJson(
      join(dir, "alertmanager.yml"),
      alertmanagerConfig(receivers, { routing: FAST_ROUTING, secretsDir }),
    );
    const alertmanager = startServerProcess(
      binary("ALERTMANAGER_BIN"),
      [
        `--config.file=${alertmanagerConfigFile}`,
        `--storage.path=${join(dir, "alertmanager-data")}`,
        `--web.listen-address=127.0.0.1:${alertmanagerPort}`,
        "--cluster.listen-address=",
      ],
      join(dir, "alertmanager.log"),
    );
    processes.push(alertmanager);
    alertmanagerUrl = `http://127.0.0.1:${alertmanagerPort}`;
    await waitUntilReady("alertmanager", alertmanager, answers200(`${alertmanagerUrl}/-/ready`), 30_000);

    const rulesDir = join(dir, "rules");
    mkdirSync(rulesDir);
    writeJson(
      join(rulesDir, "tidbstack.yml"),
      alertRules({ runbookBaseUrl: RUNBOOK_BASE, pendingFor: "2s" }),
    );
    const prometheusPort = await freePort();
    const prometheusConfigFile = writeJson(
      join(dir, "prometheus.yml"),
      localPrometheusConfig(
        { tidb: `127.0.0.1:${tidb.port}`, api: `127.0.0.1:${api.port}` },
        `127.0.0.1:${alertmanagerPort}`,
        rulesDir,
      ),
    );
    const prometheus = startServerProcess(
      "prometheus",
      [
        `--config.file=${prometheusConfigFile}`,
        `--storage.tsdb.path=${join(dir, "prometheus-data")}`,
        `--web.listen-address=127.0.0.1:${prometheusPort}`,
      ],
      join(dir, "prometheus.log"),
    );
    processes.push(prometheus);
    await waitUntilReady(
      "prometheus",
      prometheus,
      answers200(`http://127.0.0.1:${prometheusPort}/-/ready`),
      60_000,
    );
  });

  after(async () => {
    clearInterval(counters);
    for (const p of processes) await p.stop();
    await tidb.stop();
    await api.stop();
    webhook.server.close();
  });

  it("a target that is down pages through the webhook with alertname, severity, job and runbook_url", async (t) => {
    const started = Date.now();
    await eventually(
      "TargetDown reaches the webhook",
      () => delivered("TargetDown", "firing").length > 0,
      DELIVERY_BOUND_MS,
    );
    const [first] = delivered("TargetDown", "firing");
    assert.ok(first !== undefined);
    const alert = first.payload.alerts.find((a) => a.labels["alertname"] === "TargetDown");
    assert.equal(first.payload.version, "4");
    assert.equal(first.payload.receiver, "page");
    assert.equal(alert?.labels["severity"], "page");
    assert.equal(alert?.labels["job"], "tidb");
    assert.equal(alert?.annotations["runbook_url"], `${RUNBOOK_BASE}/TargetDown.md`);
    assert.match(alert?.annotations["description"] ?? "", /^tidb target 127\.0\.0\.1:\d+ has not answered/);
    t.diagnostic(`TargetDown reached the webhook ${first.at - started} ms after the test began waiting`);
  });

  it("while TiDB is down, the API's error-budget alerts fire but are held back, not delivered", async () => {
    apiFailing = true;
    // Alertmanager has both, and marks them inhibited: they did fire, and only the inhibition stops them.
    const suppressed = async () => {
      const alerts = (await (await fetch(`${alertmanagerUrl}/api/v2/alerts?inhibited=true`)).json()) as {
        labels: Record<string, string>;
        status: { state: string; inhibitedBy: string[] };
      }[];
      return alerts
        .filter((a) => a.status.state === "suppressed" && a.status.inhibitedBy.length > 0)
        .map((a) => a.labels["alertname"]);
    };
    await eventually(
      "Alertmanager holds ApiErrorBudgetFastBurn and ApiErrorBudgetSlowBurn as inhibited",
      async () => {
        const names = await suppressed();
        return names.includes("ApiErrorBudgetFastBurn") && names.includes("ApiErrorBudgetSlowBurn");
      },
      DELIVERY_BOUND_MS,
    );
    // Several group intervals (2 s) later, still nothing about them has been sent.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    assert.deepEqual(delivered("ApiErrorBudgetFastBurn", "firing"), []);
    assert.deepEqual(delivered("ApiErrorBudgetSlowBurn", "firing"), []);
  });

  it("when the target is back, its resolution follows, and then the page its outage held back", async () => {
    await tidb.start();
    await eventually(
      "the resolved TargetDown reaches the webhook",
      () => delivered("TargetDown", "resolved").length > 0,
      DELIVERY_BOUND_MS,
    );
    const [resolved] = delivered("TargetDown", "resolved");
    assert.equal(resolved?.payload.status, "resolved");
    await eventually(
      "ApiErrorBudgetFastBurn reaches the webhook once TiDB is back",
      () => delivered("ApiErrorBudgetFastBurn", "firing").length > 0,
      DELIVERY_BOUND_MS,
    );
    const page = delivered("ApiErrorBudgetFastBurn", "firing")[0]?.payload.alerts[0];
    assert.equal(page?.labels["severity"], "page");
    assert.equal(page?.annotations["runbook_url"], `${RUNBOOK_BASE}/ApiErrorBudgetFastBurn.md`);
    // The slow burn stays held back by the fast one: a ticket would only repeat the page.
    assert.deepEqual(delivered("ApiErrorBudgetSlowBurn", "firing"), []);
  });
});

describe("amtool, of the release the stack runs", () => {
  const dir = mkdtempSync(join(tmpdir(), "tidbstack-amtool-"));
  const email = { to: "oncall@example.com", from: "alerts@example.com", smarthost: "smtp.example.com:587" };
  const configs: Record<string, AlertReceivers<string>> = {
    "no receiver": {},
    webhook: { webhookUrl: "w" },
    Slack: { slack: { webhookUrl: "s", channel: "#alerts" } },
    "e-mail without a login": { email },
    "e-mail with a login": { email: { ...email, username: "alerts", password: "p" } },
    "all of them": {
      webhookUrl: "w",
      slack: { webhookUrl: "s" },
      email: { ...email, username: "u", password: "p" },
    },
  };

  for (const [name, receivers] of Object.entries(configs)) {
    it(`accepts the generated configuration with ${name}`, async () => {
      const file = writeJson(join(dir, `${name.replace(/\W+/g, "-")}.yml`), alertmanagerConfig(receivers));
      const output = await amtool("check-config", file);
      assert.match(output, /SUCCESS/);
      assert.match(output, /- 2 receivers/);
      assert.match(output, /- 4 inhibit rules/);
    });
  }

  it("routes pages to the page receiver and tickets, or anything else, to the ticket receiver", async () => {
    const file = writeJson(join(dir, "routes.yml"), alertmanagerConfig({ webhookUrl: "w" }));
    const route = (receiver: string, ...labels: string[]) =>
      amtool(
        "config",
        "routes",
        "test",
        `--config.file=${file}`,
        `--verify.receivers=${receiver}`,
        ...labels,
      );
    await route("page", "alertname=TargetDown", "severity=page", "job=tidb");
    await route("ticket", "alertname=DlqMessages", "severity=ticket", "job=consumer");
    await route("ticket", "alertname=Unknown");
    // --verify.receivers fails on a mismatch, so this check can fail.
    await assert.rejects(route("page", "alertname=DlqMessages", "severity=ticket"), /amtool .* failed/);
  });
});
