import type * as pulumi from "@pulumi/pulumi";

/**
 * Options for a component's child: parented to the component and waiting for what the component was told
 * to wait for. Pulumi does not pass a component's `dependsOn` down to its children by itself, so without
 * this a component's containers and commands would start before the resources it names.
 */
export function childOf(
  component: pulumi.ComponentResource,
  opts: pulumi.ComponentResourceOptions | undefined,
): pulumi.CustomResourceOptions {
  return opts?.dependsOn === undefined
    ? { parent: component }
    : { parent: component, dependsOn: opts.dependsOn };
}
