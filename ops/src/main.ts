/**
 * The Pulumi program's operational steps, run as one-off containers on the stack network:
 *   node ops/dist/main.js changefeed apply    topics, then create / update in place / resume the changefeed
 *   node ops/dist/main.js changefeed delete   delete the changefeed (topics and their data are kept)
 *   node ops/dist/main.js pd reconcile        PD members, TiKV stores and max-replicas as wanted
 *   node ops/dist/main.js pd max-replicas     max-replicas only, where an operator manages members and stores
 * Everything comes from the environment (src/config.ts). Exit 0 on success; 1 on a bad variable (one
 * config_invalid line naming it) or a failure (one error line with action "ops_failed" and the reason).
 * The only file with side effects.
 */
import { Kafka, logLevel } from "kafkajs";
import {
  configureLogging,
  getLogger,
  kafkajsLogCreator,
  loadConfigOrExit,
  logProcessWarnings,
  shutdownLogging,
  type LogLevel,
} from "@tidbstack/service-kit";
import { applyChangefeed, deleteChangefeed } from "./changefeed.ts";
import {
  loadChangefeedApplyConfig,
  loadChangefeedDeleteConfig,
  loadPdMaxReplicasConfig,
  loadPdReconcileConfig,
} from "./config.ts";
import { setPdMaxReplicas } from "./pd-max-replicas.ts";
import { reconcilePd } from "./pd-reconcile.ts";
import { DLQ_MAX_MESSAGE_BYTES, ensureTopics } from "./topics.ts";

const logger = getLogger("ops");

const commands: Record<string, () => Promise<void>> = {
  async "changefeed apply"() {
    const config = loadConfigOrExit(() => loadChangefeedApplyConfig(process.env));
    start(config.logLevel);
    const kafka = new Kafka({
      clientId: "tidbstack-ops",
      brokers: [...config.brokers],
      // kafkajs's info lines are connection chatter; its warnings and errors matter.
      logLevel: logLevel.WARN,
      logCreator: kafkajsLogCreator(logger),
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(
        admin,
        [
          { topic: config.topic, partitions: config.partitions },
          { topic: config.dlqTopic, partitions: 1, maxMessageBytes: DLQ_MAX_MESSAGE_BYTES },
        ],
        logger,
      );
    } finally {
      await admin.disconnect();
    }
    await applyChangefeed(
      { ticdcUrl: config.ticdcUrl, id: config.id, sinkUri: config.sinkUri, filterRules: config.filterRules },
      { logger, timeoutMs: config.timeoutMs },
    );
  },
  async "changefeed delete"() {
    const config = loadConfigOrExit(() => loadChangefeedDeleteConfig(process.env));
    start(config.logLevel);
    await deleteChangefeed(config.ticdcUrl, config.id, { logger });
  },
  async "pd reconcile"() {
    const config = loadConfigOrExit(() => loadPdReconcileConfig(process.env));
    start(config.logLevel);
    await reconcilePd(
      {
        pdUrl: config.pdUrl,
        members: config.members,
        stores: config.stores,
        maxReplicas: config.maxReplicas,
      },
      { logger, timeoutMs: config.timeoutMs },
    );
  },
  async "pd max-replicas"() {
    const config = loadConfigOrExit(() => loadPdMaxReplicasConfig(process.env));
    start(config.logLevel);
    await setPdMaxReplicas(
      { pdUrl: config.pdUrl, stores: config.stores, maxReplicas: config.maxReplicas },
      { logger, timeoutMs: config.timeoutMs },
    );
  },
};

function start(level: LogLevel): void {
  configureLogging(level);
  logProcessWarnings(logger);
}

const command = process.argv.slice(2).join(" ");
const run = commands[command];
let code = 0;
try {
  if (run === undefined) {
    start("info");
    throw new Error(`unknown command "${command}": use one of ${Object.keys(commands).join(", ")}`);
  }
  await run();
} catch (error) {
  code = 1;
  const kind = error instanceof Error ? error.name : typeof error;
  logger.error(
    { action: "ops_failed", command, kind },
    error instanceof Error ? error.message : String(error),
  );
}
await shutdownLogging();
process.exit(code);
