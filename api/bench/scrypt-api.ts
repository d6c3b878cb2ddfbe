/**
 * The API as it hashed passwords before Argon2id, for the login benchmark's "before": the same app on the
 * same database, with scrypt at N=2^17, r=8, p=1 (128 MiB per hash), cores − 1 hashes at once (at least
 * one), at the event loop's own priority, every /me from the database. Run as its own process like the API
 * (`PORT`, `DB_*`); its users' hashes must be scrypt hashes, which it verifies without rehashing.
 */
import { availableParallelism } from "node:os";
import { createHttpServer, getLogger } from "@tidbstack/service-kit";
import { createApp } from "../src/app.ts";
import { loadApiConfig } from "../src/config.ts";
import { createPool } from "../src/database.ts";
import { createApiMetrics } from "../src/metrics.ts";
import { OWASP_SCRYPT, PasswordHasher } from "../src/passwords.ts";
import { databaseSessions } from "../src/sessions.ts";
import { createAuthStore } from "../src/store.ts";

const config = loadApiConfig(process.env);
const pool = createPool(config.db);
const store = createAuthStore(pool);
const app = createApp({
  store,
  logger: getLogger("api"),
  metrics: createApiMetrics(),
  config,
  passwords: new PasswordHasher({
    policy: { algorithm: "scrypt", params: OWASP_SCRYPT },
    concurrency: Math.max(1, availableParallelism() - 1),
  }),
  sessions: databaseSessions(store),
});
const server = createHttpServer(app).listen(config.port);
process.on("SIGTERM", () => {
  server.close(() => void pool.end());
  server.closeIdleConnections();
});
