import { createServer, type Server } from "node:http";
import { listenOnLoopback } from "@tidbstack/testenv";

/** One request as the fake saw it. */
export interface SeenRequest {
  readonly method: string;
  /** Path and query, e.g. /pd/api/v1/store/4. */
  readonly path: string;
  /** The parsed JSON body; undefined when there was none; the raw text when it was not JSON. */
  readonly body: unknown;
  /** Whether the request had a body at all (TiCDC's resume refuses one without). */
  readonly hasBody: boolean;
}

export interface Answer {
  readonly status: number;
  /** Serialised with JSON.stringify unless `raw` is given. */
  readonly body?: unknown;
  /** A body written as is (e.g. JSON with a uint64 wider than a double, or plain text). */
  readonly raw?: string;
}

/** A node:http server on 127.0.0.1 and a free port, answering JSON from `handle`, recording every request. */
export class FakeHttpServer {
  readonly requests: SeenRequest[] = [];
  url = "";
  private readonly server: Server;

  constructor(handle: (request: SeenRequest) => Answer) {
    this.server = createServer((req, res) => {
      let raw = "";
      req.on("data", (chunk: Buffer) => (raw += chunk.toString()));
      req.on("end", () => {
        let body: unknown;
        try {
          body = raw === "" ? undefined : JSON.parse(raw);
        } catch {
          body = raw;
        }
        const request = { method: req.method ?? "", path: req.url ?? "", body, hasBody: raw !== "" };
        this.requests.push(request);
        const answer = handle(request);
        const text = answer.raw ?? (answer.body === undefined ? "" : JSON.stringify(answer.body));
        res.writeHead(answer.status, { "content-type": "application/json; charset=UTF-8" }).end(text);
      });
    });
  }

  async listen(): Promise<this> {
    this.url = `http://127.0.0.1:${await listenOnLoopback(this.server)}`;
    return this;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => {
        resolve();
      });
    });
  }

  /** "METHOD path" of every request so far, e.g. for asserting an order of calls. */
  calls(): string[] {
    return this.requests.map((r) => `${r.method} ${r.path}`);
  }

  /** The calls that change something (everything but GET). */
  changes(): string[] {
    return this.calls().filter((call) => !call.startsWith("GET "));
  }
}
