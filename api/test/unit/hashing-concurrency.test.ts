import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hashingConcurrency, machineResources } from "../../src/hashing-concurrency.ts";

const MiB = 2 ** 20;
const ARGON2ID = 19 * MiB;
const SCRYPT = 128 * MiB;

describe("how many password hashes run at once", () => {
  it("runs one hash per core when memory and the thread pool allow", () => {
    assert.equal(
      hashingConcurrency({ cores: 2, memoryBytes: 384 * MiB, perHashBytes: ARGON2ID, threadpoolSize: 4 }),
      2,
    );
  });

  it("keeps hashes within a quarter of the container's memory limit", () => {
    // 96 MiB of a 384 MiB limit: five Argon2id hashes, not eight.
    assert.equal(
      hashingConcurrency({ cores: 8, memoryBytes: 384 * MiB, perHashBytes: ARGON2ID, threadpoolSize: 16 }),
      5,
    );
    // OWASP's scrypt (128 MiB) does not fit a quarter of 384 MiB: still one at a time, never none.
    assert.equal(
      hashingConcurrency({ cores: 8, memoryBytes: 384 * MiB, perHashBytes: SCRYPT, threadpoolSize: 16 }),
      1,
    );
  });

  it("leaves one thread of libuv's pool for fs and dns.lookup", () => {
    const plenty = { cores: 16, memoryBytes: 64 * 1024 * MiB, perHashBytes: ARGON2ID };
    assert.equal(hashingConcurrency({ ...plenty, threadpoolSize: 4 }), 3);
    assert.equal(hashingConcurrency({ ...plenty, threadpoolSize: 1 }), 1);
  });

  it("reads this machine: its cores, its memory or container limit, and UV_THREADPOOL_SIZE", () => {
    const resources = machineResources(ARGON2ID);
    assert.ok(resources.cores >= 1);
    assert.ok(resources.memoryBytes > 0 && resources.memoryBytes < 2 ** 53, String(resources.memoryBytes));
    assert.equal(resources.perHashBytes, ARGON2ID);
    assert.equal(resources.threadpoolSize, Number(process.env["UV_THREADPOOL_SIZE"] ?? 4));
  });
});
