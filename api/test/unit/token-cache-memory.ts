/**
 * Puts a million distinct tokens through a token cache bounded at 8 MiB and prints, as JSON, how much heap
 * the full cache holds once garbage is collected. Run with --expose-gc (token-cache.test.ts does).
 */
import { TokenCache } from "../../src/token-cache.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --expose-gc");
const maxBytes = 8 * 2 ** 20;
const heap = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

const before = heap();
const cache = new TokenCache({ maxEntries: 1_000_000, maxBytes });
for (let i = 0; i < 1_000_000; i++) {
  // 64 hex characters, like a SHA-256, without the cost of a million hashes. Both strings decoded from
  // bytes, as the digest and mysql2's rows are: flat strings, not the ropes that concatenation builds.
  const tokenHash = Buffer.from(i.toString(16).padStart(64, "0"), "latin1").toString("latin1");
  // Emails of varied length, some not ASCII (two bytes per character in V8).
  const email = Buffer.from(`user-${i}${i % 7 === 0 ? "-é" : ""}@example-${i % 100}.com`).toString("utf8");
  cache.set(tokenHash, { user: { userId: i, email }, expiresAtMs: Date.now() + 3_600_000, readAtMs: i });
}
const heapBytes = heap() - before;
console.log(JSON.stringify({ entries: cache.size, countedBytes: cache.countedBytes, heapBytes, maxBytes }));
