/** Parsing the query forms of issue 9: JSON paths, function calls, AS, DISTINCT, GROUP BY, USE BEST VERSION. */
import { describe, expect, it } from 'vitest';
import { ModelSqlError } from '../../src/errors.js';
import { parseStatement, printStatement } from '../../src/parser/index.js';

const col = (name: string) => ({ kind: 'Column', name }) as const;
const path = (name: string, ...keys: string[]) => ({ kind: 'JsonPath', column: col(name), keys }) as const;
const call = (name: string, ...args: object[]) => ({ kind: 'FunctionCall', name, star: false, args }) as const;
const lit = (value: number | string) => ({ kind: 'Literal', value }) as const;

function syntaxError(sql: string): ModelSqlError {
  try {
    parseStatement(sql);
  } catch (error) {
    expect(error).toBeInstanceOf(ModelSqlError);
    expect((error as ModelSqlError).code).toBe('SYNTAX_ERROR');
    return error as ModelSqlError;
  }
  throw new Error(`expected a syntax error for ${sql}`);
}

describe('JSON paths and function calls', () => {
  it('a path folds its column, keeps its keys, and takes quoted keys and keywords', () => {
    const node = parseStatement('SELECT METRICS.F1, hyperparams.optimizer.lr, metrics."f1-macro", config.version FROM ML_MODEL_VERSIONS');
    expect(node).toMatchObject({
      columns: [
        { expression: path('metrics', 'F1'), alias: null },
        { expression: path('hyperparams', 'optimizer', 'lr') },
        { expression: path('metrics', 'f1-macro') },
        { expression: path('config', 'version') },
      ],
    });
  });

  it('paths stand in WHERE, GROUP BY and ORDER BY; a decimal like .5 stays a number', () => {
    const node = parseStatement('SELECT * FROM T WHERE metrics.f1 > .5 GROUP BY metrics.team ORDER BY metrics.f1 DESC');
    expect(node).toMatchObject({
      where: { kind: 'Comparison', op: '>', left: path('metrics', 'f1'), right: lit(0.5) },
      groupBy: [path('metrics', 'team')],
      orderBy: [{ kind: 'OrderBy', expression: path('metrics', 'f1'), direction: 'DESC' }],
    });
  });

  it('function names fold to lower case, quoted or not; count(*) has a star', () => {
    expect(parseStatement('SELECT COUNT(*), Max(metrics.f1), "SUM"(version) FROM T')).toMatchObject({
      columns: [
        { expression: { kind: 'FunctionCall', name: 'count', star: true, args: [] } },
        { expression: call('max', path('metrics', 'f1')) },
        { expression: call('sum', col('version')) },
      ],
    });
  });

  it('AS aliases fold like column names; DISTINCT is a flag', () => {
    expect(parseStatement('SELECT DISTINCT model AS Name, version AS "V" FROM T')).toMatchObject({
      distinct: true,
      columns: [{ expression: col('model'), alias: 'name' }, { expression: col('version'), alias: 'V' }],
    });
  });

  it('syntax errors say what was expected', () => {
    expect(syntaxError('SELECT metrics. FROM T')).toMatchObject({ line: 1, column: 17, expected: ['identifier', 'quoted identifier'] });
    expect(syntaxError('SELECT metrics.desc FROM T').message).toMatch(/expected identifier or quoted identifier after \., found 'desc'/);
    expect(syntaxError('SELECT version AS FROM T').message).toMatch(/after AS, found 'FROM'/);
    expect(syntaxError('SELECT count(* FROM T').expected).toEqual([')']);
    expect(syntaxError('SELECT * FROM T GROUP model').expected).toEqual(['BY']);
  });
});

describe('USE BEST VERSION', () => {
  it('parses BY, the direction (DESC by default) and WHERE', () => {
    expect(parseStatement('ALTER MODEL spam USE BEST VERSION BY metrics.f1')).toStrictEqual({
      kind: 'UseBestVersion', model: 'spam', by: path('metrics', 'f1'), direction: 'DESC', where: null,
    });
    expect(parseStatement("alter model Spam use best version by metrics.loss asc where stage = 'staging'")).toStrictEqual({
      kind: 'UseBestVersion', model: 'Spam', by: path('metrics', 'loss'), direction: 'ASC',
      where: { kind: 'Comparison', op: '=', left: col('stage'), right: lit('staging') },
    });
  });

  it('prints the direction always, and prints back to the same tree', () => {
    const sql = "ALTER MODEL spam USE BEST VERSION BY metrics.\"f1-macro\" WHERE stage = 'staging' OR version > 2";
    const printed = printStatement(parseStatement(sql));
    expect(printed).toBe("ALTER MODEL spam USE BEST VERSION BY metrics.\"f1-macro\" DESC WHERE stage = 'staging' OR version > 2");
    expect(parseStatement(printed)).toStrictEqual(parseStatement(sql));
  });

  it('BEST is not reserved; errors say what was expected', () => {
    expect(parseStatement('CREATE MODEL best')).toMatchObject({ model: 'best' });
    expect(syntaxError('ALTER MODEL spam USE BEST metrics.f1').expected).toEqual(['VERSION']);
    expect(syntaxError('ALTER MODEL spam USE BEST VERSION metrics.f1').expected).toEqual(['BY']);
    expect(syntaxError('ALTER MODEL spam USE BEST VERSION BY').message).toMatch(/^line 1 column 37: expected/);
  });
});
