import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hashPassword, OWASP_SCRYPT, verifyPassword } from "../../src/passwords.ts";

const FAST = { logN: 10, r: 8, p: 1 };

describe("password hashing", () => {
  it("stores scrypt with OWASP parameters, a salt and the hash, never the password", async () => {
    const encoded = await hashPassword("temp-password");
    assert.match(encoded, /^\$scrypt\$ln=17,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    assert.ok(!encoded.includes("temp-password"));
    assert.equal(OWASP_SCRYPT.logN, 17);
  });

  it("verifies the right password and rejects a wrong one", async () => {
    const encoded = await hashPassword("correct horse", FAST);
    assert.equal(await verifyPassword("correct horse", encoded), true);
    assert.equal(await verifyPassword("correct horsE", encoded), false);
    assert.equal(await verifyPassword("", encoded), false);
  });

  it("salts every hash, so equal passwords give different hashes", async () => {
    assert.notEqual(await hashPassword("same", FAST), await hashPassword("same", FAST));
  });

  it("verifies hashes made with other parameters, so the cost can be raised later", async () => {
    const older = await hashPassword("pw", { logN: 12, r: 8, p: 1 });
    assert.match(older, /ln=12/);
    assert.equal(await verifyPassword("pw", older), true);
  });

  it("treats unicode passwords in either normal form as the same password", async () => {
    const encoded = await hashPassword("caf\u00e9", FAST);
    assert.equal(await verifyPassword("cafe\u0301", encoded), true);
  });

  it("abandons a verification whose client has gone, without hashing", async () => {
    const encoded = await hashPassword("pw", FAST);
    const gone = AbortSignal.abort(new Error("client went away"));
    await assert.rejects(verifyPassword("pw", encoded, gone), /client went away/);
    assert.equal(await verifyPassword("pw", encoded, new AbortController().signal), true);
  });

  it("keeps hashing off the event loop: timers still fire while several hashes run", async () => {
    const encoded = await hashPassword("pw");
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const started = Date.now();
    await Promise.all([1, 2, 3].map(() => verifyPassword("pw", encoded)));
    clearInterval(timer);
    const elapsed = Date.now() - started;
    assert.ok(ticks >= (elapsed / 10) * 0.5, `${ticks} timer ticks in ${elapsed} ms`);
  });

  it("answers false, never throws, for a malformed or tampered stored hash", async () => {
    const encoded = await hashPassword("pw", FAST);
    for (const bad of [
      "",
      "plaintext",
      "$scrypt$ln=99,r=8,p=1$AAAA$BBBB",
      encoded.slice(0, -4),
      encoded.replace("ln=10", "ln=11"),
    ]) {
      assert.equal(await verifyPassword("pw", bad), false, bad);
    }
  });
});
