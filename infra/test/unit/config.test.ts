import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig } from "../../src/config.ts";
import { DEFAULT_SECRETS, itRefusesEach, runProgram, setStackConfig } from "../harness.ts";

function load(config: Record<string, string>, secrets: Record<string, string> = DEFAULT_SECRETS) {
  setStackConfig(config, secrets);
  return loadStackConfig(new pulumi.Config("tidbstack"));
}

describe("stack config", () => {
  it("has defaults for everything but the secrets", () => {
    const config = load({});
    assert.equal(config.pdCount, 1);
    assert.equal(config.tidbVersion, "v8.5.4");
    assert.equal(config.adminEmail, "admin@test.com");
    assert.equal(config.exposeInternalPorts, false);
    assert.equal(config.imagePlatform, undefined);
  });

  it("reads monitoring from its flag alone: off means no monitoring settings even with a Grafana password set", () => {
    assert.equal(load({ monitoring: "false" }).monitoring, undefined);
    assert.notEqual(load({}).monitoring, undefined);
  });

  it("derives the consumer group from the topic once, unless consumerGroup names one", () => {
    assert.equal(load({}).consumerGroup, "appdb-cdc-consumer");
    assert.equal(load({ topic: "orders" }).consumerGroup, "orders-consumer");
    assert.equal(load({ topic: "orders", consumerGroup: "orders-audit" }).consumerGroup, "orders-audit");
  });

  it("takes a topic of up to 245 characters, leaving room for its dead-letter topic's .dlq in Kafka's 249", () => {
    assert.equal(load({ topic: "t".repeat(245) }).topic.length, 245);
  });

  it("gives TiKV 65536 open files unless tikvNofile says how many, which reaches its container's ulimit", async () => {
    assert.equal(load({}).tikvNofile, 65536);
    const run = await runProgram({ tikvNofile: "16384" });
    assert.deepEqual(
      run.byName("tidbstack-tidb-tikv", "docker:index/container:Container").inputs["ulimits"],
      [{ name: "nofile", soft: 16384, hard: 16384 }],
    );
  });

  it("accepts a Docker platform for the images", () => {
    assert.equal(load({ imagePlatform: "linux/arm64/v8" }).imagePlatform, "linux/arm64/v8");
  });

  const invalid: [Record<string, string>, string, RegExp][] = [
    [{ pdCount: "2" }, "pdCount", /odd/],
    [{ pdCount: "7" }, "pdCount", /from 1 to 5/],
    [{ tikvCount: "0" }, "tikvCount", /from 1 to 5/],
    [{ tikvCount: "many" }, "tikvCount", /must be a number/],
    [{ tikvNofile: "1024" }, "tikvNofile", /from 4096 to 1048576/],
    [{ tikvNofile: "2000000" }, "tikvNofile", /from 4096 to 1048576/],
    [{ apiPort: "70000" }, "apiPort", /from 1 to 65535/],
    [{ tidbVersion: "latest" }, "tidbVersion", /v8\.5\.x/],
    [{ kafkaVersion: "4.0.0" }, "kafkaVersion", /3\.9\.x/],
    [{ changefeedId: "bad_id" }, "changefeedId", /dash-separated/],
    [{ topic: "bad topic" }, "topic", /topic name/],
    [{ topic: ".." }, "topic", /not "\." or "\.\."/],
    [{ topic: "t".repeat(246) }, "topic", /dead-letter topic "t+\.dlq": at most 245 characters, got 246/],
    [{ consumerGroup: "my group" }, "consumerGroup", /consumer group id/],
    [{ tokenTtlSeconds: "59" }, "tokenTtlSeconds", /from 60 to 2592000/],
    [{ tokenCacheMaxEntries: "-1" }, "tokenCacheMaxEntries", /from 0 to 10000000/],
    [{ tokenCacheRevocationBoundMs: "99" }, "tokenCacheRevocationBoundMs", /from 100 to 60000/],
    [{ purgeBatchSize: "10001" }, "purgeBatchSize", /from 1 to 10000/],
    [{ topicPartitions: "65" }, "topicPartitions", /from 1 to 64/],
    [{ exposeInternalPorts: "sometimes" }, "exposeInternalPorts", /true or false/],
    [{ adminEmail: "nobody" }, "adminEmail", /email/],
    [{ pdCount: "4" }, "pdCount", /use 1, 3 or 5/],
    [{ imagePlatform: "arm64" }, "imagePlatform", /linux\/amd64.*remove it to build for this machine/],
    [{ imagePlatform: "linux/arm64 --squash" }, "imagePlatform", /platform like/],
    [{ apiHost: "localhost" }, "apiHost", /IPv4 address: 127\.0\.0\.1 \(this machine only\), 0\.0\.0\.0/],
    [{ apiHost: "::" }, "apiHost", /IPv4 address/],
    [{ apiMemoryMb: "64" }, "apiMemoryMb", /from 128 to 65536/],
    [{ consumerMemoryMb: "lots" }, "consumerMemoryMb", /must be a number/],
    [{ purgeMemoryMb: "127" }, "purgeMemoryMb", /from 128/],
    [{ logMaxSize: "10MB" }, "logMaxSize", /unit k, m or g/],
    [{ logMaxSize: "0m" }, "logMaxSize", /unit k, m or g/],
    [{ logMaxFiles: "0" }, "logMaxFiles", /from 1 to 100/],
  ];
  itRefusesEach(load, invalid);

  for (const secret of Object.keys(DEFAULT_SECRETS)) {
    it(`requires the secret ${secret} and says how to set it`, () => {
      const secrets = Object.fromEntries(Object.entries(DEFAULT_SECRETS).filter(([key]) => key !== secret));
      assert.throws(
        () => load({}, secrets),
        new RegExp(
          `invalid config "${secret}": is required; set it with: pulumi config set --secret ${secret}`,
        ),
      );
    });
  }

  it("returns the secrets as secret Outputs", async () => {
    const config = load({});
    assert.equal(await pulumi.isSecret(config.adminPassword), true);
    assert.equal(await pulumi.isSecret(config.tidbRootPassword), true);
    assert.equal(await pulumi.isSecret(config.apiDbPassword), true);
  });
});
