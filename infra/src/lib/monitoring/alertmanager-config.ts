/**
 * How the stack's alerts reach people: one routing model (severity routes, grouping, timings, inhibition)
 * and the receivers the config names, rendered twice: as Alertmanager's own configuration for the Docker
 * target, and as the spec of a Prometheus Operator AlertmanagerConfig for the Kubernetes target, so both
 * targets route alike.
 *
 * Secrets (the webhook URL, Slack's incoming-webhook URL, the SMTP password) never appear in either
 * rendering: Alertmanager reads them from files (`url_file`, `api_url_file`, `auth_password_file`; a
 * webhook `url_file` needs Alertmanager 0.26 or newer), and the operator from a Kubernetes Secret.
 */
import type { FileUpload } from "../container-specs.ts";

export const ALERTMANAGER_PORT = 9093;
/** Where the receivers' secret files are written in the Alertmanager container. */
export const ALERTMANAGER_SECRETS_DIR = "/etc/alertmanager/secrets";
export const ALERTMANAGER_CONFIG_FILE = "/etc/alertmanager/alertmanager.yml";

/** The receivers' secret values, by the file (Docker) or Secret key (Kubernetes) each is kept under. */
export const RECEIVER_SECRET_KEYS = {
  webhookUrl: "webhook-url",
  slackWebhookUrl: "slack-webhook-url",
  smtpPassword: "smtp-password",
} as const;

export interface EmailReceiver<V> {
  /** Recipient address. */
  readonly to: string;
  /** Sender address. */
  readonly from: string;
  /** SMTP server as host:port; Alertmanager requires STARTTLS unless the port is 465 (implicit TLS). */
  readonly smarthost: string;
  /** SMTP login; undefined: the server takes mail without one. */
  readonly username?: string | undefined;
  /** SMTP password (a secret); only with a username. */
  readonly password?: V | undefined;
}

/**
 * Where alerts go; any, all or none may be set. With none, alerts still collect in Alertmanager (its UI and
 * API); nobody is told. `V` is the type of a secret value: a Pulumi Output in the program, a string in a test.
 */
export interface AlertReceivers<V> {
  /** A URL Alertmanager POSTs its JSON payload (version 4) to. */
  readonly webhookUrl?: V | undefined;
  /** A Slack incoming-webhook URL, and the channel to post in (default: the webhook's own). */
  readonly slack?: { readonly webhookUrl: V; readonly channel?: string | undefined } | undefined;
  readonly email?: EmailReceiver<V> | undefined;
}

/** Alertmanager's timings for one route, as Go durations. */
export interface RouteTimings {
  /** How long a new group waits for more alerts before its first notification. */
  readonly groupWait: string;
  /** How long before a group's changes (new or resolved alerts) are sent. */
  readonly groupInterval: string;
  /** How long before a notification that changed nothing is sent again. */
  readonly repeatInterval: string;
}

/** The timings of each severity's route. */
export interface AlertRouting {
  readonly page: RouteTimings;
  readonly ticket: RouteTimings;
}

/**
 * A page is sent within seconds and repeated every three hours while it fires; a ticket waits five minutes
 * for its siblings and is repeated once a day.
 */
export const DEFAULT_ROUTING: AlertRouting = {
  page: { groupWait: "10s", groupInterval: "5m", repeatInterval: "3h" },
  ticket: { groupWait: "5m", groupInterval: "30m", repeatInterval: "24h" },
};

/**
 * A page per alert and job: TargetDown for three TiKVs is one page, TargetDown for TiKV and for the API
 * two. A ticket per alert: every consumer group behind is one ticket.
 */
const GROUP_BY = { page: ["alertname", "job"], ticket: ["alertname"] } as const;

/** The receiver names: one per severity, each with every configured integration. */
export const RECEIVERS = { page: "page", ticket: "ticket" } as const;

interface Matcher {
  readonly name: string;
  readonly type: "=" | "!=" | "=~";
  readonly value: string;
}

interface InhibitRule {
  /** An alert matching all of these, while it fires ... */
  readonly source: readonly Matcher[];
  /** ... mutes the alerts matching all of these ... */
  readonly target: readonly Matcher[];
  /** ... whose labels named here equal the source's (none: every such alert). */
  readonly equal: readonly string[];
}

