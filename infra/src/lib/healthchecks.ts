/**
 * Docker healthchecks of every server, as plain data (the Docker provider's `healthcheck` input, and what a
 * test passes to `docker run --health-*`). Each probe uses only tools its image has: the PingCAP images
 * have wget, PD's also jq, TiDB's also curl; node:24-bookworm-slim has neither.
 *
 * No `startInterval`: it needs Engine API 1.44 (Docker 25), and older engines (Debian 12's docker.io is
 * 20.10, API 1.41) refuse to create the container. During `startPeriod` failures do not count, and Docker
 * probes every `interval` as usual.
 *
 * Every duration is written the way Go prints it (`1m0s`, not `60s`): the Docker provider reads a
 * container's healthcheck back from the engine as Go's `time.Duration.String()`, and any other spelling of
 * the same time shows as a change on every `pulumi preview --refresh` (infra/test/provider-read-back.ts).
 */
import { PORTS } from "./topology.ts";

export interface Healthcheck {
  /** `["CMD-SHELL", command]`: run by the container's /bin/sh. */
  readonly tests: readonly ["CMD-SHELL", string];
  /** Time between probes, in Go's duration form, e.g. "5s" or "1m0s". */
  readonly interval: string;
  /** A probe that takes longer fails. */
  readonly timeout: string;
  /** Consecutive failures that make the container unhealthy. */
  readonly retries: number;
  /** Grace period of a cold start: failures in it do not count. */
  readonly startPeriod: string;
}

/** A shell probe every 5 s (4 s to answer, 5 failures); `startPeriod` covers a cold start of that server. */
function shellProbe(command: string, startPeriod: string): Healthcheck {
  return { tests: ["CMD-SHELL", command], interval: "5s", timeout: "4s", retries: 5, startPeriod };
}

/**
 * This PD member's own health, by name: `/pd/api/v1/health` lists every member and can answer 200 with
 * `"health": false`, so the body is read with jq (in the pd image), and `jq -e` fails on false and on no
 * output (an empty body when PD does not answer).
 */
export const pdHealth = (name: string): Healthcheck =>
  shellProbe(
    `wget -qO- http://127.0.0.1:${PORTS.pdClient}/pd/api/v1/health | jq -e '.[] | select(.name == "${name}") | .health == true'`,
    "30s",
  );

/** TiKV's status endpoint: liveness; readiness of the cluster as a whole is TiDB's check. */
export const tikvHealth = (): Healthcheck =>
  shellProbe(`wget -qO /dev/null http://127.0.0.1:${PORTS.tikvStatus}/status`, "1m0s");

/** TiDB's status answers only once it has bootstrapped against PD and TiKV. */
export const tidbHealth = (): Healthcheck =>
  shellProbe(`curl -sf http://127.0.0.1:${PORTS.tidbStatus}/status`, "1m30s");

/** TiCDC's v2 health is 200 only once an owner is elected: it can accept a changefeed. */
export const ticdcHealth = (): Healthcheck =>
  shellProbe(`wget -qO /dev/null http://127.0.0.1:${PORTS.ticdc}/api/v2/health`, "1m0s");

/** Heap of the probe's own JVM: an admin client listing topics needs far less than the broker. */
export const KAFKA_PROBE_HEAP = "-Xms32m -Xmx128m";

/**
 * A metadata request through the in-network listener: the broker is serving, not just listening. A
 * `docker exec` inherits the container's environment, so without its own KAFKA_HEAP_OPTS the probe's JVM
 * would reserve the broker's whole heap a second time, every 10 s. A JVM start takes seconds: probe every
 * 10 s, allow 20 s.
 */
export const kafkaHealth = (): Healthcheck => ({
  ...shellProbe(
    `KAFKA_HEAP_OPTS='${KAFKA_PROBE_HEAP}' /opt/kafka/bin/kafka-topics.sh --bootstrap-server kafka:${PORTS.kafkaInternal} --list >/dev/null`,
    "30s",
  ),
  interval: "10s",
  timeout: "20s",
});

/** Prometheus is ready once it has loaded its configuration and rules. */
export const prometheusHealth = (port: number): Healthcheck => ({
  ...shellProbe(`wget -qO /dev/null http://127.0.0.1:${port}/-/ready`, "30s"),
  interval: "10s",
  timeout: "5s",
});

/**
 * Alertmanager serves the same `/-/ready` as Prometheus, and its image has the same busybox wget (the
 * `-distroless` variant has no shell, so the stack runs the default image).
 */
export const alertmanagerHealth = prometheusHealth;

/** Grafana's health endpoint answers once its database and provisioning are loaded. */
export const grafanaHealth = (port: number): Healthcheck => ({
  ...shellProbe(`wget -qO /dev/null http://127.0.0.1:${port}/api/health`, "30s"),
  interval: "10s",
  timeout: "5s",
});

/** The Node services' /health over HTTP, with Node itself (the images have no curl or wget). */
export const nodeHttpHealth = (port: number): Healthcheck =>
  shellProbe(
    `node -e "fetch('http://127.0.0.1:${port}/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"`,
    "20s",
  );
