import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import * as pulumi from "@pulumi/pulumi";
import { ALERTMANAGER_VERSION } from "../../src/alerting-config.ts";
import { loadStackConfig } from "../../src/config.ts";
import { alertRules, DEFAULT_RUNBOOK_BASE_URL, runbookUrl } from "../../src/lib/monitoring/alert-rules.ts";
import { alertmanagerConfig, alertmanagerConfigSpec } from "../../src/lib/monitoring/alertmanager-config.ts";
import { DEFAULT_SECRETS, type DeclaredResource, runProgram, setStackConfig } from "../harness.ts";

const REPO_ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const RUNBOOKS = join(REPO_ROOT, "docs", "runbooks");
const CONTAINER = "docker:index/container:Container";
const RUNBOOK_SECTIONS = ["Meaning", "Impact", "Diagnosis", "Mitigation", "Escalation"];

const alerts = () =>
  alertRules()
    .groups.flatMap((g) => g.rules)
    .filter((r) => r.alert !== undefined);

const uploads = (r: DeclaredResource) =>
  (r.inputs["uploads"] as { file: string; content: string }[] | undefined) ?? [];

const RECEIVER_SECRETS = {
  alertWebhookUrl: "https://hooks.example.com/secret-webhook-token",
  alertSlackWebhookUrl: "https://hooks.slack.example.com/services/T0/B0/secret-slack-token",
  alertEmailPassword: "secret-smtp-password",
};
const EMAIL_CONFIG = {
  alertEmailTo: "oncall@example.com",
  alertEmailFrom: "alerts@example.com",
  alertEmailSmarthost: "smtp.example.com:587",
  alertEmailUsername: "alerts",
};

