import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { assertRefusesConfig } from "@tidbstack/testenv";

const main = fileURLToPath(new URL("../../src/main.ts", import.meta.url));

describe("the API started with a bad environment variable", () => {
  const cases: [Record<string, string>, string][] = [
    [{ DB_USER: "api", PORT: "eighty" }, "PORT"],
    [{ DB_USER: "api", LOG_LEVEL: "loud" }, "LOG_LEVEL"],
  ];
  for (const [env, variable] of cases) {
    it(`api/src/main.ts exits 1 with one JSON line naming ${variable}`, async () => {
      await assertRefusesConfig(main, env, variable);
    });
  }
});
