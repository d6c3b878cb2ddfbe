import { isIP } from "node:net";
import {
  LOG_LEVELS,
  MAX_PROXY_HOPS,
  type EnvValue,
  type EnvVar,
  type IntegerVar,
  type ListVar,
  type ValueRule,
} from "./contracts.ts";
import { formatLogLine } from "./logging.ts";

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
 * line is written directly, laid out by the same formatter as every other log line.
 */
export function loadConfigOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const fields = { action: "config_invalid", variable: error.variable };
    process.stderr.write(`${formatLogLine(new Date(), "fatal", [fields, error.message])}\n`);
    process.exit(1);
  }
}

/** A DNS host name (RFC 1123): dot-separated labels of letters, digits and inner hyphens. */
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Reads environment variables as the contracts (@tidbstack/service-kit/contracts) define them: names,
 * defaults, bounds and rules come from the definition, so the Pulumi program and the process agree on them.
 * Every failure is a ConfigError naming the variable.
 */
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
  isSet(variable: EnvVar): boolean {
    return this.raw(variable.name) !== undefined;
  }

  /**
   * The variable's value, its default when unset, or `fallback` when the default depends on another
   * variable (the consumer's dead-letter topic and group derive from its topic).
   */
  read<V extends EnvVar>(variable: V, fallback?: EnvValue<V>): EnvValue<V> {
    return this.parse(variable, fallback) as EnvValue<V>;
  }

  /** The variable's value, or undefined when it is unset; a set value must still follow its rule. */
  optional<V extends EnvVar>(variable: V): EnvValue<V> | undefined {
    return this.isSet(variable) ? this.read(variable) : undefined;
  }

  /** A ConfigError for a variable whose value fails a check made outside this reader. */
  error(variable: EnvVar, problem: string): ConfigError {
    return new ConfigError(variable.name, problem);
  }

  private parse(variable: EnvVar, fallback: unknown): EnvValue<EnvVar> {
    switch (variable.kind) {
      case "text": {
        const value = this.required(variable.name, this.raw(variable.name) ?? fallback ?? variable.default);
        return variable.rule === undefined ? value : this.follows(variable.name, value, variable.rule);
      }
      case "secret": {
        // Spaces kept: passwords may contain them. "" counts as set only where the default is "" too.
        const value = this.env[variable.name] ?? variable.default;
        if (value === undefined || (value === "" && variable.default === undefined)) {
          throw new ConfigError(variable.name, "is required");
        }
        return value;
      }
      case "integer":
        return this.integer(variable, fallback ?? variable.default);
      case "flag":
        return this.flag(variable.name, variable.default);
      case "proxyTrust":
        return this.proxyTrust(variable.name);
      case "choice": {
        const value = this.raw(variable.name) ?? variable.default;
        if (!variable.values.includes(value)) {
          throw new ConfigError(variable.name, `must be ${variable.values.join(" or ")}, got "${value}"`);
        }
        return value;
      }
      case "logLevel": {
        const value = this.raw(variable.name)?.toLowerCase() ?? variable.default;
        if (!(LOG_LEVELS as readonly string[]).includes(value)) {
          throw new ConfigError(variable.name, `must be one of ${LOG_LEVELS.join(", ")}, got "${value}"`);
        }
        return value;
      }
      case "list":
        return this.list(variable);
      case "listenHost": {
        const value = this.raw(variable.name);
        if (value === undefined || isIP(value) !== 0 || HOST_NAME.test(value)) return value;
        throw new ConfigError(variable.name, `must be an IP address or a host name, got "${value}"`);
      }
    }
  }

  private required(name: string, value: unknown): string {
    if (typeof value !== "string") throw new ConfigError(name, "is required");
    return value;
  }

  private follows(name: string, value: string, rule: ValueRule): string {
    if (!rule.pattern.test(value)) throw new ConfigError(name, `must be ${rule.what}, got "${value}"`);
    return value;
  }

  private integer(variable: IntegerVar, fallback: unknown): number {
    const value = this.raw(variable.name);
    if (value === undefined) {
      if (typeof fallback !== "number") throw new ConfigError(variable.name, "is required");
      return fallback;
    }
    if (!/^-?\d+$/.test(value))
      throw new ConfigError(variable.name, `must be a whole number, got "${value}"`);
    const parsed = Number(value);
    if (parsed < variable.min || parsed > variable.max) {
      throw new ConfigError(
        variable.name,
        `must be between ${variable.min} and ${variable.max}, got ${value}`,
      );
    }
    return parsed;
  }

  private flag(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (["true", "1", "yes"].includes(value)) return true;
    if (["false", "0", "no"].includes(value)) return false;
    throw new ConfigError(name, `must be true or false, got "${value}"`);
  }

  /** false, true, or a number of hops from 1 to MAX_PROXY_HOPS ("0" is false). */
  private proxyTrust(name: string): boolean | number {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined || ["false", "no", "0"].includes(value)) return false;
    if (["true", "yes"].includes(value)) return true;
    const hops = /^\d{1,2}$/.test(value) ? Number(value) : Number.NaN;
    if (hops >= 1 && hops <= MAX_PROXY_HOPS) return hops;
    throw new ConfigError(
      name,
      `must be false, true or a number of proxy hops from 1 to ${MAX_PROXY_HOPS}, got "${value}"`,
    );
  }

  /** Blanks around items are ignored; at least one item, each following the rule, and no repeats if unique. */
  private list(variable: ListVar): string[] {
    const items = (this.raw(variable.name) ?? variable.default ?? "")
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item !== "");
    const bad = items.find((item) => !variable.item.test(item));
    if (items.length === 0 || bad !== undefined) {
      if (items.length === 0 && !this.isSet(variable) && variable.default === undefined) {
        throw new ConfigError(variable.name, "is required");
      }
      throw new ConfigError(
        variable.name,
        `must be a comma-separated list of ${variable.what}, got "${bad ?? ""}"`,
      );
    }
    const repeated = items.find((item, i) => items.indexOf(item) !== i);
    if (variable.unique && repeated !== undefined) {
      throw new ConfigError(variable.name, `lists "${repeated}" twice`);
    }
    return items;
  }
}
