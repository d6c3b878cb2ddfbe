import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RateLimiter } from "../../src/rate-limit.ts";

describe("login rate limiter", () => {
  it("allows the configured attempts per minute, then refuses with a Retry-After in seconds", () => {
    let now = 0;
    const limiter = new RateLimiter(10, () => now);
    for (let i = 0; i < 10; i++) assert.equal(limiter.take("1.2.3.4").allowed, true);
    const refused = limiter.take("1.2.3.4");
    assert.equal(refused.allowed, false);
    assert.equal(refused.retryAfterSeconds, 6);
    now += 6000;
    assert.equal(limiter.take("1.2.3.4").allowed, true);
    assert.equal(limiter.take("1.2.3.4").allowed, false);
  });

  it("keeps each client's budget separate", () => {
    const limiter = new RateLimiter(1, () => 0);
    assert.equal(limiter.take("a").allowed, true);
    assert.equal(limiter.take("a").allowed, false);
    assert.equal(limiter.take("b").allowed, true);
  });

  it("never refills above the per-minute budget, however long a client was away", () => {
    let now = 0;
    const limiter = new RateLimiter(3, () => now);
    limiter.take("a");
    now += 3_600_000;
    for (let i = 0; i < 3; i++) assert.equal(limiter.take("a").allowed, true);
    assert.equal(limiter.take("a").allowed, false);
  });

  it("forgets clients whose budget is full again, so memory stays bounded", () => {
    let now = 0;
    const limiter = new RateLimiter(60, () => now, 100);
    for (let i = 0; i < 100; i++) limiter.take(`10.0.0.${i}`);
    assert.equal(limiter.size, 100);
    now += 60_000;
    limiter.take("10.0.1.1");
    assert.equal(limiter.size, 1);
  });
});
