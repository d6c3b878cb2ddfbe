/** Reading a V8 CPU profile (the `.cpuprofile` that `node --cpu-prof` and the inspector write). */

export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/**
 * The `count` functions with the most self time, as lines `share  ms  function file:line`. Shares are of
 * the busy time: idle samples (the event loop waiting for the broker) are left out, and so are the
 * profiler's own.
 */
export function topSelfTime(profile: CpuProfile, count: number): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, index) => {
    const frame = byId.get(id)?.callFrame;
    const micros = profile.timeDeltas[index] ?? 0;
    if (frame === undefined || frame.functionName === "(idle)" || frame.url.startsWith("node:inspector"))
      return;
    const file = frame.url
      .replace(/^.*\/node_modules\//, "")
      .replace(/^file:\/\/.*?\/(?=[^/]+\/(src|bench)\/)/, "");
    const key =
      file === ""
        ? frame.functionName
        : `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + micros);
    busy += micros;
  });
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(
      ([name, micros]) =>
        `${((micros / busy) * 100).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(0).padStart(6)} ms  ${name}`,
    )
    .join("\n");
}

/** Concatenates the profiles of separate runs into one, for a single table over all of them. */
export function mergeProfiles(parts: readonly CpuProfile[]): CpuProfile {
  const merged: CpuProfile = { nodes: [], samples: [], timeDeltas: [], startTime: 0, endTime: 0 };
  let offset = 0;
  for (const part of parts) {
    for (const node of part.nodes) {
      merged.nodes.push({
        ...node,
        id: node.id + offset,
        children: (node.children ?? []).map((c) => c + offset),
      });
    }
    // Loops, not push(...): a profile has more samples than a call may have arguments.
    for (const id of part.samples) merged.samples.push(id + offset);
    for (const delta of part.timeDeltas) merged.timeDeltas.push(delta);
    offset += Math.max(0, ...part.nodes.map((node) => node.id));
  }
  merged.endTime = merged.timeDeltas.reduce((sum, delta) => sum + delta, 0);
  return merged;
}
