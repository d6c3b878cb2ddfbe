import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import yaml from "js-yaml";

const WORKFLOWS = new URL("../../../.github/workflows/", import.meta.url);
const README = new URL("../../../README.md", import.meta.url);
const DEPENDABOT = new URL("../../../.github/dependabot.yml", import.meta.url);

interface Step {
  readonly uses?: string;
  readonly run?: string;
  readonly env?: Record<string, string>;
  readonly with?: Record<string, unknown>;
}
interface Job {
  readonly permissions?: Record<string, string> | string;
  readonly environment?: string | { readonly name: string };
  readonly concurrency?: { readonly group: string; readonly "cancel-in-progress": boolean };
  readonly env?: Record<string, string>;
  readonly steps: readonly Step[];
}
interface Workflow {
  readonly on: Record<string, unknown>;
  readonly permissions?: Record<string, string> | string;
  readonly env?: Record<string, string>;
  readonly jobs: Record<string, Job>;
}

const files = readdirSync(WORKFLOWS).filter((name) => /\.ya?ml$/.test(name));
const text = (name: string): string => readFileSync(new URL(name, WORKFLOWS), "utf8");
const workflow = (name: string): Workflow => yaml.load(text(name)) as Workflow;
const jobs = (name: string): [string, Job][] => Object.entries(workflow(name).jobs);
const BACKEND_SECRETS = ["PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"];

/** Every env map of a workflow: its own, each job's and each step's. */
const envMaps = (flow: Workflow): Record<string, string>[] =>
  [
    flow.env,
    ...Object.values(flow.jobs).flatMap((job) => [job.env, ...job.steps.map((step) => step.env)]),
  ].filter((env) => env !== undefined);

