import type * as pulumi from "@pulumi/pulumi";
import { EMAIL } from "@tidbstack/service-kit/contracts";
import { type ConfigSource, StackConfigError } from "./config.ts";
import { DEFAULT_RUNBOOK_BASE_URL } from "./lib/monitoring/alert-rules.ts";
import type { AlertReceivers, EmailReceiver } from "./lib/monitoring/alertmanager-config.ts";

/** The config keys of alerting, on both targets: where alerts go and where their runbooks are. */
export interface AlertingConfig {
  /** Where alerts go; secret values stay Outputs. None set: alerts collect in Alertmanager's UI only. */
  readonly receivers: AlertReceivers<pulumi.Output<string>>;
  /** Base of every alert's `runbook_url`: `<base>/<AlertName>.md`. */
  readonly runbookBaseUrl: string;
  /** prom/alertmanager tag on the Docker target. */
  readonly alertmanagerVersion: string;
  /** Host port of Alertmanager's UI and API on the Docker target (127.0.0.1). */
  readonly alertmanagerPort: number;
}

/**
 * The release scripts/alertmanager/go.mod pins for the tests, so the image runs what was tested. 0.26 is
 * the floor: the webhook's URL is read from a file from 0.26 on.
 */
export const ALERTMANAGER_VERSION = "v0.35.0";

/** An http(s) URL with a host. */
const HTTP_URL = /^https?:\/\/[^\s/]+(\/\S*)?$/;
/** host:port, as Alertmanager's smarthost. */
const HOST_PORT = /^[A-Za-z0-9.-]+:\d{1,5}$/;
/** A Slack channel or user: `#name` or `@name`. */
const SLACK_CHANNEL = /^[#@][\w.-]{1,80}$/;

export function loadAlertingConfig(config: ConfigSource): AlertingConfig {
  const optional = (key: string, pattern: RegExp, what: string): string | undefined => {
    const value = config.get(key);
    if (value !== undefined && !pattern.test(value)) {
      throw new StackConfigError(key, `must be ${what}, got "${value}"`);
    }
    return value;
  };
  const port = config.get("alertmanagerPort") ?? "9093";
  const alertmanagerPort = Number(port);
  if (!/^\d+$/.test(port) || alertmanagerPort < 1 || alertmanagerPort > 65535) {
    throw new StackConfigError("alertmanagerPort", `must be a whole number from 1 to 65535, got "${port}"`);
  }

  const slackUrl = config.getSecret("alertSlackWebhookUrl");
  const slackChannel = optional("alertSlackChannel", SLACK_CHANNEL, "a Slack channel like #alerts");
  if (slackChannel !== undefined && slackUrl === undefined) {
    throw new StackConfigError(
      "alertSlackChannel",
      "needs alertSlackWebhookUrl: pulumi config set --secret alertSlackWebhookUrl <incoming-webhook URL>",
    );
  }
  const webhookUrl = config.getSecret("alertWebhookUrl");
  return {
    receivers: {
      ...(webhookUrl === undefined ? {} : { webhookUrl }),
      ...(slackUrl === undefined ? {} : { slack: { webhookUrl: slackUrl, channel: slackChannel } }),
      ...emailReceiver(config, optional),
    },
    runbookBaseUrl:
      optional("runbookBaseUrl", HTTP_URL, "an http(s) URL, like https://example.com/runbooks") ??
      DEFAULT_RUNBOOK_BASE_URL,
    alertmanagerVersion:
      optional(
        "alertmanagerVersion",
        /^v0\.(2[6-9]|[3-9]\d)\.\d+$/,
        "a v0.x.y release from v0.26.0 on (the webhook's URL is read from a file)",
      ) ?? ALERTMANAGER_VERSION,
    alertmanagerPort,
  };
}

/** E-mail needs a recipient, a sender and a server together; a password needs a login. */
function emailReceiver(
  config: ConfigSource,
  optional: (key: string, pattern: RegExp, what: string) => string | undefined,
): { email?: EmailReceiver<pulumi.Output<string>> } {
  const to = optional("alertEmailTo", EMAIL.pattern, EMAIL.what);
  const from = optional("alertEmailFrom", EMAIL.pattern, EMAIL.what);
  const smarthost = optional(
    "alertEmailSmarthost",
    HOST_PORT,
    "an SMTP server as host:port, like smtp.example.com:587",
  );
  const username = config.get("alertEmailUsername");
  const password = config.getSecret("alertEmailPassword");
  const set = { alertEmailTo: to, alertEmailFrom: from, alertEmailSmarthost: smarthost };
  const missing = Object.entries(set).filter(([, value]) => value === undefined);
  if (missing.length === 3) {
    for (const [key, value] of Object.entries({
      alertEmailUsername: username,
      alertEmailPassword: password,
    })) {
      if (value !== undefined) {
        throw new StackConfigError(
          key,
          "is set but e-mail is not: set alertEmailTo, alertEmailFrom and alertEmailSmarthost",
        );
      }
    }
    return {};
  }
  if (missing.length > 0 || to === undefined || from === undefined || smarthost === undefined) {
    throw new StackConfigError(
      missing[0]?.[0] ?? "alertEmailTo",
      "is required when any of alertEmailTo, alertEmailFrom and alertEmailSmarthost is set (e-mail needs all three)",
    );
  }
  if (password !== undefined && username === undefined) {
    throw new StackConfigError("alertEmailUsername", "is required with alertEmailPassword (the SMTP login)");
  }
  return { email: { to, from, smarthost, username, password } };
}
