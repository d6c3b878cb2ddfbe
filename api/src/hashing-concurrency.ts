import { availableParallelism, totalmem } from "node:os";

/** What bounds the number of password hashes one API process runs at once. */
export interface HashingResources {
  /** CPUs this process may use (os.availableParallelism(), which respects CPU affinity). */
  readonly cores: number;
  /** Memory this process may use, in bytes: the container's limit when it has one. */
  readonly memoryBytes: number;
  /** Memory one hash needs, in bytes. */
  readonly perHashBytes: number;
  /** Threads in libuv's pool (UV_THREADPOOL_SIZE, default 4), where the hashes run. */
  readonly threadpoolSize: number;
}

/**
 * Hashes never take more than a quarter of the process's memory: the rest is Node's heap, the token cache
 * and the connection pools. Under a 384 MiB container limit that is 96 MiB, five Argon2id hashes at 19 MiB.
 */
const HASHING_MEMORY_SHARE = 0.25;

/**
 * How many hashes run at once: one per core (each hash keeps one pool thread busy on one core), no more
 * than the memory share holds, and one pool thread always left for fs and dns.lookup (mysql2 resolves
 * the database's host name there), so a login storm cannot stall a reconnect. At least one.
 */
export function hashingConcurrency(resources: HashingResources): number {
  const byMemory = Math.floor((resources.memoryBytes * HASHING_MEMORY_SHARE) / resources.perHashBytes);
  return Math.max(1, Math.min(resources.cores, byMemory, resources.threadpoolSize - 1));
}

/** libuv's default pool size, used when UV_THREADPOOL_SIZE is unset or not a number libuv accepts. */
const DEFAULT_THREADPOOL_SIZE = 4;

/** This process's resources, for hashes of `perHashBytes` each. */
export function machineResources(perHashBytes: number): HashingResources {
  // constrainedMemory() is the cgroup's limit, or a huge number (or 0 on some platforms) without one.
  const limit = process.constrainedMemory();
  const memoryBytes = limit > 0 ? Math.min(limit, totalmem()) : totalmem();
  const poolSize = Number(process.env["UV_THREADPOOL_SIZE"]);
  return {
    cores: availableParallelism(),
    memoryBytes,
    perHashBytes,
    threadpoolSize:
      Number.isInteger(poolSize) && poolSize >= 1 ? Math.min(poolSize, 1024) : DEFAULT_THREADPOOL_SIZE,
  };
}
