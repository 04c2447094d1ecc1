/**
 * SELECT over the three virtual tables through db.query, plus query()/exec() contracts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/index.js';
import {
  Resources, deferred, expectError, expectFailsUnchanged, ident, memoryDb, one, sha256, snapshot, str, waitForJob, weights,
} from '../helpers/sql.js';

const resources = new Resources();
afterEach(() => resources.cleanup());

const DASHBOARD_COLUMNS = [
  'name', 'active_version', 'total_versions', 'archived_versions', 'latest_version', 'created_at', 'updated_at',
  'production_version', 'retired', 'aliases', 'tags', 'tenant',
];
const VERSION_COLUMNS = [
  'model', 'version', 'active', 'archived', 'sha256', 'size_bytes', 'artifact', 'hyperparams', 'metrics',
  'training_sql', 'training_data_hash', 'parent_version', 'created_at', 'created_by', 'description',
  'stage', 'promoted_at', 'retired', 'model_type', 'task', 'backend', 'base_model', 'base_version', 'base_tenant', 'config',
  'schema_hash', 'schema', 'aliases', 'tags', 'tenant', 'copied_from_model', 'copied_from_version', 'copied_from_tenant',
];
const JOB_COLUMNS = ['id', 'kind', 'target', 'status', 'progress', 'created_at', 'started_at', 'finished_at', 'duration_ms', 'error', 'spec', 'metrics', 'version', 'tenant'];

/**
 * Fixture:
 *   spam  v1 (alice, metrics f1 .8, archived), v2 (bob, parent 1, description 'March data'), v3 (alice, inactive, artifact)
 *   spam2 v1 (alice)   — its name has 'spam' as a prefix
 *   ham   v1 (carol, description 'baseline')
 */
async function fixture(): Promise<Database> {
  const db = resources.track(await memoryDb({ createdBy: 'alice' }));
  await db.exec(
    `CREATE MODEL spam WITH (weights = $1, metrics = '{"f1":0.8}', hyperparams = '{"lr":0.1}');
     CREATE MODEL spam FROM VERSION 1 WITH (weights = $2, created_by = 'bob', description = 'fine-tuned on March data', metrics = '{"f1":0.9}');
     CREATE MODEL spam WITH (artifact = 's3://models/spam/3.onnx', active = FALSE, training_sql = 'SELECT * FROM emails');
     ARCHIVE MODEL spam VERSION 1;
     CREATE MODEL spam2 WITH (weights = $3);
     CREATE MODEL ham WITH (weights = $4, created_by = 'carol', description = 'baseline')`,
    [weights(1), weights(2), weights(3), weights(4)],
  );
  return db;
}

const pairs = (rows: readonly Record<string, unknown>[]): string[] => rows.map((r) => `${String(r.model)}@${String(r.version)}`);

