/**
 * A second `pulumi up` (and `pulumi preview --refresh --expect-no-changes`) finds nothing to change only if
 * every container input is declared in the form the provider reads it back in: each container of each
 * shape of the stack is run through the provider's read (provider-read-back.ts) and must come out as it went in.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runProgram } from "../harness.ts";
import { containerReadBack, formatGoDuration, parseGoDuration } from "../provider-read-back.ts";

const CONTAINER = "docker:index/container:Container";

describe("the model of the provider's read", () => {
  it("prints durations as Go's Duration.String does", () => {
    const printed = (text: string) => formatGoDuration(parseGoDuration(text));
    assert.equal(printed("60s"), "1m0s");
    assert.equal(printed("90s"), "1m30s");
    assert.equal(printed("2s"), "2s");
    assert.equal(printed("1.5s"), "1.5s");
    assert.equal(printed("3600s"), "1h0m0s");
    assert.equal(printed("0.5s"), "500ms");
    assert.equal(printed("1500us"), "1.5ms");
    assert.equal(printed("0"), "0s");
    assert.throws(() => parseGoDuration("60"), /invalid duration/);
  });

  it("reads an undeclared memorySwap back as twice memory, a declared one as declared", () => {
    assert.equal(containerReadBack({ memory: 512 })["memorySwap"], 1024);
    assert.equal(containerReadBack({ memory: 512, memorySwap: 512 })["memorySwap"], 512);
    assert.equal(containerReadBack({})["memorySwap"], undefined);
  });
});

const SHAPES: Record<string, Record<string, string>> = {
  "one PD and one TiKV, monitoring on": {},
  "three PDs and three TiKVs, monitoring on": { pdCount: "3", tikvCount: "3" },
  "one PD and one TiKV, monitoring off": { monitoring: "false" },
  "three PDs and three TiKVs, monitoring off": { pdCount: "3", tikvCount: "3", monitoring: "false" },
};

for (const [shape, config] of Object.entries(SHAPES)) {
  describe(`the stack with ${shape}`, () => {
    it("declares every container input in the form the provider reads back, so a refresh finds no change", async () => {
      const containers = (await runProgram(config)).ofType(CONTAINER);
      assert.ok(containers.length >= 8, `only ${containers.length} containers`);
      for (const c of containers) assert.deepEqual(containerReadBack(c.inputs), c.inputs, c.name);
    });
  });
}
