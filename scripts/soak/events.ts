/**
 * The soak's change events: canal-json messages shaped as TiCDC writes them, produced to the consumer's
 * topic at a steady rate after an opening burst.
 *
 * The burst is larger than the consumer's dedup window (100,000 keys), so the window is full, and
 * evicting, before memory is measured: a window still filling would look like growth. The steady mix,
 * every row with its own primary key and commitTs: INSERTs into `users` (with a password hash the
 * consumer must redact), UPDATEs of `tokens` with their old rows, DELETEs; now and then a DDL statement, a
 * watermark, a redelivery of an earlier message (dropped as a duplicate) and a message that is not JSON
 * (dead-lettered).
 */
import type { Kafka } from "kafkajs";
import { ddlMessage, rowMessage, watermarkMessage } from "../../consumer/test/fixtures.ts";

/** More than the consumer's dedup window of 100,000 keys. */
export const BURST_EVENTS = 110_000;

export interface EventCounts {
  /** Messages produced, of every kind. */
  sent: number;
  /** Row changes the consumer must log once each (redeliveries and poison excluded). */
  rows: number;
  duplicates: number;
  poison: number;
}

/** TSOs above 2^53, as TiDB's are; the k-th message gets its own. */
const BASE_TS = 462531487334400000n;

/** The k-th message of the stream, and what it counts as. */
function message(k: number, now: number): { value: string; kind: "row" | "other" | "poison" } {
  const commitTs = String(BASE_TS + BigInt(k));
  if (k % 2000 === 1998) return { value: `{"not json ${k}`, kind: "poison" };
  if (k % 1000 === 500)
    return { value: ddlMessage(`ALTER TABLE t${k} ADD COLUMN c INT`, commitTs), kind: "other" };
  if (k % 1000 === 750) return { value: watermarkMessage(commitTs), kind: "other" };
  const id = String(k);
  switch (k % 10) {
    case 7:
    case 8:
      return {
        value: rowMessage({
          type: "UPDATE",
          table: "tokens",
          data: [{ id, token_hash: `h${k}`, revoked_at: "2026-12-01 00:00:00" }],
          old: [{ id, token_hash: `h${k}`, revoked_at: null }],
          commitTs,
          es: now,
        }),
        kind: "row",
      };
    case 9:
      return {
        value: rowMessage({
          type: "DELETE",
          table: "tokens",
          data: [{ id, token_hash: `h${k}` }],
          commitTs,
          es: now,
        }),
        kind: "row",
      };
    default:
      return {
        value: rowMessage({
          data: [{ id, email: `user${k}@soak.test`, password_hash: "$scrypt$ln=17,r=8,p=1$c2FsdA$aGFzaA" }],
          commitTs,
          es: now,
        }),
        kind: "row",
      };
  }
}

/** Produces the burst and returns once it is on the broker; then `rate` messages per second until stopped. */
export async function startEvents(
  kafka: Kafka,
  topic: string,
  rate: number,
): Promise<{ counts: EventCounts; burstRows: number; stop: () => Promise<EventCounts> }> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const counts: EventCounts = { sent: 0, rows: 0, duplicates: 0, poison: 0 };
  const recent: string[] = [];
  let k = 0;
  const produce = async (n: number): Promise<void> => {
    const values: string[] = [];
    const now = Date.now();
    for (let i = 0; i < n; i++, k++) {
      // Every 100th message is a redelivery of one sent a little earlier.
      if (k % 100 === 99 && recent.length > 0) {
        values.push(recent[k % recent.length] as string);
        counts.duplicates++;
        continue;
      }
      const { value, kind } = message(k, now);
      values.push(value);
      if (kind === "row") {
        counts.rows++;
        recent[k % 50] = value;
      } else if (kind === "poison") counts.poison++;
    }
    for (let from = 0; from < values.length; from += 1000) {
      const chunk = values.slice(from, from + 1000);
      await producer.send({ topic, acks: -1, messages: chunk.map((value) => ({ value })) });
      counts.sent += chunk.length;
    }
  };

  await produce(BURST_EVENTS);
  const burstRows = counts.rows;
  let running = true as boolean;
  const started = performance.now();
  let due = 0;
  const loop = (async () => {
    while (running) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const owed = Math.floor(((performance.now() - started) / 1000) * rate) - due;
      due += owed;
      if (owed > 0) await produce(owed);
    }
  })();
  return {
    counts,
    burstRows,
    async stop() {
      running = false;
      await loop;
      await producer.disconnect();
      return counts;
    },
  };
}
