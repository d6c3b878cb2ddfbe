import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { clusterIdFor } from "../../src/components/kafka.ts";
import {
  type ContainerSpec,
  alertmanagerContainerSpec,
  dockerRunFlags,
  grafanaContainerSpec,
  kafkaContainerSpec,
  pdContainerSpec,
  prometheusContainerSpec,
  serviceContainerSpec,
  ticdcContainerSpec,
  tidbContainerSpec,
  tikvContainerSpec,
} from "../../src/lib/container-specs.ts";
import {
  apiEnvironment,
  consumerEnvironment,
  PURGE_COMMAND,
  purgeEnvironment,
} from "../../src/lib/service-env.ts";
import {
  DEFAULT_SECRETS,
  envOf,
  runProgram,
  stepEnv,
  type DeclaredResource,
  type ProgramRun,
} from "../harness.ts";

const CONTAINER = "docker:index/container:Container";
const COMMAND = "command:local:Command";
const VOLUME = "docker:index/volume:Volume";
const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";
const IMAGE = "docker:index/image:Image";
const CLUSTER = "tidbstack:tidb:TidbCluster";

type Inputs = Record<string, unknown>;
const command = (r: DeclaredResource): string[] => r.inputs["command"] as string[];
const flag = (r: DeclaredResource, name: string): string | undefined =>
  command(r)
    .find((c) => c.startsWith(`--${name}=`))
    ?.split("=")
    .slice(1)
    .join("=");
const aliases = (r: DeclaredResource): string[] =>
  (r.inputs["networksAdvanced"] as { aliases: string[] }[]).flatMap((n) => n.aliases);
const ports = (r: DeclaredResource): Inputs[] => (r.inputs["ports"] as Inputs[] | undefined) ?? [];
const upload = (r: DeclaredResource, file: string): string =>
  ((r.inputs["uploads"] as { file: string; content: string }[] | undefined) ?? []).find(
    (u) => u.file === file,
  )?.content ?? "";
const probe = (r: DeclaredResource): string =>
  (r.inputs["healthcheck"] as { tests: string[] }).tests[1] ?? "";

