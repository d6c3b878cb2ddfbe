import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { dockerRun } from "../lib/docker.ts";
import { dlqTopicOf } from "../lib/service-env.ts";
import { KAFKA_BOOTSTRAP, PORTS, sinkUri } from "../lib/topology.ts";
import { childOf } from "../lib/options.ts";

export interface ChangefeedArgs {
  readonly networkName: pulumi.Input<string>;
  /** The consumer image (it carries the changefeed command and a Kafka client). */
  readonly consumerImage: pulumi.Input<string>;
  /** Changefeed id; TiCDC's rule: letters and digits in dash-separated groups. */
  readonly id: string;
  readonly topic: string;
  readonly partitions: number;
  /** The database whose tables are replicated. */
  readonly database: string;
}

/**
 * Creates the CDC topic and its dead-letter topic, then creates (or resumes) the TiCDC changefeed into it
 * and waits until it is normal. `pulumi destroy` deletes the changefeed; the topics go with Kafka.
 */
export class Changefeed extends pulumi.ComponentResource {
  readonly id: pulumi.Output<string>;
  readonly sinkUri: pulumi.Output<string>;
  readonly command: command.local.Command;

  constructor(name: string, args: ChangefeedArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:ticdc:Changefeed", name, {}, opts);
    const sink = sinkUri(args.topic, args.partitions);
    const env = {
      TICDC_URL: `http://ticdc:${PORTS.ticdc}`,
      CHANGEFEED_ID: args.id,
      CHANGEFEED_SINK_URI: sink,
      CHANGEFEED_FILTER: `${args.database}.*`,
      KAFKA_BROKERS: KAFKA_BOOTSTRAP,
      KAFKA_TOPIC: args.topic,
      KAFKA_DLQ_TOPIC: dlqTopicOf(args.topic),
      TOPIC_PARTITIONS: String(args.partitions),
    };
    const run = (action: string) =>
      dockerRun({
        networkName: args.networkName,
        image: args.consumerImage,
        env,
        command: ["node", "consumer/dist/setup-changefeed.js", action],
      });
    this.command = new command.local.Command(
      name,
      {
        create: run("create"),
        delete: run("delete"),
        // A different sink or filter needs the step to run again (it resumes or reports the mismatch).
        triggers: [sink, args.database],
      },
      childOf(this, opts),
    );
    this.id = pulumi.output(args.id);
    this.sinkUri = pulumi.output(sink);
    this.registerOutputs({ id: this.id, sinkUri: this.sinkUri });
  }
}
