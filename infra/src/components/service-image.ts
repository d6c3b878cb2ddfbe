import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { prepareImageContext } from "../lib/image-context.ts";

/** The npm workspaces the root Dockerfile builds an image of. */
export type Workspace = "api" | "consumer" | "ops";

export interface ServiceImageArgs {
  /**
   * The repository root, relative to where Pulumi runs: the build context (every service imports
   * service-kit). What of it reaches the build, and the provider's context hash, is the root
   * `.dockerignore`'s selection less the sources of the workspaces this image does not contain
   * (lib/image-context.ts).
   */
  readonly context: string;
  /** Which workspace to build (build argument WORKSPACE of the root Dockerfile). */
  readonly workspace: Workspace;
  /** The Node.js base image (build argument BASE_IMAGE). */
  readonly baseImage: string;
  /**
   * The stack's `name` (build argument STACK_NAME): the image is labelled `io.tidbstack.stack=<name>`, by
   * which `npm run down` removes every build of the stack. Default: unlabelled.
   */
  readonly stackName?: string;
  /**
   * Target platform such as `linux/arm64`. Default: none given, and the Docker provider then builds for
   * `linux/<the architecture it runs on>` (pulumi-docker provider/provider.go, Check): the host's own, which
   * its engine runs without emulation.
   */
  readonly platform?: string;
  /**
   * Push the image as `<registry>/<name>:<tag>` with the credentials of `docker login <registry>` here
   * (the Kubernetes target's nodes pull it). Default: not pushed, tagged `<name>:local`.
   */
  readonly push?: { readonly registry: string; readonly tag: string };
}

/** A service image built from the root Dockerfile: kept local (the Docker target) or pushed to a registry. */
export class ServiceImage extends pulumi.ComponentResource {
  /**
   * The built image by id (`sha256:...`: the provider's `repoDigest` of an image it does not push), or by
   * `<registry>/<name>@sha256:...` once pushed: containers, pods and steps that use it change when a rebuild
   * changes it, which a tag alone would not do.
   */
  readonly ref: pulumi.Output<string>;
  /** The tag, `<name>:local` or the pushed one: always names the newest build. */
  readonly tag: pulumi.Output<string>;

  constructor(name: string, args: ServiceImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:app:ServiceImage", name, {}, opts);
    const image = new docker.Image(
      name,
      {
        imageName:
          args.push === undefined ? `${name}:local` : `${args.push.registry}/${name}:${args.push.tag}`,
        skipPush: args.push === undefined,
        build: {
          context: args.context,
          // The root Dockerfile's copy beside this image's own ignore file, so the provider hashes and sends
          // only the workspaces the image contains. The path is relative to where Pulumi runs, not to the
          // context, as the provider reads it.
          dockerfile: prepareImageContext(args.context, args.workspace),
          args: {
            WORKSPACE: args.workspace,
            BASE_IMAGE: args.baseImage,
            ...(args.stackName === undefined ? {} : { STACK_NAME: args.stackName }),
          },
          // BuildKit through the engine's API: works on Engine 20.10 without buildx, and unlike the classic
          // builder leaves no stopped container behind per build step.
          builderVersion: "BuilderBuildKit",
          ...(args.platform === undefined ? {} : { platform: args.platform }),
        },
      },
      { parent: this },
    );
    this.ref = image.repoDigest;
    this.tag = image.imageName;
    this.registerOutputs({ ref: this.ref, tag: this.tag });
  }
}
