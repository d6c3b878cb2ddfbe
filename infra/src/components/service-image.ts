import { posix } from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

export interface ServiceImageArgs {
  /** The repository root, relative to where Pulumi runs: the build context (the services import service-kit). */
  readonly context: string;
  /** The Dockerfile's path inside the repository, e.g. api/Dockerfile. */
  readonly dockerfile: string;
  /** The Node.js base image (build argument BASE_IMAGE). */
  readonly baseImage: string;
}

/** A service image built locally from its Dockerfile and never pushed (there is no registry in this stack). */
export class ServiceImage extends pulumi.ComponentResource {
  /**
   * The built image by digest: containers that use it are replaced when a rebuild changes it, which a tag
   * alone would not do.
   */
  readonly ref: pulumi.Output<string>;

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
          dockerfile: posix.join(args.context, args.dockerfile),
          args: { BASE_IMAGE: args.baseImage },
          // The classic builder works on any engine; buildx is not installed everywhere.
          builderVersion: "BuilderV1",
          platform: "linux/amd64",
        },
      },
      { parent: this },
    );
    this.ref = image.repoDigest;
    this.registerOutputs({ ref: this.ref });
  }
}
