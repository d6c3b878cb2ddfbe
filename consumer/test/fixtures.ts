/** canal-json messages shaped exactly as TiCDC writes them with enable-tidb-extension=true. */

/** A TSO above 2^53: JSON numbers would round it. Its physical part is 2026-11-29T12:00:00Z. */
export const COMMIT_TS = "462531487334400001";
export const COMMIT_MS = 1_764_417_600_000;

export interface RowMessageOptions {
  type?: "INSERT" | "UPDATE" | "DELETE";
  table?: string;
  data?: Record<string, string | null>[];
  old?: Record<string, string | null>[] | null;
  commitTs?: string;
  es?: number;
}

/** The raw JSON text of a row event, with the TSO written as a bare number like TiCDC does. */
export function rowMessage(options: RowMessageOptions = {}): string {
  const type = options.type ?? "INSERT";
  const data = options.data ?? [{ id: "1", email: "admin@test.com", password_hash: "$scrypt$secret" }];
  const body = {
    id: 0,
    database: "appdb",
    table: options.table ?? "users",
    pkNames: ["id"],
    isDdl: false,
    type,
    es: options.es ?? COMMIT_MS,
    ts: (options.es ?? COMMIT_MS) + 850,
    sql: "",
    sqlType: { id: -5, email: 12, password_hash: 12 },
    mysqlType: { id: "bigint", email: "varchar", password_hash: "varchar" },
    data,
    old: options.old ?? null,
    _tidb: { commitTs: 0 },
  };
  return JSON.stringify(body).replace('"commitTs":0', `"commitTs":${options.commitTs ?? COMMIT_TS}`);
}

export function ddlMessage(sql = "CREATE TABLE t (id BIGINT PRIMARY KEY)", commitTs = COMMIT_TS): string {
  return `{"id":0,"database":"appdb","table":"t","pkNames":null,"isDdl":true,"type":"CREATE","es":${COMMIT_MS},"ts":${COMMIT_MS + 5},"sql":${JSON.stringify(sql)},"sqlType":null,"mysqlType":null,"data":null,"old":null,"_tidb":{"commitTs":${commitTs}}}`;
}

export function watermarkMessage(watermarkTs = COMMIT_TS): string {
  return `{"id":0,"database":"","table":"","pkNames":null,"isDdl":false,"type":"TIDB_WATERMARK","es":${COMMIT_MS},"ts":${COMMIT_MS + 5},"sql":"","sqlType":null,"mysqlType":null,"data":null,"old":null,"_tidb":{"watermarkTs":${watermarkTs}}}`;
}
