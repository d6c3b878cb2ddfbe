import type { Logger } from "./logging.ts";

export interface ShutdownOptions {
  /** Stops intake, drains work and closes clients. Resolves when the process may exit cleanly. */
  readonly drain: () => Promise<void>;
  /** Called last, to flush logs; failures here are ignored. */
  readonly finally?: () => Promise<void>;
  readonly logger: Logger;
  /** How long draining may take before the process is forced to exit 1, in ms. Default 8000: under Docker's 10 s stop timeout. */
  readonly timeoutMs?: number;
  readonly exit?: (code: number) => void;
}

/**
 * Installs SIGTERM/SIGINT handlers: the first signal drains and exits 0 (1 if draining fails); a second
 * signal, or draining past the timeout, forces exit 1 so an orchestrator never waits on a stuck process.
 */
export function exitGracefullyOnSignals(options: ShutdownOptions): void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const timeoutMs = options.timeoutMs ?? 8000;
  let shuttingDown = false;

  const finish = async (code: number): Promise<void> => {
    try {
      await options.finally?.();
    } finally {
      exit(code);
    }
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    if (shuttingDown) {
      options.logger.warn({ action: "shutdown", signal }, "second signal: exiting without draining");
      void finish(1);
      return;
    }
    shuttingDown = true;
    options.logger.info({ action: "shutdown", signal, timeoutMs }, "draining before exit");
    const timer = setTimeout(() => {
      options.logger.error({ action: "shutdown", timeoutMs }, "draining timed out: forcing exit");
      void finish(1);
    }, timeoutMs);
    timer.unref();
    options.drain().then(
      () => {
        clearTimeout(timer);
        options.logger.info({ action: "shutdown" }, "drained: exiting");
        void finish(0);
      },
      (error: unknown) => {
        clearTimeout(timer);
        options.logger.error({ action: "shutdown" }, "draining failed", error);
        void finish(1);
      },
    );
  };

  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}
