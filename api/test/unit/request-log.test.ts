import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { captureLogLines, type LogFields } from "@tidbstack/service-kit";
import { startApi, type RunningApi } from "../support.ts";
import { FAST_PASSWORDS, MemoryStore } from "./memory-store.ts";

/** The request lines among `records()`, once there are `count` of them ("finish" comes after the answer). */
async function requestLines(records: () => LogFields[], count: number): Promise<LogFields[]> {
  for (let i = 0; ; i++) {
    const lines = records().filter((line) => line["action"] === "request");
    if (lines.length >= count || i === 100) return lines;
    await sleep(10);
  }
}

describe("the request log", () => {
  let api: RunningApi;

  before(async () => {
    api = await startApi(await MemoryStore.withUser("a@test.com", "password"), { passwords: FAST_PASSWORDS });
  });
  after(() => api.close());

  it("has one line per answered request: probes at debug, the rest at info, by route template", async () => {
    await fetch(`${api.url}/health`);
    await fetch(`${api.url}/ready`);
    await fetch(`${api.url}/me`);
    await fetch(`${api.url}/no/such/route?x=1`);
    const lines = await requestLines(api.logs, 4);
    assert.deepEqual(
      lines.map(({ durationMs, timestamp, ...rest }) => {
        assert.equal(typeof timestamp, "string");
        assert.ok(typeof durationMs === "number" && durationMs >= 0, "a duration in milliseconds");
        return rest;
      }),
      [
        { level: "debug", action: "request", method: "GET", route: "/health", status: 200 },
        { level: "debug", action: "request", method: "GET", route: "/ready", status: 200 },
        { level: "info", action: "request", method: "GET", route: "/me", status: 401 },
        { level: "info", action: "request", method: "GET", route: "unmatched", status: 404 },
      ],
    );
  });

  it("follows the log level when logging is configured again: at info, probes are not logged", async () => {
    const capture = captureLogLines("info");
    await fetch(`${api.url}/health`);
    await fetch(`${api.url}/me`);
    const lines = await requestLines(capture.records, 1);
    await sleep(50);
    assert.deepEqual(
      capture
        .records()
        .filter((line) => line["action"] === "request")
        .map((line) => line["route"]),
      ["/me"],
    );
    assert.equal(lines[0]?.["level"], "info");
  });
});
