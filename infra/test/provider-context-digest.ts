/**
 * What the Docker provider adds to a built image's inputs at every preview: `build.contextDigest`, a hash
 * of the Dockerfile and of every file of the build context its ignore file lets in (pulumi-docker
 * provider/provider.go: Check → hashContext → getIgnorePatterns). The ignore file is
 * `<dockerfile>.dockerignore` when it exists, else `<context>/.dockerignore`; its patterns follow Docker's
 * rules (moby/patternmatcher): the last pattern that matches a path or one of its parent folders decides,
 * `!` lets back in, `*` and `?` stay within a path segment, `**` crosses them. The digest itself is not the
 * provider's bytes, only the same selection: it changes exactly when the provider's would.
 */
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, posix } from "node:path";

interface Pattern {
  readonly text: string;
  readonly negated: boolean;
  readonly regex: RegExp;
}

function toRegex(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern.charAt(i);
    if (pattern.startsWith("**/", i)) {
      source += "(?:.*/)?";
      i += 2;
    } else if (pattern.startsWith("**", i)) {
      source += ".*";
      i += 1;
    } else if (char === "*") source += "[^/]*";
    else if (char === "?") source += "[^/]";
    else source += char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

function parseIgnoreFile(text: string): Pattern[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const negated = line.startsWith("!");
      const path = posix.normalize((negated ? line.slice(1) : line).trim()).replace(/^\/+/, "");
      return { text: path, negated, regex: toRegex(path) };
    });
}

/** Docker's rule: the last pattern matching the path or a parent folder of it decides. */
function excluded(patterns: readonly Pattern[], path: string): boolean {
  const segments = path.split("/");
  const prefixes = segments.map((_, i) => segments.slice(0, i + 1).join("/"));
  let result = false;
  for (const pattern of patterns) {
    if (prefixes.some((prefix) => pattern.regex.test(prefix))) result = !pattern.negated;
  }
  return result;
}

/** An excluded folder is still walked when an exception may let in something below it. */
const exceptionBelow = (patterns: readonly Pattern[], folder: string): boolean =>
  patterns.some((p) => p.negated && (p.text.startsWith(`${folder}/`) || p.text.startsWith("**")));

/**
 * The files of `context` (paths relative to it, in walk order) that the ignore file for `dockerfile` lets
 * into the build; both paths relative to the current directory, as the program gives them.
 */
export function contextFiles(context: string, dockerfile: string): string[] {
  const ignoreFile = existsSync(`${dockerfile}.dockerignore`)
    ? `${dockerfile}.dockerignore`
    : join(context, ".dockerignore");
  const patterns = existsSync(ignoreFile) ? parseIgnoreFile(readFileSync(ignoreFile, "utf8")) : [];
  const files: string[] = [];
  const walk = (folder: string): void => {
    for (const entry of readdirSync(join(context, folder)).sort()) {
      const path = folder === "" ? entry : `${folder}/${entry}`;
      if (lstatSync(join(context, path)).isDirectory()) {
        if (!excluded(patterns, path) || exceptionBelow(patterns, path)) walk(path);
      } else if (!excluded(patterns, path)) {
        files.push(path);
      }
    }
  };
  walk("");
  return files;
}

/**
 * The provider's `contextDigest` for a build of `context` with `dockerfile`, with `edits` (path in the
 * context → text) standing in for files changed on disk.
 */
export function contextDigest(
  context: string,
  dockerfile: string,
  edits: Readonly<Record<string, string>> = {},
): string {
  const hash = createHash("sha256").update(readFileSync(dockerfile));
  for (const path of contextFiles(context, dockerfile))
    hash.update(`\0${path}\0`).update(edits[path] ?? readFileSync(join(context, path)));
  return hash.digest("hex");
}
