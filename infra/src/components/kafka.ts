import { createHash } from "node:crypto";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { SERVER_STOP_GRACE_SECONDS, dataVolume, loopbackPort } from "../lib/docker.ts";
import { kafkaHealth } from "../lib/healthchecks.ts";
import { KAFKA_BOOTSTRAP, kafkaEnvironment, PORTS } from "../lib/topology.ts";

export interface KafkaArgs {
  readonly networkName: pulumi.Input<string>;
  /** apache/kafka image tag, 3.9.x. */
  readonly version: string;
  /** JVM heap in MiB. */
  readonly heapMb: number;
  /** Publish the host listener on 127.0.0.1:9092. Default false. */
  readonly publishHostListener?: boolean;
  /** Leave the data volume in Docker when the stack is destroyed. Default false. */
  readonly keepData?: boolean;
}

/** One Apache Kafka node in KRaft mode (broker and controller, no ZooKeeper). */
export class Kafka extends pulumi.ComponentResource {
  /** The in-network listener, `kafka:19092`: what TiCDC and the services use. */
  readonly bootstrap: pulumi.Output<string>;
  readonly container: docker.Container;

  constructor(name: string, args: KafkaArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:kafka:Kafka", name, {}, opts);
    const parent = { parent: this };
    const image = new docker.RemoteImage(
      `${name}-image`,
      { name: `apache/kafka:${args.version}`, keepLocally: true },
      parent,
    );
    const data = dataVolume(`${name}-data`, this, args.keepData);
    const env = kafkaEnvironment(clusterIdFor(name), args.heapMb);
    this.container = new docker.Container(
      name,
      {
        name,
        image: image.imageId,
        envs: Object.entries(env).map(([key, value]) => `${key}=${value}`),
        networksAdvanced: [{ name: args.networkName, aliases: ["kafka"] }],
        volumes: [{ volumeName: data.name, containerPath: "/var/lib/kafka/data" }],
        ports: args.publishHostListener === true ? [loopbackPort(PORTS.kafkaHost)] : [],
        healthcheck: kafkaHealth(),
        restart: "unless-stopped",
        wait: true,
        waitTimeout: 180,
        destroyGraceSeconds: SERVER_STOP_GRACE_SECONDS,
      },
      parent,
    );
    this.bootstrap = pulumi.output(KAFKA_BOOTSTRAP);
    this.registerOutputs({ bootstrap: this.bootstrap });
  }
}

/**
 * KRaft's cluster id (22 characters of URL-safe base64), derived from the name rather than random, so the
 * container's inputs are the same on every run and a second `pulumi up` changes nothing.
 */
export function clusterIdFor(name: string): string {
  return createHash("sha256").update(`tidbstack-kafka:${name}`).digest("base64url").slice(0, 22);
}
