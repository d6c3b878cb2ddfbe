/**
 * Sink URIs compared by meaning, not by text. TiCDC hands back the sink URI with the query re-encoded
 * (sorted) whenever it masks a `sasl-password`, and with the user-info password replaced by "xxxxx"
 * (pkg/util/uri.go MaskSinkURI): neither may count as a change, or every run would update the changefeed.
 */

/** What TiCDC writes in place of a password it masks. */
const MASK = "xxxxx";
/** Query parameters never logged in clear; TiCDC itself masks only sasl-password in what it returns. */
const SECRET_PARAM = /password|secret|token/i;

/**
 * Whether `current` (as TiCDC returns it) and `wanted` name the same sink: same scheme, user, host, port
 * and path, and the same query parameters in any order. A password TiCDC masked matches any password.
 */
export function sameSinkUri(current: string, wanted: string): boolean {
  const a = parse(current);
  const b = parse(wanted);
  if (a === undefined || b === undefined) return current === wanted;
  if (
    a.protocol !== b.protocol ||
    a.host.toLowerCase() !== b.host.toLowerCase() ||
    decodeURIComponent(a.username) !== decodeURIComponent(b.username) ||
    !samePassword(a.password, b.password) ||
    trimSlashes(a.pathname) !== trimSlashes(b.pathname)
  ) {
    return false;
  }
  const left = queryEntries(a);
  const right = queryEntries(b);
  if (left.length !== right.length) return false;
  return left.every(([key, value], i) => {
    const [otherKey, otherValue] = right[i] ?? [];
    return key === otherKey && (value === otherValue || (key === "sasl-password" && value === MASK));
  });
}

/** The URI with passwords and secret-looking query values replaced, safe for a log line. */
export function redactSinkUri(uri: string): string {
  const url = parse(uri);
  if (url === undefined) return "<unparseable sink URI>";
  if (url.password !== "") url.password = MASK;
  for (const key of [...url.searchParams.keys()]) {
    if (SECRET_PARAM.test(key)) url.searchParams.set(key, MASK);
  }
  return url.href;
}

function parse(uri: string): URL | undefined {
  try {
    return new URL(uri);
  } catch {
    return undefined;
  }
}

function samePassword(current: string, wanted: string): boolean {
  return current === wanted || (current === MASK && wanted !== "");
}

/** TiCDC takes the Kafka topic as the path without its slashes. */
function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, "");
}

/** Decoded query parameters, sorted by key then value: order carries no meaning for TiCDC. */
function queryEntries(url: URL): [string, string][] {
  return [...url.searchParams.entries()].sort(([k1, v1], [k2, v2]) =>
    k1 === k2 ? compare(v1, v2) : compare(k1, k2),
  );
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
