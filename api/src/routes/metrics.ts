import type { IRouter } from "express";
import type { ApiMetrics } from "../metrics.ts";

/** GET /metrics: the Prometheus text of the API's registry. */
export function metricsRoutes(router: IRouter, { metrics }: { readonly metrics: ApiMetrics }): void {
  router.get("/metrics", async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
