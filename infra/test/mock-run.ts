/**
 * Runs any function that declares resources under Pulumi's mocks and records what it declared, the way
 * harness.ts records infra/index.ts: type, name, resolved inputs, which inputs are secret, parent and
 * explicit dependencies. No engine, CLI or provider plugin; calls to provider functions are refused.
 * runKubernetesTarget() runs the Kubernetes target's deployKubernetes() this way.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig } from "../src/config.ts";
import { loadKubernetesConfig } from "../src/kubernetes/config.ts";
import { deployKubernetes } from "../src/kubernetes/stack.ts";
import { DEFAULT_SECRETS, type DeclaredResource, type ProgramRun } from "./harness.ts";

/** Computed state a real provider would return; enough for the program's own references. */
function providerState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  return type === "docker:index/image:Image"
    ? { ...inputs, repoDigest: `${String(inputs["imageName"]).replace(/:[^:/]+$/, "")}@sha256:built-${name}` }
    : inputs;
}

/** `type::name`, since a component and its only child often share a name. */
const nameOf = (resource: pulumi.Resource): string => {
  const { __name, __pulumiType } = resource as unknown as { __name: string; __pulumiType: string };
  return `${__pulumiType}::${__name}`;
};

const unwrap = <T>(output: pulumi.Output<T>): Promise<T> => new Promise((resolve) => output.apply(resolve));

/**
 * Runs `program` inside a mocked Pulumi stack with the given config (keys without the project prefix;
 * secrets listed separately) and returns what it declared and the outputs it returned.
 */
export async function runUnderMocks(
  program: () => Record<string, unknown> | Promise<Record<string, unknown>>,
  config: Record<string, string>,
  secrets: Record<string, string> = DEFAULT_SECRETS,
): Promise<ProgramRun> {
  const declared: Promise<DeclaredResource>[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => ({
        id: `${args.name}-id`,
        state: providerState(args.type, args.name, args.inputs as Record<string, unknown>),
      }),
      call: (args) => {
        throw new Error(`the program called ${args.token}, which is not mocked`);
      },
    },
    "tidbstack",
    "dev",
    false,
  );
  const all = { ...config, ...secrets };
  pulumi.runtime.setAllConfig(
    Object.fromEntries(Object.entries(all).map(([key, value]) => [`tidbstack:${key}`, value])),
    Object.keys(secrets).map((key) => `tidbstack:${key}`),
  );
  let outputs: Record<string, unknown> = {};
  await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation((args) => {
      declared.push(
        (async () => {
          const props = args.props as Record<string, unknown>;
          const secretInputs: string[] = [];
          for (const [key, value] of Object.entries(props)) {
            // output() lifts nested Outputs, so a secret anywhere inside the value makes it secret.
            if (await pulumi.isSecret(pulumi.output(value) as pulumi.Output<unknown>)) secretInputs.push(key);
          }
          const depends = await unwrap(pulumi.output(args.opts.dependsOn ?? []) as pulumi.Output<unknown>);
          // A set: sorted, since the order Pulumi resolves them in varies between runs.
          const dependsOn = (Array.isArray(depends) ? depends : [depends])
            .map((r) => nameOf(r as pulumi.Resource))
            .sort();
          return {
            type: args.type,
            name: args.name,
            inputs: await unwrap(pulumi.output(props)),
            secretInputs,
            dependsOn,
            parent: args.opts.parent === undefined ? undefined : nameOf(args.opts.parent),
          };
        })(),
      );
      return undefined;
    });
    const returned = await program();
    const resolved: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(returned)) {
      resolved[key] = pulumi.Output.isInstance(value) ? await unwrap(value) : value;
    }
    outputs = resolved;
    return {};
  });
  const resources = await Promise.all(declared);
  // Components register their outputs once what they depend on has registered, which can outlast the
  // stack's own function: drain those calls here, or they reach the next run's mocks and fail there.
  await pulumi.runtime.disconnect();
  return {
    resources,
    outputs,
    byName(name, type) {
      const found = resources.find((r) => r.name === name && (type === undefined || r.type === type));
      if (found === undefined)
        throw new Error(`no resource named ${name}; declared: ${resources.map((r) => r.name).join(", ")}`);
      return found;
    },
    ofType: (type) => resources.filter((r) => r.type === type),
  };
}

/** The Kubernetes target, configured from the stack config as the program will read it. */
export function runKubernetesTarget(
  config: Record<string, string>,
  secrets: Record<string, string> = DEFAULT_SECRETS,
): Promise<ProgramRun> {
  return runUnderMocks(
    () => {
      const stack = loadStackConfig();
      return deployKubernetes(stack, loadKubernetesConfig(new pulumi.Config(), stack.name));
    },
    config,
    secrets,
  );
}
