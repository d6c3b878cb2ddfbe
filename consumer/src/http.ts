import type { Server } from "node:http";
import type { Registry } from "prom-client";
import { createHttpServer } from "@tidbstack/service-kit";

/**
 * The consumer's only HTTP surface: GET /metrics (Prometheus text) and GET /health (200 while the consumer
 * group is running, 503 otherwise, with the state in the body).
 */
export function createMetricsServer(registry: Registry, state: () => string): Server {
  return createHttpServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/metrics") {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { "content-type": registry.contentType }).end(text);
        },
        () => {
          res
            .writeHead(500, { "content-type": "application/json" })
            .end(JSON.stringify({ error: { code: "internal_error", message: "metrics collection failed" } }));
        },
      );
      return;
    }
    if (req.method === "GET" && path === "/health") {
      const current = state();
      const healthy = current === "running";
      res
        .writeHead(healthy ? 200 : 503, { "content-type": "application/json" })
        .end(JSON.stringify({ status: healthy ? "ok" : "unavailable", consumer: current }));
      return;
    }
    res.writeHead(404, { "content-type": "application/json" }).end(
      JSON.stringify({
        error: { code: "not_found", message: `no route for ${req.method ?? "?"} ${path ?? ""}` },
      }),
    );
  });
}
