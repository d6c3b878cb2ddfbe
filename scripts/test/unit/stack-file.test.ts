import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { carriesItsSecrets, formatStackFile, overlayCommitted, parseStackFile } from "../../ci/stack-file.ts";

/** As `pulumi config refresh` restores it: the last deployment's config, secrets and salt. */
const deployed = parseStackFile(
  `encryptionsalt: v1:abc:def
config:
  tidbstack:target: kubernetes
  tidbstack:apiReplicas: "2"
  tidbstack:adminPassword:
    secure: v1:ciphertext
`,
  "Pulumi.prod.yaml",
);

describe("a CI checkout's stack file", () => {
  it("is used as committed when it carries its own secrets provider state", () => {
    assert.equal(carriesItsSecrets(parseStackFile("encryptionsalt: v1:x:y\nconfig: {}\n", "a")), true);
    assert.equal(
      carriesItsSecrets(parseStackFile("secretsprovider: awskms://k\nencryptedkey: abc\n", "a")),
      true,
    );
    assert.equal(carriesItsSecrets(parseStackFile("config:\n  tidbstack:pdCount: '1'\n", "a")), false);
    assert.equal(carriesItsSecrets(parseStackFile("", "empty")), false);
  });

  it("keeps the deployed secrets and salt, and previews the committed plain values over the deployed ones", () => {
    const committed = parseStackFile(
      "config:\n  tidbstack:apiReplicas: '3'\n  tidbstack:ingressHost: api.example.com\n",
      "c",
    );
    const merged = parseStackFile(formatStackFile(overlayCommitted(deployed, committed)), "merged");
    assert.deepEqual(merged, {
      encryptionsalt: "v1:abc:def",
      config: {
        "tidbstack:target": "kubernetes",
        "tidbstack:apiReplicas": "3",
        "tidbstack:ingressHost": "api.example.com",
        "tidbstack:adminPassword": { secure: "v1:ciphertext" },
      },
    });
  });

  it("refuses committed encrypted values without their salt, naming them", () => {
    const committed = parseStackFile("config:\n  tidbstack:apiDbPassword:\n    secure: v1:other\n", "c");
    assert.throws(
      () => overlayCommitted(deployed, committed),
      /encrypted values \(tidbstack:apiDbPassword\)/,
    );
  });

  it("rejects a file that is not a mapping", () => {
    assert.throws(
      () => parseStackFile("- a\n- b\n", "Pulumi.x.yaml"),
      /Pulumi\.x\.yaml is not a YAML mapping/,
    );
    assert.throws(() => parseStackFile("config: [1]\n", "Pulumi.x.yaml"), /config is not a mapping/);
  });
});
