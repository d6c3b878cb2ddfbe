import type * as docker from "@pulumi/docker";

type Healthcheck = docker.types.input.ContainerHealthcheck;

/** A shell probe Docker runs inside the container; `startPeriod` covers a cold start of that server. */
function shellProbe(command: string, startPeriod: string): Healthcheck {
  return {
    tests: ["CMD-SHELL", command],
    interval: "5s",
    timeout: "4s",
    retries: 5,
    startPeriod,
    startInterval: "2s",
  };
}

/** PD can answer 200 with `"health": false`, so the body is checked, not just the status. */
export const pdHealth = (): Healthcheck =>
  shellProbe(`wget -qO- http://127.0.0.1:2379/pd/api/v1/health | grep -Eq '"health": ?true'`, "30s");

/** TiKV's status endpoint: liveness; readiness of the cluster as a whole is TiDB's check. */
export const tikvHealth = (): Healthcheck =>
  shellProbe("wget -qO /dev/null http://127.0.0.1:20180/status", "60s");

/** TiDB's status answers only once it has bootstrapped against PD and TiKV. */
export const tidbHealth = (): Healthcheck => shellProbe("curl -sf http://127.0.0.1:10080/status", "90s");

/** TiCDC's v2 health is 200 only once an owner is elected: it can accept a changefeed. */
export const ticdcHealth = (): Healthcheck =>
  shellProbe("wget -qO /dev/null http://127.0.0.1:8300/api/v2/health", "60s");

/** A metadata request through the in-network listener: the broker is serving, not just listening. */
export const kafkaHealth = (): Healthcheck => ({
  ...shellProbe("/opt/kafka/bin/kafka-topics.sh --bootstrap-server kafka:19092 --list >/dev/null", "30s"),
  interval: "10s",
  timeout: "20s",
});

/** Prometheus is ready once it has loaded its configuration and rules. */
export const prometheusHealth = (port: number): Healthcheck => ({
  ...shellProbe(`wget -qO /dev/null http://127.0.0.1:${port}/-/ready`, "30s"),
  interval: "10s",
  timeout: "5s",
});

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
