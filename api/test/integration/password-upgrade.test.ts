import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RowDataPacket } from "mysql2/promise";
import { OWASP_SCRYPT, PasswordHasher } from "../../src/passwords.ts";
import { adminConnection, postJson, startApiOnTestDatabase, type ApiOnDatabase } from "../support.ts";

/**
 * Users whose passwords were hashed with scrypt before Argon2id, logging in through the API on a real
 * database: the hash is replaced at the first successful login, and only then.
 */
describe("password hashes upgraded at login, on a real database", () => {
  let env: ApiOnDatabase;
  /** One scrypt hash at the cost stored before Argon2id (N=2^17), of PASSWORD, shared by every legacy user. */
  let legacyHash: string;
  const PASSWORD = "lunch-is-over";
  const argon2id = new PasswordHasher();

  before(async () => {
    env = await startApiOnTestDatabase("pwupgrade", { config: { loginRateLimitPerMinute: 100_000 } });
    legacyHash = await new PasswordHasher({ policy: { algorithm: "scrypt", params: OWASP_SCRYPT } }).hash(
      PASSWORD,
    );
  });
  after(() => env.close());

  async function legacyUser(email: string): Promise<void> {
    const connection = await adminConnection(env.db);
    try {
      await connection.query(`INSERT INTO \`${env.db.name}\`.users (email, password_hash) VALUES (?, ?)`, [
        email,
        legacyHash,
      ]);
    } finally {
      await connection.end();
    }
  }

  async function storedHash(email: string): Promise<string> {
    const connection = await adminConnection(env.db);
    try {
      const [rows] = await connection.query<RowDataPacket[]>(
        `SELECT password_hash FROM \`${env.db.name}\`.users WHERE email = ?`,
        [email],
      );
      return String(rows[0]?.["password_hash"]);
    } finally {
      await connection.end();
    }
  }

  const loginStatus = async (email: string, password: string): Promise<number> =>
    (await postJson(`${env.api.url}/login`, { email, password })).status;

  it("replaces a scrypt hash by an Argon2id PHC string at the first login, and the password still works", async () => {
    await legacyUser("scrypt@test.com");
    assert.match(await storedHash("scrypt@test.com"), /^\$scrypt\$ln=17,r=8,p=1\$/);
    assert.equal(await loginStatus("scrypt@test.com", PASSWORD), 200);
    const upgraded = await storedHash("scrypt@test.com");
    assert.match(upgraded, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.deepEqual(await argon2id.verify(PASSWORD, upgraded), { valid: true, needsRehash: false });

    assert.equal(await loginStatus("scrypt@test.com", PASSWORD), 200);
    assert.equal(await storedHash("scrypt@test.com"), upgraded, "a current hash is not rewritten");
    const rehashes = env.api.logs().filter((line) => line["action"] === "password_rehash");
    assert.deepEqual(
      rehashes.map((line) => line["outcome"]),
      ["upgraded"],
    );
  });

  it("never rewrites a hash on a wrong password, scrypt or Argon2id", async () => {
    await legacyUser("wrong@test.com");
    assert.equal(await loginStatus("wrong@test.com", "not-the-password"), 401);
    assert.equal(await storedHash("wrong@test.com"), legacyHash);

    assert.equal(await loginStatus("wrong@test.com", PASSWORD), 200);
    const upgraded = await storedHash("wrong@test.com");
    assert.equal(await loginStatus("wrong@test.com", "not-the-password"), 401);
    assert.equal(await storedHash("wrong@test.com"), upgraded);
  });

  it("ends concurrent first logins of one user with one valid Argon2id hash, every login succeeding", async () => {
    await legacyUser("storm@test.com");
    const statuses = await Promise.all(
      Array.from({ length: 6 }, () => loginStatus("storm@test.com", PASSWORD)),
    );
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200]);
    const final = await storedHash("storm@test.com");
    assert.match(final, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.deepEqual(await argon2id.verify(PASSWORD, final), { valid: true, needsRehash: false });
    // Each login that verified the scrypt hash tried to replace it; the conditional UPDATE let one through
    // (or one per login that read the row before the first write, each a valid hash of the same password).
    const outcomes = env.api
      .logs()
      .filter((line) => line["action"] === "password_rehash" && line["userId"] !== undefined)
      .map((line) => line["outcome"]);
    assert.ok(outcomes.includes("upgraded"), JSON.stringify(outcomes));
    assert.equal(await loginStatus("storm@test.com", PASSWORD), 200);
    assert.equal(await storedHash("storm@test.com"), final);
  });
});
