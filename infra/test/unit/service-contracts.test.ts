/**
 * The seam between the program and the processes it runs: every environment the program declares (Docker
 * containers and one-off steps, Kubernetes Deployments, Jobs and the CronJob) is parsed by the process's
 * own loader, which must accept it, read every variable in it, and come out with the values the stack was
 * configured with. Run at the defaults and at both ends of every bound the program accepts, so a bound or a
 * name changed on one side only fails here.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { loadApiConfig } from "@tidbstack/api/config";
import { loadMigrationConfig } from "@tidbstack/api/migrate-config";
import { loadPurgeConfig } from "@tidbstack/api/purge-config";
import { loadConsumerConfig } from "@tidbstack/consumer/config";
import {
  loadChangefeedApplyConfig,
  loadChangefeedDeleteConfig,
  loadPdReconcileConfig,
} from "@tidbstack/ops/config";
import { API_ENV, CHANGEFEED_APPLY_ENV, PURGE_ENV } from "@tidbstack/service-kit/contracts";
import {
  DEFAULT_SECRETS,
  envOf,
  runProgram,
  stepEnv,
  type DeclaredResource,
  type ProgramRun,
} from "../harness.ts";

type Env = Record<string, string>;

/**
 * Runs a process's loader on an environment; returns what it parsed and every variable it looked at. The
 * loaders read through EnvReader, which looks each variable up by name, so a Proxy sees every read.
 */
function parse<T>(load: (env: Env) => T, env: Env): { config: T; read: Set<string> } {
  const read = new Set<string>();
  const watched = new Proxy(env, {
    get(target, name) {
      if (typeof name === "string") read.add(name);
      return typeof name === "string" ? target[name] : undefined;
    },
  });
  return { config: load(watched), read };
}

/** Parses `env` with `load`: it must be accepted, and every variable in it must be one the process reads. */
function accepted<T>(what: string, load: (env: Env) => T, env: Env): T {
  const { config, read } = parse(load, env);
  const unread = Object.keys(env).filter((name) => !read.has(name));
  assert.deepEqual(unread, [], `${what} is given variables it never reads: ${unread.join(", ")}`);
  return config;
}

const CONTAINER = "docker:index/container:Container";
const COMMAND = "command:local:Command";

/** A one-off step's whole environment: `-e NAME=value` flags, and the secrets its command environment holds. */
const commandEnv = (step: DeclaredResource): Env => ({
  ...stepEnv(String(step.inputs["create"])),
  ...((step.inputs["environment"] as Env | undefined) ?? {}),
});

/** Both ends of every bound the program accepts, at once. */
const LOW = {
  tokenTtlSeconds: String(API_ENV.TOKEN_TTL_SECONDS.min),
  loginRateLimitPerMinute: String(API_ENV.LOGIN_RATE_LIMIT_PER_MINUTE.min),
  purgeIntervalSeconds: String(PURGE_ENV.PURGE_INTERVAL_SECONDS.min),
  purgeGraceSeconds: String(PURGE_ENV.PURGE_GRACE_SECONDS.min),
  purgeBatchSize: String(PURGE_ENV.PURGE_BATCH_SIZE.min),
  topicPartitions: String(CHANGEFEED_APPLY_ENV.TOPIC_PARTITIONS.min),
  topic: "t",
  database: "d",
  logLevel: "trace",
  loginRateLimitStore: "database",
};
const HIGH = {
  tokenTtlSeconds: String(API_ENV.TOKEN_TTL_SECONDS.max),
  loginRateLimitPerMinute: String(API_ENV.LOGIN_RATE_LIMIT_PER_MINUTE.max),
  purgeIntervalSeconds: String(PURGE_ENV.PURGE_INTERVAL_SECONDS.max),
  purgeGraceSeconds: String(PURGE_ENV.PURGE_GRACE_SECONDS.max),
  purgeBatchSize: String(PURGE_ENV.PURGE_BATCH_SIZE.max),
  topicPartitions: String(CHANGEFEED_APPLY_ENV.TOPIC_PARTITIONS.max),
  // The longest topic whose dead-letter topic is still a Kafka topic name.
  topic: `${"t".repeat(240)}.a-b_`,
  consumerGroup: "audit.group-2",
  database: "d".repeat(64),
  logLevel: "off",
  pdCount: "5",
  tikvCount: "5",
};

const CASES: [string, Record<string, string>][] = [
  ["the default config", {}],
  ["every number at its lowest", LOW],
  ["every number at its highest", HIGH],
];

