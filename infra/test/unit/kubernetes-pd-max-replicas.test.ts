import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { type DeclaredResource, plan, type ProgramRun, runProgram } from "../harness.ts";

const JOB = "kubernetes:batch/v1:Job";
const URN = `${JOB}::tidbstack-pd-max-replicas`;

type Container = {
  image: string;
  command: string[];
  env: { name: string; value?: string; valueFrom?: unknown }[];
};
const job = (run: ProgramRun): DeclaredResource => run.byName("tidbstack-pd-max-replicas", JOB);
const metadata = (r: DeclaredResource) =>
  r.inputs["metadata"] as {
    name: string;
    annotations: Record<string, string>;
    labels: Record<string, string>;
  };
const jobSpec = (r: DeclaredResource) =>
  r.inputs["spec"] as {
    activeDeadlineSeconds: number;
    template: { metadata: { labels: Record<string, string> }; spec: { containers: Container[] } };
  };
const container = (r: DeclaredResource): Container => {
  const [only] = jobSpec(r).template.spec.containers;
  assert.ok(only);
  return only;
};
const env = (r: DeclaredResource) =>
  Object.fromEntries(container(r).env.map((e) => [e.name, e.value ?? "(from a Secret)"]));
const store = (i: number) => `tidbstack-tikv-${i}.tidbstack-tikv-peer.tidbstack.svc:20160`;

describe("the Kubernetes target's PD max-replicas Job", () => {
  let defaults: ProgramRun;
  let scaledOut: ProgramRun;
  before(async () => {
    defaults = await runProgram({ target: "kubernetes" });
    scaledOut = await runProgram({ target: "kubernetes", tikvCount: "3" });
  });

  it("runs `pd max-replicas` of the ops image against the cluster's PD Service, for the operator's TiKV pods", () => {
    const c = container(job(defaults));
    assert.equal(c.image, "tidbstack-ops:local");
    assert.deepEqual(c.command, ["node", "ops/dist/main.js", "pd", "max-replicas"]);
    assert.deepEqual(env(job(defaults)), {
      PD_URL: "http://tidbstack-pd.tidbstack.svc:2379",
      TIKV_STORES: store(0),
      PD_MAX_REPLICAS: "1",
      // As long as Pulumi waits for the TidbCluster, first start included.
      PD_TIMEOUT_SECONDS: "1800",
    });
  });

  it("asks for 3 replicas once the 3 stores of tikvCount 3 are Up, and at most 3 with 5 stores", async () => {
    assert.deepEqual(env(job(scaledOut)), {
      PD_URL: "http://tidbstack-pd.tidbstack.svc:2379",
      TIKV_STORES: [0, 1, 2].map(store).join(","),
      PD_MAX_REPLICAS: "3",
      PD_TIMEOUT_SECONDS: "1800",
    });
    const five = await runProgram({ target: "kubernetes", tikvCount: "5" });
    assert.equal(env(job(five))["PD_MAX_REPLICAS"], "3");
  });

  it("is a new Job after a tikvCount change, so it runs again, and the same Job after a pdCount change", async () => {
    assert.notEqual(metadata(job(scaledOut)).name, metadata(job(defaults)).name);
    assert.equal(plan(defaults, scaledOut).get(URN), "replace");
    const morePds = await runProgram({ target: "kubernetes", pdCount: "3" });
    assert.equal(metadata(job(morePds)).name, metadata(job(defaults)).name);
    assert.equal(plan(defaults, morePds).get(URN), "same");
  });

  it("starts with the TidbCluster rather than after its Ready, which a scale-in reaches only once this has run", () => {
    assert.deepEqual(job(defaults).dependsOn, [
      "kubernetes:helm.sh/v4:Chart::tidbstack-tidb-operator-chart",
      "kubernetes:yaml/v2:ConfigFile::tidbstack-tidb-operator-crds",
    ]);
  });

  it("gives Kubernetes and Pulumi the step's wait plus five minutes to pull the image and retry", () => {
    const r = job(defaults);
    assert.equal(jobSpec(r).activeDeadlineSeconds, 2100);
    assert.equal(metadata(r).annotations["pulumi.com/timeoutSeconds"], "2100");
    assert.equal(metadata(r).annotations["pulumi.com/replaceUnready"], "true");
    assert.equal(jobSpec(r).template.metadata.labels["app.kubernetes.io/name"], "pd-max-replicas");
  });
});