describe('ML_MODELS_DASHBOARD', () => {
  it('has exactly the documented columns, one row per model ordered by name', async () => {
    const db = await fixture();
    const result = await db.query('SELECT * FROM ML_MODELS_DASHBOARD');
    expect(result.command).toBe('SELECT');
    expect(result.columns).toEqual(DASHBOARD_COLUMNS);
    expect(result.rowCount).toBe(3);
    for (const row of result.rows) expect(Object.keys(row)).toEqual(DASHBOARD_COLUMNS);
    const plain = result.rows.map(({ created_at, updated_at, ...rest }) => {
      expect(created_at).toBeInstanceOf(Date);
      expect(updated_at).toBeInstanceOf(Date);
      expect((updated_at as Date).getTime()).toBeGreaterThanOrEqual((created_at as Date).getTime());
      return rest;
    });
    expect(plain).toEqual([
      { name: 'ham', active_version: 1, total_versions: 1, archived_versions: 0, latest_version: 1, production_version: null, retired: false, aliases: {}, tags: {}, tenant: null },
      { name: 'spam', active_version: 2, total_versions: 3, archived_versions: 1, latest_version: 3, production_version: null, retired: false, aliases: {}, tags: {}, tenant: null },
      { name: 'spam2', active_version: 1, total_versions: 1, archived_versions: 0, latest_version: 1, production_version: null, retired: false, aliases: {}, tags: {}, tenant: null },
    ]);
  });

  it('is empty on an empty registry but still has its columns', async () => {
    const db = resources.track(await memoryDb());
    const result = await db.query('SELECT * FROM ML_MODELS_DASHBOARD');
    expect(result.rows).toEqual([]);
    expect(result.rowCount).toBe(0);
    expect(result.columns).toEqual(DASHBOARD_COLUMNS);
  });

  it('filters on active_version IS NULL', async () => {
    const db = await fixture();
    await db.query('ARCHIVE MODEL ham');
    const { rows } = await db.query('SELECT name, active_version FROM ml_models_dashboard WHERE active_version IS NULL');
    expect(rows).toEqual([{ name: 'ham', active_version: null }]);
    const notNull = await db.query('SELECT name FROM ML_MODELS_DASHBOARD WHERE active_version IS NOT NULL ORDER BY name DESC');
    expect(notNull.rows).toEqual([{ name: 'spam2' }, { name: 'spam' }]);
  });

  it('WHERE name = ... returns only that model even when another name has it as a prefix', async () => {
    const db = await fixture();
    expect((await db.query("SELECT name FROM ML_MODELS_DASHBOARD WHERE name = 'spam'")).rows).toEqual([{ name: 'spam' }]);
    expect((await db.query('SELECT name FROM ML_MODELS_DASHBOARD WHERE name = $1', ['spam2'])).rows).toEqual([{ name: 'spam2' }]);
    expect((await db.query("SELECT name FROM ML_MODELS_DASHBOARD WHERE name = 'spa'")).rows).toEqual([]);
  });
});

