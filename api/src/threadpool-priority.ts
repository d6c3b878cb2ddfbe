import { readdirSync, readFileSync } from "node:fs";
import { setPriority } from "node:os";

/**
 * Nice value for libuv's pool threads. Password hashes run there, each keeping a core busy for tens of
 * milliseconds; at the event loop's own priority they take their share of the CPU from it and every other
 * request waits behind them. At nice 10 the kernel gives a runnable event loop the CPU first (a weight of
 * 110 against 1024), so logins use what the event loop leaves and /health stays fast during a login storm.
 */
export const THREADPOOL_NICE = 10;

/**
 * Lowers the priority of this process's libuv pool threads (named "libuv-worker" on Linux), which exist
 * once the pool has run its first task. Raising one's own nice value needs no privilege. Returns how many
 * threads it lowered: 0 where /proc/self/task cannot be read (not Linux).
 */
export function lowerThreadpoolPriority(): number {
  let tasks: string[];
  try {
    tasks = readdirSync("/proc/self/task");
  } catch {
    return 0;
  }
  let lowered = 0;
  for (const task of tasks) {
    try {
      if (readFileSync(`/proc/self/task/${task}/comm`, "utf8").trim() !== "libuv-worker") continue;
      setPriority(Number(task), THREADPOOL_NICE);
      lowered++;
    } catch {
      // The thread ended between the listing and the call: nothing to lower.
    }
  }
  return lowered;
}
