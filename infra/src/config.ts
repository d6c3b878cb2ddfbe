import { isIPv4 } from "node:net";
import * as pulumi from "@pulumi/pulumi";
import {
  API_ENV,
  cdcTopicProblem,
  CHANGEFEED_APPLY_ENV,
  CHANGEFEED_ID,
  CONSUMER_GROUP,
  consumerGroupOf,
  DB_ENV,
  EMAIL,
  LOG_LEVELS,
  PURGE_ENV,
  RATE_LIMIT_STORES,
  SQL_IDENTIFIER,
  type IntegerVar,
  type RateLimitStore,
  type ValueRule,
} from "@tidbstack/service-kit/contracts";
import { type AlertingConfig, loadAlertingConfig } from "./alerting-config.ts";
import { type KubernetesConfig, loadKubernetesConfig } from "./kubernetes/config.ts";
import { TIKV_MIN_NOFILE, TIKV_NOFILE } from "./lib/container-specs.ts";
import type { LogRotation } from "./lib/container-specs.ts";
import { LOOPBACK } from "./lib/host-address.ts";
import type { TokenCacheSettings } from "./lib/service-env.ts";

/** Everything the stack reads from Pulumi config, validated: a bad value fails `pulumi preview` naming its key. */
export interface StackConfig {
  /** Prefix of every Docker object's name (containers, volumes, network, images). */
  readonly name: string;
  /** One TiDB patch release for PD, TiKV, TiDB and TiCDC images, e.g. v8.5.4. */
  readonly tidbVersion: string;
  /** The apache/kafka image tag (3.9.x). */
  readonly kafkaVersion: string;
  /** The Node.js base image the service images build from. */
  readonly nodeBaseImage: string;
  /**
   * Platform the service images are built for, e.g. linux/arm64; undefined builds for the platform of the
   * machine running Pulumi.
   */
  readonly imagePlatform: string | undefined;
  /** PD servers: 1, 3 or 5. Node i keeps its name at every count (pd, pd1, pd2...). */
  readonly pdCount: number;
  /** TiKV stores, 1 to 5 (tikv, tikv1, tikv2...); PD's max-replicas is min(3, tikvCount). */
  readonly tikvCount: number;
  /** Memory cap of each TiKV container, in MiB; its block cache is sized from it. */
  readonly tikvMemoryMb: number;
  /** Open-file limit of each TiKV container (Docker target), TIKV_MIN_NOFILE to 1048576. */
  readonly tikvNofile: number;
  /** Memory cap of the TiDB container, in MiB. */
  readonly tidbMemoryMb: number;
  /** Kafka's JVM heap, in MiB. */
  readonly kafkaHeapMb: number;
  /** Host port of the API. */
  readonly apiPort: number;
  /**
   * Host address the API's port is published on (Docker target): 127.0.0.1, this machine only, by default;
   * 0.0.0.0 for every interface, or one IPv4 address of the host for that interface only.
   */
  readonly apiHost: string;
  /** Memory cap of each Node service container, in MiB (Docker target). */
  readonly serviceMemoryMb: { readonly api: number; readonly consumer: number; readonly purge: number };
  /** How every container's log is rotated (Docker target). */
  readonly logRotation: LogRotation;
  /** Publish TiDB (4000), Kafka (9092) and TiCDC's API (8300) on 127.0.0.1 for debugging. */
  readonly exposeInternalPorts: boolean;
  /** Leave the data volumes in Docker on `pulumi destroy`, for the next `pulumi up` to reuse. */
  readonly keepDataOnDestroy: boolean;
  /** The CDC topic; its dead-letter topic is `<topic>.dlq`. */
  readonly topic: string;
  /** The consumer's Kafka group; default `<topic>-consumer`. */
  readonly consumerGroup: string;
  /** Partitions of the CDC topic (and TiCDC's partition-num). */
  readonly topicPartitions: number;
  /** TiCDC changefeed id. */
  readonly changefeedId: string;
  /** Database the API owns and TiCDC replicates. */
  readonly database: string;
  /** API token lifetime, in seconds. */
  readonly tokenTtlSeconds: number;
  /** API login attempts per client IP per minute. */
  readonly loginRateLimitPerMinute: number;
  /** The API's per-process /me token cache. */
  readonly tokenCache: TokenCacheSettings;
  /** The seed admin's email. */
  readonly adminEmail: string;
  /** Log level of both services. */
  readonly logLevel: string;
  /** Prometheus and Grafana: present exactly when the `monitoring` flag is on (the default). */
  readonly monitoring: MonitoringConfig | undefined;
  /**
   * Alertmanager's receivers and the alerts' runbook links: Alertmanager beside Prometheus on Docker, an
   * AlertmanagerConfig with `prometheusOperator` on Kubernetes.
   */
  readonly alerting: AlertingConfig;
  /** prom/prometheus tag. */
  readonly prometheusVersion: string;
  /** grafana/grafana tag. */
  readonly grafanaVersion: string;
  /** Host port of Grafana (127.0.0.1). */
  readonly grafanaPort: number;
  /** The seed admin's password. */
  readonly adminPassword: pulumi.Output<string>;
  /** TiDB's root password, set on a new cluster by the first migration. */
  readonly tidbRootPassword: pulumi.Output<string>;
  /** Password of the API's own database account. */
  readonly apiDbPassword: pulumi.Output<string>;
  /**
   * Where the API keeps the login limit: `memory` (one replica) or `database` (shared by replicas).
   * Undefined when not set: each target picks its default (one API on Docker, replicas on Kubernetes).
   */
  readonly loginRateLimitStore: RateLimitStore | undefined;
  /** Where the stack runs: one Docker engine, or the cluster of the current kubeconfig context. */
  readonly target: "docker" | "kubernetes";
  /** The Kubernetes target's own keys; present exactly when `target` is kubernetes. */
  readonly kubernetes: KubernetesConfig | undefined;
  /** The token purge: seconds between runs, seconds a dead token is kept, rows per batch. */
  readonly purge: {
    readonly intervalSeconds: number;
    readonly graceSeconds: number;
    readonly batchSize: number;
  };
  /** Password of the token purge's database account. */
  readonly purgeDbPassword: pulumi.Output<string>;
}

