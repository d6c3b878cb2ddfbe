import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "@tidbstack/service-kit";
import { loadApiConfig } from "../../src/config.ts";

describe("API configuration", () => {
  it("uses the documented defaults", () => {
    const config = loadApiConfig({ DB_USER: "api" });
    assert.deepEqual(config, {
      port: 3000,
      metricsPort: 9466,
      db: { host: "127.0.0.1", port: 4000, user: "api", password: "", database: "appdb" },
      tokenTtlSeconds: 3600,
      loginRateLimitPerMinute: 10,
      loginRateLimitStore: "memory",
      trustProxy: false,
      tokenCache: { maxEntries: 100_000, maxBytes: 32 * 2 ** 20, maxAgeMs: 60_000, revocationBoundMs: 1000 },
      logLevel: "info",
    });
  });

  it("turns the token cache off when its entries, its MiB or its maximum age is 0", () => {
    for (const off of ["TOKEN_CACHE_MAX_ENTRIES", "TOKEN_CACHE_MAX_MIB", "TOKEN_CACHE_MAX_AGE_SECONDS"]) {
      assert.equal(loadApiConfig({ DB_USER: "api", [off]: "0" }).tokenCache, undefined, off);
    }
  });

  it("reads every variable of the contract", () => {
    const config = loadApiConfig({
      PORT: "8080",
      METRICS_PORT: "9100",
      DB_HOST: "tidb",
      DB_PORT: "4001",
      DB_USER: "u",
      DB_PASSWORD: " p w ",
      DB_NAME: "other_db",
      TOKEN_TTL_SECONDS: "60",
      LOGIN_RATE_LIMIT_PER_MINUTE: "3",
      LOGIN_RATE_LIMIT_STORE: "database",
      TRUST_PROXY: "true",
      TOKEN_CACHE_MAX_ENTRIES: "500",
      TOKEN_CACHE_MAX_MIB: "2",
      TOKEN_CACHE_MAX_AGE_SECONDS: "30",
      TOKEN_CACHE_REVOCATION_BOUND_MS: "250",
      LOG_LEVEL: "DEBUG",
    });
    assert.equal(config.port, 8080);
    assert.equal(config.metricsPort, 9100);
    assert.deepEqual(config.tokenCache, {
      maxEntries: 500,
      maxBytes: 2 * 2 ** 20,
      maxAgeMs: 30_000,
      revocationBoundMs: 250,
    });
    assert.deepEqual(config.db, {
      host: "tidb",
      port: 4001,
      user: "u",
      password: " p w ",
      database: "other_db",
    });
    assert.equal(config.tokenTtlSeconds, 60);
    assert.equal(config.loginRateLimitPerMinute, 3);
    assert.equal(config.loginRateLimitStore, "database");
    assert.equal(config.trustProxy, true);
    assert.equal(config.logLevel, "debug");
  });

  const cases: [Record<string, string>, string, RegExp][] = [
    [{ PORT: "http" }, "PORT", /whole number/],
    [{ PORT: "70000" }, "PORT", /between 1 and 65535/],
    [{ DB_PORT: "-1" }, "DB_PORT", /between/],
    [{ TOKEN_TTL_SECONDS: "1.5" }, "TOKEN_TTL_SECONDS", /whole number/],
    [{ LOGIN_RATE_LIMIT_PER_MINUTE: "0" }, "LOGIN_RATE_LIMIT_PER_MINUTE", /between/],
    [{ LOGIN_RATE_LIMIT_STORE: "redis" }, "LOGIN_RATE_LIMIT_STORE", /must be memory or database/],
    [{ TRUST_PROXY: "maybe" }, "TRUST_PROXY", /false, true or a number of proxy hops from 1 to 10/],
    [{ TRUST_PROXY: "11" }, "TRUST_PROXY", /from 1 to 10/],
    [{ TRUST_PROXY: "-1" }, "TRUST_PROXY", /from 1 to 10/],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL", /one of/],
    [{ TOKEN_CACHE_MAX_ENTRIES: "-1" }, "TOKEN_CACHE_MAX_ENTRIES", /between/],
    [{ TOKEN_CACHE_REVOCATION_BOUND_MS: "50" }, "TOKEN_CACHE_REVOCATION_BOUND_MS", /between/],
    [{ DB_NAME: "app-db; DROP" }, "DB_NAME", /letters, digits or underscores/],
    [{ HOST: "0.0.0.0:3000" }, "HOST", /an IP address or a host name/],
    [{ HOST: "[::1]" }, "HOST", /an IP address or a host name/],
  ];
  for (const [env, variable, problem] of cases) {
    it(`rejects a bad ${variable} with an error naming it`, () => {
      assert.throws(
        () => loadApiConfig({ DB_USER: "api", ...env }),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.variable === variable &&
          problem.test(error.message) &&
          error.message.startsWith(variable),
      );
    });
  }

  it("reads TRUST_PROXY as false, true or a number of proxy hops", () => {
    const trust = (value: string) => loadApiConfig({ DB_USER: "api", TRUST_PROXY: value }).trustProxy;
    assert.equal(trust("false"), false);
    assert.equal(trust("0"), false);
    assert.equal(trust("no"), false);
    assert.equal(trust("TRUE"), true);
    assert.equal(trust("1"), 1);
    assert.equal(trust("10"), 10);
  });

  it("listens on HOST when it is an IP address or a host name, and on every interface when it is unset", () => {
    for (const host of ["127.0.0.1", "0.0.0.0", "::", "::1", "localhost", "api.internal"]) {
      assert.equal(loadApiConfig({ DB_USER: "api", HOST: host }).host, host);
    }
    assert.equal("host" in loadApiConfig({ DB_USER: "api", HOST: " " }), false);
  });

  it("requires DB_USER", () => {
    assert.throws(
      () => loadApiConfig({}),
      (error: unknown) => error instanceof ConfigError && error.variable === "DB_USER",
    );
  });
});
