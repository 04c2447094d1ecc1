/**
 * WHERE-clause compilation. A condition is type-checked and compiled once, with its
 * parameters already bound, into a closure returning SQL truth values
 * (`true | false | null`, null meaning UNKNOWN). Type-checking at compile time is what
 * lets `version = 'abc'` fail even when the table is empty.
 */
import { invalidArgument } from '../errors.js';
import { logicalTerms, notRun, type ExpressionNode, type InNode, type LikeNode } from '../parser/ast.js';
import { checkJson } from '../store/json.js';
import { isAggregate, unknownFunction } from './aggregate.js';
import { canonicalJson, compareForCondition } from './compare.js';
import { walkPath } from './json-path.js';
import { bindValue, describeValue, type Params } from './params.js';
import type { ColumnType, Row } from './virtual-table.js';

/** SQL truth value: null is UNKNOWN. */
export type Truth = boolean | null;

/** A compiled WHERE condition. */
export type Predicate = (row: Row) => Truth;

/**
 * Looks a column's type up; expected to throw UNKNOWN_COLUMN for a name the table lacks.
 * `dynamic`: a value whose type is known per row only (a grouped JSON path).
 */
export type ColumnResolver = (name: string) => ColumnType | 'dynamic';

/**
 * Static type of an operand. Constants get theirs from their JS type once bound;
 * `dynamic` is a JSON path, whose value's type is known only per row.
 */
export type ValueType = ColumnType | 'dynamic' | 'null' | 'blob' | 'unsupported';

/** A compiled value: its static type and how to read it from a row. */
export interface CompiledValue {
  readonly type: ValueType;
  readonly get: (row: Row) => unknown;
}

interface Operand {
  readonly type: ValueType;
  /** Set for literals and parameters: their bound value is known before scanning. */
  readonly constant: boolean;
  readonly get: (row: Row) => unknown;
  /** How error messages name the operand, e.g. `version (integer)` or `text 'abc'`. */
  readonly label: string;
}

/**
 * Every column name `expr` mentions, in source order, so callers can validate them up
 * front. Walks with an explicit stack: a WHERE clause may be thousands of terms long.
 */
export function columnsOf(expr: ExpressionNode | null, out: string[] = []): string[] {
  const pending: ExpressionNode[] = expr === null ? [] : [expr];
  while (pending.length > 0) {
    const e = pending.pop()!;
    switch (e.kind) {
      case 'Column': out.push(e.name); break;
      case 'JsonPath': out.push(e.column.name); break;
      case 'FunctionCall': for (let i = e.args.length - 1; i >= 0; i--) pending.push(e.args[i]!); break;
      // Children pushed last-first, so they are visited first-first.
      case 'Comparison': case 'Logical': pending.push(e.right, e.left); break;
      case 'Not': case 'IsNull': pending.push(e.operand); break;
      case 'Like': pending.push(e.pattern, e.operand); break;
      case 'In': for (let i = e.list.length - 1; i >= 0; i--) pending.push(e.list[i]!); pending.push(e.operand); break;
      case 'Literal': case 'Parameter': break;
    }
  }
  return out;
}

/**
 * Type-checks `expr` as a condition and compiles it. Throws INVALID_ARGUMENT for type
 * mismatches and missing parameters, and whatever `resolve` throws for unknown columns.
 */
export function compileCondition(expr: ExpressionNode, resolve: ColumnResolver, params: Params): Predicate {
  return requireBoolean(compile(expr, resolve, params), 'WHERE');
}

/**
 * Type-checks and compiles `expr` as a value (a select-list item, an ORDER BY key, the
 * BY of USE BEST VERSION). Throws like {@link compileCondition}.
 */
export function compileValue(expr: ExpressionNode, resolve: ColumnResolver, params: Params): CompiledValue {
  const { type, get } = compile(expr, resolve, params);
  return { type, get };
}

/**
 * The value `column = value` pins a column to, converted the way the comparison would
 * convert it (so a timestamp column gets a `Date`), or `undefined` when no useful hint
 * exists (NULL, or json whose equality is textual rather than by value).
 */
export function hintValue(type: ColumnType | 'dynamic', value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  switch (type) {
    case 'dynamic': return undefined;
    case 'integer': case 'real': return typeof value === 'bigint' ? Number(value) : value;
    case 'timestamp': return toDate(value, 'timestamp');
    case 'json': return undefined;
    default: return value;
  }
}

