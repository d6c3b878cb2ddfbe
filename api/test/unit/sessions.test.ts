import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getLogger } from "@tidbstack/service-kit";
import { cachedSessions } from "../../src/sessions.ts";
import type { Session } from "../../src/store.ts";
import { MAX_ROWS_PER_POLL } from "../../src/revocation-feed.ts";

const USER = { userId: 1, email: "a@test.com" };
const BOUND_MS = 1000;

/** A store whose answers the test sets, counting the session lookups that reach it. */
function fakeStore() {
  const state = {
    sessions: new Map<string, Session>(),
    revoked: [] as string[],
    lookups: 0,
    pollFails: false,
    /** Runs while a session lookup is "in the database". */
    duringLookup: async (): Promise<void> => {},
  };
  const store = {
    async findSession(tokenHash: string, now: Date): Promise<Session | undefined> {
      state.lookups++;
      await state.duringLookup();
      const session = state.sessions.get(tokenHash);
      return session !== undefined && session.expiresAt > now ? session : undefined;
    },
    async revokedSince(): Promise<string[]> {
      if (state.pollFails) throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
      return Promise.resolve(state.revoked);
    },
  };
  return { state, store };
}

/** Waits for the feed's next poll (every quarter of the bound, on real timers). */
const nextPoll = () => new Promise((resolve) => setTimeout(resolve, BOUND_MS / 4 + 50));

function setUp(options: { maxAgeMs?: number } = {}) {
  const { state, store } = fakeStore();
  let now = Date.now();
  // Real time passes (the feed polls on real timers); the test moves both clocks forward on top of it.
  let offset = 0;
  const sessions = cachedSessions({
    store,
    revocations: store,
    logger: getLogger("test"),
    limits: { maxEntries: 100, maxBytes: 1e6 },
    revocationBoundMs: BOUND_MS,
    maxAgeMs: options.maxAgeMs ?? 60_000,
    clock: () => new Date(now),
    monotonic: () => performance.now() + offset,
  });
  state.sessions.set("t", { user: USER, expiresAt: new Date(now + 10_000) });
  return {
    state,
    sessions,
    at: () => new Date(now),
    advance: (ms: number) => {
      now += ms;
      offset += ms;
    },
  };
}

describe("sessions answered from the token cache", () => {
  it("answers a session read once from the cache while revocation polls succeed", async (t) => {
    const { state, sessions, at } = setUp();
    t.after(() => sessions.stop());
    await nextPoll();
    assert.deepEqual(await sessions.find("t", at()), USER);
    assert.deepEqual(await sessions.find("t", at()), USER);
    assert.equal(state.lookups, 1);
  });

  it("asks the database before the first poll has succeeded", async (t) => {
    const { state, sessions, at } = setUp();
    t.after(() => sessions.stop());
    state.pollFails = true;
    await nextPoll();
    await sessions.find("t", at());
    await sessions.find("t", at());
    assert.equal(state.lookups, 2);
  });

  it("never serves a cached session at or after its token's expiry", async (t) => {
    const { state, sessions, at, advance } = setUp();
    t.after(() => sessions.stop());
    await nextPoll();
    assert.deepEqual(await sessions.find("t", at()), USER);
    advance(10_000);
    await nextPoll();
    assert.equal(await sessions.find("t", at()), undefined);
    assert.equal(state.lookups, 2, "the expired entry was not served: the database was asked");
  });

  it("reads a session again from the database once it reaches the maximum age", async (t) => {
    const { state, sessions, at, advance } = setUp({ maxAgeMs: 60_000 });
    t.after(() => sessions.stop());
    state.sessions.set("t", { user: USER, expiresAt: new Date(at().getTime() + 3_600_000) });
    await nextPoll();
    await sessions.find("t", at());
    advance(50_000);
    await nextPoll();
    await sessions.find("t", at());
    assert.equal(state.lookups, 1);
    state.sessions.delete("t");
    advance(10_000);
    await nextPoll();
    assert.equal(await sessions.find("t", at()), undefined);
    assert.equal(state.lookups, 2);
  });

  it("drops a token the revocation poll reports, and everything when a poll overflows", async (t) => {
    const { state, sessions, at } = setUp();
    t.after(() => sessions.stop());
    state.sessions.set("u", { user: USER, expiresAt: new Date(at().getTime() + 10_000) });
    await nextPoll();
    await sessions.find("t", at());
    await sessions.find("u", at());
    state.revoked = ["t"];
    await nextPoll();
    await sessions.find("t", at());
    await sessions.find("u", at());
    assert.equal(state.lookups, 3, "t read again, u still cached");
    state.revoked = Array.from({ length: MAX_ROWS_PER_POLL }, (_, i) => `other-${i}`);
    await nextPoll();
    await sessions.find("u", at());
    assert.equal(state.lookups, 4, "u read again after an overflow");
  });

  it("forgets a logged-out token at once, even if a lookup that began before the logout finishes after it", async (t) => {
    const { state, sessions, at } = setUp();
    t.after(() => sessions.stop());
    await nextPoll();
    let release = (): void => {};
    state.duringLookup = () => new Promise<void>((resolve) => (release = resolve));
    const slow = sessions.find("t", at());
    sessions.forget("t");
    release();
    await slow;
    state.duringLookup = async () => {};
    await sessions.find("t", at());
    assert.equal(state.lookups, 2, "the slow lookup's session was not cached");
  });

  it("stops trusting the cache once polls have failed for the bound", async (t) => {
    const { state, sessions, at } = setUp();
    t.after(() => sessions.stop());
    await nextPoll();
    await sessions.find("t", at());
    state.pollFails = true;
    await new Promise((resolve) => setTimeout(resolve, BOUND_MS + 100));
    await sessions.find("t", at());
    assert.equal(state.lookups, 2);
  });
});