describe('ML_MODEL_VERSIONS', () => {
  it('has exactly the documented columns in order and never shows weights', async () => {
    const db = await fixture();
    const result = await db.query("SELECT * FROM ML_MODEL_VERSIONS WHERE model = 'spam'");
    expect(result.columns).toEqual(VERSION_COLUMNS);
    expect(result.rows).toHaveLength(3);
    for (const row of result.rows) {
      expect(Object.keys(row)).toEqual(VERSION_COLUMNS);
      expect(row).not.toHaveProperty('weights');
      for (const value of Object.values(row)) expect(value).not.toBeInstanceOf(Uint8Array);
    }
    const [v1, v2, v3] = result.rows;
    expect(v1).toMatchObject({
      model: 'spam', version: 1, active: false, archived: true, sha256: sha256(weights(1)), size_bytes: 16, artifact: null,
      hyperparams: { lr: 0.1 }, metrics: { f1: 0.8 }, training_sql: null, training_data_hash: null, parent_version: null,
      created_by: 'alice', description: null,
    });
    expect(v2).toMatchObject({
      model: 'spam', version: 2, active: true, archived: false, sha256: sha256(weights(2)), parent_version: 1, created_by: 'bob',
      description: 'fine-tuned on March data', metrics: { f1: 0.9 }, hyperparams: null,
    });
    expect(v3).toMatchObject({
      model: 'spam', version: 3, active: false, archived: false, sha256: null, size_bytes: null,
      artifact: 's3://models/spam/3.onnx', training_sql: 'SELECT * FROM emails', created_by: 'alice',
    });
    for (const row of result.rows) expect(row.created_at).toBeInstanceOf(Date);
    await expectError(db.query('SELECT weights FROM ML_MODEL_VERSIONS'), 'UNKNOWN_COLUMN', /weights/);
  });

  it('lists every model\'s versions without WHERE', async () => {
    const db = await fixture();
    const { rows } = await db.query('SELECT model, version FROM ML_MODEL_VERSIONS ORDER BY model, version');
    expect(pairs(rows)).toEqual(['ham@1', 'spam@1', 'spam@2', 'spam@3', 'spam2@1']);
  });

  it('WHERE model = ... returns only that model even when another model\'s name has it as a prefix', async () => {
    const db = await fixture();
    for (const name of ['spam:', 'spam;', 'spam ', 'spa', 'spam%3A']) {
      await db.query(`CREATE MODEL ${ident(name)} WITH (weights = $1)`, [weights(9)]);
    }
    expect(pairs((await db.query("SELECT model, version FROM ML_MODEL_VERSIONS WHERE model = 'spam'")).rows)).toEqual(['spam@1', 'spam@2', 'spam@3']);
    expect(pairs((await db.query("SELECT model, version FROM ML_MODEL_VERSIONS WHERE model = 'spam2'")).rows)).toEqual(['spam2@1']);
    expect(pairs((await db.query("SELECT model, version FROM ML_MODEL_VERSIONS WHERE model = 'spa'")).rows)).toEqual(['spa@1']);
    expect(pairs((await db.query("SELECT model, version FROM ML_MODEL_VERSIONS WHERE model = 'spam:'")).rows)).toEqual(['spam:@1']);
    expect(pairs((await db.query("SELECT model, version FROM ML_MODEL_VERSIONS WHERE model = 'spam%3A'")).rows)).toEqual(['spam%3A@1']);
    expect(pairs((await db.query('SELECT model, version FROM ML_MODEL_VERSIONS WHERE model = $1 AND version = 2', ['spam'])).rows)).toEqual(['spam@2']);
    expect(pairs((await db.query("SELECT model, version FROM ML_MODEL_VERSIONS WHERE model = 'spam2' AND version = 2")).rows)).toEqual([]);
    expect(pairs((await db.query("SELECT model, version FROM ML_MODEL_VERSIONS WHERE version = 1 AND model = 'spam;'")).rows)).toEqual(['spam;@1']);
    const dash = (await db.query('SELECT name FROM ML_MODELS_DASHBOARD')).rows.map((r) => r.name);
    expect(dash).toHaveLength(8);
  });

  it('supports AND, OR, NOT and parentheses with SQL precedence', async () => {
    const db = await fixture();
    const q = async (where: string, params: unknown[] = []) =>
      pairs((await db.query(`SELECT model, version FROM ML_MODEL_VERSIONS WHERE ${where} ORDER BY model, version`, params)).rows);
    expect(await q("model = 'spam' AND NOT archived")).toEqual(['spam@2', 'spam@3']);
    expect(await q("model = 'ham' OR model = 'spam2'")).toEqual(['ham@1', 'spam2@1']);
    // AND binds tighter than OR.
    expect(await q("model = 'ham' OR model = 'spam' AND version = 3")).toEqual(['ham@1', 'spam@3']);
    expect(await q("(model = 'ham' OR model = 'spam') AND version = 1")).toEqual(['ham@1', 'spam@1']);
    expect(await q("NOT (model = 'spam')")).toEqual(['ham@1', 'spam2@1']);
    expect(await q('active = TRUE')).toEqual(['ham@1', 'spam@2', 'spam2@1']);
    expect(await q('version >= 2 AND version < 3')).toEqual(['spam@2']);
    expect(await q('version <> 1')).toEqual(['spam@2', 'spam@3']);
    expect(await q('version != 1')).toEqual(['spam@2', 'spam@3']);
    expect(await q('model = $1 AND (created_by = $2 OR description LIKE $3)', ['spam', 'alice', '%March%'])).toEqual(['spam@1', 'spam@2', 'spam@3']);
    expect(await q('model = $1 AND (created_by = $2 OR description LIKE $3)', ['spam', 'bob', '%nothing%'])).toEqual(['spam@2']);
  });

  it('uses three-valued logic: comparisons with NULL are never true; IS [NOT] NULL tests for it', async () => {
    const db = await fixture();
    const q = async (where: string) =>
      pairs((await db.query(`SELECT model, version FROM ML_MODEL_VERSIONS WHERE ${where} ORDER BY model, version`)).rows);
    expect(await q('parent_version = 1')).toEqual(['spam@2']);
    expect(await q('NOT (parent_version = 1)')).toEqual([]);
    expect(await q('parent_version <> 1')).toEqual([]);
    expect(await q('parent_version IS NULL')).toEqual(['ham@1', 'spam@1', 'spam@3', 'spam2@1']);
    expect(await q('parent_version IS NOT NULL')).toEqual(['spam@2']);
    expect(await q('description = NULL')).toEqual([]);
    expect(await q('sha256 IS NULL')).toEqual(['spam@3']);
    expect(await q("description LIKE '%' OR sha256 IS NULL")).toEqual(['ham@1', 'spam@2', 'spam@3']);
  });

  it('supports [NOT] LIKE (case-sensitive, % and _) and [NOT] IN', async () => {
    const db = await fixture();
    const q = async (where: string, params: unknown[] = []) =>
      pairs((await db.query(`SELECT model, version FROM ML_MODEL_VERSIONS WHERE ${where} ORDER BY model, version`, params)).rows);
    expect(await q("model LIKE 'spam%'")).toEqual(['spam@1', 'spam@2', 'spam@3', 'spam2@1']);
    expect(await q("model LIKE 'spam_'")).toEqual(['spam2@1']);
    expect(await q("model LIKE 'SPAM%'")).toEqual([]);
    expect(await q("model NOT LIKE 'spam%'")).toEqual(['ham@1']);
    expect(await q("description LIKE '%March%'")).toEqual(['spam@2']);
    expect(await q("model IN ('ham', 'spam2', 'nope')")).toEqual(['ham@1', 'spam2@1']);
    expect(await q("model NOT IN ('ham', 'spam2')")).toEqual(['spam@1', 'spam@2', 'spam@3']);
    expect(await q('version IN ($1, $2)', [2, 3])).toEqual(['spam@2', 'spam@3']);
    expect(await q("created_by IN ('bob', 'carol')")).toEqual(['ham@1', 'spam@2']);
  });

  it('orders by several keys, ASC by default, and pages with LIMIT/OFFSET', async () => {
    const db = await fixture();
    const q = async (tail: string, params: unknown[] = []) =>
      pairs((await db.query(`SELECT model, version FROM ML_MODEL_VERSIONS ${tail}`, params)).rows);
    expect(await q('ORDER BY version DESC, model')).toEqual(['spam@3', 'spam@2', 'ham@1', 'spam@1', 'spam2@1']);
    expect(await q('ORDER BY version DESC, model DESC')).toEqual(['spam@3', 'spam@2', 'spam2@1', 'spam@1', 'ham@1']);
    expect(await q('ORDER BY model ASC, version DESC')).toEqual(['ham@1', 'spam@3', 'spam@2', 'spam@1', 'spam2@1']);
    expect(await q('ORDER BY model, version LIMIT 2')).toEqual(['ham@1', 'spam@1']);
    expect(await q('ORDER BY model, version LIMIT 2 OFFSET 2')).toEqual(['spam@2', 'spam@3']);
    expect(await q('ORDER BY model, version LIMIT $1 OFFSET $2', [10, 4])).toEqual(['spam2@1']);
    expect(await q('ORDER BY model, version OFFSET 3')).toEqual(['spam@3', 'spam2@1']);
    expect(await q('ORDER BY model, version LIMIT 0')).toEqual([]);
    expect(await q('ORDER BY model, version LIMIT 5 OFFSET 99')).toEqual([]);
    // NULLs sort last ascending and first descending.
    const byParent = (await db.query("SELECT version FROM ML_MODEL_VERSIONS WHERE model = 'spam' ORDER BY parent_version, version")).rows;
    expect(byParent.map((r) => r.version)).toEqual([2, 1, 3]);
    const byParentDesc = (await db.query("SELECT version FROM ML_MODEL_VERSIONS WHERE model = 'spam' ORDER BY parent_version DESC, version")).rows;
    expect(byParentDesc.map((r) => r.version)).toEqual([1, 3, 2]);
  });

  it('returns listed columns in the listed order; plain column and table names fold case', async () => {
    const db = await fixture();
    const result = await db.query("select Version, MODEL, sha256 from ml_model_versions where Model = 'spam2'");
    expect(result.columns).toEqual(['version', 'model', 'sha256']);
    expect(result.rows).toEqual([{ version: 1, model: 'spam2', sha256: sha256(weights(3)) }]);
    expect(Object.keys(result.rows[0]!)).toEqual(['version', 'model', 'sha256']);
  });

  it('compares timestamps with ISO strings and Date parameters', async () => {
    const db = await fixture();
    const future = new Date(Date.now() + 60_000);
    expect((await db.query('SELECT version FROM ML_MODEL_VERSIONS WHERE created_at < $1', [future])).rowCount).toBe(5);
    expect((await db.query('SELECT version FROM ML_MODEL_VERSIONS WHERE created_at >= $1', [future])).rowCount).toBe(0);
    expect((await db.query("SELECT version FROM ML_MODEL_VERSIONS WHERE created_at >= '2000-01-01T00:00:00Z'")).rowCount).toBe(5);
  });

  it('rejects comparing values of different types and bad LIMIT/OFFSET with INVALID_ARGUMENT', async () => {
    const db = await fixture();
    await expectError(db.query("SELECT * FROM ML_MODEL_VERSIONS WHERE version = 'two'"), 'INVALID_ARGUMENT');
    await expectError(db.query('SELECT * FROM ML_MODEL_VERSIONS WHERE model = 1'), 'INVALID_ARGUMENT');
    await expectError(db.query('SELECT * FROM ML_MODEL_VERSIONS LIMIT -1'), 'INVALID_ARGUMENT');
    await expectError(db.query('SELECT * FROM ML_MODEL_VERSIONS LIMIT 1.5'), 'INVALID_ARGUMENT');
    await expectError(db.query('SELECT * FROM ML_MODEL_VERSIONS LIMIT $1', ['3']), 'INVALID_ARGUMENT');
    await expectError(db.query('SELECT * FROM ML_MODEL_VERSIONS OFFSET $1', [-2]), 'INVALID_ARGUMENT');
    await expectError(db.query('SELECT * FROM ML_MODEL_VERSIONS WHERE model = $2', ['x']), 'INVALID_ARGUMENT');
    await expectError(db.query('SELECT * FROM ML_MODEL_VERSIONS ORDER BY metrics'), 'INVALID_ARGUMENT');
  });
});

