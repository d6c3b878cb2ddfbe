import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { bearerToken, hashToken, newToken } from "../../src/tokens.ts";

describe("tokens", () => {
  it("are random UUID v4s", () => {
    const token = newToken();
    assert.match(token, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(token, newToken());
  });

  it("are stored as their SHA-256 in hex, never as themselves", () => {
    const token = newToken();
    const stored = hashToken(token);
    assert.equal(stored, createHash("sha256").update(token).digest("hex"));
    assert.equal(stored.length, 64);
    assert.ok(!stored.includes(token));
  });

  it("are read from a Bearer header, case-insensitively, and normalised to lower case", () => {
    const token = newToken();
    assert.equal(bearerToken(`Bearer ${token}`), token);
    assert.equal(bearerToken(`bearer ${token.toUpperCase()}`), token);
  });

  it("are refused when the header is missing, of another scheme, or not a UUID v4", () => {
    for (const header of [
      undefined,
      "",
      "Bearer",
      "Bearer ",
      "Basic dXNlcjpwdw==",
      `Token ${newToken()}`,
      "Bearer not-a-uuid",
      "Bearer 123e4567-e89b-12d3-a456-426614174000",
      `Bearer ${newToken()} extra`,
    ]) {
      assert.equal(bearerToken(header), undefined, String(header));
    }
  });
});
