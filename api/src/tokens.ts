import { createHash, randomUUID } from "node:crypto";

/** A new login token: a random UUID v4 (122 random bits). */
export const newToken = (): string => randomUUID();

/**
 * What the database stores instead of the token: its SHA-256 in hex. A leaked row or CDC event cannot be
 * replayed, and a fast hash is enough because the token itself has 122 bits of entropy.
 */
export const hashToken = (token: string): string => createHash("sha256").update(token).digest("hex");

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** The token in an `Authorization: Bearer <token>` header, or undefined when the header is missing or malformed. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer +(\S+)\s*$/i.exec(header ?? "");
  const token = match?.[1];
  return token !== undefined && UUID_V4.test(token) ? token.toLowerCase() : undefined;
}