describe('ML_JOBS', () => {
  it('has exactly the documented columns and filters by status, id and kind', async () => {
    const db = await fixture();
    const gate = deferred();
    db.registerTrainer('t', async () => {
      await gate.promise;
      return { weights: weights(7) };
    });
    const empty = await db.query('SELECT * FROM ML_JOBS');
    expect(empty.rows).toEqual([]);
    expect(empty.columns).toEqual(JOB_COLUMNS);
    const first = one(await db.query("CREATE MODEL spam WITH (trainer = 't', async = TRUE)"));
    const second = one(await db.query("CREATE MODEL ham WITH (trainer = 't', async = TRUE)"));
    await waitForJob(db, first.job_id as string, ['running']);
    const all = await db.query('SELECT * FROM ML_JOBS ORDER BY created_at');
    expect(all.columns).toEqual(JOB_COLUMNS);
    for (const row of all.rows) expect(Object.keys(row)).toEqual(JOB_COLUMNS);
    expect(all.rows.map((r) => [r.id, r.kind, r.target, r.status])).toEqual([
      [first.job_id, 'train', 'spam', 'running'],
      [second.job_id, 'train', 'ham', 'queued'],
    ]);
    const active = await db.query("SELECT id, status FROM ML_JOBS WHERE status IN ('queued', 'running') AND kind <> 'backfill' ORDER BY created_at LIMIT 10");
    expect(active.rows).toEqual([{ id: first.job_id, status: 'running' }, { id: second.job_id, status: 'queued' }]);
    expect((await db.query('SELECT target FROM ML_JOBS WHERE id = $1', [second.job_id])).rows).toEqual([{ target: 'ham' }]);
    expect((await db.query("SELECT target FROM ML_JOBS WHERE id = 'not-a-job-id'")).rows).toEqual([]);
    expect((await db.query('SELECT id FROM ML_JOBS WHERE error IS NOT NULL')).rows).toEqual([]);
    gate.resolve();
    await waitForJob(db, first.job_id as string);
    await waitForJob(db, second.job_id as string);
    expect((await db.query("SELECT target, version FROM ML_JOBS WHERE status = 'completed' ORDER BY target")).rows).toEqual([
      { target: 'ham', version: 2 },
      { target: 'spam', version: 4 },
    ]);
  });
});

