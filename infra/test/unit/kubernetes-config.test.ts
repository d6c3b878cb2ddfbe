import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { loadKubernetesConfig } from "../../src/kubernetes/config.ts";
import { itRefusesEach, setStackConfig } from "../harness.ts";

function load(config: Record<string, string>) {
  setStackConfig(config);
  return loadKubernetesConfig(new pulumi.Config("tidbstack"), "tidbstack");
}

describe("Kubernetes target config", () => {
  it("defaults to the stack's name as namespace, 2 API replicas, pinned operators and Kafka 4.3.1", () => {
    assert.deepEqual(load({}), {
      namespace: "tidbstack",
      storageClass: undefined,
      pdStorage: "1Gi",
      tikvStorage: "10Gi",
      ticdcStorage: "5Gi",
      kafkaStorage: "10Gi",
      apiReplicas: 2,
      imageRegistry: undefined,
      imagePullSecret: undefined,
      ingressHost: undefined,
      apiProxyHops: 0,
      prometheusOperator: false,
      prometheusRelease: undefined,
      tidbOperatorVersion: "v1.6.6",
      strimziVersion: "1.2.0",
      kafkaVersion: "4.3.1",
      kafkaMetadataVersion: "4.3-IV0",
    });
  });

  it("takes the KRaft metadata version of the chosen Kafka release from Strimzi's list", () => {
    assert.equal(load({ kubernetesKafkaVersion: "4.2.1" }).kafkaMetadataVersion, "4.2-IV1");
  });

  it("accepts a registry with a port and a path, and an ingress host", () => {
    const config = load({ imageRegistry: "localhost:5001/tidbstack", ingressHost: "api.example.com" });
    assert.equal(config.imageRegistry, "localhost:5001/tidbstack");
    assert.equal(config.ingressHost, "api.example.com");
  });

  it("has the API believe one proxy behind an Ingress and none without, unless apiProxyHops says otherwise", () => {
    assert.equal(load({ ingressHost: "api.example.com" }).apiProxyHops, 1);
    assert.equal(load({ ingressHost: "api.example.com", apiProxyHops: "2" }).apiProxyHops, 2);
    assert.equal(load({ apiProxyHops: "1" }).apiProxyHops, 1);
  });

  const invalid: [Record<string, string>, string, RegExp][] = [
    [{ namespace: "Tidb_Stack" }, "namespace", /DNS label/],
    [{ storageClass: "fast ssd" }, "storageClass", /StorageClass/],
    [{ tikvStorage: "10GB" }, "tikvStorage", /Mi, Gi or Ti/],
    [{ kafkaStorage: "0Gi" }, "kafkaStorage", /Mi, Gi or Ti/],
    [{ apiReplicas: "0" }, "apiReplicas", /from 1 to 20/],
    [{ apiReplicas: "two" }, "apiReplicas", /from 1 to 20/],
    [{ imageRegistry: "https://registry.example.com" }, "imageRegistry", /registry host/],
    [{ ingressHost: "api.example.com/path" }, "ingressHost", /host name/],
    [{ apiProxyHops: "11" }, "apiProxyHops", /from 0 to 10/],
    [{ apiProxyHops: "true" }, "apiProxyHops", /from 0 to 10/],
    [{ prometheusOperator: "maybe" }, "prometheusOperator", /true or false/],
    [{ tidbOperatorVersion: "v2.0.0" }, "tidbOperatorVersion", /v1\.6\.x/],
    [{ strimziVersion: "0.47.0" }, "strimziVersion", /1\.2\.x/],
    [{ kubernetesKafkaVersion: "3.9.1" }, "kubernetesKafkaVersion", /Kafka 4\.x/],
    [{ kubernetesKafkaVersion: "4.1.0" }, "kubernetesKafkaVersion", /4\.2\.0, 4\.2\.1, 4\.3\.0, 4\.3\.1/],
  ];
  itRefusesEach(load, invalid);
});
