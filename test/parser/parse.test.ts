import { describe, expect, it } from 'vitest';
import { ModelSqlError } from '../../src/errors.js';
import type { CreateModelNode, ExpressionNode, SchemaFieldNode, SelectNode } from '../../src/parser/index.js';
import { parseScript, parseStatement } from '../../src/parser/index.js';

const lit = (value: string | number | boolean | null | Uint8Array) => ({ kind: 'Literal', value }) as const;
const param = (index: number) => ({ kind: 'Parameter', index }) as const;
const col = (name: string) => ({ kind: 'Column', name }) as const;
const item = (expression: ExpressionNode, alias: string | null = null) => ({ kind: 'SelectItem', expression, alias }) as const;

const field = (
  name: string,
  fieldKind: string,
  nullRate: SchemaFieldNode['nullRate'] = null,
  cardinality: SchemaFieldNode['cardinality'] = null,
): SchemaFieldNode => ({ kind: 'SchemaField', name, fieldKind, nullRate, cardinality });

function where(condition: string): ExpressionNode | null {
  return (parseStatement(`SELECT * FROM t WHERE ${condition}`) as SelectNode).where;
}

describe('CREATE MODEL', () => {
  it('parses the bare form', () => {
    expect(parseStatement('CREATE MODEL spam')).toStrictEqual({
      kind: 'CreateModel',
      model: 'spam',
      fromVersion: null,
      options: [],
      schema: null,
    });
  });

  it('parses FROM VERSION and WITH options of every value kind', () => {
    const sql = `create model "team.spam-v2" from version 2 with (
      Weights = x'DEADbeef', artifact = 's3://b/k', active = FALSE, async = true,
      description = NULL, lr = -1.5e-3, hyperparams = $1)`;
    expect(parseStatement(sql)).toStrictEqual({
      kind: 'CreateModel',
      model: 'team.spam-v2',
      fromVersion: lit(2),
      options: [
        { kind: 'Option', name: 'weights', value: lit(new Uint8Array([0xde, 0xad, 0xbe, 0xef])) },
        { kind: 'Option', name: 'artifact', value: lit('s3://b/k') },
        { kind: 'Option', name: 'active', value: lit(false) },
        { kind: 'Option', name: 'async', value: lit(true) },
        { kind: 'Option', name: 'description', value: lit(null) },
        { kind: 'Option', name: 'lr', value: lit(-0.0015) },
        { kind: 'Option', name: 'hyperparams', value: param(1) },
      ],
      schema: null,
    });
  });

  it('keeps model names case-sensitive and accepts keywords and Unicode as names', () => {
    expect(parseStatement('CREATE MODEL SpamFilter')).toMatchObject({ model: 'SpamFilter' });
    expect(parseStatement('CREATE MODEL model WITH (version = 1)')).toStrictEqual({
      kind: 'CreateModel',
      model: 'model',
      fromVersion: null,
      options: [{ kind: 'Option', name: 'version', value: lit(1) }],
      schema: null,
    });
    expect(parseStatement('CREATE MODEL détecteur_垃圾')).toMatchObject({ model: 'détecteur_垃圾' });
    expect(parseStatement('CREATE MODEL "say ""hi"""')).toMatchObject({ model: 'say "hi"' });
    expect(parseStatement('CREATE MODEL "SELECT"')).toMatchObject({ model: 'SELECT' });
  });

  it('reads strings with doubled quotes, across lines', () => {
    expect(parseStatement("CREATE MODEL m WITH (description = 'it''s\nfine')")).toMatchObject({
      options: [{ kind: 'Option', name: 'description', value: lit("it's\nfine") }],
    });
  });

  it('reads empty blobs and numbers in every shape', () => {
    const node = parseStatement(
      "CREATE MODEL m WITH (a = x'', b = X'00', c = 42, d = 3.25, e = .5, f = 1e3, g = -7, h = 2.5E-2, i = -0)",
    ) as CreateModelNode;
    const options = node.options.map((o) => o.value);
    expect(options).toStrictEqual([
      lit(new Uint8Array([])),
      lit(new Uint8Array([0])),
      lit(42),
      lit(3.25),
      lit(0.5),
      lit(1000),
      lit(-7),
      lit(0.025),
      lit(-0),
    ]);
  });
});

