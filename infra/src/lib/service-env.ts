import type * as pulumi from "@pulumi/pulumi";
import { KAFKA_BOOTSTRAP, PORTS, sinkUri } from "./topology.ts";

/**
 * The API's and consumer's environments as the stack gives them: the contracts in api/src/config.ts and
 * consumer/src/config.ts. Pure, so the container test can run the images with exactly these.
 */

export const API_PORT = 3000;
export const CONSUMER_METRICS_PORT = 9464;
/** The API's own database account; the migration step creates it with least privilege. */
export const API_DB_USER = "api";

export interface ApiEnvSettings {
  readonly database: string;
  readonly dbPassword: pulumi.Input<string>;
  readonly tokenTtlSeconds: number;
  readonly loginRateLimitPerMinute: number;
  readonly logLevel: string;
  /** Where TiDB is: `tidb` inside the stack. */
  readonly dbHost?: string;
  readonly dbPort?: number;
}

export function apiEnvironment(settings: ApiEnvSettings): Record<string, pulumi.Input<string>> {
  return {
    PORT: String(API_PORT),
    DB_HOST: settings.dbHost ?? "tidb",
    DB_PORT: String(settings.dbPort ?? PORTS.tidb),
    DB_USER: API_DB_USER,
    DB_PASSWORD: settings.dbPassword,
    DB_NAME: settings.database,
    TOKEN_TTL_SECONDS: String(settings.tokenTtlSeconds),
    LOGIN_RATE_LIMIT_PER_MINUTE: String(settings.loginRateLimitPerMinute),
    // Clients reach the API directly on its published port; no proxy adds X-Forwarded-For.
    TRUST_PROXY: "false",
    LOG_LEVEL: settings.logLevel,
  };
}

export interface ConsumerEnvSettings {
  readonly topic: string;
  readonly logLevel: string;
  readonly brokers?: string;
}

export const dlqTopicOf = (topic: string): string => `${topic}.dlq`;

export function consumerEnvironment(settings: ConsumerEnvSettings): Record<string, string> {
  return {
    KAFKA_BROKERS: settings.brokers ?? KAFKA_BOOTSTRAP,
    KAFKA_TOPIC: settings.topic,
    KAFKA_GROUP_ID: `${settings.topic}-consumer`,
    KAFKA_DLQ_TOPIC: dlqTopicOf(settings.topic),
    KAFKA_FROM_BEGINNING: "true",
    METRICS_PORT: String(CONSUMER_METRICS_PORT),
    LOG_LEVEL: settings.logLevel,
  };
}

/** The migration command inside the API image. */
export const MIGRATION_COMMAND = ["node", "api/dist/migrate.js"] as const;

/** Variables of the migration step whose values are secrets: passed by name, never on a command line. */
export const MIGRATION_SECRET_ENV = ["DB_PASSWORD", "ADMIN_PASSWORD", "APP_DB_PASSWORD"] as const;

export interface MigrationEnvSettings {
  readonly database: string;
  readonly adminEmail: string;
  readonly dbHost?: string;
  readonly dbPort?: number;
}

/** The migration step's plain settings: as TiDB's root, bootstrapping a new cluster's empty root password. */
export function migrationEnvironment(settings: MigrationEnvSettings): Record<string, string> {
  return {
    DB_HOST: settings.dbHost ?? "tidb",
    DB_PORT: String(settings.dbPort ?? PORTS.tidb),
    DB_USER: "root",
    DB_NAME: settings.database,
    DB_BOOTSTRAP_EMPTY_PASSWORD: "true",
    ADMIN_EMAIL: settings.adminEmail,
    APP_DB_USER: API_DB_USER,
  };
}

/** The changefeed step in the ops image: ensures the topics, then creates, updates or resumes the changefeed. */
export const CHANGEFEED_APPLY_COMMAND = ["node", "ops/dist/main.js", "changefeed", "apply"] as const;

export interface ChangefeedEnvSettings {
  /** TiCDC's OpenAPI base URL, e.g. http://ticdc:8300. */
  readonly ticdcUrl: string;
  /** Kafka bootstrap servers as TiCDC and the step reach them. */
  readonly brokers: string;
  readonly id: string;
  readonly topic: string;
  readonly partitions: number;
  /** The database whose tables are replicated. */
  readonly database: string;
  readonly logLevel: string;
}

/** The changefeed step's environment (the contract in ops/src/config.ts). */
export function changefeedEnvironment(settings: ChangefeedEnvSettings): Record<string, string> {
  return {
    TICDC_URL: settings.ticdcUrl,
    CHANGEFEED_ID: settings.id,
    CHANGEFEED_SINK_URI: sinkUri(settings.topic, settings.partitions, settings.brokers),
    CHANGEFEED_FILTER: `${settings.database}.*`,
    KAFKA_BROKERS: settings.brokers,
    KAFKA_TOPIC: settings.topic,
    KAFKA_DLQ_TOPIC: dlqTopicOf(settings.topic),
    TOPIC_PARTITIONS: String(settings.partitions),
    LOG_LEVEL: settings.logLevel,
  };
}
