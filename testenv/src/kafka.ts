import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Kafka, logLevel } from "kafkajs";
import { freePort, startServerProcess, waitUntilReady, type ServerProcess } from "./processes.ts";

const run = promisify(execFile);

/** Where scripts/test.sh puts the broker's jars (resolved from Maven Central by scripts/kafka/pom.xml). */
export const KAFKA_LIBS_DIR =
  process.env["KAFKA_LIBS_DIR"] ?? fileURLToPath(new URL("../../.cache/kafka/libs", import.meta.url));

export interface KafkaBroker {
  /** `127.0.0.1:<port>`, for kafkajs's `brokers`. */
  readonly bootstrap: string;
  /** Stops the broker and keeps its log directory, so `start()` resumes with the same topics and offsets. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Kills the broker with SIGKILL, like a crash; its log directory stays, so `start()` recovers it. */
  kill(): Promise<void>;
  /** Stops the broker and deletes its data. */
  destroy(): Promise<void>;
}

/**
 * Starts Apache Kafka's own broker (the JVM server from Maven Central) as a single KRaft node, combined
 * broker and controller, on free ports with a throwaway log directory. Resolves once a metadata request
 * succeeds.
 */
export async function startKafka(): Promise<KafkaBroker> {
  if (!existsSync(KAFKA_LIBS_DIR)) {
    throw new Error(
      `Kafka's jars are missing from ${KAFKA_LIBS_DIR}: run scripts/test.sh, which resolves them with mvn`,
    );
  }
  const [port, controllerPort] = [await freePort(), await freePort()];
  const baseDir = mkdtempSync(join(tmpdir(), "tidbstack-kafka-"));
  const config = join(baseDir, "server.properties");
  writeFileSync(
    config,
    [
      "process.roles=broker,controller",
      "node.id=1",
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      "controller.listener.names=CONTROLLER",
      "inter.broker.listener.name=PLAINTEXT",
      "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
      `log.dirs=${join(baseDir, "data")}`,
      // A single node: internal topics cannot have more replicas than brokers, or consumer groups never
      // get a coordinator.
      "offsets.topic.replication.factor=1",
      "transaction.state.log.replication.factor=1",
      "transaction.state.log.min.isr=1",
      "group.initial.rebalance.delay.ms=0",
      "num.partitions=1",
      "",
    ].join("\n"),
  );
  writeFileSync(
    join(baseDir, "log4j.properties"),
    [
      "log4j.rootLogger=WARN, stdout",
      "log4j.logger.kafka.server.KafkaServer=INFO",
      "log4j.logger.kafka.server.KafkaRaftServer=INFO",
      "log4j.appender.stdout=org.apache.log4j.ConsoleAppender",
      "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout",
      "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n",
      "",
    ].join("\n"),
  );
  const classpath = `${KAFKA_LIBS_DIR}/*`;
  const jvm = [
    "-Xms256m",
    "-Xmx512m",
    "-XX:+UseSerialGC",
    // Short-lived test brokers need no JIT warm-up beyond the first tier.
    "-XX:TieredStopAtLevel=1",
    `-Dlog4j.configuration=file:${join(baseDir, "log4j.properties")}`,
    "-cp",
    classpath,
  ];
  const clusterId = randomBytes(16).toString("base64url").slice(0, 22);
  // `--cluster-id=<id>` in one word: a base64url id may start with "-", which as a separate word would be
  // read as an option.
  await run("java", [...jvm, "kafka.tools.StorageTool", "format", `--cluster-id=${clusterId}`, "-c", config]);

  const bootstrap = `127.0.0.1:${port}`;
  let server: ServerProcess | undefined;
  const start = async (): Promise<void> => {
    server = startServerProcess("java", [...jvm, "kafka.Kafka", config], join(baseDir, "kafka.log"));
    await waitUntilReady("Kafka", server, () => metadataRequest(bootstrap), 90_000);
  };
  await start();

  const stop = async (): Promise<void> => {
    await server?.stop();
    server = undefined;
  };
  return {
    bootstrap,
    start,
    stop,
    async kill() {
      await server?.kill();
      server = undefined;
    },
    async destroy() {
      await stop();
      rmSync(baseDir, { recursive: true, force: true });
    },
  };
}

/** Succeeds once the broker answers a metadata request and has a controller. */
async function metadataRequest(bootstrap: string): Promise<void> {
  const admin = new Kafka({
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    retry: { retries: 0 },
  }).admin();
  await admin.connect();
  try {
    const cluster = await admin.describeCluster();
    if (cluster.controller === null) throw new Error("no active controller yet");
  } finally {
    await admin.disconnect();
  }
}