const is = (name: string, value: string): Matcher => ({ name, type: "=", value });
const API_SYMPTOMS: Matcher = {
  name: "alertname",
  type: "=~",
  value: "ApiErrorBudgetFastBurn|ApiErrorBudgetSlowBurn|LoginLatencyHigh",
};

/**
 * One failure explaining another. The rules can rely on `job`: every alert carries the job it is about
 * (alert-rules.ts), because most of them aggregate it away and `equal` on a label the target lacks never
 * matches a source that has it.
 */
export const INHIBIT_RULES: readonly InhibitRule[] = [
  // TiDB, or the PD and TiKV beneath it, down: the API's 5xx answers and slow logins are its symptoms.
  {
    source: [is("alertname", "TargetDown"), { name: "job", type: "=~", value: "tidb|tikv|pd" }],
    target: [API_SYMPTOMS],
    equal: [],
  },
  { source: [is("alertname", "TikvStoreDown")], target: [API_SYMPTOMS], equal: [] },
  // A target down: the other alerts about the same job say nothing new.
  {
    source: [is("alertname", "TargetDown")],
    target: [{ name: "alertname", type: "!=", value: "TargetDown" }],
    equal: ["job"],
  },
  // The fast burn pages; the slow burn's ticket for the same errors would only repeat it.
  {
    source: [is("alertname", "ApiErrorBudgetFastBurn")],
    target: [is("alertname", "ApiErrorBudgetSlowBurn")],
    equal: [],
  },
];

const SEVERITY_MATCHER = is("severity", "page");

/** Slack's message: the group's state and summary as the title, then each alert's description and runbook. */
const SLACK_TITLE =
  "[{{ .Status | toUpper }}] {{ .CommonLabels.severity }}: {{ .CommonAnnotations.summary }}{{ if not .CommonAnnotations.summary }}{{ .GroupLabels.alertname }}{{ end }}";
const SLACK_TEXT =
  "{{ range .Alerts }}{{ .Annotations.description }}\nRunbook: {{ .Annotations.runbook_url }}\n{{ end }}";

const matcherText = (m: Matcher): string => `${m.name}${m.type}${JSON.stringify(m.value)}`;

/** Alertmanager's integrations for what is configured; the same for both receivers. */
function integrations(receivers: AlertReceivers<unknown>, secretsDir: string): Record<string, unknown> {
  const { email, slack } = receivers;
  const secretFile = (key: string): string => `${secretsDir}/${key}`;
  return {
    ...(receivers.webhookUrl === undefined
      ? {}
      : {
          webhook_configs: [{ url_file: secretFile(RECEIVER_SECRET_KEYS.webhookUrl), send_resolved: true }],
        }),
    ...(slack === undefined
      ? {}
      : {
          slack_configs: [
            {
              api_url_file: secretFile(RECEIVER_SECRET_KEYS.slackWebhookUrl),
              ...(slack.channel === undefined ? {} : { channel: slack.channel }),
              send_resolved: true,
              title: SLACK_TITLE,
              text: SLACK_TEXT,
            },
          ],
        }),
    ...(email === undefined
      ? {}
      : {
          email_configs: [
            {
              to: email.to,
              from: email.from,
              smarthost: email.smarthost,
              ...(email.username === undefined ? {} : { auth_username: email.username }),
              ...(email.password === undefined
                ? {}
                : { auth_password_file: secretFile(RECEIVER_SECRET_KEYS.smtpPassword) }),
              // E-mail's own default is false: a ticket left open after its cause is gone helps no one.
              send_resolved: true,
            },
          ],
        }),
  };
}

const timings = (t: RouteTimings) => ({
  group_wait: t.groupWait,
  group_interval: t.groupInterval,
  repeat_interval: t.repeatInterval,
});

export interface AlertmanagerFileOptions {
  /** The routes' timings; default DEFAULT_ROUTING. A test shortens them. */
  readonly routing?: AlertRouting;
  /** Where the secret files are; default ALERTMANAGER_SECRETS_DIR (in the container). */
  readonly secretsDir?: string;
}

/**
 * Alertmanager's configuration file (JSON is YAML). Anything not a page (a ticket, or a severity nobody
 * declared) takes the ticket route.
 */
