/**
 * Makes `Pulumi.<stack>.yaml` complete in a fresh checkout before a CI preview or deploy:
 *   node scripts/stack-config.ts <stack>
 * A committed file that carries its secrets provider state is used as it is. Otherwise the stack's config
 * and secrets provider are restored from its last deployment in the backend (`pulumi config refresh`: the
 * config recorded with the newest update in the stack's history, and the salt from its checkpoint; pulumi
 * pkg/cmd/pulumi/config and pkg/backend/diy GetLatestConfiguration), and the committed plain values are laid
 * over them. Needs `pulumi` on PATH, the backend and the passphrase in
 * the environment (PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import {
  carriesItsSecrets,
  formatStackFile,
  overlayCommitted,
  parseStackFile,
  type StackFile,
} from "./ci/stack-file.ts";

function main(stack: string | undefined): void {
  if (stack === undefined || stack === "") {
    throw new Error("usage: node scripts/stack-config.ts <stack>");
  }
  const path = `Pulumi.${stack}.yaml`;
  const committed: StackFile = existsSync(path) ? parseStackFile(readFileSync(path, "utf8"), path) : {};
  if (carriesItsSecrets(committed)) {
    console.log(`${path}: committed with its secrets provider state; used as it is`);
    return;
  }
  try {
    execFileSync("pulumi", ["config", "refresh", "--force", "--stack", stack], {
      stdio: ["ignore", "inherit", "inherit"],
    });
  } catch {
    throw new Error(
      `could not restore the config of stack ${stack} from its last deployment (above); deploy it once by hand, or commit ${path} with its secrets`,
    );
  }
  const deployed = parseStackFile(readFileSync(path, "utf8"), path);
  writeFileSync(path, formatStackFile(overlayCommitted(deployed, committed)));
  const overlaid = Object.keys(committed.config ?? {}).length;
  console.log(
    `${path}: config and secrets provider from the last deployment, ${overlaid} committed plain value(s) over them`,
  );
}

try {
  main(process.argv[2]);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
