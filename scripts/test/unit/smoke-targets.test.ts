import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runProgram } from "../../../infra/test/harness.ts";
import { smokeTargets } from "../../smoke/targets.ts";

const CONTAINER = "docker:index/container:Container";

describe("what `npm run smoke` checks", () => {
  it("follows the consumer container of a stack with a name of its own, as the program names it", async () => {
    const run = await runProgram({ name: "shop" });
    const targets = smokeTargets(run.outputs, {});
    assert.equal(targets.consumerContainer, "shop-consumer");
    const consumer = run.byName(targets.consumerContainer, CONTAINER);
    assert.equal(consumer.inputs["name"], targets.consumerContainer);
    assert.equal(targets.apiUrl, "http://localhost:3000");
  });

  it("takes API_URL over the stack's apiUrl", () => {
    const outputs = { apiUrl: "http://localhost:3000", consumerContainer: "tidbstack-consumer" };
    assert.equal(smokeTargets(outputs, { API_URL: "http://10.0.0.5:3000" }).apiUrl, "http://10.0.0.5:3000");
  });

  it("says to run `npm run up` when the stack predates the consumerContainer output", () => {
    assert.throws(
      () => smokeTargets({ apiUrl: "http://localhost:3000" }, {}),
      /no output consumerContainer: run `npm run up`/,
    );
  });
});