describe('version management statements', () => {
  it('ALTER MODEL ... USE VERSION', () => {
    expect(parseStatement('ALTER MODEL spam USE VERSION 3')).toStrictEqual({
      kind: 'UseVersion',
      model: 'spam',
      version: lit(3),
    });
    expect(parseStatement('alter model spam use version $2')).toStrictEqual({
      kind: 'UseVersion',
      model: 'spam',
      version: param(2),
    });
  });

  it('ARCHIVE MODEL with and without a version', () => {
    expect(parseStatement('ARCHIVE MODEL spam VERSION 1')).toStrictEqual({
      kind: 'ArchiveModel',
      model: 'spam',
      version: lit(1),
    });
    expect(parseStatement('ARCHIVE MODEL spam')).toStrictEqual({ kind: 'ArchiveModel', model: 'spam', version: null });
    expect(parseStatement('ARCHIVE MODEL version VERSION 2')).toStrictEqual({
      kind: 'ArchiveModel',
      model: 'version',
      version: lit(2),
    });
  });

  it('UNARCHIVE MODEL ... VERSION', () => {
    expect(parseStatement('UNARCHIVE MODEL spam VERSION 1')).toStrictEqual({
      kind: 'UnarchiveModel',
      model: 'spam',
      version: lit(1),
    });
  });

  it('CANCEL JOB', () => {
    expect(parseStatement("CANCEL JOB '0123456789abcdef0123456789abcdef'")).toStrictEqual({
      kind: 'CancelJob',
      jobId: lit('0123456789abcdef0123456789abcdef'),
    });
    expect(parseStatement('CANCEL JOB $1')).toStrictEqual({ kind: 'CancelJob', jobId: param(1) });
  });

  it('CHECK REGISTRY and BACKUP TO', () => {
    expect(parseStatement('CHECK REGISTRY')).toStrictEqual({ kind: 'CheckRegistry' });
    expect(parseStatement("backup to './b'")).toStrictEqual({ kind: 'Backup', path: lit('./b') });
    expect(parseStatement('BACKUP TO $2')).toStrictEqual({ kind: 'Backup', path: param(2) });
    expect(parseStatement('BEGIN')).toStrictEqual({ kind: 'Transaction', action: 'BEGIN' });
    expect(parseStatement('begin transaction')).toStrictEqual({ kind: 'Transaction', action: 'BEGIN' });
    expect(parseStatement('COMMIT')).toStrictEqual({ kind: 'Transaction', action: 'COMMIT' });
    expect(parseStatement('Commit Transaction')).toStrictEqual({ kind: 'Transaction', action: 'COMMIT' });
    expect(parseStatement('ROLLBACK')).toStrictEqual({ kind: 'Transaction', action: 'ROLLBACK' });
    expect(parseScript('BEGIN; ALTER MODEL m USE VERSION 2; COMMIT;').map((s) => s.kind)).toStrictEqual(['Transaction', 'UseVersion', 'Transaction']);
    // Non-reserved: still plain names.
    expect(parseStatement('ALTER MODEL begin USE VERSION 1')).toMatchObject({ kind: 'UseVersion', model: 'begin' });
    expect(parseStatement('SELECT commit FROM rollback')).toMatchObject({ kind: 'Select', table: 'ROLLBACK' });
    expect(() => parseStatement('CHECK')).toThrow(/REGISTRY/);
    expect(() => parseStatement('BACKUP')).toThrow(/TO/);
    // The new keywords stay usable as names.
    expect(parseStatement('CREATE MODEL backup')).toMatchObject({ kind: 'CreateModel', model: 'backup' });
    expect(parseStatement('SELECT check, registry FROM t')).toMatchObject({ kind: 'Select' });
  });
});

