/**
 * What the SELECT engine needs from a table: its columns and a way to scan rows.
 * Tables are "virtual": rows are produced from the registry on demand.
 */

/** Value types a column may hold. `timestamp` values are `Date`; `json` values are parsed JSON. */
export type ColumnType = 'text' | 'integer' | 'real' | 'boolean' | 'timestamp' | 'json';

/** One column of a virtual table. */
export interface ColumnDef {
  readonly name: string;
  readonly type: ColumnType;
}

/** A result row: plain object keyed by column name. */
export type Row = Record<string, unknown>;

/**
 * Facts the WHERE clause guarantees about every row it can accept, so a table can
 * narrow its scan (e.g. `model = 'spam'` becomes a range scan of one model's versions).
 * A table may ignore hints: the engine still filters every row it yields.
 */
export interface ScanHints {
  /** column → the value it must equal (from top-level `AND`-ed `col = value` conditions). */
  readonly equals: ReadonlyMap<string, unknown>;
  /** Every column the WHERE clause names (tables hide retired rows unless `retired` is named). */
  readonly mentioned: ReadonlySet<string>;
}

/** A table the SELECT engine can query. */
export interface VirtualTable {
  /** Upper-case name, e.g. `ML_MODEL_VERSIONS`. */
  readonly name: string;
  /** Columns in `SELECT *` order. */
  readonly columns: readonly ColumnDef[];
  /** Yields rows; it may use `hints` to yield fewer. */
  scan(hints: ScanHints): AsyncIterable<Row>;
}
