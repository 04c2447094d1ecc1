import { describe, expect, it } from 'vitest';
import { runSelect } from '../../src/exec/select.js';
import { isModelSqlError } from '../../src/errors.js';
import type { ExpressionNode } from '../../src/parser/ast.js';
import {
  VERSION_COLUMNS, and, asc, cmp, col, desc, inList, isNull, lit, memoryTable, or, param, select, versionRows,
} from './helpers.js';

const versions = () => memoryTable(VERSION_COLUMNS, versionRows(), 'ML_MODEL_VERSIONS');
const empty = () => memoryTable(VERSION_COLUMNS, [], 'ML_MODEL_VERSIONS');

async function expectCode(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(isModelSqlError(error), `expected ${code}, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
  if (message) expect((error as Error).message).toMatch(message);
}

describe('projection', () => {
  it('returns the listed columns in the listed order', async () => {
    const result = await runSelect(select({ columns: ['version', 'model'] }), versions(), []);
    expect(result.columns).toEqual(['version', 'model']);
    expect(result.rows[0]).toEqual({ version: 1, model: 'spam' });
    expect(Object.keys(result.rows[0]!)).toEqual(['version', 'model']);
  });

  it('expands * to every column in table order', async () => {
    const result = await runSelect(select(), versions(), []);
    expect(result.columns).toEqual(VERSION_COLUMNS.map((c) => c.name));
    expect(result.rows).toHaveLength(4);
    expect(Object.keys(result.rows[2]!)).toEqual(VERSION_COLUMNS.map((c) => c.name));
  });

  it('fills columns a row lacks with null and drops extra fields', async () => {
    const table = memoryTable(VERSION_COLUMNS, [{ model: 'x', secret: 1 }]);
    const result = await runSelect(select({ columns: ['model', 'score'] }), table, []);
    expect(result.rows).toEqual([{ model: 'x', score: null }]);
  });
});

describe('unknown columns', () => {
  it('are reported from the select list, WHERE and ORDER BY even on an empty table', async () => {
    await expectCode(runSelect(select({ columns: ['verison'] }), empty(), []), 'UNKNOWN_COLUMN',
      /column 'verison' does not exist in ML_MODEL_VERSIONS; did you mean 'version'\?/);
    await expectCode(runSelect(select({ where: cmp('=', col('nope'), lit(1)) }), empty(), []), 'UNKNOWN_COLUMN', /'nope'.*ML_MODEL_VERSIONS$/);
    await expectCode(runSelect(select({ orderBy: [asc('modle')] }), empty(), []), 'UNKNOWN_COLUMN', /did you mean 'model'/);
  });

  it('are reported before type errors and missing parameters', async () => {
    const where = and(cmp('=', col('version'), lit('abc')), cmp('=', col('bogus'), param(9)));
    await expectCode(runSelect(select({ where }), empty(), []), 'UNKNOWN_COLUMN', /bogus/);
  });

  it('are checked in a default order too', async () => {
    await expectCode(runSelect(select(), empty(), [], [asc('missing')]), 'UNKNOWN_COLUMN');
  });

  it('does not scan when validation fails', async () => {
    const table = versions();
    await expectCode(runSelect(select({ columns: ['x'] }), table, []), 'UNKNOWN_COLUMN');
    expect(table.hints).toHaveLength(0);
  });
});

describe('WHERE', () => {
  const models = async (where: ExpressionNode | null, params: unknown[] = []) =>
    (await runSelect(select({ columns: ['model', 'version'], where }), versions(), params)).rows.map((r) => `${r.model}${r.version}`);

  it('applies each comparison operator', async () => {
    expect(await models(cmp('=', col('version'), lit(1)))).toEqual(['spam1', 'ham1']);
    expect(await models(cmp('<>', col('version'), lit(1)))).toEqual(['spam2', 'eggs3']);
    expect(await models(cmp('<', col('score'), lit(0.7)))).toEqual(['spam1']);
    expect(await models(cmp('<=', col('score'), lit(0.7)))).toEqual(['spam1', 'eggs3']);
    expect(await models(cmp('>', col('score'), lit(0.7)))).toEqual(['spam2']);
    expect(await models(cmp('>=', lit(2), col('version')))).toEqual(['spam1', 'spam2', 'ham1']);
    expect(await models(cmp('>', col('model'), lit('ham')))).toEqual(['spam1', 'spam2']);
  });

  it('uses three-valued logic: only TRUE passes', async () => {
    // score is NULL for ham1: both the test and its negation are unknown.
    expect(await models(cmp('>', col('score'), lit(0)))).toEqual(['spam1', 'spam2', 'eggs3']);
    expect(await models({ kind: 'Not', operand: cmp('>', col('score'), lit(0)) })).toEqual([]);
    expect(await models(or(cmp('>', col('score'), lit(0)), cmp('=', col('model'), lit('ham'))))).toEqual(['spam1', 'spam2', 'ham1', 'eggs3']);
    expect(await models(cmp('=', col('score'), lit(null)))).toEqual([]);
    expect(await models(isNull(col('score')))).toEqual(['ham1']);
    expect(await models(isNull(col('score'), true))).toEqual(['spam1', 'spam2', 'eggs3']);
    expect(await models(isNull(col('metrics')))).toEqual(['ham1']);
  });

  it('accepts a bare boolean column or literal, but nothing else', async () => {
    expect(await models(col('active'))).toEqual(['spam2', 'eggs3']);
    expect(await models({ kind: 'Not', operand: col('active') })).toEqual(['spam1']);
    expect(await models(lit(true))).toHaveLength(4);
    expect(await models(lit(null))).toEqual([]);
    await expectCode(runSelect(select({ where: col('model') }), empty(), []), 'INVALID_ARGUMENT', /WHERE must be boolean, got model \(text\)/);
    await expectCode(runSelect(select({ where: and(col('active'), lit(1)) }), empty(), []), 'INVALID_ARGUMENT', /AND must be boolean/);
  });

  it('supports IN with SQL NULL semantics', async () => {
    expect(await models(inList(col('version'), [lit(2), lit(3)]))).toEqual(['spam2', 'eggs3']);
    expect(await models(inList(col('version'), [lit(2), lit(3)], true))).toEqual(['spam1', 'ham1']);
    // 1 NOT IN (2, NULL) is unknown, so NOT IN with a NULL element never passes.
    expect(await models(inList(col('version'), [lit(2), lit(null)], true))).toEqual([]);
    expect(await models(inList(col('version'), [lit(2), lit(null)]))).toEqual(['spam2']);
  });

  it('binds parameters, including bigint, and rejects a missing one before scanning', async () => {
    expect(await models(cmp('=', col('version'), param(1)), [2n])).toEqual(['spam2']);
    expect(await models(and(cmp('=', col('model'), param(2)), cmp('=', col('version'), param(1))), [1, 'ham'])).toEqual(['ham1']);
    const table = versions();
    await expectCode(runSelect(select({ where: cmp('=', col('version'), param(3)) }), table, [1, 2]), 'INVALID_ARGUMENT', /\$3/);
    expect(table.hints).toHaveLength(0);
  });

  it('compares timestamps with Dates, ISO strings and epoch milliseconds', async () => {
    expect(await models(cmp('<', col('created_at'), lit('2024-01-01')))).toEqual(['eggs3']);
    expect(await models(cmp('>=', col('created_at'), lit('2024-02-01T00:00:00Z')))).toEqual(['spam2', 'ham1']);
    expect(await models(cmp('=', col('created_at'), lit('2024-03-01 14:30:00+02:00')))).toEqual(['ham1']);
    expect(await models(cmp('=', col('created_at'), param(1)), [new Date('2024-02-01T00:00:00Z')])).toEqual(['spam2']);
    expect(await models(cmp('>', col('created_at'), param(1)), [Date.parse('2024-02-15T00:00:00Z')])).toEqual(['ham1']);
    await expectCode(runSelect(select({ where: cmp('>', col('created_at'), lit('yesterday')) }), empty(), []),
      'INVALID_ARGUMENT', /not a valid timestamp/);
  });

  it('compares json only for (in)equality with JSON text', async () => {
    expect(await models(cmp('=', col('metrics'), lit('{"acc": 1, "f1": 0.9}')))).toEqual(['spam2']);
    expect(await models(cmp('<>', col('metrics'), lit('[1,2]')))).toEqual(['spam1', 'spam2']);
    await expectCode(runSelect(select({ where: cmp('>', col('metrics'), lit('1')) }), empty(), []), 'INVALID_ARGUMENT', /json/);
    await expectCode(runSelect(select({ where: cmp('=', col('metrics'), lit('{oops')) }), empty(), []), 'INVALID_ARGUMENT', /not valid JSON/);
    await expectCode(runSelect(select({ where: cmp('=', col('metrics'), lit(1)) }), empty(), []), 'INVALID_ARGUMENT');
  });

  it('rejects type mismatches before scanning, even on an empty table', async () => {
    await expectCode(runSelect(select({ where: cmp('=', col('version'), lit('abc')) }), empty(), []),
      'INVALID_ARGUMENT', /cannot compare version \(integer\) with text 'abc'/);
    await expectCode(runSelect(select({ where: cmp('>', col('model'), lit(3)) }), empty(), []),
      'INVALID_ARGUMENT', /cannot compare model \(text\) with integer 3/);
    await expectCode(runSelect(select({ where: cmp('=', col('active'), param(1)) }), empty(), ['yes']), 'INVALID_ARGUMENT', /active \(boolean\)/);
    await expectCode(runSelect(select({ where: cmp('=', lit(1), lit('1')) }), empty(), []), 'INVALID_ARGUMENT');
    await expectCode(runSelect(select({ where: cmp('=', col('model'), col('version')) }), empty(), []), 'INVALID_ARGUMENT');
    await expectCode(runSelect(select({ where: inList(col('version'), [lit(1), lit('2')]) }), empty(), []), 'INVALID_ARGUMENT');
  });
});

describe('ORDER BY', () => {
  const rows = [
    { model: 'b', version: 1, score: 0.5 },
    { model: 'a', version: 2, score: null },
    { model: 'b', version: 3, score: 0.9 },
    { model: 'a', version: 4, score: 0.1 },
    { model: null, version: 5, score: 0.5 },
  ];
  const table = () => memoryTable(VERSION_COLUMNS, rows);
  const order = async (...orderBy: ReturnType<typeof asc>[]) =>
    (await runSelect(select({ columns: ['version'], orderBy }), table(), [])).rows.map((r) => r.version);

  it('sorts by several keys with DESC, stably', async () => {
    expect(await order(asc('model'), desc('version'))).toEqual([4, 2, 3, 1, 5]);
    expect(await order(asc('model'))).toEqual([2, 4, 1, 3, 5]);
  });

  it('puts NULLs last for ASC and first for DESC', async () => {
    expect(await order(asc('score'))).toEqual([4, 1, 5, 3, 2]);
    expect(await order(desc('score'))).toEqual([2, 3, 1, 5, 4]);
    expect(await order(desc('model'), asc('version'))).toEqual([5, 1, 3, 2, 4]);
  });

  it('orders timestamps and falls back to the default order', async () => {
    const result = await runSelect(select({ columns: ['version'] }), versions(), [], [asc('created_at')]);
    expect(result.rows.map((r) => r.version)).toEqual([3, 1, 2, 1]);
    const explicit = await runSelect(select({ columns: ['version'], orderBy: [desc('version')] }), versions(), [], [asc('created_at')]);
    expect(explicit.rows.map((r) => r.version)).toEqual([3, 2, 1, 1]);
  });

  it('rejects ordering by a json column', async () => {
    await expectCode(runSelect(select({ orderBy: [asc('metrics')] }), empty(), []), 'INVALID_ARGUMENT', /json/);
  });

  it('keeps only the top rows of a large scan and stays stable', async () => {
    const n = 10_000;
    const big = memoryTable(VERSION_COLUMNS, Array.from({ length: n }, (_, i) => ({ version: i, score: i % 7 })));
    const result = await runSelect(select({ columns: ['version', 'score'], orderBy: [desc('score')], limit: lit(5), offset: lit(1500) }), big, []);
    const expected = Array.from({ length: n }, (_, i) => ({ version: i, score: i % 7 }))
      .sort((a, b) => b.score - a.score).slice(1500, 1505);
    expect(result.rows).toEqual(expected);
  });
});

describe('LIMIT and OFFSET', () => {
  const versionsOf = async (limit: number | null, offset: number | null, orderBy = [asc('created_at')]) =>
    (await runSelect(select({ columns: ['version'], orderBy, limit: limit === null ? null : lit(limit), offset: offset === null ? null : lit(offset) }), versions(), []))
      .rows.map((r) => r.version);

  it('pages through the rows', async () => {
    expect(await versionsOf(2, null)).toEqual([3, 1]);
    expect(await versionsOf(2, 1)).toEqual([1, 2]);
    expect(await versionsOf(null, 3)).toEqual([1]);
    expect(await versionsOf(10, 10)).toEqual([]);
    expect(await versionsOf(0, 0)).toEqual([]);
    expect(await versionsOf(2, 1, [])).toEqual([2, 1]);
  });

  it('takes parameters and rejects negative or fractional values before scanning', async () => {
    const table = versions();
    const r = await runSelect(select({ columns: ['version'], limit: param(1), offset: param(2) }), table, [1n, 1]);
    expect(r.rows).toEqual([{ version: 2 }]);
    await expectCode(runSelect(select({ limit: lit(-1) }), table, []), 'INVALID_ARGUMENT', /LIMIT/);
    await expectCode(runSelect(select({ limit: lit(1.5) }), table, []), 'INVALID_ARGUMENT', /LIMIT/);
    await expectCode(runSelect(select({ limit: lit('3') }), table, []), 'INVALID_ARGUMENT', /LIMIT/);
    await expectCode(runSelect(select({ limit: lit(1), offset: lit(-2) }), table, []), 'INVALID_ARGUMENT', /OFFSET/);
    await expectCode(runSelect(select({ limit: param(1) }), table, []), 'INVALID_ARGUMENT', /\$1/);
    expect(table.hints).toHaveLength(1);
  });

  it('stops pulling from an endless scan once LIMIT + OFFSET rows passed', async () => {
    const endless = memoryTable(VERSION_COLUMNS, (i) => ({ model: 'm', version: i }));
    const r = await runSelect(select({ columns: ['version'], where: cmp('>=', col('version'), lit(10)), limit: lit(5), offset: lit(2) }), endless, []);
    expect(r.rows.map((x) => x.version)).toEqual([12, 13, 14, 15, 16]);
    expect(endless.pulled).toBe(17);
    expect(endless.closed).toBe(1);
  });

  it('does not scan at all for LIMIT 0', async () => {
    const endless = memoryTable(VERSION_COLUMNS, (i) => ({ version: i }));
    expect((await runSelect(select({ limit: lit(0) }), endless, [])).rows).toEqual([]);
    expect(endless.pulled).toBe(0);
  });
});

describe('scan hints', () => {
  const hintsFor = async (where: ExpressionNode | null, params: unknown[] = []) => {
    const table = versions();
    const result = await runSelect(select({ where }), table, params);
    return { hints: table.hints.map((h) => Object.fromEntries(h.equals)), rows: result.rows };
  };

  it('collects column = value pairs from the top-level AND chain, on either side', async () => {
    const { hints, rows } = await hintsFor(and(and(cmp('=', col('model'), lit('spam')), cmp('=', param(1), col('version'))), cmp('>', col('score'), lit(0))), [2n]);
    expect(hints).toEqual([{ model: 'spam', version: 2 }]);
    expect(rows).toHaveLength(1);
  });

  it('ignores equalities under OR or NOT, other operators and column = column', async () => {
    const { hints } = await hintsFor(and(or(cmp('=', col('model'), lit('a')), cmp('=', col('model'), lit('b'))),
      and({ kind: 'Not', operand: cmp('=', col('version'), lit(1)) }, and(cmp('<', col('version'), lit(9)), cmp('=', col('score'), col('score'))))));
    expect(hints).toEqual([{}]);
  });

  it('converts values to the column type and skips json', async () => {
    const { hints } = await hintsFor(and(cmp('=', col('created_at'), lit('2024-02-01')), cmp('=', col('metrics'), lit('{}'))));
    expect(hints).toEqual([{ created_at: new Date('2024-02-01T00:00:00Z') }]);
  });

  it('short-circuits contradictory or NULL equalities to an empty result without scanning', async () => {
    const contradiction = await hintsFor(and(cmp('=', col('version'), lit(1)), cmp('=', col('version'), lit(2))));
    expect(contradiction).toEqual({ hints: [], rows: [] });
    const nullEq = await hintsFor(and(cmp('=', col('version'), lit(null)), lit(true)));
    expect(nullEq).toEqual({ hints: [], rows: [] });
    const same = await hintsFor(and(cmp('=', col('version'), lit(1)), cmp('=', lit(1), col('version'))));
    expect(same.hints).toEqual([{ version: 1 }]);
    expect(same.rows).toHaveLength(2);
  });

  it('still filters rows a table yields despite the hints', async () => {
    const { rows } = await hintsFor(cmp('=', col('model'), lit('ham')));
    expect(rows.map((r) => r.model)).toEqual(['ham']);
  });
});