describe('lifecycle stages', () => {
  it.each([
    ['PROMOTE', 'DEV', 'dev'],
    ['PROMOTE', 'STAGING', 'staging'],
    ['PROMOTE', 'PRODUCTION', 'production'],
    ['DEMOTE', 'DEV', 'dev'],
    ['DEMOTE', 'STAGING', 'staging'],
    ['DEMOTE', 'PRODUCTION', 'production'],
  ] as const)('ALTER MODEL ... VERSION n %s TO %s', (direction, written, stage) => {
    expect(parseStatement(`ALTER MODEL spam VERSION 2 ${direction} TO ${written}`)).toStrictEqual({
      kind: 'ChangeStage',
      model: 'spam',
      version: lit(2),
      direction,
      stage,
    });
  });

  it('is case-insensitive and takes parameters and quoted names', () => {
    expect(parseStatement('alter model "Spam Filter" version $1 Promote to Staging')).toStrictEqual({
      kind: 'ChangeStage',
      model: 'Spam Filter',
      version: param(1),
      direction: 'PROMOTE',
      stage: 'staging',
    });
    expect(parseStatement('ALTER\n  MODEL spam\n  VERSION 1\n  demote TO dev;')).toMatchObject({ direction: 'DEMOTE', stage: 'dev' });
  });

  it('accepts the new keywords as model names', () => {
    expect(parseStatement('ALTER MODEL promote VERSION 1 PROMOTE TO production')).toMatchObject({ model: 'promote' });
    expect(parseStatement('ALTER MODEL staging VERSION 1 DEMOTE TO staging')).toMatchObject({ model: 'staging', stage: 'staging' });
    expect(parseStatement('ALTER MODEL version VERSION 1 PROMOTE TO dev')).toMatchObject({ model: 'version' });
    expect(parseStatement('ALTER MODEL to USE VERSION 3')).toStrictEqual({ kind: 'UseVersion', model: 'to', version: lit(3) });
  });

  it('RETIRE MODEL with and without a version', () => {
    expect(parseStatement('RETIRE MODEL spam')).toStrictEqual({ kind: 'RetireModel', model: 'spam', version: null });
    expect(parseStatement('retire model "Spam" version $2')).toStrictEqual({ kind: 'RetireModel', model: 'Spam', version: param(2) });
    expect(parseStatement('RETIRE MODEL retire VERSION 4')).toStrictEqual({ kind: 'RetireModel', model: 'retire', version: lit(4) });
  });
});

describe('tenants', () => {
  it('SET TENANT takes a string or a parameter', () => {
    expect(parseStatement("SET TENANT 'acme'")).toStrictEqual({ kind: 'SetTenant', tenant: lit('acme') });
    expect(parseStatement("set tenant 'it''s'")).toStrictEqual({ kind: 'SetTenant', tenant: lit("it's") });
    expect(parseStatement('Set Tenant $1;')).toStrictEqual({ kind: 'SetTenant', tenant: param(1) });
  });

  it('RESET TENANT', () => {
    expect(parseStatement('RESET TENANT')).toStrictEqual({ kind: 'SetTenant', tenant: null });
    expect(parseStatement('reset tenant;')).toStrictEqual({ kind: 'SetTenant', tenant: null });
  });

  it('tenant, set and reset still work as names', () => {
    expect(parseStatement('CREATE MODEL tenant')).toMatchObject({ model: 'tenant' });
    expect(parseStatement('ARCHIVE MODEL set VERSION 1')).toMatchObject({ model: 'set' });
    const node = parseStatement("SELECT tenant, reset FROM ml_models_dashboard WHERE tenant = 'acme'") as SelectNode;
    expect(node.columns).toStrictEqual([item(col('tenant')), item(col('reset'))]);
  });
});

