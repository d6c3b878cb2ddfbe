import { startConsumer, type ConsumerDeps, type ConsumerState, type RunningConsumer } from "./consumer.ts";

export interface ConsumerServiceDeps extends ConsumerDeps {
  /** Starts one consumer; startConsumer unless a test isolates the service from Kafka. */
  readonly startConsumer?: (deps: ConsumerDeps) => Promise<RunningConsumer>;
  /** Backoff between failed starts, in ms: doubled after each failure up to `maxMs`. Default 1 s to 30 s. */
  readonly retry?: { readonly firstMs: number; readonly maxMs: number };
}

/** The consumer as the process runs it: started with retries, observed by /health, stopped on a signal. */
export interface ConsumerService {
  /**
   * Starts consuming. Kafka may not be up yet, or the topic not created yet: a failed start is logged and
   * retried with capped backoff until one succeeds or stop() is called. Resolves then.
   */
  start(): Promise<void>;
  /** What GET /health reports: the consumer's own state once started, "starting" before, "stopped" after stop(). */
  state(): ConsumerState;
  /** Stops retrying; a started consumer finishes its batch in progress, commits and disconnects. */
  stop(): Promise<void>;
}

export function createConsumerService(deps: ConsumerServiceDeps): ConsumerService {
  const start = deps.startConsumer ?? startConsumer;
  const retry = deps.retry ?? { firstMs: 1000, maxMs: 30_000 };
  let running: RunningConsumer | undefined;
  let stopping = false;
  return {
    async start() {
      for (
        let attempt = 1, delayMs = retry.firstMs;
        !stopping;
        attempt++, delayMs = Math.min(delayMs * 2, retry.maxMs)
      ) {
        try {
          running = await start(deps);
          return;
        } catch (error) {
          deps.logger.warn({ action: "consumer_start_failed", attempt, retryInMs: delayMs }, error);
          await new Promise((resolve) => setTimeout(resolve, delayMs));
        }
      }
    },
    state: () => running?.state() ?? (stopping ? "stopped" : "starting"),
    async stop() {
      stopping = true;
      await running?.stop();
    },
  };
}