export function alertmanagerConfig(
  receivers: AlertReceivers<unknown>,
  options: AlertmanagerFileOptions = {},
): Record<string, unknown> {
  const routing = options.routing ?? DEFAULT_ROUTING;
  const connected = integrations(receivers, options.secretsDir ?? ALERTMANAGER_SECRETS_DIR);
  return {
    route: {
      receiver: RECEIVERS.ticket,
      group_by: [...GROUP_BY.ticket],
      ...timings(routing.ticket),
      routes: [
        {
          receiver: RECEIVERS.page,
          matchers: [matcherText(SEVERITY_MATCHER)],
          group_by: [...GROUP_BY.page],
          ...timings(routing.page),
        },
      ],
    },
    inhibit_rules: INHIBIT_RULES.map((rule) => ({
      source_matchers: rule.source.map(matcherText),
      target_matchers: rule.target.map(matcherText),
      ...(rule.equal.length === 0 ? {} : { equal: [...rule.equal] }),
    })),
    receivers: [
      { name: RECEIVERS.page, ...connected },
      { name: RECEIVERS.ticket, ...connected },
    ],
  };
}

/** The secret files `alertmanagerConfig` points at, for what is configured. */
export function alertmanagerSecretFiles<V>(
  receivers: AlertReceivers<V>,
  secretsDir: string = ALERTMANAGER_SECRETS_DIR,
): FileUpload<V>[] {
  return receiverSecrets(receivers).map(([key, value]) => ({ file: `${secretsDir}/${key}`, content: value }));
}

/** The receivers' secret values by key (RECEIVER_SECRET_KEYS), for what is configured. */
export function receiverSecrets<V>(receivers: AlertReceivers<V>): [string, V][] {
  const secrets: [string, V | undefined][] = [
    [RECEIVER_SECRET_KEYS.webhookUrl, receivers.webhookUrl],
    [RECEIVER_SECRET_KEYS.slackWebhookUrl, receivers.slack?.webhookUrl],
    [RECEIVER_SECRET_KEYS.smtpPassword, receivers.email?.password],
  ];
  return secrets.flatMap(([key, value]) => (value === undefined ? [] : [[key, value]]));
}

/**
 * The same routes and receivers as the spec of a `monitoring.coreos.com/v1alpha1` AlertmanagerConfig, whose
 * secrets are keys of the Secret `secretName` (made of `receiverSecrets`). The operator confines the
 * routes and the inhibition to alerts of the object's own namespace.
 */
export function alertmanagerConfigSpec(
  receivers: AlertReceivers<unknown>,
  secretName: string,
  routing: AlertRouting = DEFAULT_ROUTING,
): Record<string, unknown> {
  const { email, slack } = receivers;
  const secretKey = (key: string) => ({ name: secretName, key });
  const matchers = (list: readonly Matcher[]) =>
    list.map((m) => ({ name: m.name, value: m.value, matchType: m.type }));
  const connected = {
    ...(receivers.webhookUrl === undefined
      ? {}
      : { webhookConfigs: [{ urlSecret: secretKey(RECEIVER_SECRET_KEYS.webhookUrl), sendResolved: true }] }),
    ...(slack === undefined
      ? {}
      : {
          slackConfigs: [
            {
              apiURL: secretKey(RECEIVER_SECRET_KEYS.slackWebhookUrl),
              ...(slack.channel === undefined ? {} : { channel: slack.channel }),
              sendResolved: true,
              title: SLACK_TITLE,
              text: SLACK_TEXT,
            },
          ],
        }),
    ...(email === undefined
      ? {}
      : {
          emailConfigs: [
            {
              to: email.to,
              from: email.from,
              smarthost: email.smarthost,
              ...(email.username === undefined ? {} : { authUsername: email.username }),
              ...(email.password === undefined
                ? {}
                : { authPassword: secretKey(RECEIVER_SECRET_KEYS.smtpPassword) }),
              sendResolved: true,
            },
          ],
        }),
  };
  return {
    route: {
      receiver: RECEIVERS.ticket,
      groupBy: [...GROUP_BY.ticket],
      ...routing.ticket,
      routes: [
        {
          receiver: RECEIVERS.page,
          matchers: matchers([SEVERITY_MATCHER]),
          groupBy: [...GROUP_BY.page],
          ...routing.page,
        },
      ],
    },
    inhibitRules: INHIBIT_RULES.map((rule) => ({
      sourceMatch: matchers(rule.source),
      targetMatch: matchers(rule.target),
      ...(rule.equal.length === 0 ? {} : { equal: [...rule.equal] }),
    })),
    receivers: [
      { name: RECEIVERS.page, ...connected },
      { name: RECEIVERS.ticket, ...connected },
    ],
  };
}
