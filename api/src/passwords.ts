import { argon2, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";
import { hashingConcurrency, machineResources } from "./hashing-concurrency.ts";
import { formatPhc, integerParam, parsePhc, type PhcString } from "./phc.ts";
import { Semaphore } from "./semaphore.ts";

/**
 * Password hashing: Argon2id from node:crypto at OWASP's first-choice parameters (19 MiB, 2 passes,
 * parallelism 1), stored as a PHC string `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`. Hashes made before
 * (scrypt, `$scrypt$ln=17,r=8,p=1$...`) keep verifying and are reported as due for a rehash, the way
 * password libraries upgrade a hash at the user's next successful login.
 *
 * Both KDFs run on libuv's thread pool, never on the event loop; a semaphore caps how many run at once
 * (see hashing-concurrency.ts), the rest wait in arrival order.
 */
export interface Argon2idParams {
  /** Memory in KiB. */
  readonly memoryKiB: number;
  readonly passes: number;
  readonly parallelism: number;
}

export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  readonly logN: number;
  readonly r: number;
  readonly p: number;
}

/** OWASP Password Storage Cheat Sheet: Argon2id m=19456 (19 MiB), t=2, p=1. */
export const OWASP_ARGON2ID: Argon2idParams = { memoryKiB: 19_456, passes: 2, parallelism: 1 };
/** OWASP's scrypt fallback, N=2^17 (128 MiB), r=8, p=1: what passwords were hashed with before Argon2id. */
export const OWASP_SCRYPT: ScryptParams = { logN: 17, r: 8, p: 1 };

/** The algorithm and parameters new hashes are made with. */
export type PasswordPolicy =
  | { readonly algorithm: "argon2id"; readonly params: Argon2idParams }
  | { readonly algorithm: "scrypt"; readonly params: ScryptParams };

export const ARGON2ID_POLICY: PasswordPolicy = { algorithm: "argon2id", params: OWASP_ARGON2ID };

const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
const ARGON2_VERSION = 19;
/** Bounds on what a stored hash may ask for: a corrupt or hostile row must not cost gigabytes or minutes. */
const MAX_ARGON2_MEMORY_KIB = 1024 * 1024;
const MAX_ARGON2_PASSES = 64;
const MAX_ARGON2_PARALLELISM = 255;

/** Memory one hash of `policy` needs, in bytes. */
export function hashMemoryBytes(policy: PasswordPolicy): number {
  return policy.algorithm === "argon2id"
    ? policy.params.memoryKiB * 1024
    : 128 * 2 ** policy.params.logN * policy.params.r;
}

/** A stored hash, decoded: the policy it was made with, its salt and its key. */
interface StoredHash {
  readonly policy: PasswordPolicy;
  readonly salt: Buffer;
  readonly key: Buffer;
}

function decodeArgon2id(phc: PhcString): StoredHash | undefined {
  const memoryKiB = integerParam(phc, "m");
  const passes = integerParam(phc, "t");
  const parallelism = integerParam(phc, "p");
  if (phc.version !== ARGON2_VERSION || memoryKiB === undefined || passes === undefined) return undefined;
  if (parallelism === undefined || parallelism < 1 || parallelism > MAX_ARGON2_PARALLELISM) return undefined;
  if (passes < 1 || passes > MAX_ARGON2_PASSES) return undefined;
  if (memoryKiB < 8 * parallelism || memoryKiB > MAX_ARGON2_MEMORY_KIB) return undefined;
  if (phc.params.size !== 3 || phc.salt.length < 8 || phc.salt.length > 48) return undefined;
  if (phc.hash.length < 12 || phc.hash.length > 64) return undefined;
  return {
    policy: { algorithm: "argon2id", params: { memoryKiB, passes, parallelism } },
    salt: phc.salt,
    key: phc.hash,
  };
}

function decodeScrypt(phc: PhcString): StoredHash | undefined {
  const logN = integerParam(phc, "ln");
  const r = integerParam(phc, "r");
  const p = integerParam(phc, "p");
  if (logN === undefined || logN < 10 || logN > 22 || r === undefined || p === undefined) return undefined;
  if (r < 1 || r > 32 || p < 1 || p > 16 || phc.params.size !== 3 || phc.version !== undefined)
    return undefined;
  if (phc.hash.length !== KEY_LENGTH || phc.salt.length < 8) return undefined;
  return { policy: { algorithm: "scrypt", params: { logN, r, p } }, salt: phc.salt, key: phc.hash };
}

/** The stored hash in `encoded`, or undefined when it is malformed, unknown or out of bounds. */
function decode(encoded: string): StoredHash | undefined {
  const phc = parsePhc(encoded);
  if (phc?.id === "argon2id") return decodeArgon2id(phc);
  if (phc?.id === "scrypt") return decodeScrypt(phc);
  return undefined;
}

