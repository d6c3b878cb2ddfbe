import { setColumn, type Row } from "./events.ts";

/** Column names that carry credentials; their values never reach a log line. */
const SENSITIVE = /password|token|secret|hash/i;
export const REDACTED = "[REDACTED]";

export const isSensitiveColumn = (column: string): boolean => SENSITIVE.test(column);

/**
 * `row` with every sensitive column's value replaced (SQL NULL stays null: it reveals nothing): a copy when
 * something is replaced, the row itself when nothing is, which is most rows and saves a copy per row.
 */
export function redactRow(row: Row): Row {
  for (const column in row) {
    if (row[column] !== null && isSensitiveColumn(column)) return redactedCopy(row);
  }
  return row;
}

function redactedCopy(row: Row): Row {
  const copy: Record<string, string | null> = {};
  for (const column of Object.keys(row)) {
    const value = row[column] as string | null;
    setColumn(copy, column, value !== null && isSensitiveColumn(column) ? REDACTED : value);
  }
  return copy;
}
