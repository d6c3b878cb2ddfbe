import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { SecretKey } from "./workload.ts";

export interface StackSecretsArgs {
  readonly namespace: pulumi.Input<string>;
  /** TiDB's root password (the migration sets it on a new cluster). */
  readonly tidbRootPassword: pulumi.Input<string>;
  /** The API's least-privilege database account. */
  readonly apiDbPassword: pulumi.Input<string>;
  /** The seed admin's password. */
  readonly adminPassword: pulumi.Input<string>;
  /** The token purge's database account. */
  readonly purgeDbPassword: pulumi.Input<string>;
}

/** The key every one of these Secrets holds its value under. */
export const PASSWORD_KEY = "password";

/**
 * The stack's Pulumi secrets as Kubernetes Secrets, one per credential, so each pod references only what it
 * needs (the API never sees the root password). Pods read them through `secretKeyRef`; their values never
 * appear in a pod spec, a command line or an annotation.
 */
export class StackSecrets extends pulumi.ComponentResource {
  readonly tidbRoot: SecretKey;
  readonly apiDb: SecretKey;
  readonly admin: SecretKey;
  readonly purgeDb: SecretKey;

  constructor(name: string, args: StackSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:kubernetes:StackSecrets", name, {}, opts);
    const secret = (role: string, value: pulumi.Input<string>): SecretKey => {
      const object = new k8s.core.v1.Secret(
        `${name}-${role}`,
        {
          metadata: { name: `${name}-${role}`, namespace: args.namespace },
          type: "Opaque",
          // pulumi.secret again, in case a caller passes a plain value: the state stays encrypted.
          stringData: { [PASSWORD_KEY]: pulumi.secret(value) },
        },
        { parent: this },
      );
      return { name: object.metadata.name, key: PASSWORD_KEY };
    };
    this.tidbRoot = secret("tidb-root", args.tidbRootPassword);
    this.apiDb = secret("api-db", args.apiDbPassword);
    this.admin = secret("admin", args.adminPassword);
    this.purgeDb = secret("purge-db", args.purgeDbPassword);
    this.registerOutputs({});
  }
}