/** What only monitoring needs; the `monitoring` flag alone decides whether there is any. */
export interface MonitoringConfig {
  /** Grafana's admin password; required only when monitoring is on. */
  readonly grafanaAdminPassword: pulumi.Output<string>;
}

export class StackConfigError extends Error {
  constructor(key: string, problem: string) {
    super(`invalid config "${key}": ${problem}`);
    this.name = "StackConfigError";
  }
}

interface Rule<T> {
  readonly fallback: T;
  readonly check: (value: T) => string | undefined;
}

const between =
  (min: number, max: number) =>
  (value: number): string | undefined =>
    Number.isInteger(value) && value >= min && value <= max
      ? undefined
      : `must be a whole number from ${min} to ${max}, got ${value}`;

const matches =
  (pattern: RegExp, what: string) =>
  (value: string): string | undefined =>
    pattern.test(value) ? undefined : `must be ${what}, got "${value}"`;

/** A value a service receives as is: its rule from the service's contract. */
const follows = (rule: ValueRule) => matches(rule.pattern, rule.what);

/**
 * A number a service receives as an environment variable: that variable's bounds, and its default unless
 * the stack has its own.
 */
const asVariable = (variable: IntegerVar, fallback: number): Rule<number> => ({
  fallback,
  check: between(variable.min, variable.max),
});

/** The same, with the variable's own default. */
const likeVariable = (variable: IntegerVar & { readonly default: number }): Rule<number> =>
  asVariable(variable, variable.default);

/** `os/arch` or `os/arch/variant`, as Docker names platforms. */
const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/;

/**
 * Where config values come from: Pulumi's config inside the program, or `pulumi config --json` for the
 * preflight that runs before Pulumi starts. Numbers and flags are parsed here, from their text, so both
 * read a value the same way.
 */
export interface ConfigSource {
  get(key: string): string | undefined;
  getSecret(key: string): pulumi.Output<string> | undefined;
}

function loginRateLimitStore(value: string | undefined): RateLimitStore | undefined {
  if (value === undefined || (RATE_LIMIT_STORES as readonly string[]).includes(value)) {
    return value as RateLimitStore | undefined;
  }
  throw new StackConfigError(
    "loginRateLimitStore",
    `must be ${RATE_LIMIT_STORES.join(" or ")}, got "${value}"`,
  );
}

