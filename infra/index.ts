/**
 * The whole stack, on the target the config names: one Docker engine (the default) or a Kubernetes cluster
 * under TiDB Operator and Strimzi. Config → the target's components → the stack outputs.
 */
import { loadStackConfig } from "./src/config.ts";
import { deployDocker } from "./src/docker-stack.ts";
import { deployKubernetes } from "./src/kubernetes/stack.ts";

const config = loadStackConfig();

/**
 * The stack outputs. A default export, which Pulumi's Node.js runtime uses for an ES module program
 * (@pulumi/pulumi cmd/run/run.js: the module's `default`, called and awaited if it is a function, becomes
 * the outputs; named exports beside it are refused), so that an output that does not exist is left out
 * rather than exported as undefined (which warns on every preview and up).
 */
export default config.kubernetes === undefined
  ? deployDocker(config)
  : deployKubernetes(config, config.kubernetes);
