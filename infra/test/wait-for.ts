/**
 * What Pulumi's Kubernetes provider decides from a `pulumi.com/waitFor` annotation, for the tests that
 * check the program's await against an object's status (pulumi-kubernetes provider/pkg/metadata
 * overrides.go and provider/pkg/jsonpath): one expression or a JSON array of several, all of which must
 * hold; `condition=Type` holds when that condition's status is True; `jsonpath={path}=value` when the
 * path's first value, printed, equals the value. Dotted paths only: all the program uses.
 */
import assert from "node:assert/strict";

/** The expressions of a `pulumi.com/waitFor` annotation value. */
export const waitForExpressions = (annotation: string): string[] =>
  annotation.startsWith("[") ? (JSON.parse(annotation) as string[]) : [annotation];

export function waitForSatisfied(expressions: string[], object: Record<string, unknown>): boolean {
  return expressions.every((expression) => {
    const condition = /^condition=(\w+)$/.exec(expression);
    if (condition !== null) {
      const status = object["status"] as { conditions?: { type: string; status: string }[] } | undefined;
      return (status?.conditions ?? []).some((c) => c.type === condition[1] && c.status === "True");
    }
    const jsonpath = /^jsonpath=\{\.([\w.]+)\}=(.+)$/.exec(expression);
    assert.ok(jsonpath, `an expression this check understands: ${expression}`);
    const value = (jsonpath[1] ?? "")
      .split(".")
      .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], object);
    // The provider prints a scalar with Go's fmt.Sprint; the paths here all end at numbers or strings.
    return (typeof value === "number" || typeof value === "string") && String(value) === jsonpath[2];
  });
}

/**
 * A TidbCluster status as TiDB Operator v1.6.6 writes it once every component runs the given counts and
 * release, Ready (TidbClusterStatus in pkg/apis/pingcap/v1alpha1/types.go: `<component>.statefulSet` is
 * the StatefulSet's status, `image` its container's image; TiCDC's has no image).
 */
export function tidbClusterStatus(shape: {
  pd: number;
  tikv: number;
  tidb: number;
  ticdc: number;
  version: string;
}): Record<string, unknown> {
  const component = (name: string, replicas: number) => ({
    phase: "Normal",
    statefulSet: { replicas, readyReplicas: replicas },
    ...(name === "ticdc" ? {} : { image: `pingcap/${name}:${shape.version}` }),
  });
  return {
    conditions: [{ type: "Ready", status: "True", reason: "Ready" }],
    pd: component("pd", shape.pd),
    tikv: component("tikv", shape.tikv),
    tidb: component("tidb", shape.tidb),
    ticdc: component("ticdc", shape.ticdc),
  };
}
