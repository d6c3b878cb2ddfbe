import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";
import { availableParallelism } from "node:os";

/**
 * Password hashing with scrypt at OWASP's recommended cost (N=2^17, r=8, p=1), stored as a PHC-style string
 * that carries its own parameters: `$scrypt$ln=17,r=8,p=1$<salt>$<hash>` (base64, no padding). Hashes made
 * with other parameters keep verifying, so the cost can be raised later.
 *
 * crypto.scrypt runs on libuv's thread pool, so hashing never blocks the event loop. At most one hash per
 * core but one runs at a time: otherwise a burst of logins takes every core (and 128 MiB per hash) and the
 * event loop, though never blocked, is starved of CPU; the other requests wait in the queue instead.
 */
export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  readonly logN: number;
  readonly r: number;
  readonly p: number;
}

export const OWASP_SCRYPT: ScryptParams = { logN: 17, r: 8, p: 1 };
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

/** Runs at most `limit` tasks at once, the rest in arrival order; a finishing task hands its slot on. */
class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Runs `task` when a slot is free; if `signal` has aborted by then, rejects without running it. */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      signal?.throwIfAborted();
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next === undefined) this.active--;
      else next();
    }
  }
}

const hashing = new Semaphore(Math.max(1, availableParallelism() - 1));

function derive(password: string, salt: Buffer, params: ScryptParams, signal?: AbortSignal): Promise<Buffer> {
  return hashing.run(() => deriveNow(password, salt, params), signal);
}

function deriveNow(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.logN;
  const options: ScryptOptions = {
    N,
    r: params.r,
    p: params.p,
    // scrypt needs 128·N·r bytes; Node's default cap (32 MiB) is below OWASP's 128 MiB.
    maxmem: 128 * N * params.r + 16 * 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFC"), salt, KEY_LENGTH, options, (error, key) => {
      if (error === null) resolve(key);
      else reject(error);
    });
  });
}

export async function hashPassword(password: string, params: ScryptParams = OWASP_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt, params);
  return `$scrypt$ln=${params.logN},r=${params.r},p=${params.p}$${salt.toString("base64url")}$${key.toString("base64url")}`;
}

const ENCODED = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

/**
 * True when `password` matches `encoded`. A malformed stored hash verifies as false, never throws. With a
 * signal (the client disconnected), a verification still waiting for a hashing slot is abandoned: work
 * nobody waits for must not delay those who do.
 */
export async function verifyPassword(
  password: string,
  encoded: string,
  signal?: AbortSignal,
): Promise<boolean> {
  const match = ENCODED.exec(encoded);
  if (match === null) return false;
  const [, logN, r, p, salt, hash] = match as unknown as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, "base64url");
  const params = { logN: Number(logN), r: Number(r), p: Number(p) };
  if (params.logN < 10 || params.logN > 22 || expected.length !== KEY_LENGTH) return false;
  const actual = await derive(password, Buffer.from(salt, "base64url"), params, signal);
  return timingSafeEqual(actual, expected);
}