function compile(node: ExpressionNode, resolve: ColumnResolver, params: Params): Operand {
  switch (node.kind) {
    case 'Literal': case 'Parameter': return constant(bindValue(node, params));
    case 'Column': {
      const type = resolve(node.name);
      const name = node.name;
      return { type, constant: false, label: `${name} (${type})`, get: (row) => row[name] ?? null };
    }
    case 'JsonPath': {
      const name = node.column.name;
      const type = resolve(name);
      const path = [name, ...node.keys].join('.');
      if (type !== 'json') throw invalidArgument(`${path}: column '${name}' is ${type}, not json, so it has no keys to walk into`);
      const keys = node.keys;
      return { type: 'dynamic', constant: false, label: `${path} (json path)`, get: (row) => walkPath(row[name] ?? null, keys) };
    }
    case 'FunctionCall':
      // The SELECT engine replaces aggregates by their results before compiling; one
      // reaching here stands where only row values may.
      if (!isAggregate(node)) throw unknownFunction(node.name);
      throw invalidArgument(`aggregate functions are not allowed here (${node.name}())`);
    case 'Comparison': {
      const test = comparison(node.op, compile(node.left, resolve, params), compile(node.right, resolve, params));
      return condition(test);
    }
    case 'Logical': {
      // n-ary, not nested: a chain of thousands of terms compiles (and runs) in a loop.
      // Checked in the order the binary tree would be: the first two terms are compiled
      // before either is checked, every later one is checked as it is compiled.
      const operands: Operand[] = [];
      const terms: Predicate[] = [];
      for (const term of logicalTerms(node)) {
        operands.push(compile(term, resolve, params));
        if (operands.length === 2) terms.push(requireBoolean(operands[0]!, node.op));
        if (operands.length >= 2) terms.push(requireBoolean(operands.at(-1)!, node.op));
      }
      return condition(node.op === 'AND' ? allOf(terms) : anyOf(terms));
    }
    case 'Not': {
      const run = notRun(node);
      const inner = requireBoolean(compile(run.operand, resolve, params), 'NOT');
      return condition(run.count % 2 === 0 ? inner : (row) => { const v = inner(row); return v === null ? null : !v; });
    }
    case 'IsNull': {
      const get = compile(node.operand, resolve, params).get;
      return condition(node.negated ? (row) => get(row) !== null : (row) => get(row) === null);
    }
    case 'Like': return condition(negate(like(node, resolve, params), node.negated));
    case 'In': return condition(negate(inList(node, resolve, params), node.negated));
  }
}

/** Kleene AND of any number of terms, stopping at the first FALSE. */
function allOf(terms: readonly Predicate[]): Predicate {
  return (row) => {
    let unknown = false;
    for (const term of terms) {
      const v = term(row);
      if (v === false) return false;
      if (v === null) unknown = true;
    }
    return unknown ? null : true;
  };
}

/** Kleene OR of any number of terms, stopping at the first TRUE. */
function anyOf(terms: readonly Predicate[]): Predicate {
  return (row) => {
    let unknown = false;
    for (const term of terms) {
      const v = term(row);
      if (v === true) return true;
      if (v === null) unknown = true;
    }
    return unknown ? null : false;
  };
}

function condition(get: Predicate): Operand {
  return { type: 'boolean', constant: false, label: 'a boolean condition', get };
}

function negate(test: Predicate, negated: boolean): Predicate {
  return negated ? (row) => { const v = test(row); return v === null ? null : !v; } : test;
}

function constant(raw: unknown): Operand {
  const value = typeof raw === 'bigint' ? Number(raw) : raw ?? null;
  const type = typeOfValue(value);
  const label = type === 'null' ? 'NULL' : `${type} ${describeValue(value)}`;
  return { type, constant: true, label, get: () => value };
}

function typeOfValue(value: unknown): ValueType {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string': return 'text';
    case 'number': return Number.isInteger(value) ? 'integer' : 'real';
    case 'boolean': return 'boolean';
  }
  if (value instanceof Date) return 'timestamp';
  if (value instanceof Uint8Array) return 'blob';
  return 'unsupported';
}

/**
 * The operand as a condition. A JSON path may stand as one: TRUE when it holds `true`,
 * UNKNOWN when NULL, FALSE for any other value (as for comparisons across types).
 */
