import { once } from "node:events";
import { request } from "node:http";
import { connect, type Socket } from "node:net";

/** One connection of a slow-client attack, as the client saw it. */
export interface HeldConnection {
  readonly openedAt: number;
  /** When the server closed it; undefined while it is open. */
  closedAt: number | undefined;
  /** Everything the server sent on it. */
  received: string;
  /** Bytes of the request the client had sent when it was closed. */
  sent: number;
}

export interface SlowClients {
  readonly connections: readonly HeldConnection[];
  /** Resolves once the server has closed every connection. */
  readonly allClosed: Promise<void>;
  /** Closes whatever is still open, from the client's side. */
  destroy(): void;
}

/**
 * The slow-loris attack: `silent` connections that send nothing at all, and `drip` connections that send a
 * request's headers one byte every `dripIntervalMs` and never finish them. Connections are opened in
 * batches, each batch once the previous one is established, so the listen backlog never overflows and
 * every connection really is open on the server.
 */
export async function openSlowClients(
  port: number,
  options: { silent: number; drip: number; dripIntervalMs: number },
): Promise<SlowClients> {
  const sockets: Socket[] = [];
  const timers: NodeJS.Timeout[] = [];
  const connections: HeldConnection[] = [];
  const closed: Promise<void>[] = [];
  // Long enough that dripping it takes far longer than any header timeout.
  const headers = `GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ${"a".repeat(200)}\r\n\r\n`;
  const open = async (drip: boolean): Promise<void> => {
    const socket = connect(port, "127.0.0.1");
    const held: HeldConnection = { openedAt: 0, closedAt: undefined, received: "", sent: 0 };
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      held.received += chunk;
    });
    socket.on("error", () => {
      // A reset is one way for the server to close it; "close" follows and records it.
    });
    closed.push(
      new Promise((resolve) =>
        socket.on("close", () => {
          held.closedAt = Date.now();
          resolve();
        }),
      ),
    );
    await once(socket, "connect");
    (held as { openedAt: number }).openedAt = Date.now();
    if (drip) {
      const timer = setInterval(() => {
        if (socket.destroyed || held.sent >= headers.length) return;
        socket.write(headers[held.sent] ?? "");
        held.sent++;
      }, options.dripIntervalMs);
      timers.push(timer);
    }
    sockets.push(socket);
    connections.push(held);
  };
  const kinds = [...Array<boolean>(options.drip).fill(true), ...Array<boolean>(options.silent).fill(false)];
  for (let from = 0; from < kinds.length; from += 50) {
    await Promise.all(kinds.slice(from, from + 50).map(open));
  }
  return {
    connections,
    allClosed: Promise.all(closed).then(() => {
      for (const timer of timers) clearInterval(timer);
    }),
    destroy() {
      for (const timer of timers) clearInterval(timer);
      for (const socket of sockets) socket.destroy();
    },
  };
}

/**
 * Requests `url` on a new connection every `intervalMs` until `until` resolves, and returns each request's
 * time to a complete answer in ms (any status counts: the question is whether the server answers fast).
 */
export async function sampleLatency(
  url: string,
  until: Promise<unknown>,
  intervalMs = 50,
): Promise<number[]> {
  const state = { done: false };
  void until.finally(() => {
    state.done = true;
  });
  const samples: number[] = [];
  while (!state.done) {
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      // A fresh connection each time (no agent): the attack fills the accept queue and the socket table,
      // which a pooled connection would never see.
      const req = request(url, { agent: false, timeout: 10_000 }, (res) => {
        res.resume().on("end", () => {
          resolve();
        });
      });
      req.on("timeout", () => req.destroy(new Error(`${url} did not answer within 10 s`)));
      req.on("error", reject);
      req.end();
    });
    samples.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return samples;
}

/** The value below which `fraction` of the samples fall (nearest rank). */
export function percentile(samples: readonly number[], fraction: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] ?? NaN;
}