describe('errors', () => {
  let db: Database;
  beforeEach(async () => {
    db = await fixture();
  });

  it('an unknown table is UNKNOWN_TABLE naming it, and changes nothing', async () => {
    const error = await expectFailsUnchanged(db, () => db.query('SELECT * FROM ML_MODELZ'), 'UNKNOWN_TABLE', /ML_MODELZ/);
    expect(error.message).toMatch(/ML_MODELS_DASHBOARD/);
    await expectError(db.query('SELECT * FROM "My Table"'), 'UNKNOWN_TABLE', /My Table/);
  });

  it('a quoted table name is taken exactly as written (grammar.md), so "ml_jobs" is not ML_JOBS', async () => {
    await expectError(db.query('SELECT * FROM "ml_jobs"'), 'UNKNOWN_TABLE', /ml_jobs/);
    expect((await db.query('SELECT * FROM "ML_JOBS"')).columns).toEqual(JOB_COLUMNS);
  });

  it('an unknown column is UNKNOWN_COLUMN naming it, in the select list, WHERE and ORDER BY', async () => {
    await expectError(db.query('SELECT verison FROM ML_MODEL_VERSIONS'), 'UNKNOWN_COLUMN', /'verison'/);
    await expectError(db.query("SELECT * FROM ML_MODEL_VERSIONS WHERE modle = 'spam'"), 'UNKNOWN_COLUMN', /'modle'/);
    await expectError(db.query('SELECT * FROM ML_MODELS_DASHBOARD ORDER BY bogus'), 'UNKNOWN_COLUMN', /'bogus'/);
    await expectError(db.query('SELECT status FROM ML_MODELS_DASHBOARD'), 'UNKNOWN_COLUMN', /'status'/);
    // Quoted column names are case-sensitive.
    await expectError(db.query('SELECT "Version" FROM ML_MODEL_VERSIONS'), 'UNKNOWN_COLUMN', /'Version'/);
    // Reported even when the table is empty.
    const empty = resources.track(await memoryDb());
    await expectError(empty.query('SELECT nope FROM ML_JOBS'), 'UNKNOWN_COLUMN', /'nope'/);
  });

  it('SYNTAX_ERROR carries line, column, expected and found', async () => {
    const error = await expectFailsUnchanged(db, () => db.query('ALTER MODEL spam USE VERISON 3'), 'SYNTAX_ERROR');
    expect(error).toMatchObject({ line: 1, column: 22, found: 'VERISON' });
    expect(error.expected).toEqual(['VERSION', 'PREVIOUS', 'BEST']);

    const multiline = await expectError(db.query("SELECT *\n  FROM ML_JOBS WHER status = 'x'"), 'SYNTAX_ERROR');
    expect(multiline).toMatchObject({ line: 2, column: 16, found: 'WHER' });
    expect(multiline.expected).toContain('WHERE');

    const atEnd = await expectError(db.query('SELECT * FROM'), 'SYNTAX_ERROR');
    expect(atEnd).toMatchObject({ line: 1, column: 14, found: '' });
    expect(atEnd.expected).toEqual(expect.arrayContaining(['identifier']));

    const blob = await expectError(db.query("CREATE MODEL m WITH (weights = x'abc')"), 'SYNTAX_ERROR');
    expect(blob).toMatchObject({ line: 1, column: 32 });
  });

  it('a syntax error in CREATE MODEL changes nothing', async () => {
    await expectFailsUnchanged(db, () => db.query('CREATE MODEL spam WITH (weights = $1,)', [weights(5)]), 'SYNTAX_ERROR');
    await expectFailsUnchanged(db, () => db.query('CREATE MODEL spam WITH weights = $1', [weights(5)]), 'SYNTAX_ERROR');
  });
});