/** Reads and validates the stack's config. The only place that calls `new pulumi.Config()`. */
export function loadStackConfig(config: ConfigSource = new pulumi.Config()): StackConfig {
  const text = (key: string, rule: Rule<string>): string => {
    const value = config.get(key) ?? rule.fallback;
    const problem = rule.check(value);
    if (problem !== undefined) throw new StackConfigError(key, problem);
    return value;
  };
  const number = (key: string, rule: Rule<number>): number => {
    const raw = config.get(key);
    const value = raw === undefined ? rule.fallback : Number(raw);
    if (raw !== undefined && (raw.trim() === "" || Number.isNaN(value))) {
      throw new StackConfigError(key, `must be a number, got "${raw}"`);
    }
    const problem = rule.check(value);
    if (problem !== undefined) throw new StackConfigError(key, problem);
    return value;
  };
  const flag = (key: string, fallback: boolean): boolean => {
    const raw = config.get(key);
    if (raw === undefined) return fallback;
    if (raw === "true" || raw === "false") return raw === "true";
    throw new StackConfigError(key, `must be true or false, got "${raw}"`);
  };
  const secret = (key: string): pulumi.Output<string> => {
    const value = config.getSecret(key);
    if (value === undefined) {
      throw new StackConfigError(key, `is required; set it with: pulumi config set --secret ${key} <value>`);
    }
    return value;
  };

  const pdCount = number("pdCount", {
    fallback: 1,
    check: (n) =>
      between(1, 5)(n) ??
      (n % 2 === 1
        ? undefined
        : `must be odd (PD needs a majority of its members: an even count tolerates no more failures than the odd count below it), got ${n}; use 1, 3 or 5`),
  });
  const imagePlatform = config.get("imagePlatform");
  if (imagePlatform !== undefined && !PLATFORM.test(imagePlatform)) {
    throw new StackConfigError(
      "imagePlatform",
      `must be a platform like linux/amd64 or linux/arm64/v8, got "${imagePlatform}"; remove it to build for this machine`,
    );
  }
  const topic = text("topic", { fallback: "appdb-cdc", check: cdcTopicProblem });
  const target = text("target", {
    fallback: "docker",
    check: (v) =>
      v === "docker" || v === "kubernetes" ? undefined : `must be docker or kubernetes, got "${v}"`,
  }) as StackConfig["target"];
  // Prometheus and Grafana containers are the Docker target's; on Kubernetes, prometheusOperator decides.
  const monitoring = target === "docker" && flag("monitoring", true);
  const name = text("name", {
    fallback: "tidbstack",
    check: matches(/^[a-z][a-z0-9-]{0,30}$/, "lower-case letters, digits and dashes, starting with a letter"),
  });
  return {
    name,
    tidbVersion: text("tidbVersion", {
      fallback: "v8.5.4",
      check: matches(/^v8\.5\.\d+$/, "a v8.5.x release (the LTS line this stack is written for)"),
    }),
    kafkaVersion: text("kafkaVersion", {
      fallback: "3.9.1",
      check: matches(/^3\.9\.\d+$/, "a 3.9.x release (the last 3.x line, what TiCDC is tested with)"),
    }),
    nodeBaseImage: text("nodeBaseImage", {
      fallback: "node:24-bookworm-slim",
      check: matches(/^\S+$/, "an image reference"),
    }),
    imagePlatform,
    pdCount,
    tikvCount: number("tikvCount", { fallback: 1, check: between(1, 5) }),
    tikvMemoryMb: number("tikvMemoryMb", { fallback: 2048, check: between(512, 65536) }),
    // Above 1048576 (Linux's default fs.nr_open) the container fails to start on most hosts.
    tikvNofile: number("tikvNofile", { fallback: TIKV_NOFILE, check: between(TIKV_MIN_NOFILE, 1_048_576) }),
    tidbMemoryMb: number("tidbMemoryMb", { fallback: 1024, check: between(256, 65536) }),
    kafkaHeapMb: number("kafkaHeapMb", { fallback: 512, check: between(256, 8192) }),
    apiPort: number("apiPort", { fallback: 3000, check: between(1, 65535) }),
    apiHost: text("apiHost", {
      fallback: LOOPBACK,
      check: (v) =>
        isIPv4(v)
          ? undefined
          : `must be an IPv4 address: 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or one of this host's addresses, got "${v}"`,
    }),
    serviceMemoryMb: {
      // The soak (docs/benchmarks.md) measured the API's RSS at about 127 MiB; each login's Argon2id hash
      // takes about 19 MiB more, and several run at once: three times the measured figure.
      api: number("apiMemoryMb", { fallback: 384, check: between(128, 65536) }),
      // The soak measured about 147 MiB RSS with the dedup window full; room for large fetched batches.
      consumer: number("consumerMemoryMb", { fallback: 384, check: between(128, 65536) }),
      // Not in the soak: one connection and a small batch every few minutes, the API image's baseline.
      purge: number("purgeMemoryMb", { fallback: 192, check: between(128, 65536) }),
    },
    logRotation: {
      maxSize: text("logMaxSize", {
        fallback: "10m",
        check: matches(/^[1-9]\d*[kmg]$/, "a size with Docker's unit k, m or g, like 10m"),
      }),
      maxFiles: number("logMaxFiles", { fallback: 3, check: between(1, 100) }),
    },
    exposeInternalPorts: flag("exposeInternalPorts", false),
    keepDataOnDestroy: flag("keepDataOnDestroy", false),
    topic,
    consumerGroup: text("consumerGroup", {
      fallback: consumerGroupOf(topic),
      check: follows(CONSUMER_GROUP),
    }),
    topicPartitions: number("topicPartitions", asVariable(CHANGEFEED_APPLY_ENV.TOPIC_PARTITIONS, 1)),
    changefeedId: text("changefeedId", {
      fallback: "appdb-to-kafka",
      check: matches(CHANGEFEED_ID.pattern, `${CHANGEFEED_ID.what} (TiCDC's rule)`),
    }),
    database: text("database", { fallback: DB_ENV.DB_NAME.default, check: follows(SQL_IDENTIFIER) }),
    tokenTtlSeconds: number("tokenTtlSeconds", likeVariable(API_ENV.TOKEN_TTL_SECONDS)),
    loginRateLimitPerMinute: number(
      "loginRateLimitPerMinute",
      likeVariable(API_ENV.LOGIN_RATE_LIMIT_PER_MINUTE),
    ),
    tokenCache: {
      maxEntries: number("tokenCacheMaxEntries", likeVariable(API_ENV.TOKEN_CACHE_MAX_ENTRIES)),
      maxMib: number("tokenCacheMaxMib", likeVariable(API_ENV.TOKEN_CACHE_MAX_MIB)),
      maxAgeSeconds: number("tokenCacheMaxAgeSeconds", likeVariable(API_ENV.TOKEN_CACHE_MAX_AGE_SECONDS)),
      revocationBoundMs: number(
        "tokenCacheRevocationBoundMs",
        likeVariable(API_ENV.TOKEN_CACHE_REVOCATION_BOUND_MS),
      ),
    },
    adminEmail: text("adminEmail", { fallback: "admin@test.com", check: follows(EMAIL) }),
    logLevel: text("logLevel", {
      fallback: API_ENV.LOG_LEVEL.default,
      check: (v) =>
        (LOG_LEVELS as readonly string[]).includes(v)
          ? undefined
          : `must be one of ${LOG_LEVELS.join(", ")}, got "${v}"`,
    }),
    monitoring: monitoring ? { grafanaAdminPassword: secret("grafanaAdminPassword") } : undefined,
    alerting: loadAlertingConfig(config),
    prometheusVersion: text("prometheusVersion", {
      fallback: "v3.5.0",
      check: matches(/^v3\.\d+\.\d+$/, "a v3.x.y release"),
    }),
    grafanaVersion: text("grafanaVersion", {
      fallback: "12.1.0",
      check: matches(/^\d+\.\d+\.\d+$/, "a release number like 12.1.0"),
    }),
    grafanaPort: number("grafanaPort", { fallback: 3001, check: between(1, 65535) }),
    adminPassword: secret("adminPassword"),
    tidbRootPassword: secret("tidbRootPassword"),
    apiDbPassword: secret("apiDbPassword"),
    loginRateLimitStore: loginRateLimitStore(config.get("loginRateLimitStore")),
    target,
    kubernetes: target === "kubernetes" ? loadKubernetesConfig(config, name) : undefined,
    purge: {
      intervalSeconds: number("purgeIntervalSeconds", likeVariable(PURGE_ENV.PURGE_INTERVAL_SECONDS)),
      graceSeconds: number("purgeGraceSeconds", likeVariable(PURGE_ENV.PURGE_GRACE_SECONDS)),
      batchSize: number("purgeBatchSize", likeVariable(PURGE_ENV.PURGE_BATCH_SIZE)),
    },
    purgeDbPassword: secret("purgeDbPassword"),
  };
}
