import type { LogFields, Logger } from "@tidbstack/service-kit";
import { ApiError } from "./http-json.ts";

/** A wait that ran out of time. The message says what was awaited and what was last seen. */
export class WaitTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WaitTimeoutError";
  }
}

/** One look at the awaited condition: done with a value, or not yet, with what was seen instead. */
export type Poll<T> =
  | { readonly done: true; readonly value: T }
  | {
      readonly done: false;
      /** What was seen, for the progress lines and the timeout message, e.g. "state Offline, 12 regions". */
      readonly seen: string;
      /** Extra fields for the progress line. */
      readonly fields?: LogFields;
    };

export interface WaitOptions {
  readonly logger: Logger;
  /** The bound on this wait, in ms. */
  readonly timeoutMs: number;
  /** Between two looks, in ms. */
  readonly pollMs: number;
  /** At most one info progress line per this many ms (the first one right away). Default 30 s. */
  readonly progressMs?: number;
}

/**
 * Looks at `poll` until it reports done, or fails with WaitTimeoutError after `timeoutMs`. `what` completes
 * "waiting until ...". A transient API failure (no answer, a 5xx) counts as "not yet": PD and TiCDC answer
 * 5xx during leader elections. Any other error ends the wait at once.
 */
export async function waitUntil<T>(
  what: string,
  poll: () => Promise<Poll<T>>,
  options: WaitOptions,
): Promise<T> {
  const started = Date.now();
  const progressMs = options.progressMs ?? 30_000;
  let lastProgress: number | undefined;
  for (;;) {
    let result: Poll<T>;
    try {
      result = await poll();
    } catch (error) {
      if (!(error instanceof ApiError && error.transient)) throw error;
      result = { done: false, seen: error.message };
    }
    if (result.done) return result.value;
    const now = Date.now();
    if (lastProgress === undefined || now - lastProgress >= progressMs) {
      lastProgress = now;
      options.logger.info({
        action: "waiting",
        until: what,
        seen: result.seen,
        waitedS: Math.round((now - started) / 1000),
        ...result.fields,
      });
    }
    if (now + options.pollMs - started > options.timeoutMs) {
      throw new WaitTimeoutError(
        `timed out after ${formatDuration(options.timeoutMs)} waiting until ${what} (last seen: ${result.seen})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs));
  }
}

function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
