/**
 * Grammar-aware fuzzing of the whole path (text → parser → executor → store): valid
 * statements aimed at models that exist, the parser round-trip arbitraries' statements,
 * both mutated at character and token level, with hostile parameter values, run against
 * an in-memory registry. A case passes when every call resolves or rejects with a
 * ModelSqlError, within a CPU budget that grows with its size, and the registry still
 * answers afterwards.
 *
 * Used by fuzz.test.ts (CI: a bounded run) and fuzz-main.ts (`npm run fuzz`).
 */
import fc from 'fast-check';
import { ModelSqlError, open, printStatement, type Database, type StatementNode } from '../../src/index.js';
import { statement as anyStatement } from '../parser/arbitraries.js';

const MODELS = ['spam', 'ham', 'acme_only', 'ghost', 'trained'];
const TABLES = ['ML_MODELS_DASHBOARD', 'ML_MODEL_VERSIONS', 'ML_JOBS', 'ml_jobs', 'ML_MODEL_EVENTS', 'ML_MODEL_ALIASES', 'NOPE'];
const COLUMNS = ['name', 'model', 'version', 'active', 'archived', 'stage', 'retired', 'tenant', 'created_at', 'metrics', 'config', 'status', 'progress', 'sha256', 'size_bytes', 'schema', 'id', 'nope'];

