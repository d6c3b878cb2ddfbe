import { posix } from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

/** The stack's own images and the Dockerfile each is built from (paths inside the repository). */
export const SERVICE_DOCKERFILES = {
  api: "api/Dockerfile",
  consumer: "consumer/Dockerfile",
  ops: "ops/Dockerfile",
} as const;

export type ServiceImageName = keyof typeof SERVICE_DOCKERFILES;

export interface ServiceImagesArgs {
  /** The stack's name: images are `<stack>-api`, `<stack>-consumer`, `<stack>-ops`. */
  readonly stack: string;
  /**
   * Registry and path to push to, e.g. `registry.example.com/team`. Undefined: nothing is built here; the
   * images are expected in the cluster's nodes under `<stack>-<image>:local` (`kind load docker-image`).
   */
  readonly registry: string | undefined;
  /** The repository root relative to where Pulumi runs: the build context. */
  readonly context: string;
  /** The Node.js base image (build argument BASE_IMAGE). */
  readonly baseImage: string;
  /** The tag pushed; pods use the digest, the tag only names the build in the registry. */
  readonly tag: string;
}

/** What a local cluster is given by hand: the same names the Docker target builds. */
export const localImageRef = (stack: string, image: ServiceImageName): string => `${stack}-${image}:local`;

/**
 * The API, consumer and ops images as the cluster gets them. With a registry, built here and pushed; pods
 * take them by digest (a rebuild rolls the Deployments and re-runs the Jobs) and pull them if absent. Without
 * one, built and loaded into a kind or k3d cluster by hand; pods never pull (`Never`), so a missing image
 * fails at once with ErrImageNeverPull instead of a pull from a registry that does not have it.
 */
export class ServiceImages extends pulumi.ComponentResource {
  readonly refs: Record<ServiceImageName, pulumi.Output<string>>;
  readonly pullPolicy: "IfNotPresent" | "Never";

  constructor(name: string, args: ServiceImagesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:kubernetes:ServiceImages", name, {}, opts);
    const { registry } = args;
    const ref = (image: ServiceImageName): pulumi.Output<string> => {
      if (registry === undefined) return pulumi.output(localImageRef(args.stack, image));
      const built = new docker.Image(
        `${name}-${image}`,
        {
          imageName: `${registry}/${args.stack}-${image}:${args.tag}`,
          build: {
            context: args.context,
            // The Docker provider reads the Dockerfile path relative to where Pulumi runs, not to the context.
            dockerfile: posix.join(args.context, SERVICE_DOCKERFILES[image]),
            args: { BASE_IMAGE: args.baseImage },
            // The classic builder works on any engine; buildx is not installed everywhere.
            builderVersion: "BuilderV1",
            platform: "linux/amd64",
          },
          // Pushed with the credentials of `docker login <registry>` on this machine.
          skipPush: false,
        },
        { parent: this },
      );
      return built.repoDigest;
    };
    this.refs = { api: ref("api"), consumer: ref("consumer"), ops: ref("ops") };
    this.pullPolicy = registry === undefined ? "Never" : "IfNotPresent";
    this.registerOutputs({});
  }
}