describe('query() and exec()', () => {
  it('query() with two statements is INVALID_ARGUMENT and runs neither', async () => {
    const db = await fixture();
    await expectFailsUnchanged(
      db,
      () => db.query('CREATE MODEL spam WITH (weights = $1); ARCHIVE MODEL ham', [weights(5)]),
      'INVALID_ARGUMENT',
    );
    await expectFailsUnchanged(db, () => db.query(''), 'INVALID_ARGUMENT');
    await expectFailsUnchanged(db, () => db.query('-- only a comment'), 'INVALID_ARGUMENT');
    // One statement with a trailing ';' is fine.
    expect(one(await db.query('ALTER MODEL spam USE VERSION 3;')).active_version).toBe(3);
  });

  it('query() rejects non-string SQL and non-array params with INVALID_ARGUMENT', async () => {
    const db = await fixture();
    await expectError(db.query(42 as unknown as string), 'INVALID_ARGUMENT');
    await expectError(db.query('SELECT * FROM ML_JOBS', 'x' as unknown as unknown[]), 'INVALID_ARGUMENT');
  });

  it('exec() runs a script in order and returns every result', async () => {
    const db = resources.track(await memoryDb());
    const results = await db.exec(
      `-- register two versions, roll back, look
       CREATE MODEL m WITH (weights = $1);
       CREATE MODEL m WITH (weights = $2, active = FALSE);;
       ALTER MODEL m USE VERSION 2; /* forward */
       ALTER MODEL m USE VERSION 1;
       SELECT name, active_version, total_versions FROM ML_MODELS_DASHBOARD;`,
      [weights(1), weights(2)],
    );
    expect(results.map((r) => r.command)).toEqual(['CREATE MODEL', 'CREATE MODEL', 'ALTER MODEL', 'ALTER MODEL', 'SELECT']);
    expect(results[0]!.rows).toEqual([{ model: 'm', version: 1, active: true, sha256: sha256(weights(1)) }]);
    expect(results[1]!.rows).toEqual([{ model: 'm', version: 2, active: false, sha256: sha256(weights(2)) }]);
    expect(results[2]!.rows).toEqual([{ model: 'm', active_version: 2, previous_version: 1 }]);
    expect(results[3]!.rows).toEqual([{ model: 'm', active_version: 1, previous_version: 2 }]);
    expect(results[4]!.rows).toEqual([{ name: 'm', active_version: 1, total_versions: 2 }]);
  });

  it('exec() of an empty or comment-only script does nothing and returns []', async () => {
    const db = resources.track(await memoryDb());
    expect(await db.exec('')).toEqual([]);
    expect(await db.exec(' ;; -- nothing\n/* here */ ;')).toEqual([]);
  });

  it('a failing statement stops the script: earlier statements stay committed, later ones never run', async () => {
    const db = resources.track(await memoryDb());
    const error = await expectError(
      db.exec(
        `CREATE MODEL m WITH (weights = $1);
         ALTER MODEL m USE VERSION 5;
         CREATE MODEL m WITH (weights = $1);
         CREATE MODEL other WITH (weights = $1)`,
        [weights(1)],
      ),
      'UNKNOWN_VERSION',
      "unknown version 5 for model 'm'",
    );
    expect(error.version).toBe(5);
    const { dashboard, versions } = await snapshot(db);
    expect(dashboard.map((r) => [r.name, r.total_versions])).toEqual([['m', 1]]);
    expect(versions).toHaveLength(1);
  });

  it('a statement of a script that uses a missing parameter is INVALID_ARGUMENT and stops the script there', async () => {
    const db = resources.track(await memoryDb());
    await expectError(
      db.exec('CREATE MODEL m WITH (weights = $1); CREATE MODEL m WITH (weights = $2); CREATE MODEL m WITH (weights = $1)', [weights(1)]),
      'INVALID_ARGUMENT',
    );
    expect((await db.query("SELECT version FROM ML_MODEL_VERSIONS WHERE model = 'm'")).rows).toEqual([{ version: 1 }]);
  });

  it('a script with a syntax error anywhere is SYNTAX_ERROR', async () => {
    const db = resources.track(await memoryDb());
    const error = await expectError(db.exec('SELECT * FROM ML_JOBS;\nSELEC * FROM ML_JOBS'), 'SYNTAX_ERROR');
    expect(error).toMatchObject({ line: 2, column: 1, found: 'SELEC' });
  });

  it('column values reflect model names that need quoting exactly', async () => {
    const db = resources.track(await memoryDb());
    const name = 'a "b" \'c\'';
    await db.query(`CREATE MODEL ${ident(name)} WITH (weights = $1)`, [weights(1)]);
    expect((await db.query(`SELECT name FROM ML_MODELS_DASHBOARD WHERE name = ${str(name)}`)).rows).toEqual([{ name }]);
  });
});