describe('schemas', () => {
  it('CREATE MODEL ... SCHEMA with statistics in either order and RECORD_COUNT', () => {
    const sql = `CREATE MODEL spam FROM VERSION 1 WITH (artifact = 'a')
      SCHEMA (age INT NULL_RATE 0.05 CARDINALITY 90, "Email Domain" String CARDINALITY $1 NULL_RATE -0.5, score float)
      RECORD_COUNT 10000`;
    expect(parseStatement(sql)).toStrictEqual({
      kind: 'CreateModel',
      model: 'spam',
      fromVersion: lit(1),
      options: [{ kind: 'Option', name: 'artifact', value: lit('a') }],
      schema: {
        kind: 'Schema',
        fields: [field('age', 'int', lit(0.05), lit(90)), field('Email Domain', 'string', lit(-0.5), param(1)), field('score', 'float')],
        recordCount: lit(10000),
      },
    });
  });

  it('SCHEMA right after the model name, without RECORD_COUNT', () => {
    expect(parseStatement('create model m schema (x int)')).toStrictEqual({
      kind: 'CreateModel',
      model: 'm',
      fromVersion: null,
      options: [],
      schema: { kind: 'Schema', fields: [field('x', 'int')], recordCount: null },
    });
  });

  it('keeps field names as written and folds kinds to lower case, even quoted ones', () => {
    const node = parseStatement('CREATE MODEL m SCHEMA (Age INT, "Odd ""Name""" "BOOL", ünï Kategorie)') as CreateModelNode;
    expect(node.schema?.fields).toStrictEqual([field('Age', 'int'), field('Odd "Name"', 'bool'), field('ünï', 'kategorie')]);
  });

  it('leaves unknown kinds and odd statistics to the executor', () => {
    const node = parseStatement("CREATE MODEL m SCHEMA (a whatever NULL_RATE 'high' CARDINALITY 1.5) RECORD_COUNT -3") as CreateModelNode;
    expect(node.schema).toStrictEqual({
      kind: 'Schema',
      fields: [field('a', 'whatever', lit('high'), lit(1.5))],
      recordCount: lit(-3),
    });
  });

  it('accepts keywords as field names, kinds and model names', () => {
    const node = parseStatement(
      'CREATE MODEL schema SCHEMA (schema schema, null_rate null_rate NULL_RATE 0, cardinality for CARDINALITY 2, record_count int) RECORD_COUNT 1',
    ) as CreateModelNode;
    expect(node.model).toBe('schema');
    expect(node.schema?.fields).toStrictEqual([
      field('schema', 'schema'),
      field('null_rate', 'null_rate', lit(0)),
      field('cardinality', 'for', null, lit(2)),
      field('record_count', 'int'),
    ]);
    // Keywords match whole words only: NULL_RATE does not cut longer names short, nor NULL shorter ones.
    expect((parseStatement('CREATE MODEL m SCHEMA (null_rates int, null_ int)') as CreateModelNode).schema?.fields).toStrictEqual([
      field('null_rates', 'int'),
      field('null_', 'int'),
    ]);
  });

  it('LOOKUP MODEL FOR SCHEMA', () => {
    expect(parseStatement('LOOKUP MODEL FOR SCHEMA (age int, country string CARDINALITY 200) RECORD_COUNT $1')).toStrictEqual({
      kind: 'LookupModel',
      schema: {
        kind: 'Schema',
        fields: [field('age', 'int'), field('country', 'string', null, lit(200))],
        recordCount: param(1),
      },
    });
    expect(parseStatement('lookup model for schema ("Age" INT NULL_RATE $2)')).toStrictEqual({
      kind: 'LookupModel',
      schema: { kind: 'Schema', fields: [field('Age', 'int', param(2))], recordCount: null },
    });
  });
});

describe('SELECT', () => {
  it('parses SELECT * with every clause', () => {
    expect(
      parseStatement('SELECT * FROM ml_jobs WHERE status = $1 ORDER BY created_at DESC, id LIMIT 10 OFFSET 20'),
    ).toStrictEqual({
      kind: 'Select',
      distinct: false,
      columns: '*',
      table: 'ML_JOBS',
      where: { kind: 'Comparison', op: '=', left: col('status'), right: param(1) },
      groupBy: [],
      orderBy: [
        { kind: 'OrderBy', expression: col('created_at'), direction: 'DESC' },
        { kind: 'OrderBy', expression: col('id'), direction: 'ASC' },
      ],
      limit: lit(10),
      offset: lit(20),
    });
  });

  it('folds plain column names to lower case and table names to upper case, quoted names stay exact', () => {
    expect(parseStatement('SELECT Model, VERSION, active, "Odd Col" FROM "my_table" ORDER BY Version ASC')).toStrictEqual({
      kind: 'Select',
      distinct: false,
      columns: [col('model'), col('version'), col('active'), col('Odd Col')].map((c) => item(c)),
      table: 'my_table',
      where: null,
      groupBy: [],
      orderBy: [{ kind: 'OrderBy', expression: col('version'), direction: 'ASC' }],
      limit: null,
      offset: null,
    });
  });

  it('accepts keyword-like column names unquoted', () => {
    const sql = 'SELECT model, version, active, archived, status, kind, target, id, progress, metrics, name, job, use FROM ml_jobs';
    const node = parseStatement(sql) as SelectNode;
    expect(node.columns).toStrictEqual(
      ['model', 'version', 'active', 'archived', 'status', 'kind', 'target', 'id', 'progress', 'metrics', 'name', 'job', 'use'].map((name) => item(col(name))),
    );
  });

  it('accepts OFFSET without LIMIT', () => {
    expect(parseStatement('SELECT * FROM t OFFSET 5')).toMatchObject({ limit: null, offset: lit(5) });
  });
});