describe("the GitHub Actions workflows", () => {
  it("are ci.yml, preview.yml and deploy.yml", () => {
    assert.deepEqual(files.sort(), ["ci.yml", "deploy.yml", "preview.yml"]);
  });

  for (const name of files) {
    it(`${name}: every action from another repository is pinned to a full commit SHA, its version in a comment`, () => {
      const uses = [...text(name).matchAll(/^\s*(?:-\s*)?uses:\s*(\S+)(.*)$/gm)];
      assert.ok(uses.length > 0, `${name} uses no action at all`);
      for (const [line, ref = "", rest = ""] of uses) {
        if (ref.startsWith("./")) continue;
        assert.match(ref, /^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/, `not pinned by SHA: ${line.trim()}`);
        assert.match(rest, /^ # v\d+\.\d+\.\d+$/, `no version comment right after the SHA: ${line.trim()}`);
      }
    });

    it(`${name}: the token is read-only at the top and every job declares its own permissions`, () => {
      const flow = workflow(name);
      assert.deepEqual(flow.permissions, { contents: "read" });
      for (const [id, job] of jobs(name)) {
        assert.equal(typeof job.permissions, "object", `job ${id} has no permissions map`);
      }
    });

    it(`${name}: is never triggered by pull_request_target or workflow_run (privileged with untrusted code)`, () => {
      const triggers = Object.keys(workflow(name).on);
      assert.ok(!triggers.includes("pull_request_target"), triggers.join(", "));
      assert.ok(!triggers.includes("workflow_run"), triggers.join(", "));
    });

    it(`${name}: names the Pulumi backend and passphrase only through secrets`, () => {
      for (const env of envMaps(workflow(name))) {
        for (const key of BACKEND_SECRETS) {
          if (key in env) assert.equal(env[key], `\${{ secrets.${key} }}`, `${key} in ${name}`);
        }
      }
      // `pulumi login <cloud-url>` would lose to Pulumi.yaml's backend.url; PULUMI_BACKEND_URL wins over both.
      const cloudUrl = Object.values(workflow(name).jobs).flatMap((job) =>
        job.steps.filter((step) => step.with?.["cloud-url"] !== undefined),
      );
      assert.deepEqual(cloudUrl, [], "the backend is given by PULUMI_BACKEND_URL, not cloud-url");
    });
  }

  it("CI runs typecheck, lint and the README's test command after npm ci, with Node from .nvmrc", () => {
    const readmeTestCommand = /^(npm test)\s+#/m.exec(readFileSync(README, "utf8"))?.[1];
    assert.equal(readmeTestCommand, "npm test");
    const [[, job] = []] = jobs("ci.yml");
    assert.ok(job);
    const runs = job.steps.flatMap((step) => (step.run === undefined ? [] : [step.run.trim()]));
    assert.deepEqual(runs, [
      "npm ci --ignore-scripts --no-audit --no-fund",
      "npm run typecheck",
      "npm run lint",
      readmeTestCommand,
    ]);
    const node = job.steps.find((step) => step.uses?.startsWith("actions/setup-node@"));
    assert.equal(node?.with?.["node-version-file"], ".nvmrc");
    assert.equal(node?.with?.["cache"], "npm");
  });

  for (const [name, command] of [
    ["preview.yml", "preview"],
    ["deploy.yml", "up"],
  ] as const) {
    it(`${name} runs pulumi ${command} with the backend and passphrase from secrets in the job`, () => {
      const [[, job] = []] = jobs(name);
      assert.ok(job?.env);
      for (const key of BACKEND_SECRETS) assert.equal(job.env[key], `\${{ secrets.${key} }}`);
      const pulumi = job.steps.filter((step) => step.uses?.startsWith("pulumi/actions@"));
      assert.deepEqual(
        pulumi.map((step) => step.with?.["command"]),
        [command],
      );
    });
  }

  it("preview runs only on pull requests that touch the program, the services or the lock file", () => {
    const flow = workflow("preview.yml");
    assert.deepEqual(Object.keys(flow.on), ["pull_request"]);
    const paths = (flow.on["pull_request"] as { paths: string[] }).paths;
    for (const path of [
      "infra/**",
      "api/**",
      "consumer/**",
      "ops/**",
      "service-kit/**",
      "package-lock.json",
    ]) {
      assert.ok(paths.includes(path), `${path} is not among ${paths.join(", ")}`);
    }
    const [[, job] = []] = jobs("preview.yml");
    assert.equal(
      job?.permissions && typeof job.permissions === "object" && job.permissions["pull-requests"],
      "write",
    );
  });

  it("deploy runs in an environment, serialized per stack, never cancelling a running update", () => {
    const flow = workflow("deploy.yml");
    assert.deepEqual(Object.keys(flow.on).sort(), ["push", "workflow_dispatch"]);
    assert.deepEqual(flow.on["push"], { branches: ["main"] });
    const [[, job] = []] = jobs("deploy.yml");
    assert.ok(job);
    assert.ok(job.environment !== undefined, "no environment");
    assert.ok(job.concurrency, "no concurrency group");
    assert.match(job.concurrency.group, /vars\.PULUMI_STACK/);
    assert.equal(job.concurrency["cancel-in-progress"], false);
    assert.equal(typeof job.permissions === "object" && job.permissions["packages"], "write");
  });
});

describe("the Dependabot config", () => {
  interface Update {
    readonly "package-ecosystem": string;
    readonly directory: string;
    readonly schedule: { readonly interval: string };
    readonly groups?: Record<string, { readonly patterns: string[] }>;
  }
  const config = yaml.load(readFileSync(DEPENDABOT, "utf8")) as { version: number; updates: Update[] };

  it("parses as version 2 and covers npm and the workflows' actions at the repository root", () => {
    assert.equal(config.version, 2);
    assert.deepEqual(config.updates.map((update) => update["package-ecosystem"]).sort(), [
      "github-actions",
      "npm",
    ]);
    for (const update of config.updates) {
      assert.equal(update.directory, "/");
      assert.ok(update.schedule.interval, `${update["package-ecosystem"]} has no schedule`);
    }
  });

  it("groups npm's version updates into one pull request", () => {
    const npm = config.updates.find((update) => update["package-ecosystem"] === "npm");
    const groups = Object.values(npm?.groups ?? {});
    assert.ok(
      groups.some((group) => group.patterns.includes("*")),
      "no group catches every package",
    );
  });
});
