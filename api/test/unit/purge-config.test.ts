import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "@tidbstack/service-kit";
import { loadPurgeConfig } from "../../src/purge-config.ts";

describe("token purge configuration", () => {
  it("uses the documented defaults: every 300 s, a day's grace, 1000 rows a batch, metrics on 9465", () => {
    assert.deepEqual(loadPurgeConfig({ DB_USER: "purge" }, []), {
      db: { host: "127.0.0.1", port: 4000, user: "purge", password: "", database: "appdb" },
      once: false,
      intervalSeconds: 300,
      graceSeconds: 86_400,
      batchSize: 1000,
      metricsPort: 9465,
      logLevel: "info",
    });
  });

  it("reads every variable of the contract and --once", () => {
    const config = loadPurgeConfig(
      {
        DB_HOST: "tidb",
        DB_USER: "purge",
        DB_PASSWORD: "secret",
        DB_NAME: "other",
        PURGE_INTERVAL_SECONDS: "60",
        PURGE_GRACE_SECONDS: "0",
        PURGE_BATCH_SIZE: "250",
        METRICS_PORT: "9000",
        LOG_LEVEL: "debug",
      },
      ["--once"],
    );
    assert.deepEqual(
      { ...config, db: config.db.host },
      {
        db: "tidb",
        once: true,
        intervalSeconds: 60,
        graceSeconds: 0,
        batchSize: 250,
        metricsPort: 9000,
        logLevel: "debug",
      },
    );
  });

  const cases: [Record<string, string>, string][] = [
    [{ PURGE_INTERVAL_SECONDS: "0" }, "PURGE_INTERVAL_SECONDS"],
    [{ PURGE_GRACE_SECONDS: "-1" }, "PURGE_GRACE_SECONDS"],
    [{ PURGE_BATCH_SIZE: "100000" }, "PURGE_BATCH_SIZE"],
    [{ PURGE_BATCH_SIZE: "ten" }, "PURGE_BATCH_SIZE"],
    [{ METRICS_PORT: "0" }, "METRICS_PORT"],
    [{ DB_USER: "" }, "DB_USER"],
  ];
  for (const [env, variable] of cases) {
    it(`rejects a bad ${variable} with an error naming it`, () => {
      assert.throws(
        () => loadPurgeConfig({ DB_USER: "purge", ...env }, []),
        (error: unknown) =>
          error instanceof ConfigError && error.variable === variable && error.message.startsWith(variable),
      );
    });
  }

  it("rejects an unknown argument instead of purging with a setting it misread", () => {
    assert.throws(() => loadPurgeConfig({ DB_USER: "purge" }, ["--dry-run"]), /"--dry-run" is not an option/);
  });
});
