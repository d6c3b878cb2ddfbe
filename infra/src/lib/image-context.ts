/**
 * Each service image's own view of the build context, so a change to one workspace's sources changes only
 * the images that contain that workspace.
 *
 * The Docker provider hashes the whole build context into the image's `contextDigest` input at every
 * preview (pulumi-docker provider/provider.go, Check and hashContext), minus what the ignore file excludes:
 * `<dockerfile>.dockerignore` when it exists, else the context's `.dockerignore` (getIgnorePatterns), and
 * it sends the build the same selection. With the root `.dockerignore` alone every image hashes every
 * workspace, so an edit in `api/src` showed the consumer and ops images, and the steps that run the ops
 * image, as updates. So each image builds from a copy of the root Dockerfile under
 * `.cache/images/<workspace>/`, beside a `Dockerfile.dockerignore` derived from the root one: the same
 * rules, less the sources of the workspaces the image does not contain (their manifests stay: `npm ci`
 * checks every workspace's against the lock file). The root Dockerfile and `.dockerignore` stay the one
 * recipe and the one whitelist; the copies are rewritten from them on every run.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, posix } from "node:path";

interface Manifest {
  readonly name: string;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly workspaces?: readonly string[];
}

const readManifest = (root: string, folder: string): Manifest =>
  JSON.parse(readFileSync(join(root, folder, "package.json"), "utf8")) as Manifest;

/**
 * The workspace folders an image of `workspace` contains: it and every workspace it depends on at run time,
 * transitively, by the manifests' `dependencies` (the rule the Dockerfile's build stage compiles by).
 */
export function containedWorkspaces(root: string, workspace: string): Set<string> {
  const folders = readManifest(root, ".").workspaces ?? [];
  const folderOf = new Map(folders.map((folder) => [readManifest(root, folder).name, folder]));
  const found = new Set<string>();
  const visit = (folder: string): void => {
    if (found.has(folder)) return;
    found.add(folder);
    for (const dependency of Object.keys(readManifest(root, folder).dependencies ?? {})) {
      const dependencyFolder = folderOf.get(dependency);
      if (dependencyFolder !== undefined) visit(dependencyFolder);
    }
  };
  visit(workspace);
  return found;
}

/**
 * The root ignore file for one image: every line kept but the exceptions (`!…`) that let in a file of a
 * workspace the image does not contain, other than its package.json.
 */
export function imageIgnoreFile(
  rootIgnore: string,
  workspaces: readonly string[],
  contained: Set<string>,
): string {
  const foreign = workspaces.filter((folder) => !contained.has(folder));
  const letsInForeignFile = (line: string): boolean => {
    const path = line.trim().replace(/^!\/?/, "");
    return (
      line.trim().startsWith("!") &&
      foreign.some((folder) => path.startsWith(`${folder}/`) && path !== `${folder}/package.json`)
    );
  };
  return rootIgnore
    .split("\n")
    .filter((line) => !letsInForeignFile(line))
    .join("\n");
}

/** Writes `file` only when its text differs, so a run that changes nothing writes nothing. */
function writeIfChanged(file: string, text: string): void {
  if (existsSync(file) && readFileSync(file, "utf8") === text) return;
  writeFileSync(file, text);
}

/**
 * Writes `.cache/images/<workspace>/Dockerfile` (the root Dockerfile) and its `Dockerfile.dockerignore`
 * under the repository root `root` (relative to where Pulumi runs), and returns the Dockerfile's path in
 * the same relative form, for the provider's `build.dockerfile`.
 */
export function prepareImageContext(root: string, workspace: string): string {
  const folder = posix.join(".cache", "images", workspace);
  mkdirSync(join(root, folder), { recursive: true });
  const dockerfile = posix.join(folder, "Dockerfile");
  const workspaces = readManifest(root, ".").workspaces ?? [];
  writeIfChanged(join(root, dockerfile), readFileSync(join(root, "Dockerfile"), "utf8"));
  writeIfChanged(
    join(root, `${dockerfile}.dockerignore`),
    imageIgnoreFile(
      readFileSync(join(root, ".dockerignore"), "utf8"),
      workspaces,
      containedWorkspaces(root, workspace),
    ),
  );
  return posix.join(root, dockerfile);
}
