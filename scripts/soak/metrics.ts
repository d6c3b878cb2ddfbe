/** Reading a service's Prometheus text (its /metrics) for the soak's samples. */

/**
 * The sum of every series of `name` in Prometheus text exposition format, or undefined when there is
 * none. `name{...} value` and `name value` lines count; `name_bucket`, comments and other metrics do not.
 */
export function metricSum(text: string, name: string): number | undefined {
  let total: number | undefined;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== " " && rest[0] !== "{") continue;
    const value = Number(rest.slice(rest.lastIndexOf(" ") + 1));
    if (Number.isFinite(value)) total = (total ?? 0) + value;
  }
  return total;
}

export interface ProcessSample {
  /** process_resident_memory_bytes */
  readonly rss: number;
  /** nodejs_heap_size_used_bytes */
  readonly heapUsed: number;
  /** nodejs_eventloop_lag_p99_seconds: prom-client resets its histogram at every scrape, so this is the
   * p99 of the event loop's delay since the previous sample. */
  readonly eventLoopP99: number;
}

/** Scrapes `url` and reads the memory and event-loop metrics prom-client's default metrics export. */
export async function sampleProcess(url: string): Promise<{ sample: ProcessSample; text: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
  const text = await response.text();
  const read = (name: string): number => {
    const value = metricSum(text, name);
    if (value === undefined) throw new Error(`${url} does not export ${name}`);
    return value;
  };
  return {
    sample: {
      rss: read("process_resident_memory_bytes"),
      heapUsed: read("nodejs_heap_size_used_bytes"),
      eventLoopP99: read("nodejs_eventloop_lag_p99_seconds"),
    },
    text,
  };
}
