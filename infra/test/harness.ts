/**
 * Runs the Pulumi program in-process under mocks and records every resource it declares: type, name,
 * resolved inputs, which inputs are secret, its parent, its explicit dependencies and the resource options
 * that decide what a later `pulumi up` does to it. No engine, CLI or provider plugin is involved; calls to
 * provider functions are refused, so the program may not depend on any.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { StackConfigError } from "../src/config.ts";
import { contextDigest } from "./provider-context-digest.ts";

/** The options that decide how Pulumi changes or deletes a resource on a later run. */
export interface DeclaredOptions {
  readonly deleteBeforeReplace: boolean | undefined;
  readonly retainOnDelete: boolean | undefined;
  readonly ignoreChanges: string[];
  readonly replaceOnChanges: string[];
  /** Names this resource was known by before (aliases given by name). */
  readonly aliasNames: string[];
  /** Transforms applied to it and its children (a chart's rendered objects, say). */
  readonly transforms: pulumi.ResourceTransform[];
}

export interface DeclaredResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  /** Names of the inputs whose value is a secret Output. */
  readonly secretInputs: string[];
  /** `type::name` of the resources this one explicitly depends on. */
  readonly dependsOn: string[];
  readonly parent: string | undefined;
  readonly options: DeclaredOptions;
}

export interface ProgramRun {
  readonly resources: DeclaredResource[];
  readonly outputs: Record<string, unknown>;
  /** The resource with this name, of this type when a component and its child share the name. */
  byName(name: string, type?: string): DeclaredResource;
  ofType(type: string): DeclaredResource[];
}

export interface RunOptions {
  /** Secret config values (keys without the project prefix). Default DEFAULT_SECRETS. */
  readonly secrets?: Record<string, string>;
  /**
   * What the mocked builds produce: the same build label gives every image the same id on every run, a
   * different one a different id, as a rebuild after a source change does. Per image name (e.g.
   * `tidbstack-api`); default "1".
   */
  readonly builds?: Record<string, string>;
  /**
   * Files of the repository changed for this run (path from the repository root → new text), as the Docker
   * provider would see them when it hashes a build context. Default none.
   */
  readonly sourceEdits?: Record<string, string>;
}

/**
 * Computed state a real provider would return; enough for the program's own references. A built image that
 * is not pushed gets its image id as `repoDigest` (pulumi-docker provider/image.go: with skipPush it
 * returns the id `docker inspect` reports); a pushed one, its registry digest.
 */
function providerState(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
  builds: Record<string, string>,
): Record<string, unknown> {
  const sha = (text: string) => `sha256:${createHash("sha256").update(text).digest("hex")}`;
  switch (type) {
    case "docker:index/remoteImage:RemoteImage":
      return { ...inputs, imageId: sha(String(inputs["name"])) };
    case "docker:index/image:Image": {
      const id = sha(`${name} build ${builds[name] ?? "1"}`);
      // Pushed: the registry's `<repository>@sha256:...`, where the repository is the name less its tag.
      const repository = String(inputs["imageName"]).replace(/:[^:/]+$/, "");
      return { ...inputs, repoDigest: inputs["skipPush"] === false ? `${repository}@${id}` : id };
    }
    default:
      return inputs;
  }
}

/**
 * A built image's inputs as the Docker provider's Check returns them: with `build.contextDigest`, the hash
 * of what its ignore file lets into the build (provider-context-digest.ts), which is what makes a source
 * change show as an update of the image. `edits` are paths from the repository root, the build context.
 */
function withContextDigest(
  inputs: Record<string, unknown>,
  edits: Record<string, string>,
): Record<string, unknown> {
  const build = inputs["build"] as { context: string; dockerfile: string };
  return {
    ...inputs,
    build: { ...build, contextDigest: contextDigest(build.context, build.dockerfile, edits) },
  };
}

/** `type::name`, since a component and its only child often share a name. */
const nameOf = (resource: pulumi.Resource): string => {
  const { __name, __pulumiType } = resource as unknown as { __name: string; __pulumiType: string };
  return `${__pulumiType}::${__name}`;
};

const unwrap = <T>(output: pulumi.Output<T>): Promise<T> => new Promise((resolve) => output.apply(resolve));

