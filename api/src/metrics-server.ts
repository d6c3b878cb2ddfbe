import type { Server } from "node:http";
import type { Registry } from "prom-client";
import { createHttpServer } from "@tidbstack/service-kit";

const json = (status: number, body: unknown): [number, Record<string, string>, string] => [
  status,
  { "content-type": "application/json" },
  JSON.stringify(body),
];

/**
 * The metrics port of the API and the token purge: GET /metrics (Prometheus text) and GET /health (200
 * while the process runs; it never touches the database, so a database outage shows in the metrics rather
 * than as a restart loop). Everything else is a JSON 404. A port of its own, so that publishing the API
 * does not publish its counters and timings: only Prometheus, inside the stack's network, reads them.
 */
export function createMetricsServer(registry: Registry): Server {
  return createHttpServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const answer = ([status, headers, body]: [number, Record<string, string>, string]): void => {
      res.writeHead(status, headers).end(body);
    };
    if (req.method === "GET" && path === "/metrics") {
      registry.metrics().then(
        (text) => {
          answer([200, { "content-type": registry.contentType }, text]);
        },
        () => {
          answer(json(500, { error: { code: "internal_error", message: "metrics collection failed" } }));
        },
      );
    } else if (req.method === "GET" && path === "/health") {
      answer(json(200, { status: "ok" }));
    } else {
      answer(
        json(404, {
          error: { code: "not_found", message: `no route for ${req.method ?? "?"} ${path ?? ""}` },
        }),
      );
    }
  });
}
