import { posix } from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

/** The npm workspaces the root Dockerfile builds an image of. */
export type Workspace = "api" | "consumer" | "ops";

export interface ServiceImageArgs {
  /**
   * The repository root, relative to where Pulumi runs: the build context (every service imports
   * service-kit). What of it reaches the build, and the provider's context hash, is decided by the root
   * `.dockerignore`.
   */
  readonly context: string;
  /** Which workspace to build (build argument WORKSPACE of the root Dockerfile). */
  readonly workspace: Workspace;
  /** The Node.js base image (build argument BASE_IMAGE). */
  readonly baseImage: string;
  /**
   * Target platform such as `linux/arm64`. Default: none given, and the Docker provider then builds for
   * `linux/<the architecture it runs on>` (pulumi-docker provider/provider.go, Check): the host's own, which
   * its engine runs without emulation.
   */
  readonly platform?: string;
}

/** A service image built locally from the root Dockerfile and never pushed (there is no registry here). */
export class ServiceImage extends pulumi.ComponentResource {
  /**
   * The built image by id (`sha256:...`: the provider's `repoDigest` of an image it does not push):
   * containers and steps that use it change when a rebuild changes it, which a tag alone would not do.
   */
  readonly ref: pulumi.Output<string>;
  /** The local tag, `<name>:local`: always names the newest build. */
  readonly tag: pulumi.Output<string>;

  constructor(name: string, args: ServiceImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:app:ServiceImage", name, {}, opts);
    const image = new docker.Image(
      name,
      {
        imageName: `${name}:local`,
        skipPush: true,
        build: {
          context: args.context,
          // The Docker provider reads the Dockerfile path relative to where Pulumi runs, not to the context.
          dockerfile: posix.join(args.context, "Dockerfile"),
          args: { WORKSPACE: args.workspace, BASE_IMAGE: args.baseImage },
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
