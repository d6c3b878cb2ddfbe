/**
 * The test runner behind `npm test`: starts MariaDB and Kafka on free ports, exports their addresses as
 * TEST_MYSQL_URL and TEST_KAFKA_BROKERS, runs the given command (node's test runner), and stops every server
 * it or the tests started, by PID, however the run ends.
 *
 *   node testenv/src/run.ts -- node --test ...
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dockerAvailable, removeLabelled, TEST_RUN_ID } from "./docker.ts";
import { startKafka } from "./kafka.ts";
import { startMariaDb } from "./mariadb.ts";
import { killRecordedProcesses } from "./processes.ts";

const separator = process.argv.indexOf("--");
const [command, ...args] = separator === -1 ? [] : process.argv.slice(separator + 1);
if (command === undefined) {
  console.error("usage: node testenv/src/run.ts -- <command> [args...]");
  process.exit(2);
}

const pids = mkdtempSync(join(tmpdir(), "tidbstack-pids-"));
process.env["TESTENV_PID_DIR"] = pids;
process.env["TESTENV_RUN_ID"] = TEST_RUN_ID;

function cleanUp(): void {
  const killed = killRecordedProcesses(pids);
  if (killed > 0) console.error(`testenv: stopped ${killed} leftover server process(es)`);
  rmSync(pids, { recursive: true, force: true });
}

async function main(): Promise<number> {
  const started = Date.now();
  const [database, kafka] = await Promise.all([startMariaDb(), startKafka()]);
  console.error(
    `testenv: MariaDB at ${database.url.replace(/:[^:@]*@/, ":***@")}, Kafka at ${kafka.bootstrap} (ready in ${Date.now() - started} ms)`,
  );
  try {
    const child = spawn(command as string, args, {
      stdio: "inherit",
      env: { ...process.env, TEST_MYSQL_URL: database.url, TEST_KAFKA_BROKERS: kafka.bootstrap },
    });
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    const code = await new Promise<number>((resolve) => {
      child.on("exit", (exitCode, signal) => {
        resolve(exitCode ?? (signal === null ? 1 : 128));
      });
    });
    return code;
  } finally {
    await Promise.all([database.destroy(), kafka.destroy()]);
    // Containers, networks and volumes this run's container tests left behind if they crashed before their
    // own clean-up.
    if (await dockerAvailable()) await removeLabelled(TEST_RUN_ID);
  }
}

main()
  .then((code) => {
    cleanUp();
    process.exit(code);
  })
  .catch((error: unknown) => {
    console.error(`testenv: ${error instanceof Error ? error.message : String(error)}`);
    cleanUp();
    process.exit(1);
  });
