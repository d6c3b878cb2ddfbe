import type { Row } from "./events.ts";

/** Column names that carry credentials; their values never reach a log line. */
const SENSITIVE = /password|token|secret|hash/i;
export const REDACTED = "[REDACTED]";

export const isSensitiveColumn = (column: string): boolean => SENSITIVE.test(column);

/** A copy of `row` with every sensitive column's value replaced (SQL NULL stays null: it reveals nothing). */
export function redactRow(row: Row): Row {
  const copy: Record<string, string | null> = {};
  for (const column of Object.keys(row)) {
    const value = row[column] as string | null;
    copy[column] = value !== null && isSensitiveColumn(column) ? REDACTED : value;
  }
  return copy;
}