/** Resolves Outputs anywhere inside a value (stack outputs may be plain objects holding Outputs). */
const resolveDeep = (value: unknown): Promise<unknown> =>
  unwrap(pulumi.output(value) as pulumi.Output<unknown>);

/**
 * What Pulumi's Node.js runtime takes as the stack outputs of an ES module program (@pulumi/pulumi
 * cmd/run/run.js): its `default` export if it has one, and then nothing else may be exported; a function
 * is called and its result awaited.
 */
async function stackOutputsOf(module: Record<string, unknown>): Promise<unknown> {
  let exported: unknown = module;
  if (Object.getOwnPropertyDescriptor(module, "default") !== undefined) {
    if (Object.keys(module).length !== 1)
      throw new Error(
        "expected entrypoint module to have either a default export or named exports but not both",
      );
    exported = module["default"];
  }
  return exported instanceof Function ? await (exported as () => unknown)() : exported;
}

const aliasNamesOf = async (aliases: unknown): Promise<string[]> => {
  const list = (await resolveDeep(aliases ?? [])) as unknown[];
  return list.flatMap((alias) =>
    typeof alias === "object" && alias !== null && typeof (alias as { name?: unknown }).name === "string"
      ? [(alias as { name: string }).name]
      : [],
  );
};

/**
 * Runs `infra/index.ts` with the given stack config (keys without the project prefix). Each call loads a
 * fresh copy of the program module.
 */
export async function runProgram(
  config: Record<string, string>,
  options: RunOptions = {},
): Promise<ProgramRun> {
  const secrets = options.secrets ?? DEFAULT_SECRETS;
  const builds = options.builds ?? {};
  const sourceEdits = options.sourceEdits ?? {};
  const declared: Promise<DeclaredResource>[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => ({
        id: `${args.name}-id`,
        state: providerState(args.type, args.name, args.inputs as Record<string, unknown>, builds),
      }),
      call: (args) => {
        throw new Error(`the program called ${args.token}, which is not mocked`);
      },
    },
    "tidbstack",
    "dev",
    false,
  );
  setStackConfig(config, secrets);
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
          const opts = args.opts as pulumi.CustomResourceOptions;
          const inputs = (await resolveDeep(props)) as Record<string, unknown>;
          return {
            type: args.type,
            name: args.name,
            inputs:
              args.type === "docker:index/image:Image" ? withContextDigest(inputs, sourceEdits) : inputs,
            secretInputs,
            dependsOn,
            parent: args.opts.parent === undefined ? undefined : nameOf(args.opts.parent),
            options: {
              deleteBeforeReplace: opts.deleteBeforeReplace,
              retainOnDelete: opts.retainOnDelete,
              ignoreChanges: opts.ignoreChanges ?? [],
              replaceOnChanges: opts.replaceOnChanges ?? [],
              aliasNames: await aliasNamesOf(opts.aliases),
              transforms: opts.transforms ?? [],
            },
          };
        })(),
      );
      return undefined;
    });
    const program = (await import(`../index.ts?run=${Math.random().toString(36).slice(2)}`)) as Record<
      string,
      unknown
    >;
    outputs = (await resolveDeep(await stackOutputsOf(program))) as Record<string, unknown>;
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

export const DEFAULT_SECRETS = {
  adminPassword: "temp-password",
  tidbRootPassword: "root-secret-value",
  apiDbPassword: "api-secret-value",
  purgeDbPassword: "purge-secret-value",
  grafanaAdminPassword: "grafana-secret-value",
};

/** What a second `pulumi up` would do to one resource. */
export type Change = "same" | "update" | "replace" | "create" | "delete";

/**
 * The inputs of each resource type whose change makes its provider replace the resource rather than update
 * it in place, as far as this program uses them. `"*"`: every input (a Docker container or volume is
 * recreated for any change the program can make to it; the Docker provider updates none of these inputs
 * in place). For `local.Command`, only `triggers` (pulumi-command provider/pkg/provider/common/inputs.go:
 * `Triggers ... provider:"replaceOnChanges"`); create/update/delete/environment changes are updates.
 */
const REPLACING_INPUTS: Record<string, "*" | string[]> = {
  "docker:index/container:Container": "*",
  "docker:index/volume:Volume": "*",
  "docker:index/network:Network": "*",
  "docker:index/remoteImage:RemoteImage": ["name"],
  "docker:index/image:Image": [],
  "command:local:Command": ["triggers"],
};

