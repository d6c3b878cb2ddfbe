import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { OWASP_ARGON2ID, PasswordHasher, type PasswordPolicy } from "../../src/passwords.ts";
import { lowerThreadpoolPriority } from "../../src/threadpool-priority.ts";
import { FAST_PASSWORDS } from "./memory-store.ts";

const owasp = new PasswordHasher({ concurrency: 2 });
const argon2id = (memoryKiB: number, passes: number): PasswordPolicy => ({
  algorithm: "argon2id",
  params: { memoryKiB, passes, parallelism: 1 },
});
const FAST_SCRYPT = new PasswordHasher({ policy: { algorithm: "scrypt", params: { logN: 10, r: 8, p: 1 } } });

describe("password hashing", () => {
  it("stores Argon2id with OWASP's parameters as a PHC string (unpadded base64), never the password", async () => {
    const encoded = await owasp.hash("temp-password");
    assert.match(encoded, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.ok(!encoded.includes("temp-password"));
    assert.deepEqual(OWASP_ARGON2ID, { memoryKiB: 19_456, passes: 2, parallelism: 1 });
    assert.deepEqual(await owasp.verify("temp-password", encoded), { valid: true, needsRehash: false });
  });

  it("verifies the right password and rejects a wrong one", async () => {
    const encoded = await FAST_PASSWORDS.hash("correct horse");
    assert.equal((await FAST_PASSWORDS.verify("correct horse", encoded)).valid, true);
    assert.deepEqual(await FAST_PASSWORDS.verify("correct horsE", encoded), {
      valid: false,
      needsRehash: false,
    });
    assert.equal((await FAST_PASSWORDS.verify("", encoded)).valid, false);
  });

  it("reads parameters by name, in whatever order another library wrote them (m,p,t)", async () => {
    const encoded = await FAST_PASSWORDS.hash("pw");
    const reordered = encoded.replace("m=64,t=1,p=1", "m=64,p=1,t=1");
    assert.notEqual(reordered, encoded);
    assert.equal((await FAST_PASSWORDS.verify("pw", reordered)).valid, true);
  });

  it("salts every hash, so equal passwords give different hashes", async () => {
    assert.notEqual(await FAST_PASSWORDS.hash("same"), await FAST_PASSWORDS.hash("same"));
  });

  it("verifies a scrypt hash from before and asks for a rehash, but only when the password is right", async () => {
    const legacy = await FAST_SCRYPT.hash("pw");
    assert.match(legacy, /^\$scrypt\$ln=10,r=8,p=1\$/);
    assert.deepEqual(await owasp.verify("pw", legacy), { valid: true, needsRehash: true });
    assert.deepEqual(await owasp.verify("wrong", legacy), { valid: false, needsRehash: false });
  });

  it("verifies the base64url scrypt strings stored before Argon2id", async () => {
    // Made by the scrypt-only code this module replaced: `$scrypt$ln=10,r=8,p=1$<base64url>$<base64url>`.
    const legacy = (await FAST_SCRYPT.hash("pw")).replaceAll("+", "-").replaceAll("/", "_");
    assert.equal((await owasp.verify("pw", legacy)).valid, true);
  });

  it("asks for a rehash of a weaker Argon2id hash, not of an equal or stronger one", async () => {
    const policy = argon2id(128, 2);
    const current = new PasswordHasher({ policy });
    const weaker = await new PasswordHasher({ policy: argon2id(64, 2) }).hash("pw");
    const fewerPasses = await new PasswordHasher({ policy: argon2id(128, 1) }).hash("pw");
    const stronger = await new PasswordHasher({ policy: argon2id(256, 3) }).hash("pw");
    assert.equal((await current.verify("pw", weaker)).needsRehash, true);
    assert.equal((await current.verify("pw", fewerPasses)).needsRehash, true);
    assert.equal((await current.verify("pw", stronger)).needsRehash, false);
    assert.equal((await current.verify("pw", await current.hash("pw"))).needsRehash, false);
  });

  it("checks a login without a stored hash (unknown email) against a decoy of the same policy, always invalid", async () => {
    assert.deepEqual(await FAST_PASSWORDS.verify("decoy password for unknown users", undefined), {
      valid: false,
      needsRehash: false,
    });
  });

  it("treats unicode passwords in either normal form as the same password", async () => {
    const encoded = await FAST_PASSWORDS.hash("caf\u00e9");
    assert.equal((await FAST_PASSWORDS.verify("cafe\u0301", encoded)).valid, true);
  });

  it("abandons a verification whose client has gone, without hashing", async () => {
    const encoded = await FAST_PASSWORDS.hash("pw");
    const gone = AbortSignal.abort(new Error("client went away"));
    await assert.rejects(FAST_PASSWORDS.verify("pw", encoded, gone), /client went away/);
    assert.equal((await FAST_PASSWORDS.verify("pw", encoded, new AbortController().signal)).valid, true);
  });

  it("keeps hashing off the event loop: timers keep firing while several hashes run", async () => {
    const encoded = await owasp.hash("pw");
    // What main.ts does once the pool's threads exist.
    assert.ok(lowerThreadpoolPriority() >= 1);
    let last = performance.now();
    let longestGap = 0;
    const timer = setInterval(() => {
      longestGap = Math.max(longestGap, performance.now() - last);
      last = performance.now();
    }, 5);
    const started = performance.now();
    await Promise.all([1, 2, 3, 4, 5, 6].map(() => owasp.verify("pw", encoded)));
    clearInterval(timer);
    const elapsed = performance.now() - started;
    // Hashing on the event loop would stall the timer for the whole run (six hashes back to back); on the
    // pool, a stall is scheduling noise, whatever the machine's load.
    assert.ok(
      longestGap < elapsed / 3,
      `longest timer gap ${longestGap.toFixed(0)} ms in ${elapsed.toFixed(0)} ms`,
    );
  });

  it("answers invalid, never throws, for a malformed, tampered or out-of-bounds stored hash", async () => {
    const encoded = await FAST_PASSWORDS.hash("pw");
    for (const bad of [
      "",
      "plaintext",
      "$scrypt$ln=99,r=8,p=1$AAAA$BBBB",
      "$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
      "$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
      "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
      encoded.replace("m=64,t=1,p=1", "m=64,t=1,t=1"),
      encoded.slice(0, -4),
      encoded.replace("m=64", "m=72"),
    ]) {
      assert.deepEqual(await FAST_PASSWORDS.verify("pw", bad), { valid: false, needsRehash: false }, bad);
    }
  });

  it("round-trips any password of 1-1024 characters, Unicode included, and rejects any other password", async () => {
    const password = fc
      .string({ unit: "grapheme", minLength: 1, maxLength: 1024 })
      .filter((p) => p.length <= 1024);
    await fc.assert(
      fc.asyncProperty(password, password, async (right, other) => {
        fc.pre(right.normalize("NFC") !== other.normalize("NFC"));
        const encoded = await FAST_PASSWORDS.hash(right);
        assert.equal((await FAST_PASSWORDS.verify(right, encoded)).valid, true);
        assert.equal((await FAST_PASSWORDS.verify(other, encoded)).valid, false);
      }),
      { numRuns: 200 },
    );
  });
});
