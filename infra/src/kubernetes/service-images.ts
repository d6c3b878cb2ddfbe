import * as pulumi from "@pulumi/pulumi";
import { ServiceImage, type Workspace } from "../components/service-image.ts";

export interface ServiceImagesArgs {
  /** The stack's name: images are `<stack>-api`, `<stack>-consumer`, `<stack>-ops`. */
  readonly stack: string;
  /**
   * Registry and path to push to, e.g. `registry.example.com/team`. Undefined: nothing is built here; the
   * images are expected in the cluster's nodes under `<stack>-<workspace>:local` (`kind load docker-image`).
   */
  readonly registry: string | undefined;
  /** The repository root relative to where Pulumi runs: the build context. */
  readonly context: string;
  /** The Node.js base image (build argument BASE_IMAGE). */
  readonly baseImage: string;
  /** Platform of the cluster's nodes, e.g. `linux/arm64`; default this machine's. */
  readonly platform: string | undefined;
  /** The tag pushed; pods use the digest, the tag only names the build in the registry. */
  readonly tag: string;
}

/** What a local cluster is given by hand: the same names the Docker target builds. */
export const localImageRef = (stack: string, workspace: Workspace): string => `${stack}-${workspace}:local`;

/**
 * The API, consumer and ops images as the cluster gets them. With a registry, built here from the root
 * Dockerfile (as on Docker) and pushed; pods take them by digest (a rebuild rolls the Deployments and
 * re-runs the Jobs) and pull them if absent. Without one, built and loaded into a kind or k3d cluster by
 * hand; pods never pull (`Never`), so a missing image fails at once with ErrImageNeverPull instead of a
 * pull from a registry that does not have it.
 */
export class ServiceImages extends pulumi.ComponentResource {
  readonly refs: Record<Workspace, pulumi.Output<string>>;
  readonly pullPolicy: "IfNotPresent" | "Never";

  constructor(name: string, args: ServiceImagesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:kubernetes:ServiceImages", name, {}, opts);
    const { registry } = args;
    const ref = (workspace: Workspace): pulumi.Output<string> =>
      registry === undefined
        ? pulumi.output(localImageRef(args.stack, workspace))
        : new ServiceImage(
            `${args.stack}-${workspace}`,
            {
              context: args.context,
              workspace,
              baseImage: args.baseImage,
              ...(args.platform === undefined ? {} : { platform: args.platform }),
              push: { registry, tag: args.tag },
            },
            { parent: this },
          ).ref;
    this.refs = { api: ref("api"), consumer: ref("consumer"), ops: ref("ops") };
    this.pullPolicy = registry === undefined ? "Never" : "IfNotPresent";
    this.registerOutputs({});
  }
}