/** A resource's identity across runs: its parent, type and name (what its URN is made of). */
const identity = (r: DeclaredResource, name = r.name) => `${r.parent ?? ""}|${r.type}::${name}`;

/**
 * Compares two runs of the program the way the engine would compare the second run's goal with the state
 * the first left: by URN (following aliases), ignoring `ignoreChanges` paths, and classifying each input
 * change by REPLACING_INPUTS (plus `replaceOnChanges`). Components have no inputs and are always "same".
 */
export function plan(before: ProgramRun, after: ProgramRun): Map<string, Change> {
  const old = new Map(before.resources.map((r) => [identity(r), r]));
  const changes = new Map<string, Change>();
  for (const r of after.resources) {
    const key = [identity(r), ...r.options.aliasNames.map((alias) => identity(r, alias))].find((k) =>
      old.has(k),
    );
    const previous = key === undefined ? undefined : old.get(key);
    if (key !== undefined) old.delete(key);
    changes.set(`${r.type}::${r.name}`, previous === undefined ? "create" : changeOf(previous, r));
  }
  for (const r of old.values()) changes.set(`${r.type}::${r.name}`, "delete");
  return changes;
}

function changeOf(previous: DeclaredResource, next: DeclaredResource): Change {
  // The engine resets ignored inputs to their old values (step_generator.go, processIgnoreChanges).
  const ignored = new Set(next.options.ignoreChanges);
  const inputs = Object.fromEntries([
    ...Object.entries(next.inputs).filter(([key]) => !ignored.has(key)),
    ...Object.entries(previous.inputs).filter(([key]) => ignored.has(key)),
  ]);
  const keys = new Set([...Object.keys(previous.inputs), ...Object.keys(inputs)]);
  const changed = [...keys].filter(
    (key) => JSON.stringify(previous.inputs[key]) !== JSON.stringify(inputs[key]),
  );
  if (changed.length === 0) return "same";
  const replacing = REPLACING_INPUTS[next.type] ?? "*";
  // replaceOnChanges paths such as `triggers[*]`, by the top-level input they name.
  const alsoReplacing = next.options.replaceOnChanges.map((path) => path.split(/[[.]/)[0]);
  const forces = (key: string) => replacing === "*" || replacing.includes(key) || alsoReplacing.includes(key);
  return changed.some(forces) ? "replace" : "update";
}

/** A Docker container's environment, from the `NAME=value` list the program gives it. */
export const envOf = (r: DeclaredResource): Record<string, string> =>
  Object.fromEntries(
    (r.inputs["envs"] as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
  );

/** The environment a one-off step's command line sets with `-e NAME=value`. */
export const stepEnv = (commandLine: string): Record<string, string> =>
  Object.fromEntries(
    [...commandLine.matchAll(/-e ([A-Z_]+)=('(?:[^']|'\\'')*'|\S+)/g)].map(([, key, value]) => [
      key ?? "",
      (value ?? "").replace(/^'|'$/g, ""),
    ]),
  );

/** Sets the stack's config (keys without the project prefix) for the next `new pulumi.Config()`. */
export function setStackConfig(config: Record<string, string>, secrets: Record<string, string> = {}): void {
  pulumi.runtime.setAllConfig(
    Object.fromEntries(
      Object.entries({ ...config, ...secrets }).map(([key, value]) => [`tidbstack:${key}`, value]),
    ),
    Object.keys(secrets).map((key) => `tidbstack:${key}`),
  );
}

/** One test per bad value: loading the config fails at preview, naming the key and saying what is wrong. */
export function itRefusesEach(
  load: (config: Record<string, string>) => unknown,
  cases: readonly [config: Record<string, string>, key: string, problem: RegExp][],
): void {
  for (const [config, key, problem] of cases) {
    it(`fails at preview naming ${key} when it is ${JSON.stringify(config[key])}`, () => {
      assert.throws(
        () => load(config),
        (error: unknown) =>
          error instanceof StackConfigError &&
          error.message.startsWith(`invalid config "${key}"`) &&
          problem.test(error.message),
      );
    });
  }
}