function requireBoolean(operand: Operand, where: string): Predicate {
  if (operand.type === 'dynamic') {
    const get = operand.get;
    return (row) => { const v = get(row); return v === null ? null : v === true; };
  }
  if (operand.type !== 'boolean' && operand.type !== 'null') {
    throw invalidArgument(`argument of ${where} must be boolean, got ${operand.label}`);
  }
  return operand.get as Predicate;
}

const isNumeric = (t: ValueType): boolean => t === 'integer' || t === 'real';

/** Maps a non-null runtime value to something `===` and `<` compare correctly. */
type KeyFn = (value: unknown) => unknown;

const numberKey: KeyFn = (v) => Number(v);
const identityKey: KeyFn = (v) => v;
const timeKey: KeyFn = (v) => (v as Date).getTime();
const jsonKey: KeyFn = (v) => canonicalJson(v);

/**
 * Builds `left op right`, choosing how to compare from the two static types. Cross-type
 * conversions (text → timestamp, number → timestamp, text → json) are only done for
 * constants, so they happen — and fail — once, before the scan.
 */
function comparison(op: '=' | '<>' | '<' | '<=' | '>' | '>=', left: Operand, right: Operand): Predicate {
  const mismatch = () => invalidArgument(`cannot compare ${left.label} with ${right.label}`);
  if (left.type === 'blob' || right.type === 'blob' || left.type === 'unsupported' || right.type === 'unsupported') {
    throw mismatch();
  }
  if ((left.type === 'json' || right.type === 'json') && left.type !== 'dynamic' && right.type !== 'dynamic' && op !== '=' && op !== '<>') {
    throw invalidArgument(`json values support only =, <> and IS NULL, not ${op} (${left.label} ${op} ${right.label})`);
  }
  if (left.type === 'null' || right.type === 'null') return () => null;
  if (left.type === 'dynamic' || right.type === 'dynamic') {
    // Types known per row only: the one rule of compare.ts, never an error.
    const l = left.get;
    const r = right.get;
    return (row) => compareForCondition(op, l(row), r(row));
  }

  let key: KeyFn;
  let l = left.get;
  let r = right.get;
  const lt = left.type;
  const rt = right.type;
  if (isNumeric(lt) && isNumeric(rt)) key = numberKey;
  else if (lt === rt && lt !== 'timestamp' && lt !== 'json') key = identityKey;
  else if (lt === 'timestamp' || rt === 'timestamp') {
    key = timeKey;
    if (lt !== 'timestamp') l = convertConstant(left, rt, mismatch);
    if (rt !== 'timestamp') r = convertConstant(right, lt, mismatch);
  } else if (lt === 'json' || rt === 'json') {
    key = jsonKey;
    if (lt !== 'json') l = convertConstant(left, rt, mismatch);
    if (rt !== 'json') r = convertConstant(right, lt, mismatch);
  } else {
    throw mismatch();
  }

  const test = relation(op);
  return (row) => {
    const a = l(row);
    if (a === null) return null;
    const b = r(row);
    if (b === null) return null;
    return test(key(a), key(b));
  };
}

/** Converts a constant to timestamp or json for comparison against a column of that type. */
function convertConstant(operand: Operand, target: ValueType, mismatch: () => Error): Operand['get'] {
  if (!operand.constant) throw mismatch();
  const value = operand.get({});
  let converted: unknown;
  if (target === 'timestamp' && (operand.type === 'text' || isNumeric(operand.type))) {
    converted = toDate(value, operand.label);
  } else if (target === 'json' && operand.type === 'text') {
    try {
      converted = JSON.parse(value as string);
    } catch {
      throw invalidArgument(`${operand.label} is not valid JSON`);
    }
    checkJson(converted, operand.label); // deeper than anything stored, and than canonicalJson could print
  } else {
    throw mismatch();
  }
  return () => converted;
}

function relation(op: '=' | '<>' | '<' | '<=' | '>' | '>='): (a: unknown, b: unknown) => boolean {
  switch (op) {
    case '=': return (a, b) => a === b;
    case '<>': return (a, b) => a !== b;
    case '<': return (a, b) => (a as number) < (b as number);
    case '<=': return (a, b) => (a as number) <= (b as number);
    case '>': return (a, b) => (a as number) > (b as number);
    case '>=': return (a, b) => (a as number) >= (b as number);
  }
}

