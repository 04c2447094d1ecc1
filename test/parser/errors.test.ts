import { describe, expect, it } from 'vitest';
import { ModelSqlError } from '../../src/errors.js';
import { parseScript, parseStatement } from '../../src/parser/index.js';

function syntaxErrorOf(sql: string): ModelSqlError {
  try {
    parseScript(sql);
  } catch (error) {
    expect(error).toBeInstanceOf(ModelSqlError);
    const e = error as ModelSqlError;
    expect(e.code).toBe('SYNTAX_ERROR');
    return e;
  }
  throw new Error(`expected a syntax error for ${JSON.stringify(sql)}`);
}

function details(e: ModelSqlError) {
  return { line: e.line, column: e.column, expected: e.expected, found: e.found, message: e.message };
}

describe('grammar errors', () => {
  it('names the keyword that was expected', () => {
    expect(details(syntaxErrorOf('ALTER MODEL spam USE VERISON 3'))).toStrictEqual({
      line: 1,
      column: 22,
      expected: ['VERSION', 'PREVIOUS', 'BEST'],
      found: 'VERISON',
      message: "line 1 column 22: expected VERSION, PREVIOUS or BEST after USE, found 'VERISON'",
    });
  });

  it('reports the line and column inside a multi-line statement', () => {
    const sql = 'SELECT name,\n       active_version\n  FROM FROM ml_models_dashboard';
    expect(details(syntaxErrorOf(sql))).toStrictEqual({
      line: 3,
      column: 8,
      expected: ['identifier', 'quoted identifier'],
      found: 'FROM',
      message: "line 3 column 8: expected identifier or quoted identifier after FROM, found 'FROM'",
    });
  });

  it('reports positions in later statements of a script', () => {
    const e = syntaxErrorOf('ARCHIVE MODEL a;\nARCHIVE MODEL b;\nCANCEL JOB;');
    expect(details(e)).toMatchObject({ line: 3, column: 11, found: ';' });
    expect(e.expected).toContain('string');
    expect(e.expected).toContain('parameter');
    expect(e.message).toMatch(/^line 3 column 11: expected .* after JOB, found ';'$/);
  });

  it('reports a missing ) at the end of input', () => {
    expect(details(syntaxErrorOf("CREATE MODEL m WITH (artifact = 'a'"))).toStrictEqual({
      line: 1,
      column: 36,
      expected: [',', ')'],
      found: '',
      message: "line 1 column 36: expected ',' or ')' after 'a', found end of input",
    });
    expect(details(syntaxErrorOf('SELECT * FROM t WHERE (a = 1'))).toMatchObject({ expected: ['AND', 'OR', ')'], found: '' });
  });

  it('lists the statements at the start of one', () => {
    expect(details(syntaxErrorOf('DROP MODEL spam'))).toStrictEqual({
      line: 1,
      column: 1,
      expected: ['CREATE', 'ALTER', 'ARCHIVE', 'UNARCHIVE', 'RETIRE', 'CANCEL', 'SET', 'RESET', 'LOOKUP', 'CHECK', 'BACKUP', 'BEGIN', 'COMMIT', 'ROLLBACK', 'SELECT'],
      found: 'DROP',
      message: "line 1 column 1: expected CREATE, ALTER, ARCHIVE, UNARCHIVE, RETIRE, CANCEL, SET, RESET, LOOKUP, CHECK, BACKUP, BEGIN, COMMIT, ROLLBACK or SELECT, found 'DROP'",
    });
  });

  it('offers ; after a complete statement followed by junk', () => {
    expect(details(syntaxErrorOf('ARCHIVE MODEL spam VERISON 3'))).toMatchObject({
      column: 20,
      expected: ['VERSION', ';'],
      found: 'VERISON',
    });
  });

  it('refuses reserved words as names unless quoted', () => {
    expect(details(syntaxErrorOf('SELECT * FROM t WHERE order = 1'))).toMatchObject({ column: 23, found: 'order' });
    expect(() => parseStatement('SELECT * FROM t WHERE "order" = 1')).not.toThrow();
  });

  it('refuses chained comparisons', () => {
    expect(details(syntaxErrorOf('SELECT * FROM t WHERE a = b = c'))).toMatchObject({ column: 29, found: '=' });
  });
});

