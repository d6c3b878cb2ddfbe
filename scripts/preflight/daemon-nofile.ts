/**
 * Whether the Docker daemon can start a container with TiKV's open-file limit. The kernel's fs.nr_open is
 * not the only ceiling: a daemon whose own hard limit is lower (a systemd LimitNOFILE, rootless Docker, a
 * sandbox) and that lacks CAP_SYS_RESOURCE cannot raise a container's, and TiKV's container then fails at
 * creation with "error setting rlimit type 7: operation not permitted".
 *
 * Asked of the daemon itself, so it also holds for a remote one (DOCKER_HOST): a throwaway container with
 * the same `--ulimit`, from an empty image imported for the purpose (no pull, nothing needed on the daemon
 * beforehand) and removed afterwards. The container's program does not exist: the runtime sets the limits
 * before it looks for the program, so a refused limit fails with an rlimit error, a granted one with "no
 * such file". A first run with a limit no kernel allows checks that the runtime reports it that way.
 */
import { spawnSync } from "node:child_process";

export type DaemonNofile = "granted" | "denied" | "unknown";

/** Above every kernel's fs.nr_open ceiling (at most 2^31 - 64), so never granted. */
const NEVER_GRANTED = 2_147_483_647;
/** runc: "error setting rlimit type 7"; crun: "setrlimit `RLIMIT_NOFILE`". */
const RLIMIT_REFUSED = /rlimit/i;
/** An empty tar archive: two zero blocks, padded to tar's default record of 10 KiB. */
const EMPTY_TAR = Buffer.alloc(10_240);

function docker(args: string[], input?: Buffer): { ok: boolean; stdout: string; stderr: string } {
  const result = spawnSync("docker", args, { input, encoding: "utf8", timeout: 60_000 });
  return { ok: result.status === 0, stdout: result.stdout.trim(), stderr: result.stderr };
}

/** "granted", "denied", or "unknown" when the daemon could not be asked or did not answer the known way. */
export function probeDaemonNofile(nofile: number): DaemonNofile {
  const imported = docker(["import", "--message", "tidbstack preflight: empty", "-"], EMPTY_TAR);
  if (!imported.ok) return "unknown";
  const image = imported.stdout;
  const refused = (limit: number): boolean => {
    const run = docker([
      "run",
      "--rm",
      "--network",
      "none",
      "--ulimit",
      `nofile=${limit}:${limit}`,
      "--entrypoint",
      "/no-such-program",
      image,
    ]);
    return !run.ok && RLIMIT_REFUSED.test(run.stderr);
  };
  try {
    if (!refused(NEVER_GRANTED)) return "unknown";
    return refused(nofile) ? "denied" : "granted";
  } finally {
    docker(["image", "rm", image]);
  }
}