/**
 * Date/time text in ISO-8601 form: a date, optionally a time (`T` or space), optionally
 * fractional seconds and an offset. Anything looser is rejected rather than handed to
 * `Date.parse`, whose non-ISO parsing is implementation-defined.
 */
const ISO_DATE = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** Date, ISO-8601 text or epoch milliseconds → Date. A time without an offset is read as UTC, not host-local time, so results do not depend on the machine. */
function toDate(value: unknown, what: string): Date {
  let ms = NaN;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number' || typeof value === 'bigint') ms = Number(value);
  else if (typeof value === 'string') {
    const m = ISO_DATE.exec(value.trim());
    if (m) {
      // Date.parse only takes the ES subset of ISO-8601: a `T`, and offsets with a colon.
      const offset = m[3] === undefined ? 'Z' : m[3].toUpperCase().replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
      ms = Date.parse(m[2] === undefined ? `${m[1]}T00:00:00Z` : `${m[1]}T${m[2]}${offset}`);
    }
  }
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) {
    throw invalidArgument(`${what} is not a valid timestamp (expected an ISO-8601 string, a Date or epoch milliseconds)`);
  }
  return new Date(ms);
}

function inList(node: InNode, resolve: ColumnResolver, params: Params): Predicate {
  const operand = compile(node.operand, resolve, params);
  const tests = node.list.map((item) => comparison('=', operand, compile(item, resolve, params)));
  return (row) => {
    let unknown = false;
    for (const test of tests) {
      const v = test(row);
      if (v === true) return true;
      if (v === null) unknown = true;
    }
    return unknown ? null : false;
  };
}

function like(node: LikeNode, resolve: ColumnResolver, params: Params): Predicate {
  const operand = compile(node.operand, resolve, params);
  const pattern = compile(node.pattern, resolve, params);
  for (const side of [operand, pattern]) {
    if (side.type !== 'text' && side.type !== 'null' && side.type !== 'dynamic') throw invalidArgument(`LIKE needs text, got ${side.label}`);
  }
  if (operand.type === 'null' || pattern.type === 'null') return () => null;
  if (operand.type === 'dynamic' || pattern.type === 'dynamic') return dynamicLike(operand.get, pattern.get);
  const get = operand.get;
  if (pattern.constant) {
    const regex = likeRegex(pattern.get({}) as string);
    return (row) => { const v = get(row); return v === null ? null : regex.test(v as string); };
  }
  // A pattern from a column varies per row; cache so repeated patterns compile once.
  const cache = new Map<string, RegExp>();
  const getPattern = pattern.get;
  return (row) => {
    const v = get(row);
    const p = getPattern(row);
    if (v === null || p === null) return null;
    let regex = cache.get(p as string);
    if (regex === undefined) {
      if (cache.size > 1000) cache.clear();
      regex = likeRegex(p as string);
      cache.set(p as string, regex);
    }
    return regex.test(v as string);
  };
}

/** LIKE where a side is a JSON path: a value that is not text does not match (FALSE), NULL is UNKNOWN. */
function dynamicLike(getValue: (row: Row) => unknown, getPattern: (row: Row) => unknown): Predicate {
  const cache = new Map<string, RegExp>();
  return (row) => {
    const v = getValue(row);
    const p = getPattern(row);
    if (v === null || p === null) return null;
    if (typeof v !== 'string' || typeof p !== 'string') return false;
    let regex = cache.get(p);
    if (regex === undefined) {
      if (cache.size > 1000) cache.clear();
      regex = likeRegex(p);
      cache.set(p, regex);
    }
    return regex.test(v);
  };
}

/**
 * LIKE pattern → anchored regex. `%` matches any run, `_` exactly one code point (the `u`
 * flag stops `_` from matching half a surrogate pair). A backslash makes the next
 * character literal (`\%`, `\_`, `\\`), as in PostgreSQL; a trailing lone backslash
 * matches itself. Everything else is matched literally, regex metacharacters included.
 */
export function likeRegex(pattern: string): RegExp {
  let source = '';
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === '%') source += '[\\s\\S]*';
    else if (c === '_') source += '[\\s\\S]';
    else if (c === '\\' && i + 1 < chars.length) source += escapeRegex(chars[++i] as string);
    else source += escapeRegex(c);
  }
  return new RegExp(`^${source}$`, 'u');
}

function escapeRegex(c: string): string {
  // Only syntax characters and `/` may be escaped under the `u` flag.
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
}