describe("the stack with the default config", () => {
  let run: ProgramRun;
  before(async () => {
    run = await runProgram({});
  });
  const container = (name: string) => run.byName(name, CONTAINER);

  it("puts every container on one network, reachable by its alias", () => {
    const [network] = run.ofType("docker:index/network:Network");
    assert.equal(network?.inputs["name"], "tidbstack-net");
    const expected: Record<string, string> = {
      "tidbstack-tidb-pd": "pd",
      "tidbstack-tidb-tikv": "tikv",
      "tidbstack-tidb-tidb": "tidb",
      "tidbstack-ticdc": "ticdc",
      "tidbstack-kafka": "kafka",
      "tidbstack-api": "api",
      "tidbstack-consumer": "consumer",
      "tidbstack-purge": "purge",
      "tidbstack-monitoring-prometheus": "prometheus",
      "tidbstack-monitoring-alertmanager": "alertmanager",
      "tidbstack-monitoring-grafana": "grafana",
    };
    for (const c of run.ofType(CONTAINER)) {
      assert.deepEqual(
        (c.inputs["networksAdvanced"] as { name: string }[]).map((n) => n.name),
        ["tidbstack-net"],
        c.name,
      );
      assert.deepEqual(aliases(c), [expected[c.name]], c.name);
    }
    assert.equal(run.ofType(CONTAINER).length, Object.keys(expected).length);
  });

  it("pins one TiDB release for PD, TiKV, TiDB and TiCDC, and Kafka 3.9 (KRaft)", () => {
    const images = run
      .ofType(REMOTE_IMAGE)
      .map((r) => r.inputs["name"])
      .sort();
    assert.deepEqual(images, [
      "apache/kafka:3.9.1",
      "grafana/grafana:12.1.0",
      "pingcap/pd:v8.5.4",
      "pingcap/ticdc:v8.5.4",
      "pingcap/tidb:v8.5.4",
      "pingcap/tikv:v8.5.4",
      "prom/alertmanager:v0.35.0",
      "prom/prometheus:v3.5.0",
    ]);
  });

  it("runs containers from image ids and digests, so a new image replaces them", () => {
    for (const c of run.ofType(CONTAINER)) assert.match(String(c.inputs["image"]), /sha256:/, c.name);
  });

  it("PD advertises its alias and bootstraps a one-member cluster, with no config file (max-replicas is set through PD's API)", () => {
    const pd = container("tidbstack-tidb-pd");
    assert.equal(flag(pd, "name"), "pd");
    assert.equal(flag(pd, "advertise-client-urls"), "http://pd:2379");
    assert.equal(flag(pd, "advertise-peer-urls"), "http://pd:2380");
    assert.equal(flag(pd, "initial-cluster"), "pd=http://pd:2380");
    assert.equal(flag(pd, "join"), undefined);
    assert.equal(flag(pd, "config"), undefined);
    assert.equal(pd.inputs["uploads"], undefined);
    assert.equal(flag(pd, "data-dir"), "/data/pd");
  });

  it("reconciles PD with the declared shape in the ops image: member pd, store tikv:20160, one replica", () => {
    const step = run.byName("tidbstack-tidb-pd-reconcile", COMMAND);
    const create = String(step.inputs["create"]);
    assert.match(
      create,
      /^docker run --rm --network tidbstack-net .* sha256:[0-9a-f]{64} node ops\/dist\/main.js pd reconcile$/,
    );
    assert.deepEqual(stepEnv(create), {
      PD_URL: "http://pd:2379",
      PD_MEMBERS: "pd",
      TIKV_STORES: "tikv:20160",
      PD_MAX_REPLICAS: "1",
    });
    assert.equal(step.inputs["update"], create);
  });

  it("TiKV advertises its alias (not 0.0.0.0 or localhost), gets the file limit it needs, no reserved space and a memory cap", () => {
    const tikv = container("tidbstack-tidb-tikv");
    assert.equal(flag(tikv, "advertise-addr"), "tikv:20160");
    assert.equal(flag(tikv, "advertise-status-addr"), "tikv:20180");
    assert.equal(flag(tikv, "status-addr"), "0.0.0.0:20180");
    assert.equal(flag(tikv, "pd"), "pd:2379");
    assert.deepEqual(tikv.inputs["ulimits"], [{ name: "nofile", soft: 65536, hard: 65536 }]);
    assert.equal(tikv.inputs["memory"], 2048);
    const config = upload(tikv, "/etc/tikv/tikv.toml");
    assert.match(config, /reserve-space = "0MB"/);
    assert.match(config, /capacity = "819MB"/);
    assert.match(config, /max-open-files = 256/);
  });

  it("TiDB stores in TiKV through PD and advertises its alias; TiCDC advertises its alias to PD", () => {
    const tidb = container("tidbstack-tidb-tidb");
    assert.equal(flag(tidb, "store"), "tikv");
    assert.equal(flag(tidb, "path"), "pd:2379");
    assert.equal(flag(tidb, "advertise-address"), "tidb");
    const ticdc = container("tidbstack-ticdc");
    assert.deepEqual(command(ticdc).slice(0, 2), ["/cdc", "server"]);
    assert.equal(flag(ticdc, "advertise-addr"), "ticdc:8300");
    assert.equal(flag(ticdc, "pd"), "http://pd:2379");
  });

  it("configures Kafka as a single KRaft node with an in-network and a host listener and replication factors of 1", () => {
    const env = envOf(container("tidbstack-kafka"));
    assert.equal(env["KAFKA_PROCESS_ROLES"], "broker,controller");
    assert.equal(env["KAFKA_CONTROLLER_QUORUM_VOTERS"], "1@kafka:29093");
    assert.equal(
      env["KAFKA_ADVERTISED_LISTENERS"],
      "PLAINTEXT://kafka:19092,PLAINTEXT_HOST://localhost:9092",
    );
    assert.equal(env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"], "1");
    assert.equal(env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"], "1");
    assert.equal(env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"], "false");
    assert.equal(env["KAFKA_HEAP_OPTS"], "-Xmx512m -Xms512m");
    assert.match(env["CLUSTER_ID"] ?? "", /^[A-Za-z0-9_-]{22}$/);
    assert.ok(!Object.keys(env).some((key) => key.includes("ZOOKEEPER")));
  });

  it("gives every server a healthcheck and waits for it, long enough for a cold TiKV or TiDB", () => {
    for (const c of run.ofType(CONTAINER)) {
      const healthcheck = c.inputs["healthcheck"] as { tests: string[] };
      assert.equal(healthcheck.tests[0], "CMD-SHELL", c.name);
      assert.equal(c.inputs["wait"], true, c.name);
      assert.ok(Number(c.inputs["waitTimeout"]) >= 120, c.name);
    }
    assert.ok(Number(container("tidbstack-tidb-tikv").inputs["waitTimeout"]) >= 300);
    assert.match(probe(container("tidbstack-ticdc")), /127\.0\.0\.1:8300\/api\/v2\/health/);
  });

  it("sets no healthcheck startInterval, which Docker engines before 25 refuse", () => {
    for (const c of run.ofType(CONTAINER)) {
      const healthcheck = c.inputs["healthcheck"] as Record<string, unknown>;
      assert.deepEqual(
        Object.keys(healthcheck).sort(),
        ["interval", "retries", "startPeriod", "tests", "timeout"],
        c.name,
      );
    }
  });

  it("probes PD's own member by name with jq -e, which fails on false and on an empty answer", () => {
    assert.equal(
      probe(container("tidbstack-tidb-pd")),
      `wget -qO- http://127.0.0.1:2379/pd/api/v1/health | jq -e '.[] | select(.name == "pd") | .health == true'`,
    );
  });

  it("probes Kafka with a JVM heap of its own, not a second copy of the broker's", () => {
    const kafkaProbe = probe(container("tidbstack-kafka"));
    assert.match(
      kafkaProbe,
      /^KAFKA_HEAP_OPTS='-Xms32m -Xmx128m' \/opt\/kafka\/bin\/kafka-topics\.sh --bootstrap-server kafka:19092 --list/,
    );
  });

  it("orders start-up by explicit dependencies: PD → TiKV → PD reconcile → TiDB → TiCDC; Kafka + TiCDC → changefeed → migration → API; changefeed → consumer", () => {
    const deps = (name: string, type = CONTAINER) =>
      run.resources.find((r) => r.name === name && r.type === type)?.dependsOn ?? [];
    assert.deepEqual(deps("tidbstack-tidb-tikv"), [`${CONTAINER}::tidbstack-tidb-pd`]);
    assert.deepEqual(deps("tidbstack-tidb-pd-reconcile", COMMAND), [
      `${CONTAINER}::tidbstack-tidb-pd`,
      `${CONTAINER}::tidbstack-tidb-tikv`,
    ]);
    assert.deepEqual(deps("tidbstack-tidb-tidb"), [`${COMMAND}::tidbstack-tidb-pd-reconcile`]);
    assert.deepEqual(deps("tidbstack-ticdc"), [`${CLUSTER}::tidbstack-tidb`]);
    assert.deepEqual(deps("tidbstack-changefeed-appdb-to-kafka", COMMAND), [
      "tidbstack:kafka:Kafka::tidbstack-kafka",
      "tidbstack:ticdc:Ticdc::tidbstack-ticdc",
    ]);
    assert.deepEqual(deps("tidbstack-migrate", COMMAND), [
      "tidbstack:ticdc:Changefeed::tidbstack-changefeed",
      `${CLUSTER}::tidbstack-tidb`,
    ]);
    assert.deepEqual(deps("tidbstack-api"), ["tidbstack:app:DatabaseMigration::tidbstack-migrate"]);
    assert.deepEqual(deps("tidbstack-consumer"), ["tidbstack:ticdc:Changefeed::tidbstack-changefeed"]);
  });

  it("keeps every server's data in a named volume", () => {
    const volumes = run
      .ofType(VOLUME)
      .map((v) => v.inputs["name"])
      .sort();
    assert.deepEqual(volumes, [
      "tidbstack-kafka-data",
      "tidbstack-monitoring-alertmanager-data",
      "tidbstack-monitoring-grafana-data",
      "tidbstack-monitoring-prometheus-data",
      "tidbstack-ticdc-data",
      "tidbstack-tidb-pd-data",
      "tidbstack-tidb-tikv-data",
    ]);
    const mounts = (name: string) =>
      (container(name).inputs["volumes"] as { volumeName: string; containerPath: string }[]).map(
        (v) => `${v.volumeName}:${v.containerPath}`,
      );
    assert.deepEqual(mounts("tidbstack-tidb-pd"), ["tidbstack-tidb-pd-data:/data"]);
    assert.deepEqual(mounts("tidbstack-tidb-tikv"), ["tidbstack-tidb-tikv-data:/data"]);
    assert.deepEqual(mounts("tidbstack-kafka"), ["tidbstack-kafka-data:/var/lib/kafka/data"]);
  });

  it("publishes nothing beyond this machine: the API, Grafana and Alertmanager on the loopback interface only", () => {
    const published = run
      .ofType(CONTAINER)
      .flatMap((c) =>
        ports(c).map(
          (p) => `${c.name} ${typeof p["ip"] === "string" ? p["ip"] : "all"}:${String(p["external"])}`,
        ),
      )
      .sort();
    assert.deepEqual(published, [
      "tidbstack-api 127.0.0.1:3000",
      "tidbstack-monitoring-alertmanager 127.0.0.1:9093",
      "tidbstack-monitoring-grafana 127.0.0.1:3001",
    ]);
  });

  it("gives the API exactly its documented environment, with its own least-privilege account", () => {
    const env = envOf(container("tidbstack-api"));
    assert.deepEqual(Object.keys(env).sort(), [
      "DB_HOST",
      "DB_NAME",
      "DB_PASSWORD",
      "DB_PORT",
      "DB_USER",
      "LOGIN_RATE_LIMIT_PER_MINUTE",
      "LOGIN_RATE_LIMIT_STORE",
      "LOG_LEVEL",
      "METRICS_PORT",
      "PORT",
      "TOKEN_CACHE_MAX_AGE_SECONDS",
      "TOKEN_CACHE_MAX_ENTRIES",
      "TOKEN_CACHE_MAX_MIB",
      "TOKEN_CACHE_REVOCATION_BOUND_MS",
      "TOKEN_TTL_SECONDS",
      "TRUST_PROXY",
    ]);
    assert.equal(env["LOGIN_RATE_LIMIT_STORE"], "memory");
    // The token cache at its defaults: on, refusing a revoked token everywhere within a second.
    assert.equal(env["TOKEN_CACHE_MAX_ENTRIES"], "100000");
    assert.equal(env["TOKEN_CACHE_MAX_MIB"], "32");
    assert.equal(env["TOKEN_CACHE_MAX_AGE_SECONDS"], "60");
    assert.equal(env["TOKEN_CACHE_REVOCATION_BOUND_MS"], "1000");
    assert.equal(env["DB_HOST"], "tidb");
    assert.equal(env["DB_PORT"], "4000");
    assert.equal(env["DB_USER"], "api");
    assert.equal(env["DB_PASSWORD"], DEFAULT_SECRETS.apiDbPassword);
    assert.equal(env["DB_NAME"], "appdb");
    assert.equal(env["METRICS_PORT"], "9466");
  });

  it("gives the consumer exactly its documented environment, on Kafka's in-network listener", () => {
    assert.deepEqual(envOf(container("tidbstack-consumer")), {
      KAFKA_BROKERS: "kafka:19092",
      KAFKA_TOPIC: "appdb-cdc",
      KAFKA_GROUP_ID: "appdb-cdc-consumer",
      KAFKA_DLQ_TOPIC: "appdb-cdc.dlq",
      KAFKA_FROM_BEGINNING: "true",
      METRICS_PORT: "9464",
      LOG_LEVEL: "info",
    });
  });

  it("applies the changefeed from the ops image on create and on update: sink on Kafka's internal listener with canal-json, filter on the app database, topics first", () => {
    const step = run.byName("tidbstack-changefeed-appdb-to-kafka", COMMAND);
    const create = String(step.inputs["create"]);
    assert.match(
      create,
      /^docker run --rm --network tidbstack-net .* sha256:[0-9a-f]{64} node ops\/dist\/main.js changefeed apply$/,
    );
    assert.deepEqual(stepEnv(create), {
      TICDC_URL: "http://ticdc:8300",
      CHANGEFEED_ID: "appdb-to-kafka",
      CHANGEFEED_SINK_URI:
        "kafka://kafka:19092/appdb-cdc?protocol=canal-json&enable-tidb-extension=true&partition-num=1&replication-factor=1&max-message-bytes=1048576",
      CHANGEFEED_FILTER: "appdb.*,!appdb.login_rate_limits",
      KAFKA_BROKERS: "kafka:19092",
      KAFKA_TOPIC: "appdb-cdc",
      KAFKA_DLQ_TOPIC: "appdb-cdc.dlq",
      TOPIC_PARTITIONS: "1",
    });
    assert.equal(step.inputs["update"], create);
  });

  it("deletes the changefeed on destroy with the ops image's tag, which exists even after a rebuild", () => {
    const remove = String(run.byName("tidbstack-changefeed-appdb-to-kafka", COMMAND).inputs["delete"]);
    assert.equal(
      remove,
      "docker run --rm --network tidbstack-net --read-only --tmpfs /tmp:rw,noexec,nosuid,size=64m --cap-drop ALL --security-opt no-new-privileges:true -e TICDC_URL=http://ticdc:8300 -e CHANGEFEED_ID=appdb-to-kafka tidbstack-ops:local node ops/dist/main.js changefeed delete",
    );
  });

  it("runs the migration with the API image (by id) on the stack network, as an update whenever that image changes", () => {
    const step = run.byName("tidbstack-migrate", COMMAND);
    const create = String(step.inputs["create"]);
    const apiImage = String(run.byName("tidbstack-api", CONTAINER).inputs["image"]);
    assert.ok(create.endsWith(` ${apiImage} node api/dist/migrate.js`), create);
    assert.match(create, /^docker run --rm --network tidbstack-net /);
    assert.match(create, /-e DB_HOST=tidb -e DB_PORT=4000 -e DB_USER=root /);
    assert.match(create, /-e APP_DB_USER=api /);
    assert.match(create, / -e DB_PASSWORD -e ADMIN_PASSWORD -e APP_DB_PASSWORD /);
    assert.equal(step.inputs["update"], create);
    assert.equal(step.inputs["triggers"], undefined);
    assert.equal(step.inputs["delete"], undefined);
  });

  it("keeps secrets secret: passed through the environment, never in a command line or a plain input", () => {
    const migrate = run.ofType(COMMAND).find((c) => c.name === "tidbstack-migrate");
    assert.deepEqual(migrate?.secretInputs, ["environment"]);
    assert.deepEqual(Object.keys(migrate?.inputs["environment"] as object).sort(), [
      "ADMIN_PASSWORD",
      "APP_DB_PASSWORD",
      "DB_PASSWORD",
      "PURGE_DB_PASSWORD",
    ]);
    assert.deepEqual(container("tidbstack-api").secretInputs, ["envs"]);
    assert.deepEqual(container("tidbstack-purge").secretInputs, ["envs"]);
    for (const step of run.ofType(COMMAND)) {
      for (const key of ["create", "update", "delete"]) {
        const value = step.inputs[key];
        const line = typeof value === "string" ? value : "";
        for (const secret of Object.values(DEFAULT_SECRETS))
          assert.ok(!line.includes(secret), `${step.name}.${key} has a secret on its command line`);
      }
    }
    for (const resource of run.resources) {
      for (const [key, value] of Object.entries(resource.inputs)) {
        if (resource.secretInputs.includes(key)) continue;
        const text = JSON.stringify(value) ?? "";
        for (const secret of Object.values(DEFAULT_SECRETS))
          assert.ok(!text.includes(secret), `${resource.name}.${key} holds a secret in the clear`);
      }
    }
  });

  it("builds the api, consumer and ops images from the root Dockerfile with BuildKit, for this machine's platform, labelled with the stack", () => {
    const images = run.ofType(IMAGE);
    const args = (workspace: string) => ({
      WORKSPACE: workspace,
      BASE_IMAGE: "node:24-bookworm-slim",
      STACK_NAME: "tidbstack",
    });
    assert.deepEqual(
      images.map((i) => [i.inputs["imageName"], (i.inputs["build"] as Inputs)["args"]]).sort(),
      [
        ["tidbstack-api:local", args("api")],
        ["tidbstack-consumer:local", args("consumer")],
        ["tidbstack-ops:local", args("ops")],
      ],
    );
    for (const image of images) {
      assert.equal(image.inputs["skipPush"], true);
      const build = image.inputs["build"] as Inputs;
      assert.equal(build["builderVersion"], "BuilderBuildKit");
      assert.equal(build["context"], ".");
      assert.equal(
        build["dockerfile"],
        `.cache/images/${String((build["args"] as Inputs)["WORKSPACE"])}/Dockerfile`,
      );
      assert.equal(
        readFileSync(build["dockerfile"], "utf8"),
        readFileSync("Dockerfile", "utf8"),
        "a copy of the root Dockerfile",
      );
      assert.ok(!("platform" in build), `${image.name} forces a platform`);
    }
  });

  it("exports the API URL, the internal addresses and the cluster's shape, and no output without a value", () => {
    assert.deepEqual(run.outputs, {
      apiUrl: "http://localhost:3000",
      tidbHost: "tidb:4000",
      kafkaBootstrap: "kafka:19092",
      ticdcApi: "http://ticdc:8300",
      changefeedId: "appdb-to-kafka",
      topic: "appdb-cdc",
      consumerContainer: "tidbstack-consumer",
      topology: { pdCount: 1, tikvCount: 1, maxReplicas: 1 },
      grafanaUrl: "http://127.0.0.1:3001",
      alertmanagerUrl: "http://127.0.0.1:9093",
    });
  });

  it("writes the alert rules' error budget as exactly 0.001", () => {
    const rules = upload(container("tidbstack-monitoring-prometheus"), "/etc/prometheus/rules/tidbstack.yml");
    assert.match(rules, /14\.4 \* 0\.001\)/);
    assert.ok(!rules.includes("0.0010000000000000009"));
  });

  it("runs Prometheus with the generated scrape config and alert rules, waiting for its /-/ready", () => {
    const prometheus = container("tidbstack-monitoring-prometheus");
    const config = JSON.parse(upload(prometheus, "/etc/prometheus/prometheus.yml")) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    assert.deepEqual(
      config.scrape_configs.map(
        (job) => `${job.job_name} ${job.static_configs.flatMap((c) => c.targets).join(",")}`,
      ),
      [
        "prometheus 127.0.0.1:9090",
        "pd pd:2379",
        "tikv tikv:20180",
        "tidb tidb:10080",
        "ticdc ticdc:8300",
        // The API's metrics port, in the network: its published port answers /metrics with a 404.
        "api api:9466",
        "consumer consumer:9464",
        "purge purge:9465",
      ],
    );
    const rules = JSON.parse(upload(prometheus, "/etc/prometheus/rules/tidbstack.yml")) as {
      groups: unknown[];
    };
    assert.ok(rules.groups.length > 0);
    assert.match((prometheus.inputs["healthcheck"] as { tests: string[] }).tests[1] ?? "", /\/-\/ready/);
  });

  it("runs Grafana with its datasource, dashboards, anonymous viewers and a secret admin password, after Prometheus", () => {
    const grafana = container("tidbstack-monitoring-grafana");
    const env = envOf(grafana);
    assert.equal(env["GF_AUTH_ANONYMOUS_ENABLED"], "true");
    assert.equal(env["GF_AUTH_ANONYMOUS_ORG_ROLE"], "Viewer");
    assert.equal(env["GF_SECURITY_ADMIN_PASSWORD"], DEFAULT_SECRETS.grafanaAdminPassword);
    assert.deepEqual(grafana.secretInputs, ["envs"]);
    const files = (grafana.inputs["uploads"] as { file: string }[]).map((u) => u.file).sort();
    assert.deepEqual(files, [
      "/etc/grafana/dashboards/tidbstack-overview.json",
      "/etc/grafana/dashboards/tidbstack-tidb.json",
      "/etc/grafana/provisioning/dashboards/tidbstack.yml",
      "/etc/grafana/provisioning/datasources/prometheus.yml",
    ]);
    assert.match(
      upload(grafana, "/etc/grafana/provisioning/datasources/prometheus.yml"),
      /http:\/\/prometheus:9090/,
    );
    assert.deepEqual(grafana.dependsOn, [`${CONTAINER}::tidbstack-monitoring-prometheus`]);
    assert.match((grafana.inputs["healthcheck"] as { tests: string[] }).tests[1] ?? "", /\/api\/health/);
  });

  it("declares the same inputs on a second run, with no machine paths in them, so a second `pulumi up` is a no-op", async () => {
    const again = await runProgram({});
    const describe = (r: DeclaredResource) => JSON.stringify([r.inputs, r.dependsOn]);
    assert.deepEqual(
      again.resources.map((r) => `${r.type}::${r.name}`),
      run.resources.map((r) => `${r.type}::${r.name}`),
    );
    for (const [i, resource] of run.resources.entries()) {
      const second = again.resources[i];
      assert.ok(
        second !== undefined && describe(second) === describe(resource),
        `${resource.type}::${resource.name} differs between runs`,
      );
      assert.ok(
        !describe(resource).includes(process.cwd()),
        `${resource.name} has a machine path in its inputs`,
      );
    }
  });
});

describe("the stack with three PDs and three TiKVs", () => {
  let run: ProgramRun;
  before(async () => {
    run = await runProgram({ pdCount: "3", tikvCount: "3" });
  });

  it("keeps the single-node names for node 0 and names node i pd<i>/tikv<i>; PD 0 bootstraps, PD i joins through PDs 0..i-1", () => {
    const pds = ["pd", "pd1", "pd2"].map((alias) => run.byName(`tidbstack-tidb-${alias}`, CONTAINER));
    const clusterFlags = pds.map((pd) => command(pd).find((c) => /^--(initial-cluster|join)=/.test(c)));
    assert.deepEqual(clusterFlags, [
      "--initial-cluster=pd=http://pd:2380",
      "--join=http://pd:2379",
      "--join=http://pd:2379,http://pd1:2379",
    ]);
    for (const [i, pd] of pds.entries()) {
      const alias = i === 0 ? "pd" : `pd${i}`;
      assert.equal(flag(pd, "name"), alias);
      assert.deepEqual(aliases(pd), [alias]);
      assert.equal(flag(pd, "advertise-client-urls"), `http://${alias}:2379`);
      assert.match(probe(pd), new RegExp(`select\\(\\.name == "${alias}"\\)`));
    }
    assert.deepEqual(pds[1]?.dependsOn, [`${CONTAINER}::tidbstack-tidb-pd`]);
    assert.deepEqual(pds[2]?.dependsOn, [`${CONTAINER}::tidbstack-tidb-pd1`]);

    const tikvs = ["tikv", "tikv1", "tikv2"].map((alias) => run.byName(`tidbstack-tidb-${alias}`, CONTAINER));
    for (const [i, tikv] of tikvs.entries()) {
      assert.equal(flag(tikv, "advertise-addr"), `${i === 0 ? "tikv" : `tikv${i}`}:20160`);
      assert.equal(flag(tikv, "pd"), "pd:2379,pd1:2379,pd2:2379");
    }
    // TiKV 0 waits for every PD; each further TiKV for the one before, so they are replaced one at a time.
    assert.deepEqual(tikvs[0]?.dependsOn, pds.map((pd) => `${CONTAINER}::${pd.name}`).sort());
    assert.deepEqual(tikvs[1]?.dependsOn, [`${CONTAINER}::tidbstack-tidb-tikv`]);
    assert.deepEqual(tikvs[2]?.dependsOn, [`${CONTAINER}::tidbstack-tidb-tikv1`]);

    assert.equal(flag(run.byName("tidbstack-tidb-tidb", CONTAINER), "path"), "pd:2379,pd1:2379,pd2:2379");
    assert.equal(
      flag(run.byName("tidbstack-ticdc", CONTAINER), "pd"),
      "http://pd:2379,http://pd1:2379,http://pd2:2379",
    );
    const volumes = run.ofType(VOLUME).map((v) => String(v.inputs["name"]));
    assert.equal(new Set(volumes).size, volumes.length);
    assert.ok(volumes.includes("tidbstack-tidb-pd1-data") && volumes.includes("tidbstack-tidb-tikv2-data"));
    // PDs, TiKVs, TiCDC and Kafka, Prometheus, Alertmanager and Grafana.
    assert.equal(volumes.length, 3 + 3 + 2 + 3);
    const config = JSON.parse(
      upload(run.byName("tidbstack-monitoring-prometheus", CONTAINER), "/etc/prometheus/prometheus.yml"),
    ) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
    const targets = (job: string) =>
      config.scrape_configs.find((j) => j.job_name === job)?.static_configs.flatMap((c) => c.targets);
    assert.deepEqual(targets("pd"), ["pd:2379", "pd1:2379", "pd2:2379"]);
    assert.deepEqual(targets("tikv"), ["tikv:20180", "tikv1:20180", "tikv2:20180"]);
  });

  it("asks PD for every member and store and for three replicas, after all of them are up, and exports that shape", () => {
    const step = run.byName("tidbstack-tidb-pd-reconcile", COMMAND);
    assert.deepEqual(stepEnv(String(step.inputs["create"])), {
      PD_URL: "http://pd:2379",
      PD_MEMBERS: "pd,pd1,pd2",
      TIKV_STORES: "tikv:20160,tikv1:20160,tikv2:20160",
      PD_MAX_REPLICAS: "3",
    });
    assert.deepEqual(
      step.dependsOn,
      ["pd", "pd1", "pd2", "tikv", "tikv1", "tikv2"].map((n) => `${CONTAINER}::tidbstack-tidb-${n}`),
    );
    assert.deepEqual(run.outputs["topology"], { pdCount: 3, tikvCount: 3, maxReplicas: 3 });
  });
});

describe("the stack with exposeInternalPorts", () => {
  it("publishes TiDB, Kafka and TiCDC on 127.0.0.1 only, and exports the host addresses", async () => {
    const run = await runProgram({ exposeInternalPorts: "true" });
    const published = run
      .ofType(CONTAINER)
      .flatMap((c) =>
        ports(c).map(
          (p) => `${c.name} ${typeof p["ip"] === "string" ? p["ip"] : "all"}:${String(p["external"])}`,
        ),
      )
      .sort();
    assert.deepEqual(published, [
      "tidbstack-api 127.0.0.1:3000",
      "tidbstack-kafka 127.0.0.1:9092",
      "tidbstack-monitoring-alertmanager 127.0.0.1:9093",
      "tidbstack-monitoring-grafana 127.0.0.1:3001",
      "tidbstack-monitoring-prometheus 127.0.0.1:9090",
      "tidbstack-ticdc 127.0.0.1:8300",
      "tidbstack-tidb-tidb 127.0.0.1:4000",
    ]);
    assert.equal(run.outputs["prometheusUrl"], "http://127.0.0.1:9090");
    assert.equal(run.outputs["tidbHost"], "127.0.0.1:4000");
    assert.equal(run.outputs["kafkaBootstrap"], "localhost:9092");
  });
});

describe("the stack with a topic and a consumer group of its own", () => {
  it("gives the consumer the configured group, and the topic's dead-letter topic to it and to the changefeed step", async () => {
    const run = await runProgram({ topic: "orders", consumerGroup: "orders-audit" });
    const env = envOf(run.byName("tidbstack-consumer", CONTAINER));
    assert.equal(env["KAFKA_TOPIC"], "orders");
    assert.equal(env["KAFKA_GROUP_ID"], "orders-audit");
    assert.equal(env["KAFKA_DLQ_TOPIC"], "orders.dlq");
    const step = stepEnv(String(run.byName("tidbstack-changefeed-appdb-to-kafka", COMMAND).inputs["create"]));
    assert.equal(step["KAFKA_DLQ_TOPIC"], "orders.dlq");
  });

  it("derives the group from the topic when none is configured", async () => {
    const run = await runProgram({ topic: "orders" });
    assert.equal(envOf(run.byName("tidbstack-consumer", CONTAINER))["KAFKA_GROUP_ID"], "orders-consumer");
  });
});

describe("the stack with monitoring off", () => {
  it("declares no Prometheus or Grafana and needs no Grafana password", async () => {
    const { grafanaAdminPassword: _unused, ...secrets } = DEFAULT_SECRETS;
    const run = await runProgram({ monitoring: "false" }, { secrets });
    assert.deepEqual(
      run.resources.filter((r) => r.name.includes("monitoring")),
      [],
    );
    assert.ok(!("grafanaUrl" in run.outputs));
  });

  it("is decided by the flag: a Grafana password left in the config declares nothing and exports no Grafana URL", async () => {
    const run = await runProgram({ monitoring: "false" });
    assert.deepEqual(
      run.resources.filter((r) => r.name.includes("monitoring") || r.name.includes("grafana")),
      [],
    );
    assert.deepEqual(
      Object.keys(run.outputs).filter((key) => /grafana|prometheus/.test(key)),
      [],
    );
  });
});

describe("the image builds, wherever Pulumi runs the program from", () => {
  it("use the repository root as context and the root Dockerfile's per-image copy, relative to the working directory", async () => {
    const root = process.cwd();
    try {
      process.chdir(`${root}/infra`);
      const run = await runProgram({});
      const builds = run.ofType(IMAGE).map((i) => i.inputs["build"] as Record<string, unknown>);
      assert.deepEqual(
        builds.map((b) => [b["context"], b["dockerfile"]]),
        [
          ["..", "../.cache/images/api/Dockerfile"],
          ["..", "../.cache/images/consumer/Dockerfile"],
          ["..", "../.cache/images/ops/Dockerfile"],
        ],
      );
    } finally {
      process.chdir(root);
    }
  });
});

describe("the containers the program declares", () => {
  it("run exactly the specs the container test can run with docker run", async () => {
    const run = await runProgram({ pdCount: "3", tikvCount: "3" });
    const pd = "pd:2379,pd1:2379,pd2:2379";
    const specs: Record<string, ContainerSpec> = {
      "tidbstack-tidb-pd": pdContainerSpec({ index: 0 }),
      "tidbstack-tidb-pd1": pdContainerSpec({ index: 1 }),
      "tidbstack-tidb-pd2": pdContainerSpec({ index: 2 }),
      "tidbstack-tidb-tikv": tikvContainerSpec({ index: 0, pd, memoryMb: 2048 }),
      "tidbstack-tidb-tikv1": tikvContainerSpec({ index: 1, pd, memoryMb: 2048 }),
      "tidbstack-tidb-tikv2": tikvContainerSpec({ index: 2, pd, memoryMb: 2048 }),
      "tidbstack-tidb-tidb": tidbContainerSpec({ pd, memoryMb: 1024 }),
      "tidbstack-ticdc": ticdcContainerSpec({ pd }),
      "tidbstack-kafka": kafkaContainerSpec({ clusterId: clusterIdFor("tidbstack-kafka"), heapMb: 512 }),
      "tidbstack-monitoring-prometheus": prometheusContainerSpec({ pdCount: 3, tikvCount: 3 }),
      "tidbstack-monitoring-alertmanager": alertmanagerContainerSpec({ receivers: {} }),
      "tidbstack-monitoring-grafana": grafanaContainerSpec({
        adminPassword: DEFAULT_SECRETS.grafanaAdminPassword,
      }),
      "tidbstack-api": serviceContainerSpec({
        alias: "api",
        env: apiEnvironment({
          database: "appdb",
          dbPassword: DEFAULT_SECRETS.apiDbPassword,
          tokenTtlSeconds: 3600,
          loginRateLimitPerMinute: 10,
          logLevel: "info",
        }),
        healthPort: 3000,
        memoryMb: 384,
      }),
      "tidbstack-consumer": serviceContainerSpec({
        alias: "consumer",
        env: consumerEnvironment({ topic: "appdb-cdc", groupId: "appdb-cdc-consumer", logLevel: "info" }),
        healthPort: 9464,
        memoryMb: 384,
      }),
      "tidbstack-purge": serviceContainerSpec({
        alias: "purge",
        command: PURGE_COMMAND,
        env: purgeEnvironment({
          database: "appdb",
          dbPassword: DEFAULT_SECRETS.purgeDbPassword,
          intervalSeconds: 300,
          graceSeconds: 86_400,
          batchSize: 1000,
          logLevel: "info",
        }),
        healthPort: 9465,
        memoryMb: 192,
      }),
    };
    assert.deepEqual(
      run
        .ofType(CONTAINER)
        .map((c) => c.name)
        .sort(),
      Object.keys(specs).sort(),
    );
    for (const c of run.ofType(CONTAINER)) {
      const spec = specs[c.name];
      assert.ok(spec !== undefined);
      assert.deepEqual(
        c.inputs["command"],
        spec.command === undefined ? undefined : [...spec.command],
        c.name,
      );
      assert.deepEqual(
        Object.fromEntries(
          ((c.inputs["envs"] as string[] | undefined) ?? []).map((e) => [
            e.slice(0, e.indexOf("=")),
            e.slice(e.indexOf("=") + 1),
          ]),
        ),
        spec.env,
        c.name,
      );
      assert.deepEqual(
        c.inputs["healthcheck"],
        { ...spec.healthcheck, tests: [...spec.healthcheck.tests] },
        c.name,
      );
      assert.deepEqual(c.inputs["uploads"] ?? [], spec.uploads, c.name);
      assert.deepEqual(c.inputs["ulimits"] ?? [], spec.ulimits, c.name);
      assert.equal(c.inputs["memory"], spec.memoryMb, c.name);
      assert.equal(c.inputs["user"], spec.user, c.name);
      assert.equal(c.inputs["readOnly"], spec.hardening?.readOnly, c.name);
      assert.deepEqual(c.inputs["tmpfs"], spec.hardening?.tmpfs, c.name);
      assert.deepEqual(c.inputs["capabilities"], spec.hardening && { drops: spec.hardening.capDrop }, c.name);
      assert.deepEqual(c.inputs["securityOpts"], spec.hardening?.securityOpts, c.name);
      assert.deepEqual(aliases(c), [spec.alias], c.name);
      assert.deepEqual(
        ((c.inputs["volumes"] as { containerPath: string }[] | undefined) ?? []).map((v) => v.containerPath),
        spec.dataPath === undefined ? [] : [spec.dataPath],
        c.name,
      );
    }
  });

  it("give docker run the spec's alias, environment, healthcheck, limits", () => {
    const flags = dockerRunFlags(tikvContainerSpec({ index: 1, pd: "pd:2379", memoryMb: 1024 }));
    const after = (name: string) => flags[flags.indexOf(name) + 1];
    assert.equal(after("--network-alias"), "tikv1");
    assert.equal(after("--health-cmd"), "wget -qO /dev/null http://127.0.0.1:20180/status");
    assert.equal(after("--health-start-period"), "1m0s");
    assert.equal(after("--ulimit"), "nofile=65536:65536");
    assert.equal(after("--memory"), "1024m");
    assert.equal(after("--memory-swap"), "1024m");
    assert.ok(!flags.includes("--health-start-interval"));
    assert.deepEqual(
      dockerRunFlags(kafkaContainerSpec({ clusterId: "c", heapMb: 256 })).filter(
        (f, i, all) => all[i - 1] === "-e" && f.startsWith("KAFKA_HEAP_OPTS="),
      ),
      ["KAFKA_HEAP_OPTS=-Xmx256m -Xms256m"],
    );
  });
});

describe("the program's sources", () => {
  const infra = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
  const sources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory()
        ? sources(join(dir, entry.name))
        : entry.name.endsWith(".ts")
          ? [join(dir, entry.name)]
          : [],
    );

  it("import no service's source: only their own modules, Node, Pulumi and the services' dependency-free contracts", () => {
    const files = [join(infra, "index.ts"), ...sources(join(infra, "src"))];
    assert.ok(files.length > 10);
    for (const file of files) {
      for (const [, specifier = ""] of readFileSync(file, "utf8").matchAll(
        /^(?:import|export)[^"']*from ["']([^"']+)["']/gm,
      )) {
        if (specifier.startsWith(".")) {
          const target = relative(infra, resolve(dirname(file), specifier));
          assert.ok(!target.startsWith("..") && !target.startsWith("test"), `${file} imports ${specifier}`);
        } else {
          assert.match(
            specifier,
            /^(node:|@pulumi\/|@tidbstack\/service-kit\/contracts$)/,
            `${file} imports ${specifier}`,
          );
        }
      }
    }
    const manifest = JSON.parse(readFileSync(join(infra, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    assert.deepEqual(
      Object.keys(manifest.dependencies).filter((name) => !name.startsWith("@pulumi/")),
      ["@tidbstack/service-kit"],
    );
  });

  it("reach the services' contracts as a module that imports nothing, so no service dependency loads", () => {
    const contracts = fileURLToPath(import.meta.resolve("@tidbstack/service-kit/contracts"));
    assert.match(contracts, /service-kit\/src\/contracts\.ts$/);
    assert.doesNotMatch(readFileSync(contracts, "utf8"), /^\s*(import|export)\b[^;]*\bfrom\s/m);
  });
});

describe("the stack outputs", () => {
  it("never hold an undefined value, whatever the config", async () => {
    const { grafanaAdminPassword: _unused, ...noGrafana } = DEFAULT_SECRETS;
    const runs = [
      await runProgram({}),
      await runProgram({ exposeInternalPorts: "true" }),
      await runProgram({ monitoring: "false" }, { secrets: noGrafana }),
    ];
    for (const run of runs) {
      for (const [key, value] of Object.entries(run.outputs)) assert.notEqual(value, undefined, key);
    }
    assert.ok("prometheusUrl" in (runs[1]?.outputs ?? {}));
    assert.ok(!("prometheusUrl" in (runs[0]?.outputs ?? {})));
  });
});

describe("the stack with imagePlatform", () => {
  it("builds every service image for that platform", async () => {
    const run = await runProgram({ imagePlatform: "linux/arm64" });
    const platforms = run.ofType(IMAGE).map((i) => (i.inputs["build"] as Inputs)["platform"]);
    assert.deepEqual(platforms, ["linux/arm64", "linux/arm64", "linux/arm64"]);
  });
});
