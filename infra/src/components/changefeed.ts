import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { oneOffRun } from "../lib/docker.ts";
import { childOf } from "../lib/options.ts";
import {
  CHANGEFEED_APPLY_COMMAND,
  CHANGEFEED_DELETE_COMMAND,
  changefeedDeleteEnvironment,
  changefeedEnvironment,
} from "../lib/steps.ts";

export interface ChangefeedArgs {
  /** Name of the Docker network the step's container joins. */
  readonly networkName: pulumi.Input<string>;
  /** The ops image by id (ServiceImage.ref): `changefeed apply` runs in exactly this build. */
  readonly opsImage: pulumi.Input<string>;
  /**
   * The ops image's tag (ServiceImage.tag), for `changefeed delete`: a delete may run after a rebuild, when
   * the build this step was created with is untagged and may have been pruned; the tag always exists.
   */
  readonly opsImageTag: pulumi.Input<string>;
  /** TiCDC's OpenAPI inside the network (Ticdc.apiUrl). */
  readonly ticdcUrl: pulumi.Input<string>;
  /** Kafka's in-network bootstrap servers (Kafka.bootstrap): the sink and the topic creation use it. */
  readonly kafkaBootstrap: pulumi.Input<string>;
  /** Changefeed id; TiCDC's rule: letters and digits in dash-separated groups. */
  readonly id: string;
  /** The CDC topic; its dead-letter topic is `<topic>.dlq`. */
  readonly topic: string;
  /** Partitions of the topic (created with this many; TiCDC's partition-num). */
  readonly partitions: number;
  /** The database whose tables are replicated. */
  readonly database: string;
}

/**
 * The CDC topic, its dead-letter topic, and the TiCDC changefeed into it, kept as declared.
 *
 * `changefeed apply` runs on create and on every update: a new topic, partition count or database changes
 * the command line, which is an in-place update of this step, and apply updates the existing changefeed in
 * place (pause, PUT the new sink URI and filter, resume: its checkpoint is kept, nothing skipped or
 * replayed). Nothing about this step may force a replacement, because a replacement runs the new create
 * first and the OLD step's delete last: if both named the same id, that delete would remove the
 * changefeed the new step had just kept.
 *
 * A new changefeed id is the one change that must create a changefeed and remove one, and it is a new
 * step: the id is part of the step's name (`<name>-<id>`), so Pulumi creates the new id's step with the
 * other creates and runs the old id's delete afterwards, with the deletes of everything no longer declared.
 * That ordering is what a replacement would give (`triggers: [id]`), but triggers cannot be used here: a
 * stack created before this version stored `triggers: [sink, database]` for this step, and any other
 * value would replace it on the first `up`, whose old delete would remove the live changefeed. So the
 * step keeps that stack's resource through an alias of its old name, and ignores the stored triggers.
 * `pulumi destroy` deletes the changefeed; the topics go with Kafka.
 */
export class Changefeed extends pulumi.ComponentResource {
  readonly id: pulumi.Output<string>;
  readonly command: command.local.Command;

  constructor(name: string, args: ChangefeedArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:ticdc:Changefeed", name, {}, opts);
    const settings = pulumi.all([args.ticdcUrl, args.kafkaBootstrap]).apply(([ticdcUrl, kafkaBootstrap]) => ({
      ticdcUrl,
      kafkaBootstrap,
      id: args.id,
      topic: args.topic,
      partitions: args.partitions,
      database: args.database,
    }));
    const apply = oneOffRun({
      networkName: args.networkName,
      image: args.opsImage,
      env: settings.apply(changefeedEnvironment),
      command: CHANGEFEED_APPLY_COMMAND,
    });
    const remove = oneOffRun({
      networkName: args.networkName,
      image: args.opsImageTag,
      env: settings.apply(changefeedDeleteEnvironment),
      command: CHANGEFEED_DELETE_COMMAND,
    });
    this.command = new command.local.Command(
      `${name}-${args.id}`,
      { create: apply.command, update: apply.command, delete: remove.command },
      {
        ...childOf(this, opts),
        // The step of a stack created before the id was in the name (see above).
        aliases: [{ name }],
        // Only ever set by that older version; a difference must never replace the step.
        ignoreChanges: ["triggers"],
      },
    );
    this.id = pulumi.output(args.id);
    this.registerOutputs({ id: this.id });
  }
}