/** What each process must have parsed, whatever the target. */
function assertServicesAgree(env: (name: string, type: string) => Env, config: Env): void {
  const number = (key: string, fallback: number) => Number(config[key] ?? fallback);
  const topic = config["topic"] ?? "appdb-cdc";

  const api = accepted("the API", loadApiConfig, env("tidbstack-api", "api"));
  assert.equal(api.tokenTtlSeconds, number("tokenTtlSeconds", 3600));
  assert.equal(api.loginRateLimitPerMinute, number("loginRateLimitPerMinute", 10));
  assert.equal(api.db.database, config["database"] ?? "appdb");
  assert.equal(api.logLevel, config["logLevel"] ?? "info");
  assert.equal(api.db.password, DEFAULT_SECRETS.apiDbPassword);

  const consumer = accepted("the consumer", loadConsumerConfig, env("tidbstack-consumer", "consumer"));
  assert.equal(consumer.topic, topic);
  assert.equal(consumer.dlqTopic, `${topic}.dlq`);
  assert.equal(consumer.groupId, config["consumerGroup"] ?? `${topic}-consumer`);

  const purge = accepted("the token purge", (e) => loadPurgeConfig(e, []), env("tidbstack-purge", "purge"));
  assert.equal(purge.intervalSeconds, number("purgeIntervalSeconds", 300));
  assert.equal(purge.graceSeconds, number("purgeGraceSeconds", 86_400));
  assert.equal(purge.batchSize, number("purgeBatchSize", 1000));
  assert.equal(purge.db.password, DEFAULT_SECRETS.purgeDbPassword);

  const migration = accepted("the migration", loadMigrationConfig, env("tidbstack-migrate", "migrate"));
  assert.equal(migration.seed.password, DEFAULT_SECRETS.adminPassword);
  assert.equal(migration.appAccount?.password, DEFAULT_SECRETS.apiDbPassword);
  assert.equal(migration.purgeAccount?.password, DEFAULT_SECRETS.purgeDbPassword);

  const changefeed = accepted(
    "changefeed apply",
    loadChangefeedApplyConfig,
    env("tidbstack-changefeed-appdb-to-kafka", "changefeed"),
  );
  assert.equal(changefeed.topic, topic);
  assert.equal(changefeed.dlqTopic, consumer.dlqTopic);
  assert.equal(changefeed.partitions, number("topicPartitions", 1));
}

describe("the environments the program declares on Docker", () => {
  for (const [name, config] of CASES) {
    describe(`with ${name}`, () => {
      let run: ProgramRun;
      before(async () => {
        run = await runProgram(config);
      });
      const env = (resource: string): Env => {
        const container = run.resources.find((r) => r.type === CONTAINER && r.name === resource);
        if (container !== undefined) return envOf(container);
        return commandEnv(run.byName(resource, COMMAND));
      };

      it("are each accepted and read whole by the process they are for, with the configured values", () => {
        assertServicesAgree(env, config);
      });

      it("include the changefeed's delete and the PD step's, accepted by the ops steps", () => {
        const step = run.byName("tidbstack-changefeed-appdb-to-kafka", COMMAND);
        const remove = stepEnv(String(step.inputs["delete"]));
        assert.equal(accepted("changefeed delete", loadChangefeedDeleteConfig, remove).id, "appdb-to-kafka");
        const pd = accepted(
          "pd reconcile",
          loadPdReconcileConfig,
          commandEnv(run.byName("tidbstack-tidb-pd-reconcile", COMMAND)),
        );
        assert.equal(pd.members.length, Number(config["pdCount"] ?? 1));
        assert.equal(pd.stores.length, Number(config["tikvCount"] ?? 1));
      });
    });
  }
});

type PodEnv = { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } };
type PodContainer = { env: PodEnv[] };

/** A pod container's environment, each secret reference resolved to the stack secret it names. */
function podEnv(container: PodContainer): Env {
  const secretFor = (ref: { name: string }): string => {
    const match = Object.entries({
      "secrets-api-db": DEFAULT_SECRETS.apiDbPassword,
      "secrets-purge-db": DEFAULT_SECRETS.purgeDbPassword,
      "secrets-admin": DEFAULT_SECRETS.adminPassword,
      "secrets-tidb-root": DEFAULT_SECRETS.tidbRootPassword,
    }).find(([suffix]) => ref.name.endsWith(suffix));
    assert.ok(match, `a secret the test knows: ${ref.name}`);
    return match[1];
  };
  return Object.fromEntries(
    container.env.map((e) => [e.name, e.value ?? (e.valueFrom ? secretFor(e.valueFrom.secretKeyRef) : "")]),
  );
}

describe("the environments the program declares on Kubernetes", () => {
  for (const [name, config] of CASES) {
    it(`are each accepted and read whole by the process they are for, with ${name}`, async () => {
      const run = await runProgram({ target: "kubernetes", ...config });
      const env = (_resource: string, role: string): Env => {
        const workload = run.resources.find(
          (r) =>
            /^kubernetes:(batch\/v1:(Job|CronJob)|apps\/v1:Deployment)$/.test(r.type) &&
            r.name === `tidbstack-${role}`,
        );
        assert.ok(workload, `a workload for ${role}`);
        const spec = workload.inputs["spec"] as {
          template?: { spec: { containers: PodContainer[] } };
          jobTemplate?: { spec: { template: { spec: { containers: PodContainer[] } } } };
        };
        const pod = spec.template?.spec ?? spec.jobTemplate?.spec.template.spec;
        const [container] = pod?.containers ?? [];
        assert.ok(container, `${role} has a container`);
        return podEnv(container);
      };
      assertServicesAgree(env, config);
    });
  }
});
