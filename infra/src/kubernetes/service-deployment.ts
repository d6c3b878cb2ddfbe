import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { childOf } from "../lib/options.ts";
import { appLabels } from "./names.ts";
import { restrictedContainerSecurity, restrictedPodSecurity, TMP_MOUNT, TMP_VOLUME } from "./workload.ts";

type EnvVar = k8s.types.input.core.v1.EnvVar;
type Probe = k8s.types.input.core.v1.Probe;

export interface ServiceDeploymentArgs {
  /** The stack's name: object names are `<stack>-<role>`. */
  readonly stack: string;
  /** `api` or `consumer`: the name suffix, the `app.kubernetes.io/name` label and the Prometheus job. */
  readonly role: string;
  readonly namespace: pulumi.Input<string>;
  readonly image: pulumi.Input<string>;
  readonly imagePullPolicy: "IfNotPresent" | "Never";
  readonly imagePullSecret?: string | undefined;
  readonly replicas: number;
  /** Its environment; secrets only as `secretKeyRef` (see envVars). */
  readonly env: pulumi.Input<EnvVar>[];
  /** The HTTP port it listens on; named in the pod so probes, the Service and monitors refer to it by name. */
  readonly port: { readonly name: string; readonly number: number };
  /**
   * A second named port, for Prometheus only: the PodMonitor scrapes it by name, and neither the Service nor
   * the Ingress exposes it. Default none (the consumer's one port is its metrics port).
   */
  readonly metricsPort?: { readonly name: string; readonly number: number };
  readonly readinessProbe: Probe;
  readonly livenessProbe: Probe;
  readonly resources: k8s.types.input.core.v1.ResourceRequirements;
  /** Add a PodDisruptionBudget allowing one pod down at a time. Default false. */
  readonly disruptionBudget?: boolean;
  /** Route this host to the Service through an Ingress (the cluster's default IngressClass). */
  readonly ingressHost?: string | undefined;
}

/**
 * One of the stack's own services as a Deployment of restricted, non-root, read-only pods, with a
 * ClusterIP Service in front and, optionally, a PodDisruptionBudget and an Ingress. Pulumi waits for the
 * rollout (every replica ready) before anything that depends on it.
 */
export class ServiceDeployment extends pulumi.ComponentResource {
  readonly deployment: k8s.apps.v1.Deployment;
  readonly service: k8s.core.v1.Service;
  readonly disruptionBudget: k8s.policy.v1.PodDisruptionBudget | undefined;
  readonly ingress: k8s.networking.v1.Ingress | undefined;
  /** `<stack>-<role>`: the Service's (and Deployment's) name. */
  readonly serviceName: string;

  constructor(name: string, args: ServiceDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tidbstack:kubernetes:ServiceDeployment", name, {}, opts);
    if (!Number.isInteger(args.replicas) || args.replicas < 1) {
      throw new Error(`ServiceDeployment ${name}: replicas must be at least 1, got ${args.replicas}`);
    }
    const objectName = `${args.stack}-${args.role}`;
    this.serviceName = objectName;
    const labels = appLabels(args.stack, args.role);
    const metadata = { name: objectName, namespace: args.namespace, labels };
    const parent = { parent: this };

    this.deployment = new k8s.apps.v1.Deployment(
      name,
      {
        metadata,
        spec: {
          replicas: args.replicas,
          selector: { matchLabels: labels },
          // A new pod must be ready before an old one goes: the service never drops below its replicas.
          strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          template: {
            metadata: { labels },
            spec: {
              automountServiceAccountToken: false,
              securityContext: restrictedPodSecurity(),
              ...(args.imagePullSecret === undefined
                ? {}
                : { imagePullSecrets: [{ name: args.imagePullSecret }] }),
              // The services drain within 8 s of SIGTERM (service-kit's shutdown); the default 30 s covers it.
              terminationGracePeriodSeconds: 30,
              containers: [
                {
                  name: args.role,
                  image: args.image,
                  imagePullPolicy: args.imagePullPolicy,
                  ports: [args.port, ...(args.metricsPort === undefined ? [] : [args.metricsPort])].map(
                    (port) => ({ name: port.name, containerPort: port.number, protocol: "TCP" }),
                  ),
                  env: args.env,
                  readinessProbe: args.readinessProbe,
                  livenessProbe: args.livenessProbe,
                  resources: args.resources,
                  securityContext: restrictedContainerSecurity(),
                  volumeMounts: [TMP_MOUNT],
                },
              ],
              volumes: [TMP_VOLUME],
            },
          },
        },
      },
      childOf(this, opts),
    );

    this.service = new k8s.core.v1.Service(
      `${name}-service`,
      {
        metadata,
        spec: {
          type: "ClusterIP",
          selector: labels,
          ports: [{ name: args.port.name, port: args.port.number, targetPort: args.port.name }],
        },
      },
      parent,
    );

    this.disruptionBudget =
      args.disruptionBudget === true
        ? new k8s.policy.v1.PodDisruptionBudget(
            `${name}-pdb`,
            {
              metadata,
              spec: {
                selector: { matchLabels: labels },
                // One pod at a time, whatever the replica count: with 2 or more a node drain keeps the
                // service up, and with 1 it still lets the drain proceed rather than block forever.
                maxUnavailable: 1,
                // A pod that is not ready serves nothing: evicting it never costs availability.
                unhealthyPodEvictionPolicy: "AlwaysAllow",
              },
            },
            parent,
          )
        : undefined;

    this.ingress =
      args.ingressHost === undefined
        ? undefined
        : new k8s.networking.v1.Ingress(
            `${name}-ingress`,
            {
              metadata,
              spec: {
                rules: [
                  {
                    host: args.ingressHost,
                    http: {
                      paths: [
                        {
                          path: "/",
                          pathType: "Prefix",
                          backend: {
                            service: { name: this.service.metadata.name, port: { name: args.port.name } },
                          },
                        },
                      ],
                    },
                  },
                ],
              },
            },
            parent,
          );
    this.registerOutputs({});
  }
}
