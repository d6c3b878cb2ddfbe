/**
 * `npm run smoke`: checks a running stack end to end, the way a user would. Logs in at the API, calls /me,
 * then follows the consumer container's log until it shows the `tokens` INSERT that this login caused, and
 * prints each step with the measured commit-to-consumer latency.
 *
 * Reads the API URL and the consumer container's name from the stack's outputs (smoke/targets.ts); API_URL
 * overrides the URL. Credentials: ADMIN_EMAIL / ADMIN_PASSWORD, default the dev stack's documented
 * admin@test.com / temp-password.
 */
import { execFileSync, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { smokeTargets } from "./smoke/targets.ts";

const TIMEOUT_MS = 60_000;

function stackOutputs(): Record<string, unknown> {
  const json = execFileSync("node_modules/.bin/pulumi", ["stack", "output", "--json", "--stack", "dev"], {
    encoding: "utf8",
  });
  return JSON.parse(json) as Record<string, unknown>;
}

function step(message: string): void {
  console.log(`[${new Date().toISOString()}] ${message}`);
}

async function main(): Promise<void> {
  const { apiUrl: url, consumerContainer: container } = smokeTargets(stackOutputs(), process.env);
  const credentials = {
    email: process.env["ADMIN_EMAIL"] ?? "admin@test.com",
    password: process.env["ADMIN_PASSWORD"] ?? "temp-password",
  };

  const health = await fetch(`${url}/health`);
  step(`GET ${url}/health → ${health.status} ${await health.text()}`);
  const ready = await fetch(`${url}/ready`);
  step(`GET ${url}/ready → ${ready.status} ${await ready.text()}`);

  // Follow the consumer's log from now on, before logging in, so the event cannot slip past.
  const logs = spawn("docker", ["logs", "--follow", "--since", "1s", container], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const loginAt = Date.now();
  const login = await fetch(`${url}/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(credentials),
  });
  if (login.status !== 200) throw new Error(`POST /login answered ${login.status}: ${await login.text()}`);
  const { token } = (await login.json()) as { token: string };
  step(`POST ${url}/login → 200, token received`);

  const me = await fetch(`${url}/me`, { headers: { authorization: `Bearer ${token}` } });
  const user = (await me.json()) as { userId: number; email: string };
  step(`GET ${url}/me → ${me.status} ${JSON.stringify(user)}`);

  const seen = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new Error(
          `the consumer (${container}) logged no tokens INSERT for user ${user.userId} within ${TIMEOUT_MS / 1000} s`,
        ),
      );
    }, TIMEOUT_MS);
    createInterface({ input: logs.stdout }).on("line", (line) => {
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      const data = event["data"] as Record<string, unknown> | undefined;
      if (
        event["action"] === "db_change" &&
        event["table"] === "tokens" &&
        event["type"] === "INSERT" &&
        data?.["user_id"] === String(user.userId)
      ) {
        clearTimeout(timer);
        resolve(event);
      }
    });
  }).finally(() => logs.kill());
  step(
    `consumer logged the tokens INSERT (commitTs ${String(seen["commitTs"])}, token_hash ${String((seen["data"] as Record<string, unknown>)["token_hash"])})`,
  );
  step(
    `commit → consumer latency: ${String(seen["lagMs"])} ms (consumer's own measure); login → log line: ${Date.now() - loginAt} ms`,
  );
}

main().catch((error: unknown) => {
  console.error(`smoke failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
