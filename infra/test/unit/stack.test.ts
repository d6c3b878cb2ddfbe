import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { migrationsHash } from "../../src/components/database-migration.ts";
import { DEFAULT_SECRETS, runProgram, type DeclaredResource, type ProgramRun } from "../harness.ts";

const CONTAINER = "docker:index/container:Container";
const COMMAND = "command:local:Command";
const VOLUME = "docker:index/volume:Volume";
const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";

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
const envOf = (r: DeclaredResource): Record<string, string> =>
  Object.fromEntries(
    (r.inputs["envs"] as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
  );
const upload = (r: DeclaredResource, file: string): string =>
  (r.inputs["uploads"] as { file: string; content: string }[]).find((u) => u.file === file)?.content ?? "";

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
      "tidbstack-monitoring-prometheus": "prometheus",
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
      "prom/prometheus:v3.5.0",
    ]);
  });

  it("runs containers from image ids and digests, so a new image replaces them", () => {
    for (const c of run.ofType(CONTAINER)) assert.match(String(c.inputs["image"]), /sha256:/, c.name);
  });

  it("PD advertises its alias and forms a one-member initial cluster asking for one replica", () => {
    const pd = container("tidbstack-tidb-pd");
    assert.equal(flag(pd, "name"), "pd");
    assert.equal(flag(pd, "advertise-client-urls"), "http://pd:2379");
    assert.equal(flag(pd, "advertise-peer-urls"), "http://pd:2380");
    assert.equal(flag(pd, "initial-cluster"), "pd=http://pd:2380");
    assert.equal(flag(pd, "data-dir"), "/data/pd");
    assert.match(upload(pd, "/etc/pd/pd.toml"), /max-replicas = 1/);
  });

  it("TiKV advertises its alias (not 0.0.0.0 or localhost), gets the file limit it needs, no reserved space and a memory cap", () => {
    const tikv = container("tidbstack-tidb-tikv");
    assert.equal(flag(tikv, "advertise-addr"), "tikv:20160");
    assert.equal(flag(tikv, "advertise-status-addr"), "tikv:20180");
    assert.equal(flag(tikv, "status-addr"), "0.0.0.0:20180");
    assert.equal(flag(tikv, "pd"), "pd:2379");
    assert.deepEqual(tikv.inputs["ulimits"], [{ name: "nofile", soft: 1048576, hard: 1048576 }]);
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
    assert.match(
      (container("tidbstack-tidb-pd").inputs["healthcheck"] as { tests: string[] }).tests[1] ?? "",
      /"health": \?true/,
    );
    assert.match(
      (container("tidbstack-ticdc").inputs["healthcheck"] as { tests: string[] }).tests[1] ?? "",
      /api\/v2\/health/,
    );
  });

  it("orders start-up by explicit dependencies: PD → TiKV → TiDB → TiCDC; Kafka + TiCDC → changefeed → migration → API; changefeed → consumer", () => {
    const deps = (name: string, type = CONTAINER) =>
      run.resources.find((r) => r.name === name && r.type === type)?.dependsOn ?? [];
    assert.deepEqual(deps("tidbstack-tidb-tikv"), [`${CONTAINER}::tidbstack-tidb-pd`]);
    assert.deepEqual(deps("tidbstack-tidb-tidb"), [`${CONTAINER}::tidbstack-tidb-tikv`]);
    assert.deepEqual(deps("tidbstack-ticdc"), [`${CONTAINER}::tidbstack-tidb-tidb`]);
    assert.deepEqual(deps("tidbstack-changefeed", COMMAND).sort(), [
      `${CONTAINER}::tidbstack-kafka`,
      `${CONTAINER}::tidbstack-ticdc`,
    ]);
    assert.deepEqual(deps("tidbstack-migrate", COMMAND).sort(), [
      `${COMMAND}::tidbstack-changefeed`,
      `${CONTAINER}::tidbstack-tidb-tidb`,
    ]);
    assert.deepEqual(deps("tidbstack-api"), [`${COMMAND}::tidbstack-migrate`]);
    assert.deepEqual(deps("tidbstack-consumer"), [`${COMMAND}::tidbstack-changefeed`]);
  });

  it("keeps every server's data in a named volume", () => {
    const volumes = run
      .ofType(VOLUME)
      .map((v) => v.inputs["name"])
      .sort();
    assert.deepEqual(volumes, [
      "tidbstack-kafka-data",
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

  it("publishes only the API to the network; Grafana on the loopback interface only", () => {
    const published = run
      .ofType(CONTAINER)
      .flatMap((c) =>
        ports(c).map(
          (p) => `${c.name} ${typeof p["ip"] === "string" ? p["ip"] : "all"}:${String(p["external"])}`,
        ),
      )
      .sort();
    assert.deepEqual(published, ["tidbstack-api all:3000", "tidbstack-monitoring-grafana 127.0.0.1:3001"]);
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
      "LOG_LEVEL",
      "PORT",
      "TOKEN_TTL_SECONDS",
      "TRUST_PROXY",
    ]);
    assert.equal(env["DB_HOST"], "tidb");
    assert.equal(env["DB_PORT"], "4000");
    assert.equal(env["DB_USER"], "api");
    assert.equal(env["DB_PASSWORD"], DEFAULT_SECRETS.apiDbPassword);
    assert.equal(env["DB_NAME"], "appdb");
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

  it("points the changefeed's sink at Kafka's internal listener with canal-json, filters the app database, and deletes it on destroy", () => {
    const step = run.ofType(COMMAND).find((c) => c.name === "tidbstack-changefeed");
    const create = String(step?.inputs["create"]);
    assert.match(create, /^docker run --rm --network tidbstack-net /);
    assert.match(
      create,
      /CHANGEFEED_SINK_URI='kafka:\/\/kafka:19092\/appdb-cdc\?protocol=canal-json&enable-tidb-extension=true&partition-num=1&replication-factor=1&max-message-bytes=1048576'/,
    );
    assert.match(create, /CHANGEFEED_FILTER='appdb\.\*'/);
    assert.match(create, /CHANGEFEED_ID=appdb-to-kafka/);
    assert.match(create, /node consumer\/dist\/setup-changefeed.js create$/);
    assert.match(String(step?.inputs["delete"]), /setup-changefeed.js delete$/);
  });

  it("runs the migration with the API image on the stack network, re-running when the migrations change", () => {
    const step = run.ofType(COMMAND).find((c) => c.name === "tidbstack-migrate");
    const create = String(step?.inputs["create"]);
    assert.match(
      create,
      /^docker run --rm --network tidbstack-net .* tidbstack-api:local@sha256:\S+ node api\/dist\/migrate.js$/,
    );
    assert.match(create, /-e DB_USER=root /);
    assert.match(create, /-e APP_DB_USER=api /);
    assert.deepEqual(step?.inputs["triggers"], [migrationsHash()]);
  });

  it("keeps secrets secret: passed through the environment, never in a command line or a plain input", () => {
    const migrate = run.ofType(COMMAND).find((c) => c.name === "tidbstack-migrate");
    assert.deepEqual(migrate?.secretInputs, ["environment"]);
    assert.deepEqual(Object.keys(migrate?.inputs["environment"] as object).sort(), [
      "ADMIN_PASSWORD",
      "APP_DB_PASSWORD",
      "DB_PASSWORD",
    ]);
    assert.deepEqual(container("tidbstack-api").secretInputs, ["envs"]);
    for (const resource of run.resources) {
      for (const [key, value] of Object.entries(resource.inputs)) {
        if (resource.secretInputs.includes(key)) continue;
        const text = JSON.stringify(value) ?? "";
        for (const secret of Object.values(DEFAULT_SECRETS))
          assert.ok(!text.includes(secret), `${resource.name}.${key} holds a secret in the clear`);
      }
    }
  });

  it("builds the API and consumer images locally with the classic builder and the base image as a build argument", () => {
    const images = run.ofType("docker:index/image:Image");
    assert.deepEqual(
      images.map((i) => [i.inputs["imageName"], (i.inputs["build"] as Inputs)["dockerfile"]]).sort(),
      [
        ["tidbstack-api:local", "api/Dockerfile"],
        ["tidbstack-consumer:local", "consumer/Dockerfile"],
      ],
    );
    for (const image of images) {
      assert.equal(image.inputs["skipPush"], true);
      const build = image.inputs["build"] as Inputs;
      assert.equal(build["builderVersion"], "BuilderV1");
      assert.equal(build["context"], ".");
      assert.deepEqual(build["args"], { BASE_IMAGE: "node:24-bookworm-slim" });
    }
  });

  it("exports the API URL and the internal addresses", () => {
    assert.deepEqual(run.outputs, {
      apiUrl: "http://localhost:3000",
      tidbHost: "tidb:4000",
      kafkaBootstrap: "kafka:19092",
      ticdcApi: "http://ticdc:8300",
      changefeedId: "appdb-to-kafka",
      topic: "appdb-cdc",
      grafanaUrl: "http://127.0.0.1:3001",
      prometheusUrl: undefined,
    });
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
        "api api:3000",
        "consumer consumer:9464",
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

  it("names, aliases and stores each PD and TiKV separately, with one shared initial cluster", () => {
    const pds = ["pd0", "pd1", "pd2"].map((alias) => run.byName(`tidbstack-tidb-${alias}`, CONTAINER));
    for (const [i, pd] of pds.entries()) {
      assert.equal(flag(pd, "name"), `pd${i}`);
      assert.deepEqual(aliases(pd), [`pd${i}`]);
      assert.equal(flag(pd, "advertise-client-urls"), `http://pd${i}:2379`);
      assert.equal(
        flag(pd, "initial-cluster"),
        "pd0=http://pd0:2380,pd1=http://pd1:2380,pd2=http://pd2:2380",
      );
      assert.match(upload(pd, "/etc/pd/pd.toml"), /max-replicas = 3/);
    }
    for (const i of [0, 1, 2]) {
      const tikv = run.byName(`tidbstack-tidb-tikv${i}`, CONTAINER);
      assert.equal(flag(tikv, "advertise-addr"), `tikv${i}:20160`);
      assert.equal(flag(tikv, "pd"), "pd0:2379,pd1:2379,pd2:2379");
      assert.deepEqual(
        tikv.dependsOn.sort(),
        pds.map((pd) => `${CONTAINER}::${pd.name}`),
      );
    }
    assert.equal(flag(run.byName("tidbstack-tidb-tidb", CONTAINER), "path"), "pd0:2379,pd1:2379,pd2:2379");
    assert.equal(
      flag(run.byName("tidbstack-ticdc", CONTAINER), "pd"),
      "http://pd0:2379,http://pd1:2379,http://pd2:2379",
    );
    const volumes = run.ofType(VOLUME).map((v) => String(v.inputs["name"]));
    assert.equal(new Set(volumes).size, volumes.length);
    assert.equal(volumes.length, 3 + 3 + 2 + 2);
    const config = JSON.parse(
      upload(run.byName("tidbstack-monitoring-prometheus", CONTAINER), "/etc/prometheus/prometheus.yml"),
    ) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
    const targets = (job: string) =>
      config.scrape_configs.find((j) => j.job_name === job)?.static_configs.flatMap((c) => c.targets);
    assert.deepEqual(targets("pd"), ["pd0:2379", "pd1:2379", "pd2:2379"]);
    assert.deepEqual(targets("tikv"), ["tikv0:20180", "tikv1:20180", "tikv2:20180"]);
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
      "tidbstack-api all:3000",
      "tidbstack-kafka 127.0.0.1:9092",
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

describe("the stack with monitoring off", () => {
  it("declares no Prometheus or Grafana, needs no Grafana password, and exports no Grafana URL", async () => {
    const { grafanaAdminPassword: _unused, ...secrets } = DEFAULT_SECRETS;
    const run = await runProgram({ monitoring: "false" }, secrets);
    assert.deepEqual(
      run.resources.filter((r) => r.name.includes("monitoring")),
      [],
    );
    assert.equal(run.outputs["grafanaUrl"], undefined);
  });
});

describe("the image builds, wherever Pulumi runs the program from", () => {
  it("use the repository root as context and the Dockerfile beside it, relative to the working directory", async () => {
    const root = process.cwd();
    try {
      process.chdir(`${root}/infra`);
      const run = await runProgram({});
      const builds = run
        .ofType("docker:index/image:Image")
        .map((i) => i.inputs["build"] as Record<string, unknown>);
      assert.deepEqual(builds.map((b) => [b["context"], b["dockerfile"]]).sort(), [
        ["..", "../api/Dockerfile"],
        ["..", "../consumer/Dockerfile"],
      ]);
    } finally {
      process.chdir(root);
    }
  });
});
