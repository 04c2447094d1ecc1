/** Hand-built AST nodes and an in-memory table, so exec tests do not depend on the parser. */
import type {
  ColumnNode, ExpressionNode, LiteralNode, OrderByNode, ParameterNode, SelectItemNode, SelectNode,
} from '../../src/parser/ast.js';
import type { ColumnDef, Row, ScanHints, VirtualTable } from '../../src/exec/virtual-table.js';

export const col = (name: string): ColumnNode => ({ kind: 'Column', name });
export const lit = (value: LiteralNode['value']): LiteralNode => ({ kind: 'Literal', value });
export const param = (index: number): ParameterNode => ({ kind: 'Parameter', index });
export const cmp = (op: '=' | '<>' | '<' | '<=' | '>' | '>=', left: ExpressionNode, right: ExpressionNode): ExpressionNode =>
  ({ kind: 'Comparison', op, left, right });
export const and = (left: ExpressionNode, right: ExpressionNode): ExpressionNode => ({ kind: 'Logical', op: 'AND', left, right });
export const or = (left: ExpressionNode, right: ExpressionNode): ExpressionNode => ({ kind: 'Logical', op: 'OR', left, right });
export const not = (operand: ExpressionNode): ExpressionNode => ({ kind: 'Not', operand });
export const isNull = (operand: ExpressionNode, negated = false): ExpressionNode => ({ kind: 'IsNull', operand, negated });
export const like = (operand: ExpressionNode, pattern: ExpressionNode, negated = false): ExpressionNode =>
  ({ kind: 'Like', operand, pattern, negated });
export const inList = (operand: ExpressionNode, list: ExpressionNode[], negated = false): ExpressionNode =>
  ({ kind: 'In', operand, list, negated });
export const asc = (name: string | ExpressionNode): OrderByNode => ({ kind: 'OrderBy', expression: typeof name === 'string' ? col(name) : name, direction: 'ASC' });
export const desc = (name: string | ExpressionNode): OrderByNode => ({ kind: 'OrderBy', expression: typeof name === 'string' ? col(name) : name, direction: 'DESC' });
export const item = (expression: ExpressionNode, alias: string | null = null): SelectItemNode => ({ kind: 'SelectItem', expression, alias });

/** A SELECT over table T; string columns are plain column items. */
export function select(parts: Partial<Omit<SelectNode, 'kind' | 'columns'>> & { columns?: '*' | (string | SelectItemNode)[] } = {}): SelectNode {
  const columns = parts.columns === undefined || parts.columns === '*' ? '*' : parts.columns.map((c) => (typeof c === 'string' ? item(col(c)) : c));
  return {
    kind: 'Select', distinct: false, table: 'T', where: null, groupBy: [], orderBy: [], limit: null, offset: null,
    ...parts, columns,
  };
}

export interface MemoryTable extends VirtualTable {
  /** Hints of every scan, in call order. */
  readonly hints: ScanHints[];
  /** Rows handed out so far, across scans. */
  pulled: number;
  /** Scans whose iterator was closed early. */
  closed: number;
}

/** A table over `rows`, or over an endless generator when `rows` is a function. */
export function memoryTable(columns: ColumnDef[], rows: Row[] | ((i: number) => Row), name = 'T'): MemoryTable {
  const table: MemoryTable = {
    name, columns, hints: [], pulled: 0, closed: 0,
    scan(hints) {
      table.hints.push(hints);
      return (async function* () {
        let done = false;
        try {
          if (typeof rows === 'function') {
            for (let i = 0; ; i++) { table.pulled++; yield rows(i); }
          }
          for (const row of rows) { table.pulled++; yield row; }
          done = true;
        } finally {
          if (!done) table.closed++;
        }
      })();
    },
  };
  return table;
}

/** The model-version table most tests query. */
export const VERSION_COLUMNS: ColumnDef[] = [
  { name: 'model', type: 'text' },
  { name: 'version', type: 'integer' },
  { name: 'score', type: 'real' },
  { name: 'active', type: 'boolean' },
  { name: 'created_at', type: 'timestamp' },
  { name: 'metrics', type: 'json' },
];

export const versionRows = (): Row[] => [
  { model: 'spam', version: 1, score: 0.5, active: false, created_at: new Date('2024-01-01T00:00:00Z'), metrics: { f1: 0.5 } },
  { model: 'spam', version: 2, score: 0.9, active: true, created_at: new Date('2024-02-01T00:00:00Z'), metrics: { f1: 0.9, acc: 1 } },
  { model: 'ham', version: 1, score: null, active: null, created_at: new Date('2024-03-01T12:30:00Z'), metrics: null },
  { model: 'eggs', version: 3, score: 0.7, active: true, created_at: new Date('2023-12-31T23:59:59Z'), metrics: [1, 2] },
];