describe('expressions', () => {
  it.each([
    ['=', '='],
    ['<>', '<>'],
    ['!=', '<>'],
    ['<', '<'],
    ['<=', '<='],
    ['>', '>'],
    ['>=', '>='],
  ])('comparison %s', (written, op) => {
    expect(where(`version ${written} -2`)).toStrictEqual({ kind: 'Comparison', op, left: col('version'), right: lit(-2) });
  });

  it('IS NULL and IS NOT NULL', () => {
    expect(where('active_version IS NULL')).toStrictEqual({ kind: 'IsNull', operand: col('active_version'), negated: false });
    expect(where('error is not null')).toStrictEqual({ kind: 'IsNull', operand: col('error'), negated: true });
  });

  it('LIKE and NOT LIKE', () => {
    expect(where("name LIKE 'spam%'")).toStrictEqual({ kind: 'Like', operand: col('name'), pattern: lit('spam%'), negated: false });
    expect(where('name NOT LIKE $1')).toStrictEqual({ kind: 'Like', operand: col('name'), pattern: param(1), negated: true });
  });

  it('IN and NOT IN', () => {
    expect(where("status IN ('queued', 'running')")).toStrictEqual({
      kind: 'In',
      operand: col('status'),
      list: [lit('queued'), lit('running')],
      negated: false,
    });
    expect(where('version NOT IN (1, $2)')).toStrictEqual({
      kind: 'In',
      operand: col('version'),
      list: [lit(1), param(2)],
      negated: true,
    });
  });

  it('literal operands: strings, numbers, booleans, NULL, blobs, parameters', () => {
    expect(where("'a' = x'ff'")).toStrictEqual({ kind: 'Comparison', op: '=', left: lit('a'), right: lit(new Uint8Array([255])) });
    expect(where('active = TRUE')).toMatchObject({ right: lit(true) });
    expect(where('archived <> false')).toMatchObject({ right: lit(false) });
    expect(where('$3 = NULL')).toMatchObject({ left: param(3), right: lit(null) });
    expect(where('TRUE')).toStrictEqual(lit(true));
  });

  it('AND binds tighter than OR, NOT tighter than AND', () => {
    expect(where('a = 1 OR b = 2 AND NOT c = 3')).toStrictEqual({
      kind: 'Logical',
      op: 'OR',
      left: { kind: 'Comparison', op: '=', left: col('a'), right: lit(1) },
      right: {
        kind: 'Logical',
        op: 'AND',
        left: { kind: 'Comparison', op: '=', left: col('b'), right: lit(2) },
        right: { kind: 'Not', operand: { kind: 'Comparison', op: '=', left: col('c'), right: lit(3) } },
      },
    });
  });

  it('AND and OR are left-associative; parentheses override', () => {
    expect(where('a AND b AND c')).toStrictEqual({
      kind: 'Logical',
      op: 'AND',
      left: { kind: 'Logical', op: 'AND', left: col('a'), right: col('b') },
      right: col('c'),
    });
    expect(where('(a OR b) AND NOT (c OR d)')).toStrictEqual({
      kind: 'Logical',
      op: 'AND',
      left: { kind: 'Logical', op: 'OR', left: col('a'), right: col('b') },
      right: { kind: 'Not', operand: { kind: 'Logical', op: 'OR', left: col('c'), right: col('d') } },
    });
    expect(where('NOT NOT a')).toStrictEqual({ kind: 'Not', operand: { kind: 'Not', operand: col('a') } });
  });
});

describe('scripts', () => {
  it('splits on semicolons, ignoring empty statements and comments', () => {
    const script = `
      -- set things up
      ;; CREATE MODEL a WITH (artifact = 'x;y'); /* block
      comment */ ARCHIVE MODEL a;
      SELECT * FROM ml_jobs;;
    `;
    expect(parseScript(script).map((s) => s.kind)).toStrictEqual(['CreateModel', 'ArchiveModel', 'Select']);
  });

  it('returns [] for empty and comment-only scripts', () => {
    expect(parseScript('')).toStrictEqual([]);
    expect(parseScript('  ;\n ; -- nothing\n/* here */')).toStrictEqual([]);
  });
});

describe('parseStatement', () => {
  it('allows one trailing semicolon', () => {
    expect(parseStatement('ARCHIVE MODEL a;').kind).toBe('ArchiveModel');
  });

  it.each([
    ['ARCHIVE MODEL a; ARCHIVE MODEL b', 2],
    ['', 0],
    ['-- only a comment', 0],
  ])('rejects %j: %i statements', (sql, count) => {
    const error = catchError(() => parseStatement(sql));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toBe(`query() runs exactly one statement, found ${count}; use exec() for scripts`);
  });

  it('rejects non-string input with a ModelSqlError', () => {
    expect(catchError(() => parseStatement(undefined as unknown as string)).code).toBe('INVALID_ARGUMENT');
  });
});

function catchError(run: () => unknown): ModelSqlError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ModelSqlError);
    return error as ModelSqlError;
  }
  throw new Error('expected an error');
}
