/**
 * The PHC string format (github.com/P-H-C/phc-string-format): `$<id>[$v=<version>][$<name>=<value>,...]$<salt>$<hash>`,
 * salt and hash in standard base64 without padding. Parameters are read by name, not by position: libraries
 * disagree on their order (the spec writes Argon2's as m,t,p; node-argon2 writes m,p,t).
 */
export interface PhcString {
  readonly id: string;
  readonly version?: number;
  readonly params: ReadonlyMap<string, string>;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

// base64 with either alphabet: hashes written before Argon2id (scrypt) used base64url.
const B64 = "[A-Za-z0-9+/_-]+";
const PHC = new RegExp(
  `^\\$([a-z0-9-]{1,32})(?:\\$v=(\\d{1,4}))?\\$([a-z0-9-]{1,32}=[A-Za-z0-9/+.-]{1,64}(?:,[a-z0-9-]{1,32}=[A-Za-z0-9/+.-]{1,64})*)\\$(${B64})\\$(${B64})$`,
);

/** The parts of a PHC string with parameters, salt and hash, or undefined when `encoded` is not one. */
export function parsePhc(encoded: string): PhcString | undefined {
  const match = PHC.exec(encoded);
  if (match === null) return undefined;
  const [, id, version, paramText, salt, hash] = match as unknown as [
    string,
    string,
    string | undefined,
    string,
    string,
    string,
  ];
  const params = new Map<string, string>();
  for (const pair of paramText.split(",")) {
    const [name, value] = pair.split("=") as [string, string];
    if (params.has(name)) return undefined;
    params.set(name, value);
  }
  return {
    id,
    ...(version === undefined ? {} : { version: Number(version) }),
    params,
    salt: Buffer.from(salt, "base64"),
    hash: Buffer.from(hash, "base64"),
  };
}

const unpadded = (bytes: Buffer): string => bytes.toString("base64").replace(/=+$/, "");

/** `$<id>$v=<version>$<params>$<salt>$<hash>`, parameters in the order given. */
export function formatPhc(phc: PhcString): string {
  const version = phc.version === undefined ? "" : `$v=${phc.version}`;
  const params = [...phc.params].map(([name, value]) => `${name}=${value}`).join(",");
  return `$${phc.id}${version}$${params}$${unpadded(phc.salt)}$${unpadded(phc.hash)}`;
}

/** A parameter as a non-negative integer written without leading zeros, or undefined. */
export function integerParam(phc: PhcString, name: string): number | undefined {
  const value = phc.params.get(name);
  return value !== undefined && /^(0|[1-9]\d{0,9})$/.test(value) ? Number(value) : undefined;
}
