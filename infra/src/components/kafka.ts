import { createHash } from "node:crypto";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { kafkaContainerSpec, type LogRotation } from "../lib/container-specs.ts";
import { SERVER_STOP_GRACE_SECONDS, dataVolume, loopbackPort, serverContainer } from "../lib/docker.ts";
import { childOf } from "../lib/options.ts";
import { KAFKA_BOOTSTRAP, PORTS } from "../lib/topology.ts";

export interface KafkaArgs {
  /** Name of the Docker network it joins, as alias `kafka`. */
  readonly networkName: pulumi.Input<string>;
  /** apache/kafka image tag, 3.9.x. */
  readonly version: string;
  /** JVM heap in MiB. */
  readonly heapMb: number;
  /** Publish the host listener on 127.0.0.1:9092. Default false. */
  readonly publishHostListener?: boolean;
  /** Leave the data volume in Docker when the stack is destroyed. Default false. */
  readonly keepData?: boolean;
  /** How its containers' logs are rotated (config logMaxSize, logMaxFiles). */
  readonly logRotation: LogRotation;
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
    this.container = serverContainer(
      name,
      {
        networkName: args.networkName,
        image: image.imageId,
        spec: kafkaContainerSpec({ clusterId: clusterIdFor(name), heapMb: args.heapMb }),
        volume: dataVolume(`${name}-data`, this, args.keepData),
        ports: args.publishHostListener === true ? [loopbackPort(PORTS.kafkaHost)] : [],
        // Not measured: three times Docker's default wait of 60 s, for a cold JVM that formats its log
        // dir and elects itself controller on a slow disk.
        waitTimeout: 180,
        logRotation: args.logRotation,
        stopGraceSeconds: SERVER_STOP_GRACE_SECONDS,
      },
      childOf(this, opts),
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
