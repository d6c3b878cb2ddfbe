import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

/**
 * Pure builders for the pods of the stack's own images (API, consumer, migration, changefeed): the
 * restricted security profile, probes, and environments whose secrets come from Secrets by reference.
 */

type EnvVar = k8s.types.input.core.v1.EnvVar;

/** A key of a Kubernetes Secret. */
export interface SecretKey {
  readonly name: pulumi.Input<string>;
  readonly key: string;
}

/**
 * The official node images run as the `node` user, uid and gid 1000. The kubelet cannot check
 * `runAsNonRoot` against a user name, so the uid is stated.
 */
export const NODE_UID = 1000;

/** Pod-level settings of the "restricted" Pod Security Standard. */
export function restrictedPodSecurity(): k8s.types.input.core.v1.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: NODE_UID,
    runAsGroup: NODE_UID,
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** Container-level settings of the "restricted" standard, plus a read-only root filesystem. */
export function restrictedContainerSecurity(): k8s.types.input.core.v1.SecurityContext {
  return {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** A writable /tmp on an otherwise read-only root filesystem (Node and its libraries may write temp files). */
export const TMP_VOLUME = { name: "tmp", emptyDir: { sizeLimit: "64Mi" } } as const;
export const TMP_MOUNT = { name: "tmp", mountPath: "/tmp" } as const;

/** An HTTP GET probe on a named container port. */
export function httpProbe(
  path: string,
  port: string,
  timing: { periodSeconds: number; failureThreshold: number; initialDelaySeconds?: number },
): k8s.types.input.core.v1.Probe {
  return { httpGet: { path, port }, timeoutSeconds: 2, ...timing };
}

/**
 * A container's `env` from the service's own environment builder: every variable named in `secrets` is
 * read from a Secret (`secretKeyRef`) and its value in `env`, if any, is dropped, so no secret is ever a
 * literal in a pod spec. A secret that the builder does not name is an error: the variable was renamed.
 */
export function envVars(
  env: Readonly<Record<string, pulumi.Input<string>>>,
  secrets: Readonly<Record<string, SecretKey>> = {},
  secretOnly: readonly string[] = [],
): EnvVar[] {
  for (const name of Object.keys(secrets)) {
    if (!(name in env) && !secretOnly.includes(name)) {
      throw new Error(`secret variable ${name} is not part of the service's environment`);
    }
  }
  const plain: EnvVar[] = Object.entries(env)
    .filter(([name]) => !(name in secrets))
    .map(([name, value]) => ({ name, value }));
  const fromSecrets: EnvVar[] = Object.entries(secrets).map(([name, ref]) => ({
    name,
    valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } },
  }));
  return [...plain, ...fromSecrets];
}
