import { isIP } from "node:net";
import { LOG_LEVELS, type LogLevel } from "./contracts.ts";

/** A bad or missing environment variable. The message names the variable and says what it must be. */
export class ConfigError extends Error {
  readonly variable: string;

  constructor(variable: string, problem: string) {
    super(`${variable} ${problem}`);
    this.name = "ConfigError";
    this.variable = variable;
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Loads a service's configuration, or ends the process with exit code 1 and one JSON line on stderr naming
 * the bad variable. Logging is not configured yet at that point (LOG_LEVEL may be the bad value), so the
 * line is written directly, in the same shape as every other log line.
 */
export function loadConfigOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const line = {
      timestamp: new Date().toISOString(),
      level: "fatal",
      action: "config_invalid",
      variable: error.variable,
      msg: error.message,
    };
    process.stderr.write(`${JSON.stringify(line)}\n`);
    process.exit(1);
  }
}

/** A DNS host name (RFC 1123): dot-separated labels of letters, digits and inner hyphens. */
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Reads environment variables with defaults and validation; every failure is a ConfigError. */
export class EnvReader {
  private readonly env: Env;

  constructor(env: Env) {
    this.env = env;
  }

  /** The raw value, or undefined when the variable is unset or blank. */
  private raw(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === "" ? undefined : value;
  }

  /** Whether the variable is set to something other than blanks. */
  isSet(name: string): boolean {
    return this.raw(name) !== undefined;
  }

  string(name: string, fallback?: string): string {
    const value = this.raw(name) ?? fallback;
    if (value === undefined) throw new ConfigError(name, "is required");
    return value;
  }

  /**
   * Like string(), but keeps surrounding spaces: passwords may legitimately contain them. With a fallback,
   * an unset variable yields the fallback (an empty password is valid for some database accounts).
   */
  secret(name: string, fallback?: string): string {
    const value = this.env[name] ?? fallback;
    if (value === undefined || (value === "" && fallback === undefined)) {
      throw new ConfigError(name, "is required");
    }
    return value;
  }

  /** A value that must match `pattern`, described as `what` in the error. */
  matching(name: string, pattern: RegExp, what: string, fallback?: string): string {
    const value = this.string(name, fallback);
    if (!pattern.test(value)) throw new ConfigError(name, `must be ${what}, got "${value}"`);
    return value;
  }

  /** A ConfigError for a variable whose value fails a check made outside this reader. */
  error(name: string, problem: string): ConfigError {
    return new ConfigError(name, problem);
  }

  /** A plain SQL identifier (database or user name), safe to splice into DDL. */
  identifier(name: string, fallback?: string): string {
    return this.matching(name, /^[A-Za-z0-9_]{1,64}$/, "1-64 letters, digits or underscores", fallback);
  }

  integer(name: string, fallback: number, range: { min: number; max: number }): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!/^-?\d+$/.test(value)) throw new ConfigError(name, `must be a whole number, got "${value}"`);
    const parsed = Number(value);
    if (parsed < range.min || parsed > range.max) {
      throw new ConfigError(name, `must be between ${range.min} and ${range.max}, got ${value}`);
    }
    return parsed;
  }

  /**
   * An address to listen on: an IPv4 or IPv6 literal (without brackets) or a host name. Undefined when
   * unset, which means every interface (Node's default: `::` where the kernel has IPv6, else `0.0.0.0`).
   */
  listenHost(name: string): string | undefined {
    const value = this.raw(name);
    if (value === undefined || isIP(value) !== 0 || HOST_NAME.test(value)) return value;
    throw new ConfigError(name, `must be an IP address or a host name, got "${value}"`);
  }

  port(name: string, fallback: number): number {
    return this.integer(name, fallback, { min: 1, max: 65535 });
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (["true", "1", "yes"].includes(value)) return true;
    if (["false", "0", "no"].includes(value)) return false;
    throw new ConfigError(name, `must be true or false, got "${value}"`);
  }

  logLevel(name: string, fallback: LogLevel): LogLevel {
    const value = this.raw(name)?.toLowerCase() ?? fallback;
    if (!(LOG_LEVELS as readonly string[]).includes(value)) {
      throw new ConfigError(name, `must be one of ${LOG_LEVELS.join(", ")}, got "${value}"`);
    }
    return value as LogLevel;
  }
}