describe("every alert", () => {
  for (const rule of alerts()) {
    const name = rule.alert ?? "";
    it(`${name} has a for duration, a severity, a summary, a description with its value and a runbook page`, () => {
      assert.match(rule.for ?? "", /^\d+[smh]$/, "for");
      assert.ok(["page", "ticket"].includes(rule.labels?.["severity"] ?? ""), "severity page or ticket");
      assert.ok((rule.annotations?.["summary"] ?? "").length > 10, "summary");
      // The value that fired; TargetDown's is always 0, so its description names the target instead.
      assert.match(
        rule.annotations?.["description"] ?? "",
        name === "TargetDown" ? /\{\{ \$labels\.instance \}\}/ : /\{\{ \$value/,
        "description shows what fired",
      );
      assert.equal(rule.annotations?.["runbook_url"], `${DEFAULT_RUNBOOK_BASE_URL}/${name}.md`);
      const page = join(RUNBOOKS, `${name}.md`);
      assert.ok(existsSync(page), `docs/runbooks/${name}.md exists`);
      const text = readFileSync(page, "utf8");
      assert.match(text, new RegExp(`^# ${name}\\n`), "the page is titled with the alert's name");
      for (const section of RUNBOOK_SECTIONS) {
        assert.match(text, new RegExp(`^## ${section}$`, "m"), `${name}.md has a ${section} section`);
      }
      // Diagnosis names commands for both targets.
      assert.match(text, /docker /, "a Docker command");
      assert.match(text, /kubectl /, "a Kubernetes command");
    });
  }

  it("carries the job it is about, which the inhibition rules compare", () => {
    for (const rule of alerts()) {
      // TargetDown's series carry their own job; the others name it.
      if (rule.alert === "TargetDown") assert.equal(rule.labels?.["job"], undefined);
      else assert.match(rule.labels?.["job"] ?? "", /^[a-z]+$/, rule.alert);
    }
  });
});

describe("the runbook pages", () => {
  it("each belong to an alert", () => {
    const names = new Set(alerts().map((r) => r.alert));
    const pages = readdirSync(RUNBOOKS).filter((f) => f.endsWith(".md") && f !== "README.md");
    for (const page of pages) assert.ok(names.has(page.replace(/\.md$/, "")), `${page} has no alert`);
    assert.equal(pages.length, names.size);
  });

  it("are linked under the configured base, with or without a trailing slash", () => {
    assert.equal(
      runbookUrl("https://docs.example.com/rb/", "TargetDown"),
      "https://docs.example.com/rb/TargetDown.md",
    );
    const rules = alertRules({ runbookBaseUrl: "https://docs.example.com/rb" });
    const target = rules.groups.flatMap((g) => g.rules).find((r) => r.alert === "TargetDown");
    assert.equal(target?.annotations?.["runbook_url"], "https://docs.example.com/rb/TargetDown.md");
  });

  it("and a shorter pending time for tests replaces every alert's own", () => {
    const rules = alertRules({ pendingFor: "5s" }).groups.flatMap((g) => g.rules);
    assert.ok(rules.filter((r) => r.alert !== undefined).every((r) => r.for === "5s"));
  });
});

describe("Alertmanager's routing", () => {
  it("sends pages and tickets by their own timings, and anything else as a ticket", () => {
    const route = alertmanagerConfig({})["route"] as Record<string, unknown>;
    assert.equal(route["receiver"], "ticket");
    assert.equal(route["repeat_interval"], "24h");
    const [page] = route["routes"] as Record<string, unknown>[];
    assert.deepEqual(page?.["matchers"], ['severity="page"']);
    assert.equal(page?.["receiver"], "page");
    assert.equal(page?.["group_wait"], "10s");
    assert.equal(page?.["repeat_interval"], "3h");
  });

  it("with no receiver configured, keeps both receivers without integrations: alerts collect in the UI", () => {
    assert.deepEqual(alertmanagerConfig({})["receivers"], [{ name: "page" }, { name: "ticket" }]);
  });

  it("reads every secret from a file, never from the configuration itself", () => {
    const text = JSON.stringify(
      alertmanagerConfig({
        webhookUrl: RECEIVER_SECRETS.alertWebhookUrl,
        slack: { webhookUrl: RECEIVER_SECRETS.alertSlackWebhookUrl },
        email: {
          to: "a@example.com",
          from: "b@example.com",
          smarthost: "smtp:587",
          username: "u",
          password: "p",
        },
      }),
    );
    for (const secret of [RECEIVER_SECRETS.alertWebhookUrl, RECEIVER_SECRETS.alertSlackWebhookUrl]) {
      assert.ok(!text.includes(secret));
    }
    assert.match(text, /"url_file":"\/etc\/alertmanager\/secrets\/webhook-url"/);
    assert.match(text, /"api_url_file":"\/etc\/alertmanager\/secrets\/slack-webhook-url"/);
    assert.match(text, /"auth_password_file":"\/etc\/alertmanager\/secrets\/smtp-password"/);
  });

  it("is the same on Kubernetes: the AlertmanagerConfig has the same routes, inhibitions and receivers", () => {
    const receivers = { webhookUrl: "w", slack: { webhookUrl: "s", channel: "#a" } };
    const docker = alertmanagerConfig(receivers);
    const kube = alertmanagerConfigSpec(receivers, "stack-alert-receivers");
    const route = (r: Record<string, unknown>) => r["route"] as Record<string, unknown>;
    assert.deepEqual(route(kube)["groupBy"], route(docker)["group_by"]);
    assert.equal(route(kube)["repeatInterval"], route(docker)["repeat_interval"]);
    assert.equal((kube["inhibitRules"] as unknown[]).length, (docker["inhibit_rules"] as unknown[]).length);
    const [page] = kube["receivers"] as Record<string, unknown>[];
    assert.deepEqual(page?.["webhookConfigs"], [
      { urlSecret: { name: "stack-alert-receivers", key: "webhook-url" }, sendResolved: true },
    ]);
  });
});

describe("the Docker target's Alertmanager", () => {
  it("runs the release the tests build, single node, published on 127.0.0.1 only, with its own volume", async () => {
    const goMod = readFileSync(join(REPO_ROOT, "scripts", "alertmanager", "go.mod"), "utf8");
    assert.match(
      goMod,
      new RegExp(`github\\.com/prometheus/alertmanager ${ALERTMANAGER_VERSION.replace(/\./g, "\\.")}\\b`),
    );
    const run = await runProgram({});
    const image = run.byName(
      "tidbstack-monitoring-alertmanager-image",
      "docker:index/remoteImage:RemoteImage",
    );
    assert.equal(image.inputs["name"], `prom/alertmanager:${ALERTMANAGER_VERSION}`);
    const container = run.byName("tidbstack-monitoring-alertmanager", CONTAINER);
    assert.ok((container.inputs["command"] as string[]).includes("--cluster.listen-address="));
    assert.deepEqual(container.inputs["ports"], [{ internal: 9093, external: 9093, ip: "127.0.0.1" }]);
    assert.deepEqual(container.inputs["volumes"], [
      { volumeName: "tidbstack-monitoring-alertmanager-data", containerPath: "/alertmanager" },
    ]);
    assert.equal(container.inputs["wait"], true);
    const prometheus = run.byName("tidbstack-monitoring-prometheus", CONTAINER);
    const prometheusConfig =
      uploads(prometheus).find((u) => u.file.endsWith("prometheus.yml"))?.content ?? "";
    assert.match(prometheusConfig, /"alertmanager:9093"/);
  });

  it("gets the receivers' secrets as files only, which Pulumi keeps secret", async () => {
    const run = await runProgram(
      { ...EMAIL_CONFIG, alertSlackChannel: "#tidbstack-alerts" },
      { secrets: { ...DEFAULT_SECRETS, ...RECEIVER_SECRETS } },
    );
    const container = run.byName("tidbstack-monitoring-alertmanager", CONTAINER);
    assert.deepEqual(container.secretInputs, ["uploads"]);
    const files = Object.fromEntries(uploads(container).map((u) => [u.file, u.content]));
    assert.equal(files["/etc/alertmanager/secrets/webhook-url"], RECEIVER_SECRETS.alertWebhookUrl);
    assert.equal(files["/etc/alertmanager/secrets/slack-webhook-url"], RECEIVER_SECRETS.alertSlackWebhookUrl);
    assert.equal(files["/etc/alertmanager/secrets/smtp-password"], RECEIVER_SECRETS.alertEmailPassword);
    const config = files["/etc/alertmanager/alertmanager.yml"] ?? "";
    assert.match(config, /"channel": "#tidbstack-alerts"/);
    assert.match(config, /"to": "oncall@example\.com"/);
    for (const [key, value] of Object.entries(container.inputs)) {
      if (key === "uploads") continue;
      for (const secret of Object.values(RECEIVER_SECRETS))
        assert.ok(!JSON.stringify(value ?? null).includes(secret), key);
    }
  });

  it("links every alert's runbook under runbookBaseUrl", async () => {
    const run = await runProgram({ runbookBaseUrl: "https://wiki.example.com/tidbstack/runbooks" });
    const rules = uploads(run.byName("tidbstack-monitoring-prometheus", CONTAINER)).find((u) =>
      u.file.endsWith("tidbstack.yml"),
    );
    assert.match(
      rules?.content ?? "",
      /"runbook_url": "https:\/\/wiki\.example\.com\/tidbstack\/runbooks\/TargetDown\.md"/,
    );
  });

  for (const [config, key] of [
    [{ alertEmailTo: "oncall@example.com" }, "alertEmailFrom"],
    [{ alertSlackChannel: "#alerts" }, "alertSlackChannel"],
    [{ alertSlackChannel: "alerts" }, "alertSlackChannel"],
    [{ ...EMAIL_CONFIG, alertEmailSmarthost: "smtp.example.com" }, "alertEmailSmarthost"],
    [{ runbookBaseUrl: "docs/runbooks" }, "runbookBaseUrl"],
    [{ alertmanagerVersion: "v0.25.0" }, "alertmanagerVersion"],
    [{ alertmanagerPort: "0" }, "alertmanagerPort"],
  ] as const) {
    it(`refuses ${JSON.stringify(config)}, naming ${key}`, () => {
      setStackConfig(config, DEFAULT_SECRETS);
      assert.throws(
        () => loadStackConfig(new pulumi.Config("tidbstack")),
        new RegExp(`invalid config "${key}"`),
      );
    });
  }
});

describe("the Kubernetes target with prometheusOperator", () => {
  it("declares an AlertmanagerConfig whose receivers read a Secret made of the Pulumi secrets", async () => {
    const run = await runProgram(
      { target: "kubernetes", prometheusOperator: "true", ...EMAIL_CONFIG },
      { secrets: { ...DEFAULT_SECRETS, ...RECEIVER_SECRETS } },
    );
    const config = run.byName(
      "tidbstack-monitoring-alerts",
      "kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig",
    );
    assert.deepEqual(config.secretInputs, []);
    assert.ok(config.dependsOn.some((d) => d.endsWith("::tidbstack-monitoring-alert-receivers")));
    const secret = run.byName("tidbstack-monitoring-alert-receivers", "kubernetes:core/v1:Secret");
    assert.deepEqual(secret.secretInputs, ["stringData"]);
    assert.deepEqual(secret.inputs["stringData"], {
      "webhook-url": RECEIVER_SECRETS.alertWebhookUrl,
      "slack-webhook-url": RECEIVER_SECRETS.alertSlackWebhookUrl,
      "smtp-password": RECEIVER_SECRETS.alertEmailPassword,
    });
    const spec = JSON.stringify(config.inputs["spec"]);
    for (const value of Object.values(RECEIVER_SECRETS)) assert.ok(!spec.includes(value));
    assert.match(spec, /"authPassword":\{"name":"tidbstack-alert-receivers","key":"smtp-password"\}/);
  });

  it("declares no Secret when no receiver is configured", async () => {
    const run = await runProgram({ target: "kubernetes", prometheusOperator: "true" });
    assert.equal(run.resources.filter((r) => r.name.endsWith("alert-receivers")).length, 0);
    assert.equal(run.ofType("kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig").length, 1);
  });
});
