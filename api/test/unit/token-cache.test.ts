import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { TokenCache, type CachedSession } from "../../src/token-cache.ts";

const session = (email: string, readAtMs = 0): CachedSession => ({
  user: { userId: 1, email },
  expiresAtMs: Date.now() + 3_600_000,
  readAtMs,
});

describe("the token cache", () => {
  it("keeps at most maxEntries, evicting the least recently used", () => {
    const cache = new TokenCache({ maxEntries: 2, maxBytes: 1e6 });
    cache.set("a", session("a@test.com"));
    cache.set("b", session("b@test.com"));
    cache.get("a");
    cache.set("c", session("c@test.com"));
    assert.equal(cache.size, 2);
    assert.ok(cache.get("a"));
    assert.equal(cache.get("b"), undefined);
    assert.ok(cache.get("c"));
  });

  it("keeps its counted bytes within maxBytes, whatever the emails' length", () => {
    const cache = new TokenCache({ maxEntries: 1000, maxBytes: 4096 });
    for (let i = 0; i < 1000; i++) cache.set(`token-${i}`, session(`${"x".repeat(i % 320)}@test.com`));
    assert.ok(cache.countedBytes <= 4096, String(cache.countedBytes));
    assert.ok(cache.size >= 1);
  });

  it("does not put back a session read before its token was forgotten (a logout during the lookup)", () => {
    const cache = new TokenCache({ maxEntries: 10, maxBytes: 1e6 });
    cache.forget("t", 100);
    cache.set("t", session("a@test.com", 99));
    assert.equal(cache.get("t"), undefined);
    cache.pruneForgotten(101);
    cache.set("t", session("a@test.com", 102));
    assert.ok(cache.get("t"));
  });

  it("stays within its byte bound in the heap under a million distinct tokens", () => {
    // In a process of its own with --expose-gc, so the heap measured holds the cache and nothing else.
    const script = fileURLToPath(new URL("./token-cache-memory.ts", import.meta.url));
    const output = execFileSync(process.execPath, ["--expose-gc", "--conditions=source", script], {
      encoding: "utf8",
    });
    const result = JSON.parse(output) as {
      entries: number;
      countedBytes: number;
      heapBytes: number;
      maxBytes: number;
    };
    assert.ok(result.entries > 0 && result.countedBytes <= result.maxBytes, output);
    assert.ok(result.heapBytes <= result.maxBytes, `the cache's heap: ${output}`);
    console.log(
      `a million tokens through a ${result.maxBytes}-byte cache: ${result.entries} entries, ${result.heapBytes} bytes of heap`,
    );
  });
});