/** Model names, usually ones that exist. */
const modelName = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...MODELS) }, { weight: 1, arbitrary: fc.stringMatching(/^[a-z_][a-z0-9_]{0,6}$/) });
const ident = (name: string) => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`);
const quote = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** JSON text nested `depth` deep. */
const deepJson = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
/** An array nested `depth` deep. */
function deepArray(depth: number): unknown {
  let value: unknown = [];
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** Numbers that break naive code. */
const nastyNumber = fc.constantFrom(0, -0, 1, -1, 1.5, 2 ** 53, 2 ** 53 + 2, 1e308, -1e308, 5e-324, Number.NaN, Infinity, -Infinity, 4294967296, 99);

/** Parameter values: ordinary, edgy and hostile. */
export function paramValue(): fc.Arbitrary<unknown> {
  const shapes: fc.Arbitrary<unknown>[] = [
    nastyNumber,
    fc.integer(),
    fc.double(),
    fc.bigInt(),
    fc.string({ maxLength: 20 }),
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.constantFrom('', "'", 'spam', '1', 'true', '{"a":1}', '[1,2', 'production', 'customer_id ID', '\u0000', '\ud800'),
    fc.constant('x'.repeat(200_000)),
    fc.boolean(),
    fc.constantFrom(null, undefined),
    fc.uint8Array({ maxLength: 64 }),
    fc.uint8Array({ maxLength: 8 }).map((bytes) => Buffer.from(bytes)),
    fc.constant(new Float64Array([1, 2])),
    fc.constant(new ArrayBuffer(4)),
    fc.date({ noInvalidDate: true }),
    fc.constant(Symbol('s')),
    fc.constant(() => 1),
    fc.constant(new Map([[1, 2]])),
    fc.constant(Object.assign(Object.create({ inherited: 1 }) as object, { own: 2 })),
    fc.integer({ min: 1, max: 60 }).map(deepArray),
    fc.jsonValue({ maxDepth: 4 }),
    fc.object({ maxDepth: 3, withBigInt: true, withDate: true, withTypedArray: true, withNullPrototype: false }),
    fc.array(fc.constantFrom(1, 'a', null), { maxLength: 5 }),
    fc.constant([undefined]),
    fc.constant({ toJSON: () => { throw new Error('toJSON threw'); } }),
    fc.constant({ get boom() { throw new Error('getter threw'); } }),
    fc.constant(new Proxy({}, { ownKeys: () => { throw new Error('ownKeys threw'); } })),
    fc.constant(Object.assign([1, 2], { extra: 3 })),
    fc.constant(new Error('an error as a value')),
    fc.constant(Promise.resolve(1)),
  ];
  shapes.push(
    fc.constant(new Date(Number.NaN)),
    fc.constant(Object.create(null) as object),
    fc.constant(Object.assign(Object.create(null) as object, { a: 1 })),
    fc.integer({ min: 1_500, max: 4_000 }).map(deepArray),
  );
  // Half the time a plausible value, so statements get past binding into the store.
  const plausible = fc.constantFrom<unknown>(1, 2, 3, 'spam', 'acme', true, 0.5, Buffer.from([9, 8, 7]), { f1: 0.9 }, [1, 2]);
  return fc.oneof(plausible, fc.oneof(...shapes));
}

const version = fc.oneof(fc.constantFrom('1', '2', '3', '99', '0', '-1', '1.5', '1e308', '$1', '$2', "'1'", 'NULL', 'TRUE', '@champion', '@nope', "'@champion'"), fc.nat({ max: 5 }).map(String));
const aliasName = fc.constantFrom('champion', 'challenger', '"no-dashes"', '"select"', `a${'x'.repeat(70)}`);
const stage = fc.constantFrom('DEV', 'STAGING', 'PRODUCTION', 'staging', 'QA');

function jsonText(): fc.Arbitrary<string> {
  const shapes = [
    fc.jsonValue({ maxDepth: 3 }).map((v) => quote(JSON.stringify(v) ?? 'null')),
    fc.constantFrom("'{'", "'[1,2'", "'\"\\ud800\"'", "'1e999'", "'{\"__proto__\":{\"x\":1}}'", "'null'", '$1', '$2', 'NULL', '1', 'TRUE'),
    fc.integer({ min: 1, max: 60 }).map((d) => quote(deepJson(d))),
  ];
  shapes.push(fc.integer({ min: 1_500, max: 5_000 }).map((d) => quote(deepJson(d))));
  return fc.oneof(...shapes);
}

function createOption(): fc.Arbitrary<string> {
  const json = jsonText();
  return fc.oneof(
    fc.constantFrom('weights = $1', 'weights = $2', "weights = x'0102'", "weights = FILE '/etc/passwd'", 'weights = FILE $1', "artifact = 's3://a/b'", 'artifact = $1'),
    fc.constantFrom('active = TRUE', 'active = FALSE', 'active = $1', 'active = 1'),
    json.map((j) => `metrics = ${j}`),
    json.map((j) => `hyperparams = ${j}`),
    json.map((j) => `config = ${j}`),
    fc.constantFrom("trainer = 't'", "trainer = 'missing'", 'async = TRUE', "task = 'classification'", "task = 'dance'", "base_model = 'spam'", "base_model = 'ghost'", 'base_version = 2', 'base_version = $1', "model_type = 'lora'", "backend = 'onnx'", "description = $1", 'parent_version = 1', 'bogus = 1'),
  );
}

const schemaField = fc.tuple(
  fc.constantFrom('customer_id', 'email', 'plan', 'x', '"a b"', 'select'),
  fc.constantFrom('ID', 'EMAIL', 'CATEGORICAL', 'TEXT', 'NUMBER', 'BOOLEAN', 'BLOB'),
  fc.constantFrom('', ' NULL_RATE 0.1', ' NULL_RATE $1', ' NULL_RATE 2', ' CARDINALITY 10', ' CARDINALITY $1', ' CARDINALITY -1', ' CARDINALITY 1.5'),
).map(([name, kind, stats]) => `${name} ${kind}${stats}`);
const schema = fc
  .tuple(fc.array(schemaField, { minLength: 1, maxLength: 4 }), fc.constantFrom('', ' RECORD_COUNT 100', ' RECORD_COUNT $1', ' RECORD_COUNT 0', ' RECORD_COUNT -5'))
  .map(([fields, count]) => `SCHEMA (${fields.join(', ')})${count}`);

/** WHERE expressions over real columns, some of them chains thousands of terms long. */
function where(): fc.Arbitrary<string> {
  const atom = fc.oneof(
    fc.tuple(fc.constantFrom(...COLUMNS), fc.constantFrom('=', '<>', '<', '>=', 'LIKE', 'NOT LIKE'), fc.constantFrom('1', "'spam'", "'%a_'", '$1', '$2', 'NULL', 'TRUE', '1e308', "x'00'")).map(([c, op, v]) => `${c} ${op} ${v}`),
    fc.tuple(fc.constantFrom(...COLUMNS), fc.constantFrom('IS NULL', 'IS NOT NULL')).map(([c, t]) => `${c} ${t}`),
    fc.tuple(fc.constantFrom(...COLUMNS), fc.array(fc.constantFrom('1', "'a'", '$1', 'NULL'), { minLength: 1, maxLength: 4 })).map(([c, l]) => `${c} IN (${l.join(', ')})`),
    fc.constantFrom('retired', 'NOT archived', 'active', '$1'),
  );
  const expr = fc.letrec<{ e: string }>((tie) => ({
    e: fc.oneof(
      { depthSize: 'small' },
      atom,
      fc.tuple(tie('e'), fc.constantFrom('AND', 'OR'), tie('e')).map(([a, op, b]) => `(${a}) ${op} (${b})`),
      tie('e').map((e) => `NOT ${e}`),
    ),
  })).e;
  const chains = [
    fc.tuple(fc.integer({ min: 2, max: 100 }), atom).map(([n, a]) => `${'NOT '.repeat(n)}${a}`),
    fc.tuple(fc.integer({ min: 2, max: 100 }), fc.constantFrom('AND', 'OR'), atom).map(([n, op, a]) => Array(n).fill(a).join(` ${op} `)),
  ];
  chains.push(
    fc.tuple(fc.integer({ min: 3_000, max: 8_000 }), atom).map(([n, a]) => `${'NOT '.repeat(n)}${a}`),
    fc.tuple(fc.integer({ min: 3_000, max: 8_000 }), fc.constantFrom('AND', 'OR'), atom).map(([n, op, a]) => Array(n).fill(a).join(` ${op} `)),
  );
  return fc.oneof({ weight: 4, arbitrary: expr }, { weight: 1, arbitrary: fc.oneof(...chains) });
}

/** Statements written for this registry: they reach the executor and the store, not just the parser. */
export function targetedStatement(): fc.Arbitrary<string> {
  const m = modelName.map(ident);
  return fc.oneof(
    fc.tuple(m, fc.array(createOption(), { maxLength: 4 }), fc.option(schema, { nil: '' }), fc.option(version, { nil: null })).map(
      ([model, opts, schemaText, from]) => `CREATE MODEL ${model}${from === null ? '' : ` FROM VERSION ${from}`}${opts.length ? ` WITH (${opts.join(', ')})` : ''}${schemaText ? ` ${schemaText}` : ''}`,
    ),
    fc.tuple(m, version).map(([model, v]) => `ALTER MODEL ${model} USE VERSION ${v}`),
    fc.tuple(m, version, fc.constantFrom('PROMOTE', 'DEMOTE'), stage).map(([model, v, d, s]) => `ALTER MODEL ${model} VERSION ${v} ${d} TO ${s}`),
    fc.tuple(fc.constantFrom('ARCHIVE', 'RETIRE'), m, fc.option(version, { nil: null })).map(([verb, model, v]) => `${verb} MODEL ${model}${v === null ? '' : ` VERSION ${v}`}`),
    fc.tuple(m, version).map(([model, v]) => `UNARCHIVE MODEL ${model} VERSION ${v}`),
    m.map((model) => `ALTER MODEL ${model} USE PREVIOUS VERSION`),
    fc.tuple(m, aliasName, version).map(([model, a, v]) => `ALTER MODEL ${model} SET ALIAS ${a} TO VERSION ${v}`),
    fc.tuple(m, aliasName).map(([model, a]) => `ALTER MODEL ${model} DROP ALIAS ${a}`),
    fc
      .tuple(m, fc.option(version, { nil: null }), fc.constantFrom('team', '"__proto__"', '"odd key"'), fc.option(fc.constantFrom("'search'", '$1', '1', 'NULL', `'${'v'.repeat(5001)}'`), { nil: null }))
      .map(([model, v, key, value]) => `ALTER MODEL ${model}${v === null ? '' : ` VERSION ${v}`} ${value === null ? `UNSET TAG ${key}` : `SET TAG ${key} = ${value}`}`),
    schema.map((s) => `LOOKUP MODEL FOR ${s}`),
    fc.constantFrom("SET TENANT 'acme'", 'SET TENANT $1', "SET TENANT ''", 'RESET TENANT', "CANCEL JOB 'abc'", 'CANCEL JOB $1', "CANCEL JOB '00000000000000000000000000000000'"),
    fc
      .tuple(
        fc.oneof(fc.constant('*'), fc.array(fc.constantFrom(...COLUMNS), { minLength: 1, maxLength: 4 }).map((c) => c.join(', '))),
        fc.constantFrom(...TABLES),
        fc.option(where(), { nil: null }),
        fc.option(fc.tuple(fc.constantFrom(...COLUMNS), fc.constantFrom('ASC', 'DESC')), { nil: null }),
        fc.option(fc.constantFrom('LIMIT 1', 'LIMIT 0', 'LIMIT $1', 'LIMIT 1 OFFSET 1', 'LIMIT -1', 'LIMIT 1e308 OFFSET $2'), { nil: '' }),
      )
      .map(([cols, table, w, order, limit]) => `SELECT ${cols} FROM ${table}${w ? ` WHERE ${w}` : ''}${order ? ` ORDER BY ${order[0]} ${order[1]}` : ''}${limit ? ` ${limit}` : ''}`),
  );
}

/** A statement from the parser's round-trip arbitraries (any shape the grammar has), printed. */
const roundTripStatement: fc.Arbitrary<string> = anyStatement.map((node: StatementNode) => printStatement(node));

const SQL_TOKENS = ['SELECT', 'FROM', 'WHERE', 'AND', 'OR', 'NOT', '(', ')', ',', ';', '*', '=', '$1', '$99999999', "'", '"', '--', '/*', 'MODEL', 'VERSION', 'CREATE', 'WITH', 'FILE', 'NULL', '1e999', "x'0'", '\u0000', '😀'];

type Edit =
  | { readonly kind: 'insert' | 'replace'; readonly at: number; readonly text: string }
  | { readonly kind: 'delete'; readonly at: number }
  | { readonly kind: 'swapTokens'; readonly a: number; readonly b: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constantFrom('insert' as const, 'replace' as const), at: fc.nat(), text: fc.oneof(fc.string({ maxLength: 3 }), fc.constantFrom(...SQL_TOKENS), fc.string({ unit: 'binary', maxLength: 2 })) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swapTokens' as const), a: fc.nat(), b: fc.nat() }),
);

/** Applies character-level edits and swaps of whitespace-separated tokens. */
export function mutate(sql: string, edits: readonly Edit[]): string {
  let out = sql;
  for (const e of edits) {
    if (e.kind === 'swapTokens') {
      const tokens = out.split(/(\s+)/);
      if (tokens.length < 3) continue;
      const i = (e.a % Math.ceil(tokens.length / 2)) * 2;
      const j = (e.b % Math.ceil(tokens.length / 2)) * 2;
      [tokens[i], tokens[j]] = [tokens[j]!, tokens[i]!];
      out = tokens.join('');
      continue;
    }
    const at = e.at % (out.length + 1);
    if (e.kind === 'delete') out = out.slice(0, at) + out.slice(at + 1);
    else if (e.kind === 'insert') out = out.slice(0, at) + e.text + out.slice(at);
    else out = out.slice(0, at) + e.text + out.slice(at + 1);
  }
  return out;
}

/** One fuzz case: statements (run one by one with query, or as a script with exec) and their parameters. */
export interface FuzzCase {
  readonly statements: readonly string[];
  readonly params: readonly unknown[];
  readonly asScript: boolean;
}

export function fuzzCase(): fc.Arbitrary<FuzzCase> {
  const one = fc.oneof(
    { weight: 5, arbitrary: targetedStatement() },
    { weight: 2, arbitrary: roundTripStatement },
    { weight: 3, arbitrary: fc.tuple(fc.oneof(targetedStatement(), roundTripStatement), fc.array(edit, { minLength: 1, maxLength: 4 })).map(([sql, edits]) => mutate(sql, edits)) },
  );
  return fc.record({
    statements: fc.array(one, { minLength: 1, maxLength: 3 }),
    params: fc.array(paramValue(), { maxLength: 3 }),
    asScript: fc.boolean(),
  });
}

/** How a case broke a promise. */
export class FuzzFailure extends Error {}

/** Rough size of an input in characters, for the budget. */
function sizeOf(value: unknown, depth = 0): number {
  if (typeof value === 'string') return value.length;
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value) && depth < 100) return 1 + value.reduce((n: number, v) => n + sizeOf(v, depth + 1), 0);
  return 8;
}

/** CPU time (ms) a statement may use: generous, and CPU rather than wall-clock so a busy machine cannot fail it. */
export const budgetMs = (chars: number): number => 2_000 + chars;
/** Wall-clock limit for a statement that never settles (a hang, not slowness). */
const HANG_MS = 60_000;

const cpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

const trainers = { t: async () => ({ weights: Buffer.from([1, 2, 3]), metrics: { f1: 0.5 } }) };

/** A small registry: versions, stages, an archived and a retired one, a schema, a tenant, a job. */
export async function seededRegistry(): Promise<Database> {
  const db = await open({ memory: true, trainers, onError: () => undefined });
  await db.exec(`
    CREATE MODEL spam WITH (weights = x'0102', metrics = '{"f1":0.9}') SCHEMA (customer_id ID, email EMAIL) RECORD_COUNT 10;
    CREATE MODEL spam WITH (artifact = 's3://spam/2', active = FALSE, config = '{"d":384}');
    CREATE MODEL spam WITH (weights = x'03', task = 'classification', base_model = 'spam');
    ALTER MODEL spam VERSION 2 PROMOTE TO STAGING;
    ARCHIVE MODEL spam VERSION 1;
    RETIRE MODEL spam VERSION 3;
    CREATE MODEL ham WITH (artifact = 's3://ham/1');
    CREATE MODEL trained WITH (trainer = 't');
  `);
  await db.withTenant('acme').query("CREATE MODEL acme_only WITH (artifact = 's3://acme/1') SCHEMA (plan CATEGORICAL)");
  return db;
}

/** Runs one call; resolves, or rejects with a ModelSqlError, within its budget. Anything else is a FuzzFailure. */
async function checkCall(what: string, chars: number, call: () => Promise<unknown>): Promise<void> {
  const cpuBefore = cpuMs();
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<'hang'>((resolve) => (timer = setTimeout(() => resolve('hang'), HANG_MS)));
  let outcome: unknown;
  try {
    outcome = await Promise.race([call().then(() => 'ok'), hang]);
  } catch (error) {
    if (!(error instanceof ModelSqlError)) {
      throw new FuzzFailure(`${what} threw ${(error as Error)?.constructor?.name ?? typeof error} (not a ModelSqlError): ${(error as Error)?.stack ?? String(error)}`);
    }
  } finally {
    clearTimeout(timer);
  }
  if (outcome === 'hang') throw new FuzzFailure(`${what} did not settle within ${HANG_MS / 1000} s`);
  const used = cpuMs() - cpuBefore;
  if (used > budgetMs(chars)) throw new FuzzFailure(`${what} used ${used.toFixed(0)} ms of CPU, over its budget of ${budgetMs(chars)} ms`);
}

/** Runs a case against a fresh seeded registry. */
export async function runCase(c: FuzzCase): Promise<void> {
  const db = await seededRegistry();
  try {
    const chars = c.statements.reduce((n, s) => n + s.length, 0) + sizeOf(c.params);
    const describe = (sql: string) => `${sql.length > 300 ? `${sql.slice(0, 300)}… (${sql.length} chars)` : JSON.stringify(sql)} with params ${describeParams(c.params)}`;
    if (c.asScript) {
      const script = c.statements.join(';\n');
      await checkCall(`exec(${describe(script)})`, chars, () => db.exec(script, c.params as never));
    } else {
      for (const sql of c.statements) await checkCall(`query(${describe(sql)})`, chars, () => db.query(sql, c.params as never));
    }
    // The registry still answers.
    await checkCall('the registry afterwards', 0, () => db.query('SELECT name FROM ML_MODELS_DASHBOARD'));
  } finally {
    await db.close({ abortJobs: true });
  }
}

function describeParams(params: readonly unknown[]): string {
  return `[${params
    .map((p) => {
      if (typeof p === 'string') return p.length > 40 ? `<string of ${p.length}>` : JSON.stringify(p);
      if (typeof p === 'bigint') return `${p}n`;
      if (typeof p === 'symbol' || typeof p === 'function') return String(p);
      if (p instanceof Date) return Number.isNaN(p.getTime()) ? 'new Date(NaN)' : `Date(${p.toISOString()})`;
      if (p !== null && typeof p === 'object' && Object.getPrototypeOf(p) === null) return 'Object.create(null)';
      if (p instanceof Uint8Array) return `${p.constructor.name}(${p.byteLength})`;
      try {
        const text = JSON.stringify(p);
        return text === undefined ? String(p) : text.length > 60 ? `${text.slice(0, 60)}…` : text;
      } catch {
        return Object.prototype.toString.call(p);
      }
    })
    .join(', ')}]`;
}

/** The property both the bounded CI run and the long run check. */
export function fuzzProperty(): fc.IAsyncPropertyWithHooks<[FuzzCase]> {
  return fc.asyncProperty(fuzzCase(), runCase);
}
