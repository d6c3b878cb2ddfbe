import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { assertRefusesConfig } from "@tidbstack/testenv";

const main = fileURLToPath(new URL("../../src/main.ts", import.meta.url));

describe("the consumer started with a bad environment variable", () => {
  it("consumer/src/main.ts exits 1 with one JSON line naming KAFKA_BROKERS", async () => {
    await assertRefusesConfig(main, { KAFKA_BROKERS: "no-port" }, "KAFKA_BROKERS");
  });
});
