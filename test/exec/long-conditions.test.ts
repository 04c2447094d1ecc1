/**
 * WHERE clauses SQL text can make arbitrarily long without parentheses: AND/OR chains
 * and NOT runs of 10,000 terms. Every layer (parser, printer, statement cache,
 * compiler, scan hints, evaluation) handles them without recursion: right answers,
 * typed errors, never a RangeError.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { columnsOf } from '../../src/exec/expression.js';
import { runSelect } from '../../src/exec/select.js';
import { StatementCache } from '../../src/exec/statement-cache.js';
import { parseStatement, printStatement, type Database } from '../../src/index.js';
import type { SelectNode } from '../../src/parser/ast.js';
import { expectError, memoryDb } from '../helpers/sql.js';
import { VERSION_COLUMNS, memoryTable, versionRows } from './helpers.js';

const N = 10_000;
const chain = (op: 'AND' | 'OR', term: (i: number) => string, n = N): string => Array.from({ length: n }, (_, i) => term(i)).join(` ${op} `);

let db: Database;
beforeAll(async () => {
  db = await memoryDb();
  for (const name of ['a', 'b', 'c']) await db.query(`CREATE MODEL ${name} WITH (artifact = 's3://${name}')`);
  await db.query("CREATE MODEL a WITH (artifact = 's3://a/2')");
});
afterAll(() => db.close());

async function versions(where: string, params: unknown[] = []): Promise<string[]> {
  const { rows } = await db.query(`SELECT model, version FROM ML_MODEL_VERSIONS WHERE ${where} ORDER BY model, version`, params);
  return rows.map((r) => `${r.model as string}${r.version as number}`);
}

describe(`WHERE chains ${N.toLocaleString('en')} long`, () => {
  it('NOT run: an even count is the condition, an odd count its negation (NULL stays NULL)', async () => {
    expect(await versions(`${'NOT '.repeat(N)}model = 'a'`)).toEqual(['a1', 'a2']);
    expect(await versions(`${'NOT '.repeat(N + 1)}model = 'a'`)).toEqual(['b1', 'c1']);
    expect(await versions(`${'NOT '.repeat(N + 1)}NULL`)).toEqual([]);
    expect(await versions(`${'NOT '.repeat(N)}(model = 'a' AND version = 2)`)).toEqual(['a2']);
  });

  it('AND chain: every term must hold, and the first equality still narrows the scan', async () => {
    expect(await versions(`model = 'a' AND ${chain('AND', (i) => `version <> ${i + 3}`)}`)).toEqual(['a1', 'a2']);
    expect(await versions(`${chain('AND', (i) => `version <> ${i + 2}`)} AND model <> 'c'`)).toEqual(['a1', 'b1']);
    expect(await versions(`${chain('AND', () => 'version = 1')} AND model = 'a'`)).toEqual(['a1']);
  });

  it('OR chain: any term may hold; NULL terms do not make it true', async () => {
    expect(await versions(chain('OR', (i) => `version = ${i + 2}`))).toEqual(['a2']);
    expect(await versions(`${chain('OR', () => 'NULL')} OR model = 'b'`)).toEqual(['b1']);
    expect(await versions(chain('OR', (i) => (i === N - 1 ? "model = 'c'" : `model = 'x${i}'`)))).toEqual(['c1']);
  });

  it('mixed chains with NOT runs, parentheses and parameters', async () => {
    const where = chain('OR', (i) => `(model = $1 AND NOT NOT NOT version = ${(i % 2) + 1})`);
    expect(await versions(where, ['a'])).toEqual(['a1', 'a2']);
    expect(await versions(`${chain('AND', () => 'NOT NOT version = $1')} AND NOT model = $2`, [1, 'a'])).toEqual(['b1', 'c1']);
  });

  it('a bad term anywhere in a long chain is a typed error, found before the scan', async () => {
    await expectError(db.query(`SELECT * FROM ML_MODEL_VERSIONS WHERE ${chain('AND', () => 'version = 1')} AND verison = 2`), 'UNKNOWN_COLUMN', /did you mean 'version'/);
    await expectError(db.query(`SELECT * FROM ML_MODEL_VERSIONS WHERE ${chain('OR', () => 'version = 1')} OR version = 'abc'`), 'INVALID_ARGUMENT', /cannot compare version \(integer\) with text 'abc'/);
    await expectError(db.query(`SELECT * FROM ML_MODEL_VERSIONS WHERE ${'NOT '.repeat(N)}model`), 'INVALID_ARGUMENT', /argument of NOT must be boolean, got model \(text\)/);
    await expectError(db.query(`SELECT * FROM ML_MODEL_VERSIONS WHERE ${chain('AND', () => 'version = 1')} AND`), 'SYNTAX_ERROR');
  });

  it('the same long statement runs again from the statement cache', async () => {
    const cache = new StatementCache();
    const sql = `SELECT * FROM ML_MODEL_VERSIONS WHERE ${chain('AND', () => 'version = 1')}`;
    expect(cache.parse(sql)).toBe(cache.parse(sql));
    expect(await versions(chain('AND', () => 'version = 1'))).toEqual(await versions(chain('AND', () => 'version = 1')));
  });
});

describe('printer and walkers over long chains', () => {
  it('prints AND/OR chains and NOT runs in canonical form that parses back to the same text', () => {
    const sql = `SELECT * FROM T WHERE ${chain('AND', (i) => `v = ${i}`)} OR ${'NOT '.repeat(N)}(a OR b) OR (c AND d) AND e`;
    const printed = printStatement(parseStatement(sql));
    expect(printed).toBe(`SELECT * FROM T WHERE ${chain('AND', (i) => `v = ${i}`)} OR ${'NOT '.repeat(N)}(a OR b) OR c AND d AND e`);
    expect(printStatement(parseStatement(printed))).toBe(printed);
    // A same-operator right operand keeps its parentheses, so the tree shape round-trips.
    expect(printStatement(parseStatement('SELECT * FROM T WHERE a AND (b AND c) OR (d OR e)'))).toBe('SELECT * FROM T WHERE a AND (b AND c) OR (d OR e)');
  });

  it('columnsOf lists every column of a 10,000-term chain in source order', () => {
    const node = parseStatement(`SELECT * FROM T WHERE ${chain('OR', (i) => `c${i} IN (d${i}, NOT e${i}) AND f${i} LIKE g${i}`)}`) as SelectNode;
    const names = columnsOf(node.where);
    expect(names).toHaveLength(5 * N);
    expect(names.slice(0, 10)).toEqual(['c0', 'd0', 'e0', 'f0', 'g0', 'c1', 'd1', 'e1', 'f1', 'g1']);
    expect(names.at(-1)).toBe(`g${N - 1}`);
  });

  it('scan hints come from a 10,000-term AND chain, and a contradiction in it skips the scan', async () => {
    const table = memoryTable(VERSION_COLUMNS, versionRows(), 'ML_MODEL_VERSIONS');
    const node = parseStatement(`SELECT version FROM ML_MODEL_VERSIONS WHERE ${chain('AND', () => 'version <> 9')} AND model = 'spam'`) as SelectNode;
    expect((await runSelect(node, table, [])).rows).toEqual([{ version: 1 }, { version: 2 }]);
    expect(table.hints[0]!.equals).toEqual(new Map([['model', 'spam']]));
    const never = parseStatement(`SELECT version FROM ML_MODEL_VERSIONS WHERE model = 'spam' AND ${chain('AND', () => 'version <> 9')} AND model = 'ham'`) as SelectNode;
    expect((await runSelect(never, table, [])).rows).toEqual([]);
    expect(table.hints).toHaveLength(1);
  });
});
