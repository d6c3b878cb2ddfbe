/**
 * What `npm run smoke` checks, from the stack's own outputs (`pulumi stack output --json`): the API's URL
 * and the consumer's container, whose name follows the stack's `name` config. API_URL overrides the URL
 * (an API reached another way than the output says).
 */
export interface SmokeTargets {
  /** Base URL of the API, without a trailing slash. */
  readonly apiUrl: string;
  /** Docker name of the consumer container, whose log shows the pipeline's events. */
  readonly consumerContainer: string;
}

export function smokeTargets(
  outputs: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>>,
): SmokeTargets {
  const output = (key: string): string => {
    const value = outputs[key];
    if (typeof value !== "string" || value === "")
      throw new Error(
        `the stack has no output ${key}: run \`npm run up\` (this version of the program exports it) and try again`,
      );
    return value;
  };
  const fromEnv = env["API_URL"];
  return {
    apiUrl: fromEnv !== undefined && fromEnv !== "" ? fromEnv : output("apiUrl"),
    consumerContainer: output("consumerContainer"),
  };
}
