/**
 * Runs the Pulumi program in-process under mocks and records every resource it declares: type, name,
 * resolved inputs, which inputs are secret, its parent and its explicit dependencies. No engine, CLI or
 * provider plugin is involved; calls to provider functions are refused, so the program may not depend on
 * any.
 */
import * as pulumi from "@pulumi/pulumi";

export interface DeclaredResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  /** Names of the inputs whose value is a secret Output. */
  readonly secretInputs: string[];
  /** `type::name` of the resources this one explicitly depends on. */
  readonly dependsOn: string[];
  readonly parent: string | undefined;
}

export interface ProgramRun {
  readonly resources: DeclaredResource[];
  readonly outputs: Record<string, unknown>;
  /** The resource with this name, of this type when a component and its child share the name. */
  byName(name: string, type?: string): DeclaredResource;
  ofType(type: string): DeclaredResource[];
}

/** Computed state a real provider would return; enough for the program's own references. */
function providerState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case "docker:index/remoteImage:RemoteImage":
      return { ...inputs, imageId: `sha256:${name}`, repoDigest: `${String(inputs["name"])}@sha256:${name}` };
    case "docker:index/image:Image":
      return { ...inputs, repoDigest: `${String(inputs["imageName"])}@sha256:built-${name}` };
    default:
      return inputs;
  }
}

/** `type::name`, since a component and its only child often share a name. */
const nameOf = (resource: pulumi.Resource): string => {
  const { __name, __pulumiType } = resource as unknown as { __name: string; __pulumiType: string };
  return `${__pulumiType}::${__name}`;
};

const unwrap = <T>(output: pulumi.Output<T>): Promise<T> => new Promise((resolve) => output.apply(resolve));

/**
 * Runs `infra/index.ts` with the given stack config (keys without the project prefix; secrets listed
 * separately). Each call loads a fresh copy of the program module.
 */
export async function runProgram(
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
    const program = (await import(`../index.ts?run=${Math.random().toString(36).slice(2)}`)) as Record<
      string,
      unknown
    >;
    const resolved: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(program)) {
      resolved[key] = pulumi.Output.isInstance(value) ? await unwrap(value) : value;
    }
    outputs = resolved;
    return {};
  });
  const resources = await Promise.all(declared);
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

export const DEFAULT_SECRETS = {
  adminPassword: "temp-password",
  tidbRootPassword: "root-secret-value",
  apiDbPassword: "api-secret-value",
  grafanaAdminPassword: "grafana-secret-value",
};
