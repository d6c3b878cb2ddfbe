/**
 * The benchmark's baselines: a bare Express 5 app with nothing but the two routes the API is compared on,
 * run as its own process like the API (`PORT`, `DB_*` as the API reads them).
 *
 *   GET /health  `{"status":"ok"}`
 *   GET /health-with-headers  the same, with the API's security headers (what helmet sets, recorded once)
 *   GET /me      /me's one indexed lookup: the bearer token's SHA-256, the same prepared statement on a
 *                mysql2 pool of the same size, the user as JSON; 401 when it finds nothing
 *
 * No security headers (but on /health-with-headers), metrics, logging or validation beyond that: what the
 * API's middleware costs is the difference between the two.
 */
import { createHash } from "node:crypto";
import express from "express";
import mysql, { type RowDataPacket } from "mysql2/promise";
import { HELMET_OPTIONS } from "../src/app.ts";
import { recordHelmet, securityHeaders } from "../src/security-headers.ts";

const env = (name: string, fallback?: string): string => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};

const pool = mysql.createPool({
  host: env("DB_HOST", "127.0.0.1"),
  port: Number(env("DB_PORT", "4000")),
  user: env("DB_USER"),
  password: env("DB_PASSWORD", ""),
  database: env("DB_NAME", "appdb"),
  connectionLimit: 10,
  timezone: "Z",
});

const app = express();
app.get("/health", (_req, res) => {
  res.json({ status: "ok" });
});
app.get("/health-with-headers", securityHeaders(recordHelmet(HELMET_OPTIONS)), (_req, res) => {
  res.json({ status: "ok" });
});
app.get("/me", async (req, res) => {
  const token = /^Bearer +(\S+)$/.exec(req.get("authorization") ?? "")?.[1] ?? "";
  const [rows] = await pool.execute<RowDataPacket[]>(
    `SELECT u.id, u.email FROM tokens t JOIN users u ON u.id = t.user_id
     WHERE t.token_hash = ? AND t.revoked_at IS NULL AND t.expires_at > ?`,
    [createHash("sha256").update(token).digest("hex"), new Date()],
  );
  const row = rows[0];
  if (row === undefined) res.status(401).json({ error: "unauthorized" });
  else res.json({ userId: Number(row["id"]), email: String(row["email"]) });
});

const server = app.listen(Number(env("PORT")));
process.on("SIGTERM", () => {
  // The pool ends once the last request has been answered, so no request finds it closed.
  server.close(() => void pool.end());
  server.closeIdleConnections();
});
