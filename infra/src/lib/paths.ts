import { relative } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The repository root (the images' build context) relative to the directory Pulumi runs the program and
 * the Docker provider in: "." from the project root, ".." from infra/. Relative, so no path of this
 * machine enters the resource inputs and a second `pulumi up` elsewhere changes nothing.
 */
export function repositoryRoot(): string {
  return relative(process.cwd(), fileURLToPath(new URL("../../..", import.meta.url))) || ".";
}
