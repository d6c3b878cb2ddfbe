import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { redactSinkUri, sameSinkUri } from "../../src/sink-uri.ts";

const SINK = "kafka://kafka:19092/appdb-cdc?protocol=canal-json&partition-num=1&max-message-bytes=1048576";

describe("sink URIs compared by meaning", () => {
  const same: [string, string, string][] = [
    ["the same text", SINK, SINK],
    [
      "query parameters in another order",
      SINK,
      "kafka://kafka:19092/appdb-cdc?max-message-bytes=1048576&protocol=canal-json&partition-num=1",
    ],
    ["a host in another case", SINK, SINK.replace("kafka:19092", "KAFKA:19092")],
    ["a trailing slash on the topic", SINK, SINK.replace("appdb-cdc?", "appdb-cdc/?")],
    ["an encoded value", `${SINK}&sasl-user=a%40b`, `${SINK}&sasl-user=a@b`],
    [
      "the sasl-password TiCDC masked",
      "kafka://kafka:19092/appdb-cdc?protocol=canal-json&sasl-password=xxxxx",
      "kafka://kafka:19092/appdb-cdc?sasl-password=s3cret&protocol=canal-json",
    ],
    ["the user-info password TiCDC masked", "mysql://root:xxxxx@db:3306/", "mysql://root:s3cret@db:3306/"],
  ];
  for (const [what, current, wanted] of same) {
    it(`treats ${what} as the same sink`, () => {
      assert.equal(sameSinkUri(current, wanted), true);
    });
  }

  const different: [string, string, string][] = [
    ["another value", SINK, SINK.replace("partition-num=1", "partition-num=2")],
    ["an added parameter", SINK, `${SINK}&replication-factor=1`],
    ["a removed parameter", SINK, SINK.replace("&partition-num=1", "")],
    ["a repeated parameter", SINK, `${SINK}&protocol=canal-json`],
    ["another topic", SINK, SINK.replace("appdb-cdc", "other")],
    ["another broker", SINK, SINK.replace("kafka:19092", "kafka2:19092")],
    ["another scheme", SINK, SINK.replace("kafka://", "kafka+ssl://")],
    ["another user", "mysql://root:xxxxx@db:3306/", "mysql://app:s3cret@db:3306/"],
    ["a password added where there was none", "mysql://root@db:3306/", "mysql://root:s3cret@db:3306/"],
  ];
  for (const [what, current, wanted] of different) {
    it(`treats ${what} as a different sink`, () => {
      assert.equal(sameSinkUri(current, wanted), false);
    });
  }

  it("redacts passwords and secret-looking parameters for logs, and keeps the rest", () => {
    assert.equal(
      redactSinkUri(
        "kafka://u:pw@kafka:19092/t?sasl-password=s3cret&protocol=canal-json&sasl-oauth-client-secret=x",
      ),
      "kafka://u:xxxxx@kafka:19092/t?sasl-password=xxxxx&protocol=canal-json&sasl-oauth-client-secret=xxxxx",
    );
    assert.equal(redactSinkUri(SINK), SINK);
  });
});
