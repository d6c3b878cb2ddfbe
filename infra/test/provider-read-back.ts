/**
 * What the Docker provider stores for a container after reading it back from the engine, for the inputs
 * whose value the engine or the provider rewrites: `@pulumi/docker` 5.2.0 wraps kreuzwerker's
 * terraform-provider-docker v4.5.0, whose read (internal/provider/resource_docker_container_funcs.go,
 * resourceDockerContainerRead) sets
 * - the healthcheck's interval, timeout, startPeriod and startInterval from the engine's
 *   `time.Duration`s with Go's `Duration.String()`: `60s` is stored as `1m0s`;
 * - `memory` and `memoryReservation` as the engine's bytes / 1024 / 1024 (whole MiB);
 * - `memorySwap` from the engine, which sets it to twice `memory` when a capped container is created
 *   without it (moby daemon/daemon_unix.go, adaptContainerSettings); -1 (unlimited swap) stays -1.
 * Every other input this program sets (command, user, ulimits, tmpfs, capabilities, securityOpts, logOpts,
 * ...) is read back as the engine was given it, or not read at all. A declared value that this read
 * changes differs from the state on every `pulumi preview --refresh`, and `--expect-no-changes` fails.
 */

const NANOSECOND = 1n;
const MICROSECOND = 1_000n;
const MILLISECOND = 1_000_000n;
const SECOND = 1_000_000_000n;
const MINUTE = 60n * SECOND;
const HOUR = 60n * MINUTE;

/** Nanoseconds per unit, by the names Go's ParseDuration accepts. */
const NANOS: Readonly<Record<string, bigint>> = {
  ns: NANOSECOND,
  us: MICROSECOND,
  µs: MICROSECOND, // U+00B5, as Go prints it
  μs: MICROSECOND, // U+03BC, which Go also accepts
  ms: MILLISECOND,
  s: SECOND,
  m: MINUTE,
  h: HOUR,
};

/** Go's `time.ParseDuration`: a sequence such as `1m30s` or `1.5s`, optionally signed; `0` alone is 0. */
export function parseGoDuration(text: string): bigint {
  const match = /^([-+]?)(.*)$/.exec(text);
  const sign = match?.[1] === "-" ? -1n : 1n;
  const body = match?.[2] ?? "";
  if (body === "0") return 0n;
  const parts = [...body.matchAll(/(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/g)];
  if (body === "" || parts.map((p) => p[0]).join("") !== body)
    throw new Error(`time: invalid duration ${JSON.stringify(text)}`);
  let total = 0n;
  for (const [whole, integer = "", fraction = "", unit = ""] of parts) {
    if (integer === "" && fraction === "") throw new Error(`time: invalid duration ${JSON.stringify(whole)}`);
    const scale = NANOS[unit] ?? 0n;
    const fractionNanos = fraction === "" ? 0n : (BigInt(fraction) * scale) / 10n ** BigInt(fraction.length);
    total += BigInt(integer === "" ? "0" : integer) * scale + fractionNanos;
  }
  return sign * total;
}

/** `value / unit` with up to the unit's decimals, trailing zeros trimmed, as Go's fmtFrac does. */
function withFraction(value: bigint, unit: bigint): string {
  const digits = unit.toString().length - 1;
  const fraction = (value % unit).toString().padStart(digits, "0").replace(/0+$/, "");
  return `${value / unit}${fraction === "" ? "" : `.${fraction}`}`;
}

/** Go's `time.Duration.String()`: `1m0s`, `1m30s`, `2s`, `1h0m0s`, `500ms`, `0s`. */
export function formatGoDuration(nanos: bigint): string {
  if (nanos === 0n) return "0s";
  if (nanos < 0n) return `-${formatGoDuration(-nanos)}`;
  if (nanos < MICROSECOND) return `${nanos / NANOSECOND}ns`;
  if (nanos < MILLISECOND) return `${withFraction(nanos, MICROSECOND)}µs`;
  if (nanos < SECOND) return `${withFraction(nanos, MILLISECOND)}ms`;
  const hours = nanos / HOUR;
  const minutes = (nanos % HOUR) / MINUTE;
  const seconds = `${withFraction(nanos % MINUTE, SECOND)}s`;
  if (hours > 0n) return `${hours}h${minutes}m${seconds}`;
  if (minutes > 0n) return `${minutes}m${seconds}`;
  return seconds;
}

const HEALTHCHECK_DURATIONS = ["interval", "timeout", "startPeriod", "startInterval"] as const;

/** The container's inputs as the provider's state holds them after a refresh. */
export function containerReadBack(inputs: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const read: Record<string, unknown> = { ...inputs };
  const healthcheck = inputs["healthcheck"] as Record<string, unknown> | undefined;
  if (healthcheck !== undefined) {
    const durations = HEALTHCHECK_DURATIONS.filter((key) => healthcheck[key] !== undefined).map((key) => [
      key,
      formatGoDuration(parseGoDuration(String(healthcheck[key]))),
    ]);
    read["healthcheck"] = { ...healthcheck, ...Object.fromEntries(durations) };
  }
  for (const key of ["memory", "memoryReservation"]) {
    if (typeof inputs[key] === "number") read[key] = Math.trunc(inputs[key]);
  }
  const memory = typeof inputs["memory"] === "number" ? inputs["memory"] : 0;
  const swap = inputs["memorySwap"];
  if (memory > 0 && (swap === undefined || swap === 0)) read["memorySwap"] = memory * 2;
  return read;
}
