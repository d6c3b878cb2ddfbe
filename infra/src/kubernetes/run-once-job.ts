import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { childOf } from "../lib/options.ts";
import { appLabels, contentHash } from "./names.ts";
import { restrictedContainerSecurity, restrictedPodSecurity, TMP_MOUNT, TMP_VOLUME } from "./workload.ts";

type EnvVar = k8s.types.input.core.v1.EnvVar;

export interface RunOnceJobArgs {
  /** The stack's name, for labels. */
  readonly stack: string;
  /** What the step is, e.g. `migrate`: the Job's name prefix, its label and its container's name. */
  readonly role: string;
  readonly namespace: pulumi.Input<string>;
  /** One of the stack's images (by digest when pulled from a registry). */
  readonly image: pulumi.Input<string>;
  readonly imagePullPolicy: "IfNotPresent" | "Never";
  readonly imagePullSecret?: string | undefined;
  readonly command: readonly string[];
  /** Its environment; secrets only as `secretKeyRef` (see envVars). */
  readonly env: pulumi.Input<EnvVar>[];
  /**
   * What else should re-run the step without showing in its pod spec, e.g. a digest of the migrations
   * when the image is a mutable local tag. Hashed into the name and recorded as annotations.
   */
  readonly triggers?: Record<string, string>;
  /** How long the step may take, image pull included, in seconds: the Job's deadline and Pulumi's wait. */
  readonly timeoutSeconds: number;
}

/** The annotation holding the digest the Job's name ends with. */
export const CONTENT_HASH_ANNOTATION = "tidbstack.dev/content-hash";

/**
 * A one-off step as a Job that Pulumi waits to complete. Jobs are immutable, so the Job's name ends with a
 * digest of everything it runs (image, command, environment, triggers): a change creates a new Job, which
 * runs again, and the old one is deleted. A Job that failed is replaced on the next `pulumi up`
 * (`pulumi.com/replaceUnready`) instead of being left failed. Both steps are idempotent, so a re-run is safe.
 */
export class RunOnceJob extends pulumi.ComponentResource {
  readonly job: k8s.batch.v1.Job;

  constructor(name: string, args: RunOnceJobArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:kubernetes:RunOnceJob", name, {}, opts);
    const labels = appLabels(args.stack, args.role);
    const triggers = args.triggers ?? {};
    const container = stepContainer(args);
    const hash = pulumi.output({ container, triggers }).apply((content) => contentHash(content));
    this.job = new k8s.batch.v1.Job(
      name,
      {
        metadata: {
          name: pulumi.interpolate`${args.stack}-${args.role}-${hash}`,
          namespace: args.namespace,
          labels,
          annotations: {
            ...triggers,
            [CONTENT_HASH_ANNOTATION]: hash,
            "pulumi.com/replaceUnready": "true",
            "pulumi.com/timeoutSeconds": String(args.timeoutSeconds),
          },
        },
        spec: {
          // Retries with Kubernetes' back-off (10 s, 20 s, 40 s) ride out a TiCDC owner election or a
          // TiDB still warming up; both steps are idempotent.
          backoffLimit: 3,
          activeDeadlineSeconds: args.timeoutSeconds,
          template: {
            metadata: { labels },
            spec: stepPodSpec(args, container),
          },
        },
      },
      childOf(this, opts),
    );
    this.registerOutputs({});
  }
}

/** What a step's container is: one of the stack's images under the restricted profile, /tmp writable. */
export type StepPodArgs = Pick<
  RunOnceJobArgs,
  "role" | "image" | "imagePullPolicy" | "imagePullSecret" | "command" | "env"
>;

export function stepContainer(args: StepPodArgs) {
  return {
    name: args.role,
    image: args.image,
    imagePullPolicy: args.imagePullPolicy,
    command: [...args.command],
    env: args.env,
    securityContext: restrictedContainerSecurity(),
    // The migration hashes the seed admin's password with scrypt (128 MiB); the rest is a Node process.
    resources: { requests: { cpu: "100m", memory: "192Mi" }, limits: { memory: "512Mi" } },
    volumeMounts: [TMP_MOUNT],
  };
}

/** The pod of a step that runs to completion: failed pods stay for `kubectl logs`; the Job retries. */
export function stepPodSpec(
  args: StepPodArgs,
  container: ReturnType<typeof stepContainer>,
): k8s.types.input.core.v1.PodSpec {
  return {
    restartPolicy: "Never",
    automountServiceAccountToken: false,
    securityContext: restrictedPodSecurity(),
    ...(args.imagePullSecret === undefined ? {} : { imagePullSecrets: [{ name: args.imagePullSecret }] }),
    containers: [container],
    volumes: [TMP_VOLUME],
  };
}