/** True when a hash made with `stored` is weaker than `current` asks, or by another algorithm. */
function isWeaker(stored: StoredHash, current: PasswordPolicy): boolean {
  if (stored.policy.algorithm !== current.algorithm) return true;
  if (stored.salt.length < SALT_LENGTH || stored.key.length < KEY_LENGTH) return true;
  if (stored.policy.algorithm === "argon2id" && current.algorithm === "argon2id") {
    return (
      stored.policy.params.memoryKiB < current.params.memoryKiB ||
      stored.policy.params.passes < current.params.passes
    );
  }
  return hashMemoryBytes(stored.policy) < hashMemoryBytes(current);
}

/** The key `policy` derives from `password` and `salt`. Unicode passwords are compared in NFC. */
function derive(password: string, salt: Buffer, policy: PasswordPolicy, keyLength: number): Promise<Buffer> {
  const message = password.normalize("NFC");
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, key: Buffer): void => {
      if (error === null) resolve(key);
      else reject(error);
    };
    if (policy.algorithm === "argon2id") {
      const { memoryKiB, passes, parallelism } = policy.params;
      argon2(
        "argon2id",
        { message, nonce: salt, memory: memoryKiB, passes, parallelism, tagLength: keyLength },
        done,
      );
    } else {
      const { logN, r, p } = policy.params;
      // scrypt needs 128·N·r bytes; Node's default cap (32 MiB) is below OWASP's 128 MiB.
      const options: ScryptOptions = { N: 2 ** logN, r, p, maxmem: 128 * 2 ** logN * r + 16 * 1024 * 1024 };
      scrypt(message, salt, keyLength, options, done);
    }
  });
}

function encode(policy: PasswordPolicy, salt: Buffer, key: Buffer): string {
  if (policy.algorithm === "argon2id") {
    const { memoryKiB, passes, parallelism } = policy.params;
    const params = new Map([
      ["m", String(memoryKiB)],
      ["t", String(passes)],
      ["p", String(parallelism)],
    ]);
    return formatPhc({ id: "argon2id", version: ARGON2_VERSION, params, salt, hash: key });
  }
  const { logN, r, p } = policy.params;
  const params = new Map([
    ["ln", String(logN)],
    ["r", String(r)],
    ["p", String(p)],
  ]);
  return formatPhc({ id: "scrypt", params, salt, hash: key });
}

export interface Verification {
  /** The password matches the stored hash. */
  readonly valid: boolean;
  /** The password matches and the hash is weaker than the policy: store `hash(password)` in its place. */
  readonly needsRehash: boolean;
}

export interface PasswordHasherOptions {
  /** Default: Argon2id at OWASP's parameters. */
  readonly policy?: PasswordPolicy;
  /** Hashes run at once. Default: from this machine's cores and memory (hashingConcurrency). */
  readonly concurrency?: number;
}

/** Hashes and verifies passwords under one policy, at most `concurrency` at once. */
export class PasswordHasher {
  readonly policy: PasswordPolicy;
  readonly concurrency: number;
  private readonly slots: Semaphore;
  private decoy: Promise<string> | undefined;

  constructor(options: PasswordHasherOptions = {}) {
    this.policy = options.policy ?? ARGON2ID_POLICY;
    this.concurrency =
      options.concurrency ?? hashingConcurrency(machineResources(hashMemoryBytes(this.policy)));
    this.slots = new Semaphore(this.concurrency);
  }

  /** Makes the decoy hash now, so the first unknown email does not pay for it. */
  async prepareDecoy(): Promise<void> {
    await (this.decoy ??= this.hash("decoy password for unknown users"));
  }

  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_LENGTH);
    const key = await this.slots.run(() => derive(password, salt, this.policy, KEY_LENGTH));
    return encode(this.policy, salt, key);
  }

  /**
   * Whether `password` matches `encoded`; a malformed stored hash verifies as invalid, never throws.
   * Without a stored hash (an unknown email), the password is checked against a decoy hash of the same
   * policy, so the answer costs what a wrong password costs. With a signal (the client disconnected), a
   * verification still waiting for a slot is abandoned: work nobody waits for must not delay those who do.
   */
  async verify(password: string, encoded: string | undefined, signal?: AbortSignal): Promise<Verification> {
    if (encoded === undefined) await this.prepareDecoy();
    const stored = decode(encoded ?? (await (this.decoy as Promise<string>)));
    if (stored === undefined) return { valid: false, needsRehash: false };
    const actual = await this.slots.run(
      () => derive(password, stored.salt, stored.policy, stored.key.length),
      signal,
    );
    const valid = timingSafeEqual(actual, stored.key) && encoded !== undefined;
    return { valid, needsRehash: valid && isWeaker(stored, this.policy) };
  }
}