describe('errors in the lifecycle, tenant and schema statements', () => {
  it('a stage change without TO', () => {
    expect(details(syntaxErrorOf('ALTER MODEL m VERSION 1 PROMOTE STAGING'))).toStrictEqual({
      line: 1,
      column: 33,
      expected: ['TO'],
      found: 'STAGING',
      message: "line 1 column 33: expected TO after PROMOTE, found 'STAGING'",
    });
    expect(details(syntaxErrorOf('ALTER MODEL m\n  VERSION 1\n  DEMOTE dev'))).toMatchObject({ line: 3, column: 10, expected: ['TO'], found: 'dev' });
  });

  it('an unknown stage or a missing direction', () => {
    expect(details(syntaxErrorOf('ALTER MODEL m VERSION 1 PROMOTE TO prod'))).toStrictEqual({
      line: 1,
      column: 36,
      expected: ['DEV', 'STAGING', 'PRODUCTION'],
      found: 'prod',
      message: "line 1 column 36: expected DEV, STAGING or PRODUCTION after TO, found 'prod'",
    });
    expect(details(syntaxErrorOf('ALTER MODEL m VERSION 1'))).toMatchObject({ column: 24, expected: ['PROMOTE', 'DEMOTE', 'SET', 'UNSET'], found: '' });
    expect(details(syntaxErrorOf('ALTER MODEL m '))).toMatchObject({ expected: ['USE', 'SET', 'DROP', 'UNSET', 'VERSION'] });
  });

  it('SET TENANT takes only a string or a parameter; RESET TENANT takes nothing', () => {
    expect(details(syntaxErrorOf('SET TENANT 42'))).toStrictEqual({
      line: 1,
      column: 12,
      expected: ['parameter', 'string'],
      found: '42',
      message: "line 1 column 12: expected parameter or string after TENANT, found '42'",
    });
    expect(details(syntaxErrorOf('SET acme'))).toMatchObject({ column: 5, expected: ['TENANT'], found: 'acme' });
    expect(details(syntaxErrorOf("RESET TENANT 'acme'"))).toMatchObject({ column: 14, expected: [';'] });
  });

  it('an empty SCHEMA list', () => {
    expect(details(syntaxErrorOf('LOOKUP MODEL FOR SCHEMA ()'))).toStrictEqual({
      line: 1,
      column: 26,
      expected: ['identifier', 'quoted identifier'],
      found: ')',
      message: "line 1 column 26: expected identifier or quoted identifier after '(', found ')'",
    });
    expect(details(syntaxErrorOf('LOOKUP MODEL SCHEMA (a int)'))).toMatchObject({ column: 14, expected: ['FOR'] });
  });

  it('a field without a kind', () => {
    expect(details(syntaxErrorOf('CREATE MODEL m SCHEMA (a, b int)'))).toMatchObject({
      column: 25,
      expected: ['identifier', 'quoted identifier'],
      found: ',',
    });
  });

  it('a statistic given twice names what may still follow', () => {
    expect(details(syntaxErrorOf('LOOKUP MODEL FOR SCHEMA (a int NULL_RATE 0.1 NULL_RATE 0.2)'))).toStrictEqual({
      line: 1,
      column: 46,
      expected: ['CARDINALITY', ',', ')'],
      found: 'NULL_RATE',
      message: "line 1 column 46: expected CARDINALITY, ',' or ')' after 0.1, found 'NULL_RATE'",
    });
    expect(details(syntaxErrorOf('LOOKUP MODEL FOR SCHEMA (a int CARDINALITY 3 NULL_RATE 0 CARDINALITY 4)'))).toMatchObject({
      column: 58,
      expected: [',', ')'],
      found: 'CARDINALITY',
    });
  });

  it('SCHEMA comes last in CREATE MODEL', () => {
    expect(details(syntaxErrorOf("CREATE MODEL m SCHEMA (a int) WITH (artifact = 'x')"))).toMatchObject({
      column: 31,
      expected: ['RECORD_COUNT', ';'],
      found: 'WITH',
    });
  });
});

describe('lexical errors', () => {
  it('unterminated string, pointing at its opening quote', () => {
    expect(details(syntaxErrorOf("SELECT * FROM t\nWHERE name = 'spam"))).toStrictEqual({
      line: 2,
      column: 14,
      expected: ["'"],
      found: "'spam",
      message: 'line 2 column 14: unterminated string',
    });
    expect(details(syntaxErrorOf("CANCEL JOB 'a''"))).toMatchObject({ column: 12, message: 'line 1 column 12: unterminated string' });
  });

  it('unexpected character', () => {
    expect(details(syntaxErrorOf('SELECT * FROM t WHERE a # 1'))).toStrictEqual({
      line: 1,
      column: 25,
      expected: [],
      found: '#',
      message: "line 1 column 25: unexpected character '#'",
    });
  });

  it('unterminated quoted identifier and comment', () => {
    expect(details(syntaxErrorOf('CREATE MODEL "spam'))).toMatchObject({ column: 14, message: 'line 1 column 14: unterminated quoted identifier' });
    expect(details(syntaxErrorOf('ARCHIVE MODEL a /* gone'))).toMatchObject({ column: 17, message: 'line 1 column 17: unterminated comment' });
  });

  it('empty quoted identifier', () => {
    expect(details(syntaxErrorOf('CREATE MODEL ""'))).toMatchObject({ column: 14, message: 'line 1 column 14: empty quoted identifier' });
  });

  it('bad hex blobs', () => {
    expect(details(syntaxErrorOf("CREATE MODEL m WITH (weights = x'abc')"))).toMatchObject({ column: 32, found: "x'abc'" });
    expect(details(syntaxErrorOf("CREATE MODEL m WITH (weights = x'zz')")).message).toMatch(/bad hex blob/);
    expect(details(syntaxErrorOf("CREATE MODEL m WITH (weights = x'00"))).toMatchObject({ column: 32, message: 'line 1 column 32: unterminated blob' });
  });

  it('$0 and out-of-range numbers', () => {
    expect(details(syntaxErrorOf('ALTER MODEL m USE VERSION $0'))).toMatchObject({ column: 27, message: 'line 1 column 27: parameters are numbered from $1' });
    expect(details(syntaxErrorOf('ALTER MODEL m USE VERSION 1e999')).message).toMatch(/out of range/);
  });

  it('refuses pathological nesting instead of overflowing the stack', () => {
    const sql = `SELECT * FROM t WHERE ${'('.repeat(5000)}a${')'.repeat(5000)}`;
    expect(syntaxErrorOf(sql).message).toMatch(/nested deeper/);
    expect(() => parseStatement(`SELECT * FROM t WHERE ${'NOT '.repeat(5000)}a`)).not.toThrow();
  });
});
