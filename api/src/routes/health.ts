import type { IRouter } from "express";
import type { Logger } from "@tidbstack/service-kit";
import type { AuthStore } from "../store.ts";

/** How long GET /ready waits for the database's answer before calling it unavailable. */
const READY_TIMEOUT_MS = 1000;

export interface HealthRouteDeps {
  readonly store: Pick<AuthStore, "ping">;
  readonly logger: Logger;
}

/**
 * GET /health: liveness, never touches the database. GET /ready: 200 while the database answers SELECT 1
 * within READY_TIMEOUT_MS, 503 otherwise.
 */
export function healthRoutes(router: IRouter, { store, logger }: HealthRouteDeps): void {
  router.get("/health", (_req, res) => {
    res.json({ status: "ok" });
  });

  router.get("/ready", async (_req, res) => {
    try {
      await store.ping(READY_TIMEOUT_MS);
      res.json({ status: "ready" });
    } catch (error) {
      logger.warn({ action: "readiness_failed" }, error instanceof Error ? error.message : String(error));
      res.status(503).json({ status: "unavailable" });
    }
  });
}
