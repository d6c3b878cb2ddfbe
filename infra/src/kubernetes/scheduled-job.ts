import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { childOf } from "../lib/options.ts";
import { appLabels } from "./names.ts";
import { stepContainer, stepPodSpec, type StepPodArgs } from "./run-once-job.ts";

export interface ScheduledJobArgs extends StepPodArgs {
  /** The stack's name, for labels. */
  readonly stack: string;
  readonly namespace: pulumi.Input<string>;
  /** When it runs, in cron syntax (the cluster's time zone, UTC on most). */
  readonly schedule: string;
  /** How long one run may take, in seconds, before Kubernetes stops it. */
  readonly deadlineSeconds: number;
}

/**
 * A step that runs on a schedule, as a CronJob of one of the stack's images (the token purge with
 * `--once`). A run never overlaps the previous one (Forbid), a missed run is not made up for later beyond
 * one (startingDeadlineSeconds), and only the last few runs are kept for `kubectl logs`. Pulumi does not
 * wait for a run: the CronJob is ready once it exists.
 */
export class ScheduledJob extends pulumi.ComponentResource {
  readonly cronJob: k8s.batch.v1.CronJob;

  constructor(name: string, args: ScheduledJobArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:kubernetes:ScheduledJob", name, {}, opts);
    const labels = appLabels(args.stack, args.role);
    const container = stepContainer(args);
    this.cronJob = new k8s.batch.v1.CronJob(
      name,
      {
        metadata: { name: `${args.stack}-${args.role}`, namespace: args.namespace, labels },
        spec: {
          schedule: args.schedule,
          concurrencyPolicy: "Forbid",
          // One missed run is enough to catch up: each run deletes everything that is due.
          startingDeadlineSeconds: args.deadlineSeconds,
          successfulJobsHistoryLimit: 1,
          failedJobsHistoryLimit: 3,
          jobTemplate: {
            metadata: { labels },
            spec: {
              backoffLimit: 2,
              activeDeadlineSeconds: args.deadlineSeconds,
              template: { metadata: { labels }, spec: stepPodSpec(args, container) },
            },
          },
        },
      },
      childOf(this, opts),
    );
    this.registerOutputs({});
  }
}
