/**
 * Tenants (jammi seed 004): identity is (tenant, name); a tenant sees its own models and
 * the global ones (its own shadowing a global of the same name), changes only its own,
 * and never learns anything about another tenant's models or jobs. Session binding:
 * open({ tenant }), db.withTenant(), SET TENANT / RESET TENANT.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ModelSqlError, open, type Database, type Row, type TrainerContext, type TrainerResult } from '../../src/index.js';
import {
  gatedTrainer,
  Resources, deferred, expectError, jobRow, memoryDb, one, sha256, waitForJob, weights,
} from '../helpers/sql.js';

const resources = new Resources();
afterEach(() => resources.cleanup());

async function db(options: Parameters<typeof memoryDb>[0] = {}): Promise<Database> {
  return resources.track(await memoryDb({ onError: () => undefined, ...options }));
}

/** CREATE MODEL with small weights; returns the result row. */
async function create(d: Database, model: string, seed = 1, extra = ''): Promise<Row> {
  return one(await d.query(`CREATE MODEL "${model}" WITH (weights = $1${extra ? `, ${extra}` : ''})`, [weights(seed)]));
}

/** Everything a session can see, retired models and versions included. */
async function fullView(d: Database): Promise<{ dashboard: readonly Row[]; versions: readonly Row[]; jobs: readonly Row[] }> {
  return {
    dashboard: (await d.query('SELECT * FROM ML_MODELS_DASHBOARD WHERE retired = TRUE OR retired = FALSE ORDER BY name')).rows,
    versions: (await d.query('SELECT * FROM ML_MODEL_VERSIONS WHERE retired = TRUE OR retired = FALSE ORDER BY tenant, model, version')).rows,
    jobs: (await d.query('SELECT * FROM ML_JOBS')).rows,
  };
}

/** Expects `run()` to fail with `code` (and `message`), leaving every given session's full view as it was. */
async function expectFailsUnchangedFor(sessions: readonly Database[], run: () => Promise<unknown>, code: ModelSqlError['code'], message?: string | RegExp): Promise<ModelSqlError> {
  const before = await Promise.all(sessions.map(fullView));
  const error = await expectError(run(), code, message);
  expect(await Promise.all(sessions.map(fullView)), `state after ${code}`).toEqual(before);
  return error;
}


/** A settled call as comparable data: result (dates and bytes made stable) or error code, message and details. */
async function outcome(run: () => Promise<unknown>): Promise<unknown> {
  try {
    return { ok: JSON.parse(JSON.stringify(await run(), (_k, v: unknown) => (v instanceof Uint8Array ? `bytes:${Buffer.from(v).toString('hex')}` : v))) };
  } catch (error) {
    if (!(error instanceof ModelSqlError)) return { thrown: String(error) };
    return { code: error.code, message: error.message, model: error.model ?? null, version: error.version ?? null, jobId: error.jobId ?? null };
  }
}

describe('identity is (tenant, name)', () => {
  it('two tenants both own `spam`, with independent version numbers, weights and active pointers', async () => {
    const d = await db();
    const acme = d.withTenant('acme');
    const globex = d.withTenant('globex');
    expect(await create(acme, 'spam', 1)).toMatchObject({ model: 'spam', version: 1 });
    expect(await create(acme, 'spam', 2)).toMatchObject({ model: 'spam', version: 2 });
    expect(await create(globex, 'spam', 3)).toMatchObject({ model: 'spam', version: 1, sha256: sha256(weights(3)) });
    expect(await create(acme, 'spam', 4)).toMatchObject({ version: 3 });
    await acme.query('ALTER MODEL spam USE VERSION 1');

    expect((await acme.query('SELECT name, tenant, latest_version, active_version FROM ML_MODELS_DASHBOARD')).rows).toEqual([
      { name: 'spam', tenant: 'acme', latest_version: 3, active_version: 1 },
    ]);
    expect((await globex.query('SELECT name, tenant, latest_version, active_version FROM ML_MODELS_DASHBOARD')).rows).toEqual([
      { name: 'spam', tenant: 'globex', latest_version: 1, active_version: 1 },
    ]);
    expect((await acme.query("SELECT version, sha256, tenant FROM ML_MODEL_VERSIONS WHERE model = 'spam'")).rows).toEqual([
      { version: 1, sha256: sha256(weights(1)), tenant: 'acme' },
      { version: 2, sha256: sha256(weights(2)), tenant: 'acme' },
      { version: 3, sha256: sha256(weights(4)), tenant: 'acme' },
    ]);
    expect(Buffer.from(await globex.registry.readWeights('spam', 1))).toEqual(weights(3));
    expect(Buffer.from(await acme.registry.readWeights('spam', 1))).toEqual(weights(1));
    await expectError(globex.registry.getVersion('spam', 2), 'UNKNOWN_VERSION', "unknown version 2 for model 'spam'");
    // The global session owns no `spam`.
    expect((await d.query('SELECT * FROM ML_MODELS_DASHBOARD')).rows).toEqual([]);
    await expectError(d.registry.getActive('spam'), 'UNKNOWN_MODEL', "unknown model 'spam'");
  });

  it('a tenant sees its own models and the global ones; its own shadows a global of the same name everywhere', async () => {
    const d = await db();
    for (let i = 1; i <= 3; i++) await create(d, 'spam', 10 + i);
    await d.query('ALTER MODEL spam VERSION 3 PROMOTE TO STAGING');
    await create(d, 'ham', 20);
    const acme = d.withTenant('acme');
    const globex = d.withTenant('globex');
    expect(await create(acme, 'spam', 30)).toMatchObject({ model: 'spam', version: 1, active: true });

    // Dashboard: one `spam` row, acme's own.
    expect((await acme.query('SELECT name, tenant, latest_version, active_version FROM ML_MODELS_DASHBOARD')).rows).toEqual([
      { name: 'ham', tenant: null, latest_version: 1, active_version: 1 },
      { name: 'spam', tenant: 'acme', latest_version: 1, active_version: 1 },
    ]);
    expect((await acme.query("SELECT tenant, latest_version FROM ML_MODELS_DASHBOARD WHERE name = 'spam'")).rows).toEqual([{ tenant: 'acme', latest_version: 1 }]);
    // Version listings and point reads resolve to the own model, never to the global one.
    expect((await acme.query("SELECT model, version, tenant FROM ML_MODEL_VERSIONS WHERE model = 'spam'")).rows).toEqual([{ model: 'spam', version: 1, tenant: 'acme' }]);
    expect((await acme.query('SELECT model, version, tenant FROM ML_MODEL_VERSIONS ORDER BY model, version')).rows).toEqual([
      { model: 'ham', version: 1, tenant: null },
      { model: 'spam', version: 1, tenant: 'acme' },
    ]);
    expect((await acme.query("SELECT * FROM ML_MODEL_VERSIONS WHERE model = 'spam' AND version = 2")).rows).toEqual([]);
    expect((await acme.query("SELECT * FROM ML_MODEL_VERSIONS WHERE model = 'spam' AND stage = 'staging'")).rows).toEqual([]);
    expect((await acme.query("SELECT version, sha256 FROM ML_MODEL_VERSIONS WHERE model = 'spam' AND version = 1")).rows).toEqual([{ version: 1, sha256: sha256(weights(30)) }]);
    await expectError(acme.registry.getVersion('spam', 2), 'UNKNOWN_VERSION', "unknown version 2 for model 'spam'");
    expect(await acme.registry.getActive('spam')).toMatchObject({ model: 'spam', tenant: 'acme', version: 1, sha256: sha256(weights(30)) });
    expect((await acme.registry.listVersions('spam')).map((v) => [v.tenant, v.version])).toEqual([['acme', 1]]);
    expect(await acme.registry.latestAtStage('spam', 'staging')).toBeNull();
    expect(Buffer.from(await acme.registry.readWeights('spam', 1))).toEqual(weights(30));
    expect((await acme.registry.summaries()).map((s) => [s.name, s.tenant, s.latestVersion])).toEqual([['ham', null, 1], ['spam', 'acme', 1]]);
    // The global model itself is still there, seen by the global session and by other tenants.
    for (const other of [d, globex]) {
      expect((await other.query('SELECT name, tenant, latest_version FROM ML_MODELS_DASHBOARD')).rows).toEqual([
        { name: 'ham', tenant: null, latest_version: 1 },
        { name: 'spam', tenant: null, latest_version: 3 },
      ]);
      expect(await other.registry.latestAtStage('spam', 'staging')).toMatchObject({ tenant: null, version: 3 });
      expect(Buffer.from(await other.registry.readWeights('spam', 2))).toEqual(weights(12));
    }
    // ham (not shadowed) reads through to the global model for acme.
    expect(await acme.registry.getActive('ham')).toMatchObject({ tenant: null, version: 1 });
  });

  it('the global session sees only global models, also when asking for retired rows or by name', async () => {
    const d = await db();
    await create(d, 'shared');
    const acme = d.withTenant('acme');
    await create(acme, 'secret');
    await create(acme, 'shared');
    await acme.query('RETIRE MODEL secret');
    const all = await fullView(d);
    expect(all.dashboard.map((r) => [r.name, r.tenant])).toEqual([['shared', null]]);
    expect(all.versions.map((r) => [r.model, r.version, r.tenant])).toEqual([['shared', 1, null]]);
    expect((await d.query("SELECT * FROM ML_MODELS_DASHBOARD WHERE name = 'secret' AND retired")).rows).toEqual([]);
    expect((await d.query("SELECT * FROM ML_MODEL_VERSIONS WHERE model = 'secret' AND version = 1")).rows).toEqual([]);
    expect((await d.query("SELECT * FROM ML_MODEL_VERSIONS WHERE tenant = 'acme' OR retired")).rows).toEqual([]);
    expect(await d.registry.summaries({ includeRetired: true })).toHaveLength(1);
  });

  it('the `tenant` column is NULL for global rows and the owner otherwise, in both tables, and can be filtered on', async () => {
    const d = await db();
    await create(d, 'g');
    const acme = d.withTenant('acme');
    await create(acme, 'own');
    const dash = await acme.query('SELECT * FROM ML_MODELS_DASHBOARD');
    expect(dash.columns).toContain('tenant');
    expect(dash.rows.map((r) => [r.name, r.tenant])).toEqual([['g', null], ['own', 'acme']]);
    const versions = await acme.query('SELECT * FROM ML_MODEL_VERSIONS ORDER BY model');
    expect(versions.columns).toContain('tenant');
    expect(versions.rows.map((r) => [r.model, r.tenant])).toEqual([['g', null], ['own', 'acme']]);
    expect((await acme.query('SELECT name FROM ML_MODELS_DASHBOARD WHERE tenant IS NULL')).rows).toEqual([{ name: 'g' }]);
    expect((await acme.query("SELECT model FROM ML_MODEL_VERSIONS WHERE tenant = 'acme'")).rows).toEqual([{ model: 'own' }]);
    expect((await acme.registry.getVersion('g', 1)).tenant).toBeNull();
    expect((await acme.registry.getVersion('own', 1)).tenant).toBe('acme');
  });

  it('concurrent CREATEs of one name by two tenants and the global session number independently, 1..n each', async () => {
    const d = await db();
    const sessions = [d, d.withTenant('acme'), d.withTenant('globex')];
    const counts = [7, 5, 9];
    const results = await Promise.all(sessions.flatMap((s, i) => Array.from({ length: counts[i]! }, (_, k) => create(s, 'spam', i * 20 + k).then((row) => ({ i, row })))));
    for (const [i, s] of sessions.entries()) {
      const versions = results.filter((r) => r.i === i).map((r) => r.row.version as number).sort((a, b) => a - b);
      expect(versions).toEqual(Array.from({ length: counts[i]! }, (_, k) => k + 1));
      expect((await s.query("SELECT tenant, latest_version, total_versions FROM ML_MODELS_DASHBOARD WHERE name = 'spam'")).rows).toEqual([
        { tenant: s.tenant, latest_version: counts[i], total_versions: counts[i] },
      ]);
    }
  });

  it('tenant and model names containing `:` and `%` never collide (tenant "a:b" model "c" vs tenant "a" model "b:c")', async () => {
    const d = await db();
    const ab = d.withTenant('a:b');
    const a = d.withTenant('a');
    const pct = d.withTenant('a%3Ab');
    await create(ab, 'c', 1);
    await create(a, 'b:c', 2);
    await create(pct, 'c', 3);
    expect((await ab.query('SELECT name, tenant FROM ML_MODELS_DASHBOARD')).rows).toEqual([{ name: 'c', tenant: 'a:b' }]);
    expect((await a.query('SELECT name, tenant FROM ML_MODELS_DASHBOARD')).rows).toEqual([{ name: 'b:c', tenant: 'a' }]);
    expect((await pct.query('SELECT name, tenant, latest_version FROM ML_MODELS_DASHBOARD')).rows).toEqual([{ name: 'c', tenant: 'a%3Ab', latest_version: 1 }]);
    expect(Buffer.from(await pct.registry.readWeights('c', 1))).toEqual(weights(3));
    expect((await d.query('SELECT * FROM ML_MODELS_DASHBOARD')).rows).toEqual([]);
  });
});

describe('tenant-strict writes', () => {
  /** A global model `g` where every write below would succeed for the global session. */
  async function globalFixture() {
    const d = await db();
    await create(d, 'g', 1);
    await create(d, 'g', 2);
    await create(d, 'g', 3);
    await d.query('ARCHIVE MODEL g VERSION 1');
    await d.query('ALTER MODEL g VERSION 2 PROMOTE TO STAGING');
    const acme = d.withTenant('acme');
    const globex = d.withTenant('globex');
    await create(globex, 'other');
    return { d, acme, globex };
  }

  const DENIED = "model 'g' is global; tenant 'acme' can change only its own models";
  const sqlWrites = [
    'ALTER MODEL g USE VERSION 2',
    'ALTER MODEL g VERSION 3 PROMOTE TO STAGING',
    'ALTER MODEL g VERSION 2 PROMOTE TO PRODUCTION',
    'ALTER MODEL g VERSION 2 DEMOTE TO DEV',
    'ARCHIVE MODEL g VERSION 2',
    'ARCHIVE MODEL g',
    'UNARCHIVE MODEL g VERSION 1',
    'RETIRE MODEL g',
    'RETIRE MODEL g VERSION 3',
  ];

  it.each(sqlWrites)('a tenant running `%s` on a global model gets PERMISSION_DENIED and nothing changes', async (sql) => {
    const { d, acme, globex } = await globalFixture();
    const error = await expectFailsUnchangedFor([d, acme, globex], () => acme.query(sql), 'PERMISSION_DENIED', DENIED);
    expect(error.model).toBe('g');
    // The same statement works for the global session: the refusal is about ownership only.
    await d.query(sql);
  });

  it('the typed API refuses the same writes to a global model with PERMISSION_DENIED, changing nothing', async () => {
    const { d, acme, globex } = await globalFixture();
    const writes: (() => Promise<unknown>)[] = [
      () => acme.registry.setActiveVersion('g', 2),
      () => acme.registry.promote('g', 3, 'staging'),
      () => acme.registry.demote('g', 2, 'dev'),
      () => acme.registry.archiveVersion('g', 2),
      () => acme.registry.archiveModel('g'),
      () => acme.registry.unarchiveVersion('g', 1),
      () => acme.registry.retireModel('g'),
      () => acme.registry.retireVersion('g', 3),
    ];
    for (const write of writes) await expectFailsUnchangedFor([d, acme, globex], write, 'PERMISSION_DENIED', DENIED);
  });

  it('writes to another tenant\'s model are UNKNOWN_MODEL, worded exactly like a model that does not exist; nothing of it leaks', async () => {
    const d = await db();
    const acme = d.withTenant('acme');
    const globex = d.withTenant('globex');
    const SECRET = 'fraud-7x';
    const UNTYPED = 'churn-q3';
    const MISSING = 'never-existed';
    const schema = 'SCHEMA (card_number id, amount number, merchant categorical)';
    // acme's models, in states where each probe below would succeed (or show rows) if globex could see them.
    await acme.query(`CREATE MODEL "${SECRET}" WITH (weights = $1) ${schema}`, [weights(1)]);
    await acme.query(`CREATE MODEL "${SECRET}" WITH (weights = $1, active = FALSE) ${schema}`, [weights(2)]);
    await acme.query(`ALTER MODEL "${SECRET}" VERSION 1 PROMOTE TO STAGING`);
    await acme.query(`ARCHIVE MODEL "${SECRET}" VERSION 2`);
    await acme.query(`CREATE MODEL "${UNTYPED}" WITH (weights = $1) SCHEMA (customer id, tenure number)`, [weights(3)]);
    await acme.query(`RETIRE MODEL "${UNTYPED}"`);
    d.registerTrainer('t', () => ({ weights: weights(9) }));
    await waitForJob(acme, one(await acme.query(`CREATE MODEL "${SECRET}" WITH (trainer = 't', async = TRUE)`)).job_id as string);
    await create(globex, 'mine');

    const q = (s: Database, sql: string, params: unknown[] = []) => () => s.query(sql, params);
    const probes = (s: Database, n: string): (() => Promise<unknown>)[] => [
      q(s, `ALTER MODEL "${n}" USE VERSION 1`),
      q(s, `ALTER MODEL "${n}" VERSION 1 PROMOTE TO PRODUCTION`),
      q(s, `ALTER MODEL "${n}" VERSION 1 DEMOTE TO DEV`),
      q(s, `ARCHIVE MODEL "${n}" VERSION 1`),
      q(s, `ARCHIVE MODEL "${n}"`),
      q(s, `UNARCHIVE MODEL "${n}" VERSION 2`),
      q(s, `RETIRE MODEL "${n}"`),
      q(s, `RETIRE MODEL "${n}" VERSION 1`),
      q(s, `CREATE MODEL "${n}" FROM VERSION 1 WITH (weights = $1)`, [weights(5)]),
      q(s, `CREATE MODEL derived WITH (weights = $1, base_model = '${n}')`, [weights(5)]),
      q(s, `CREATE MODEL derived WITH (weights = $1, base_model = '${n}', base_version = 1)`, [weights(5)]),
      q(s, `CREATE MODEL derived WITH (trainer = 't', base_model = '${n}')`),
      q(s, `CREATE MODEL derived WITH (trainer = 't', async = TRUE, base_model = '${n}')`),
      q(s, `SELECT * FROM ML_MODELS_DASHBOARD WHERE name = '${n}'`),
      q(s, `SELECT * FROM ML_MODELS_DASHBOARD WHERE name = '${n}' AND (retired OR NOT retired)`),
      q(s, `SELECT * FROM ML_MODEL_VERSIONS WHERE model = '${n}'`),
      q(s, `SELECT * FROM ML_MODEL_VERSIONS WHERE model = '${n}' AND version = 1`),
      q(s, `SELECT * FROM ML_MODEL_VERSIONS WHERE model = '${n}' AND stage = 'staging'`),
      q(s, `SELECT * FROM ML_MODEL_VERSIONS WHERE model = '${n}' AND retired = FALSE`),
      q(s, `SELECT * FROM ML_JOBS WHERE target = '${n}'`),
      () => s.registry.getVersion(n, 1),
      () => s.registry.getActive(n),
      () => s.registry.listVersions(n),
      () => s.registry.latestAtStage(n, 'staging'),
      () => s.registry.latestAtStage(n, 'dev'),
      () => s.registry.readWeights(n, 1),
      () => s.registry.setActiveVersion(n, 1),
      () => s.registry.promote(n, 1, 'production'),
      () => s.registry.demote(n, 1, 'dev'),
      () => s.registry.archiveVersion(n, 1),
      () => s.registry.archiveModel(n),
      () => s.registry.unarchiveVersion(n, 2),
      () => s.registry.retireModel(n),
      () => s.registry.retireVersion(n, 1),
      () => s.registry.registerVersion('derived', { weights: weights(5), baseModel: n }),
    ];
    const acmeBefore = await fullView(acme);
    /** Everything globex and the global session were told, with the name they typed themselves blanked out. */
    const seen: string[] = [];
    for (const session of [globex, d]) {
      const before = await fullView(session);
      const secret = probes(session, SECRET);
      const missing = probes(session, MISSING);
      for (const [i, probe] of secret.entries()) {
        const got = JSON.stringify(await outcome(probe)).replaceAll(SECRET, '<name>');
        const expected = JSON.stringify(await outcome(missing[i]!)).replaceAll(MISSING, '<name>');
        seen.push(got, expected);
        expect(got, `probe #${i} as ${session.tenant ?? 'global'}`).toBe(expected);
        expect(await fullView(session), `probe #${i} changed ${session.tenant ?? 'global'}'s view`).toEqual(before);
      }
      // Listings, and lookups with acme's exact and near schemas.
      seen.push(JSON.stringify(await fullView(session)));
      seen.push(JSON.stringify(await outcome(() => session.jobs.list())));
      seen.push(JSON.stringify(await outcome(() => session.registry.summaries({ includeRetired: true }))));
      seen.push(JSON.stringify(await outcome(q(session, 'LOOKUP MODEL FOR SCHEMA (card_number id, amount number, merchant categorical)'))));
      seen.push(JSON.stringify(await outcome(q(session, 'LOOKUP MODEL FOR SCHEMA (card_number id, amount number, merchant categorical, extra text)'))));
      seen.push(JSON.stringify(await outcome(q(session, 'LOOKUP MODEL FOR SCHEMA (customer id, tenure number)'))));
    }
    for (const text of seen) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(UNTYPED);
      expect(text).not.toContain('acme');
    }
    expect(await fullView(acme)).toEqual(acmeBefore);
  });

  it('the global session cannot change a tenant\'s model either (UNKNOWN_MODEL)', async () => {
    const d = await db();
    const acme = d.withTenant('acme');
    await create(acme, 'spam');
    await expectFailsUnchangedFor([d, acme], () => d.query('ALTER MODEL spam USE VERSION 1'), 'UNKNOWN_MODEL', "unknown model 'spam'");
    await expectFailsUnchangedFor([d, acme], () => d.query('RETIRE MODEL spam'), 'UNKNOWN_MODEL', "unknown model 'spam'");
    // CREATE in the global session makes a separate global model.
    expect(await create(d, 'spam', 2)).toMatchObject({ version: 1 });
    expect((await acme.query("SELECT tenant, latest_version FROM ML_MODELS_DASHBOARD WHERE name = 'spam'")).rows).toEqual([{ tenant: 'acme', latest_version: 1 }]);
  });

  it('CREATE in a tenant session over a global name creates the tenant\'s own model (version 1), which then shadows the global one', async () => {
    const d = await db();
    await create(d, 'spam', 1);
    await create(d, 'spam', 2);
    await d.query('ALTER MODEL spam VERSION 2 PROMOTE TO STAGING');
    const acme = d.withTenant('acme');
    const globex = d.withTenant('globex');
    const globalBefore = await fullView(d);
    const globexBefore = await fullView(globex);

    const row = one(await acme.query('CREATE MODEL spam WITH (weights = $1, active = FALSE)', [weights(3)]));
    expect(row).toEqual({ model: 'spam', version: 1, active: false, sha256: sha256(weights(3)) });
    expect(await fullView(d)).toEqual(globalBefore);
    expect(await fullView(globex)).toEqual(globexBefore);
    expect((await acme.query("SELECT tenant, latest_version, active_version, production_version FROM ML_MODELS_DASHBOARD WHERE name = 'spam'")).rows).toEqual([
      { tenant: 'acme', latest_version: 1, active_version: null, production_version: null },
    ]);
    // Writes now go to the own model, and succeed.
    expect(one(await acme.query('ALTER MODEL spam USE VERSION 1'))).toEqual({ model: 'spam', active_version: 1, previous_version: null });
    expect(one(await acme.query('ALTER MODEL spam VERSION 1 PROMOTE TO STAGING'))).toMatchObject({ from_stage: 'dev', stage: 'staging' });
    expect(one(await acme.query('ALTER MODEL spam VERSION 1 PROMOTE TO PRODUCTION'))).toMatchObject({ from_stage: 'staging', stage: 'production' });
    // Stage lookups (served from the stage index) are per owner too.
    const atStage = async (s: Database, stage: string) => (await s.query(`SELECT version, tenant FROM ML_MODEL_VERSIONS WHERE model = 'spam' AND stage = '${stage}'`)).rows;
    expect(await atStage(acme, 'production')).toEqual([{ version: 1, tenant: 'acme' }]);
    expect(await atStage(acme, 'staging')).toEqual([]);
    for (const other of [d, globex]) {
      expect(await atStage(other, 'production')).toEqual([]);
      expect(await atStage(other, 'staging')).toEqual([{ version: 2, tenant: null }]);
      expect(await other.registry.latestAtStage('spam', 'production')).toBeNull();
      expect(await other.registry.latestAtStage('spam', 'staging')).toMatchObject({ version: 2, tenant: null });
      expect((await other.query("SELECT production_version FROM ML_MODELS_DASHBOARD WHERE name = 'spam'")).rows).toEqual([{ production_version: null }]);
    }
    expect(await acme.registry.latestAtStage('spam', 'production')).toMatchObject({ version: 1, tenant: 'acme' });
    expect(await create(acme, 'spam', 4)).toMatchObject({ version: 2 });
    await acme.query('ALTER MODEL spam VERSION 1 DEMOTE TO STAGING');
    await acme.query('RETIRE MODEL spam VERSION 1');
    expect(await fullView(d)).toEqual(globalBefore);
    expect(await fullView(globex)).toEqual(globexBefore);
    expect((await acme.query("SELECT version, stage, retired, tenant FROM ML_MODEL_VERSIONS WHERE model = 'spam' AND (retired OR NOT retired)")).rows).toEqual([
      { version: 1, stage: 'staging', retired: true, tenant: 'acme' },
      { version: 2, stage: 'dev', retired: false, tenant: 'acme' },
    ]);
  });

  it('lineage: base_model resolves to the own model over a global one of that name, and a tenant may build on a global model', async () => {
    const d = await db();
    await create(d, 'bert', 1);
    await create(d, 'bert', 2);
    const acme = d.withTenant('acme');
    await create(acme, 'ft', 3, "base_model = 'bert'");
    expect(one(await acme.query("SELECT base_model, base_version, tenant FROM ML_MODEL_VERSIONS WHERE model = 'ft'"))).toEqual({ base_model: 'bert', base_version: 2, tenant: 'acme' });
    await create(acme, 'bert', 4); // own bert shadows the global one
    await create(acme, 'ft', 5, "base_model = 'bert'");
    // version 2 of the global bert exists, but acme's own bert has only version 1
    await expectFailsUnchangedFor([d, acme], () => create(acme, 'ft', 6, "base_model = 'bert', base_version = 2"), 'UNKNOWN_VERSION', "unknown version 2 for model 'bert'");
    expect((await acme.registry.getVersion('ft', 2))).toMatchObject({ baseModel: 'bert', baseVersion: 1 });
  });
});

describe('jobs are per tenant', () => {
  it('a tenant\'s train job is invisible to another tenant and to the global session; get/cancel by id is UNKNOWN_JOB, like a missing job', async () => {
    const d = await db();
    const acme = d.withTenant('acme');
    const globex = d.withTenant('globex');
    const gated = gatedTrainer({ weights: weights(42), metrics: { f1: 0.9 } });
    d.registerTrainer('t', gated.trainer);
    const id = one(await acme.query("CREATE MODEL churn WITH (trainer = 't', async = TRUE)")).job_id as string;
    const ctx = await gated.started;
    expect(ctx).toMatchObject({ jobId: id, model: 'churn', tenant: 'acme' });
    const missing = randomBytes(16).toString('hex');

    for (const other of [globex, d]) {
      expect((await other.query('SELECT * FROM ML_JOBS')).rows).toEqual([]);
      expect((await other.query('SELECT * FROM ML_JOBS WHERE id = $1', [id])).rows).toEqual([]);
      expect((await other.query("SELECT * FROM ML_JOBS WHERE target = 'churn'")).rows).toEqual([]);
      expect(await other.jobs.list()).toEqual([]);
      const pairs: [() => Promise<unknown>, () => Promise<unknown>][] = [
        [() => other.jobs.get(id), () => other.jobs.get(missing)],
        [() => other.jobs.cancel(id), () => other.jobs.cancel(missing)],
        [() => other.query(`CANCEL JOB '${id}'`), () => other.query(`CANCEL JOB '${missing}'`)],
      ];
      for (const [theirs, nobody] of pairs) {
        const a = await expectError(theirs(), 'UNKNOWN_JOB');
        const b = await expectError(nobody(), 'UNKNOWN_JOB');
        expect(a.message.replace(id, '<id>')).toBe(b.message.replace(missing, '<id>'));
        expect(a.message).toBe(`unknown job '${id}'`);
        expect(a.jobId).toBe(id);
      }
    }
    // The foreign cancel did nothing: the job runs on and completes into acme's model.
    expect((await jobRow(acme, id)).status).toBe('running');
    gated.release();
    expect(await waitForJob(acme, id)).toMatchObject({ status: 'completed', version: 1, target: 'churn' });
    expect(await acme.jobs.list()).toEqual([expect.objectContaining({ id, tenant: 'acme', status: 'completed' })]);
    expect(one(await acme.query("SELECT model, version, tenant, sha256, metrics FROM ML_MODEL_VERSIONS WHERE model = 'churn'"))).toEqual({
      model: 'churn', version: 1, tenant: 'acme', sha256: sha256(weights(42)), metrics: { f1: 0.9 },
    });
    for (const other of [globex, d]) {
      expect((await other.query('SELECT * FROM ML_MODEL_VERSIONS')).rows).toEqual([]);
      expect((await other.query('SELECT * FROM ML_JOBS')).rows).toEqual([]);
    }
  });

  it('jobs of the global session are invisible to tenants; each session lists only its own', async () => {
    const d = await db();
    d.registerTrainer('t', () => ({ weights: weights(1) }));
    const acme = d.withTenant('acme');
    const g = one(await d.query("CREATE MODEL m WITH (trainer = 't', async = TRUE)")).job_id as string;
    const a = one(await acme.query("CREATE MODEL m WITH (trainer = 't', async = TRUE)")).job_id as string;
    await waitForJob(d, g);
    await waitForJob(acme, a);
    expect((await d.query('SELECT id FROM ML_JOBS')).rows).toEqual([{ id: g }]);
    expect((await acme.query('SELECT id FROM ML_JOBS')).rows).toEqual([{ id: a }]);
    expect((await d.jobs.list()).map((j) => [j.id, j.tenant])).toEqual([[g, null]]);
    expect((await acme.jobs.list()).map((j) => [j.id, j.tenant])).toEqual([[a, 'acme']]);
    await expectError(acme.jobs.get(g), 'UNKNOWN_JOB', `unknown job '${g}'`);
    // Each job trained its own session's `m`: one global, one acme's (shadowing it for acme).
    expect((await d.query('SELECT model, version, tenant FROM ML_MODEL_VERSIONS')).rows).toEqual([{ model: 'm', version: 1, tenant: null }]);
    expect((await acme.query('SELECT model, version, tenant FROM ML_MODEL_VERSIONS')).rows).toEqual([{ model: 'm', version: 1, tenant: 'acme' }]);
  });

  it('trainers get context.tenant (null for the global session); inline training in a tenant lands in its own model, shadowing a global one', async () => {
    const d = await db();
    await create(d, 'm', 1);
    await create(d, 'm', 2);
    const seen: (string | null)[] = [];
    d.registerTrainer('t', (ctx) => {
      seen.push(ctx.tenant);
      return { weights: weights(seen.length + 50) };
    });
    const acme = d.withTenant('acme');
    const row = one(await acme.query("CREATE MODEL m WITH (trainer = 't')"));
    expect(row).toMatchObject({ model: 'm', version: 1, active: true, sha256: sha256(weights(51)) });
    expect(one(await d.query("CREATE MODEL m WITH (trainer = 't')"))).toMatchObject({ version: 3 });
    expect(seen).toEqual(['acme', null]);
    expect((await acme.query("SELECT tenant, latest_version FROM ML_MODELS_DASHBOARD WHERE name = 'm'")).rows).toEqual([{ tenant: 'acme', latest_version: 1 }]);
    expect((await d.query("SELECT tenant, latest_version FROM ML_MODELS_DASHBOARD WHERE name = 'm'")).rows).toEqual([{ tenant: null, latest_version: 3 }]);
    expect((await acme.jobs.list()).map((j) => j.tenant)).toEqual(['acme']);
  });

  it('a job keeps the tenant it was created in, even when the unpinned session switches away before it runs', async () => {
    const d = await db();
    const gated = gatedTrainer({ weights: weights(77) });
    d.registerTrainer('t', gated.trainer);
    await d.query("SET TENANT 'acme'");
    const id = one(await d.query("CREATE MODEL m WITH (trainer = 't', async = TRUE)")).job_id as string;
    await d.query('RESET TENANT');
    expect((await gated.started).tenant).toBe('acme');
    expect((await d.query('SELECT * FROM ML_JOBS')).rows).toEqual([]);
    await expectError(d.jobs.get(id), 'UNKNOWN_JOB');
    gated.release();
    const acme = d.withTenant('acme');
    expect(await waitForJob(acme, id)).toMatchObject({ status: 'completed', version: 1 });
    expect((await d.query('SELECT * FROM ML_MODELS_DASHBOARD')).rows).toEqual([]);
    expect((await acme.query('SELECT name, tenant FROM ML_MODELS_DASHBOARD')).rows).toEqual([{ name: 'm', tenant: 'acme' }]);
  });

  it('a tenant job requeued after close({ abortJobs }) still belongs to its tenant on the next open', async () => {
    const dir = await resources.dir();
    const started = deferred<TrainerContext>();
    const first = await open({
      path: dir,
      onError: () => undefined,
      trainers: {
        t: (ctx) => new Promise<TrainerResult>((_, reject) => {
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
          started.resolve(ctx);
        }),
      },
    });
    const id = one(await first.withTenant('acme').query("CREATE MODEL m WITH (trainer = 't', async = TRUE)")).job_id as string;
    expect((await started.promise).tenant).toBe('acme');
    await first.close({ abortJobs: true });

    const seen: (string | null)[] = [];
    const second = resources.track(await open({ path: dir, trainers: { t: (ctx) => (seen.push(ctx.tenant), { weights: weights(8) }) } }));
    const acme = second.withTenant('acme');
    expect(await waitForJob(acme, id)).toMatchObject({ status: 'completed', version: 1 });
    expect(seen).toEqual(['acme']);
    expect((await second.query('SELECT * FROM ML_JOBS')).rows).toEqual([]);
    expect((await second.query('SELECT * FROM ML_MODELS_DASHBOARD')).rows).toEqual([]);
    expect((await acme.query('SELECT model, tenant, sha256 FROM ML_MODEL_VERSIONS')).rows).toEqual([{ model: 'm', tenant: 'acme', sha256: sha256(weights(8)) }]);
  });
});

describe('SET TENANT / RESET TENANT', () => {
  it('switches an unpinned handle for its later statements, with result rows and commands', async () => {
    const d = await db();
    expect(d.tenant).toBeNull();
    await create(d, 'g');
    const set = await d.query("SET TENANT 'acme'");
    expect(set).toEqual({ command: 'SET TENANT', columns: ['tenant'], rows: [{ tenant: 'acme' }], rowCount: 1 });
    expect(d.tenant).toBe('acme');
    expect(await create(d, 'spam')).toMatchObject({ version: 1 });
    expect((await d.query('SELECT name, tenant FROM ML_MODELS_DASHBOARD')).rows).toEqual([{ name: 'g', tenant: null }, { name: 'spam', tenant: 'acme' }]);
    await expectError(d.query('ALTER MODEL g USE VERSION 1'), 'PERMISSION_DENIED', "model 'g' is global; tenant 'acme' can change only its own models");

    expect(one(await d.query('SET TENANT $1', ['globex']))).toEqual({ tenant: 'globex' });
    expect(d.tenant).toBe('globex');
    expect((await d.query('SELECT name, tenant FROM ML_MODELS_DASHBOARD')).rows).toEqual([{ name: 'g', tenant: null }]);
    expect(await d.registry.summaries()).toHaveLength(1);

    const reset = await d.query('RESET TENANT');
    expect(reset).toEqual({ command: 'RESET TENANT', columns: ['tenant'], rows: [{ tenant: null }], rowCount: 1 });
    expect(d.tenant).toBeNull();
    expect((await d.query('SELECT name, tenant FROM ML_MODELS_DASHBOARD')).rows).toEqual([{ name: 'g', tenant: null }]);
    await d.query('ALTER MODEL g USE VERSION 1');
  });

  it('switches between statements of one exec() script', async () => {
    const d = await db();
    const results = await d.exec(`
      SET TENANT 'acme';
      CREATE MODEL m WITH (artifact = 'a1');
      CREATE MODEL m WITH (artifact = 'a2');
      SET TENANT 'globex';
      CREATE MODEL m WITH (artifact = 'g1');
      SELECT name, tenant, latest_version FROM ML_MODELS_DASHBOARD;
      RESET TENANT;
      CREATE MODEL m WITH (artifact = 'x1');
      SELECT name, tenant, latest_version FROM ML_MODELS_DASHBOARD
    `);
    expect(results.map((r) => r.command)).toEqual(['SET TENANT', 'CREATE MODEL', 'CREATE MODEL', 'SET TENANT', 'CREATE MODEL', 'SELECT', 'RESET TENANT', 'CREATE MODEL', 'SELECT']);
    expect([1, 2, 4, 7].map((i) => one(results[i]!).version)).toEqual([1, 2, 1, 1]);
    expect(results[5]!.rows).toEqual([{ name: 'm', tenant: 'globex', latest_version: 1 }]);
    expect(results[8]!.rows).toEqual([{ name: 'm', tenant: null, latest_version: 1 }]);
    expect(d.tenant).toBeNull();
    expect((await d.withTenant('acme').query("SELECT artifact FROM ML_MODEL_VERSIONS WHERE model = 'm'")).rows).toEqual([{ artifact: 'a1' }, { artifact: 'a2' }]);
  });

  it('a statement already issued keeps the tenant it was issued under when SET TENANT follows without waiting', async () => {
    const d = await db();
    const [created] = await Promise.all([d.query('CREATE MODEL m WITH (weights = $1)', [weights(1)]), d.query("SET TENANT 'acme'")]);
    expect(one(created!)).toMatchObject({ version: 1 });
    expect((await d.query('SELECT * FROM ML_MODELS_DASHBOARD')).rows.map((r) => [r.name, r.tenant])).toEqual([['m', null]]);
    await d.query('RESET TENANT');
    expect((await d.query('SELECT name, tenant FROM ML_MODELS_DASHBOARD')).rows).toEqual([{ name: 'm', tenant: null }]);
  });

  it.each([
    ['open({ tenant })', async () => resources.track(await open({ memory: true, tenant: 'acme' }))],
    ['db.withTenant()', async () => (await db()).withTenant('acme')],
  ] as const)('a handle pinned by %s refuses SET TENANT to another tenant and RESET TENANT, but accepts its own name', async (_how, make) => {
    const pinned = await make();
    expect(pinned.tenant).toBe('acme');
    await create(pinned, 'spam');
    const pinnedMessage = /bound to a tenant/;
    await expectError(pinned.query("SET TENANT 'globex'"), 'PERMISSION_DENIED', pinnedMessage);
    await expectError(pinned.query('SET TENANT $1', ['globex']), 'PERMISSION_DENIED', pinnedMessage);
    await expectError(pinned.query('RESET TENANT'), 'PERMISSION_DENIED', pinnedMessage);
    expect(pinned.tenant).toBe('acme');
    // A script stops at the refused switch; nothing after it runs.
    await expectError(pinned.exec("CREATE MODEL spam WITH (artifact = 'x'); SET TENANT 'globex'; CREATE MODEL spam WITH (artifact = 'y')"), 'PERMISSION_DENIED');
    expect(pinned.tenant).toBe('acme');
    expect((await pinned.query('SELECT name, tenant, latest_version FROM ML_MODELS_DASHBOARD')).rows).toEqual([{ name: 'spam', tenant: 'acme', latest_version: 2 }]);
    // Its own name is a no-op.
    expect(await pinned.query("SET TENANT 'acme'")).toEqual({ command: 'SET TENANT', columns: ['tenant'], rows: [{ tenant: 'acme' }], rowCount: 1 });
    expect(pinned.tenant).toBe('acme');
    expect(await create(pinned, 'spam')).toMatchObject({ version: 3 });
  });

  it('withTenant() makes an independent pinned handle; the parent handle keeps its own tenant', async () => {
    const d = await db();
    await d.query("SET TENANT 'acme'");
    const globex = d.withTenant('globex');
    expect(d.tenant).toBe('acme');
    expect(globex.tenant).toBe('globex');
    await create(globex, 'x');
    await d.query('RESET TENANT');
    expect(globex.tenant).toBe('globex');
    expect((await globex.query('SELECT name FROM ML_MODELS_DASHBOARD')).rows).toEqual([{ name: 'x' }]);
    expect((await d.query('SELECT name FROM ML_MODELS_DASHBOARD')).rows).toEqual([]);
  });

  it('invalid tenant names are INVALID_ARGUMENT everywhere, and leave the session as it was', async () => {
    const d = await db();
    const tooLong = 't'.repeat(257);
    const bad: unknown[] = ['', tooLong, 'a\uD800b', '\uDC00'];
    for (const name of bad) {
      await expectError(open({ memory: true, tenant: name as string }), 'INVALID_ARGUMENT');
      expect(() => d.withTenant(name as string)).toThrow(ModelSqlError);
      try {
        d.withTenant(name as string);
      } catch (error) {
        expect((error as ModelSqlError).code).toBe('INVALID_ARGUMENT');
      }
      await expectError(d.query('SET TENANT $1', [name]), 'INVALID_ARGUMENT');
      expect(d.tenant).toBeNull();
    }
    await expectError(d.query("SET TENANT ''"), 'INVALID_ARGUMENT');
    for (const value of [42, true, weights(1), { t: 'acme' }, null]) {
      await expectError(d.query('SET TENANT $1', [value]), 'INVALID_ARGUMENT');
      expect(() => d.withTenant(value as unknown as string)).toThrow(/tenant/);
    }
    await expectError(open({ memory: true, tenant: 42 as unknown as string }), 'INVALID_ARGUMENT');
    // A switched session stays where it was after a bad switch.
    await d.query("SET TENANT 'acme'");
    await expectError(d.query("SET TENANT ''"), 'INVALID_ARGUMENT');
    expect(d.tenant).toBe('acme');
    // The limits themselves are fine: 256 characters, any well-formed Unicode.
    const longest = 't'.repeat(256);
    expect(one(await d.query('SET TENANT $1', [longest]))).toEqual({ tenant: longest });
    expect(await create(d.withTenant('𝔞cme ü'), 'm')).toMatchObject({ version: 1 });
    expect((await d.withTenant('𝔞cme ü').query('SELECT tenant FROM ML_MODELS_DASHBOARD')).rows).toEqual([{ tenant: '𝔞cme ü' }]);
  });
});

describe('LOOKUP MODEL FOR SCHEMA per tenant', () => {
  const FRAUD = 'SCHEMA (card_number id, amount number, merchant categorical, country categorical, ts date)';
  const FRAUD_Q = 'LOOKUP MODEL FOR SCHEMA (card_number id, amount number, merchant categorical, country categorical, ts date)';
  /** One more field: Jaccard 5/6, distance 0.7/6 ≈ 0.117 → warm start. */
  const FRAUD_NEAR_Q = 'LOOKUP MODEL FOR SCHEMA (card_number id, amount number, merchant categorical, country categorical, ts date, device id)';
  const CHURN = 'SCHEMA (customer id, tenure number, plan categorical, monthly number)';
  const CHURN_Q = 'LOOKUP MODEL FOR SCHEMA (customer id, tenure number, plan categorical, monthly number)';
  const CHURN_NEAR_Q = 'LOOKUP MODEL FOR SCHEMA (customer id, tenure number, plan categorical, monthly number, region categorical)';

  it('a tenant sees its own and global fingerprints, never another tenant\'s (exact or near)', async () => {
    const d = await db();
    const acme = d.withTenant('acme');
    const globex = d.withTenant('globex');
    await acme.query(`CREATE MODEL fraud WITH (weights = $1) ${FRAUD}`, [weights(1)]);
    await d.query(`CREATE MODEL churn WITH (weights = $1) ${CHURN}`, [weights(2)]);

    expect(one(await acme.query(FRAUD_Q))).toEqual({ mode: 'warm_load', model: 'fraud', version: 1, distance: 0 });
    expect(one(await acme.query(FRAUD_NEAR_Q))).toMatchObject({ mode: 'warm_start', model: 'fraud', version: 1 });
    expect(one(await acme.query(CHURN_Q))).toEqual({ mode: 'warm_load', model: 'churn', version: 1, distance: 0 });
    const cold = { mode: 'cold_start', model: null, version: null, distance: null };
    for (const other of [globex, d]) {
      expect(one(await other.query(FRAUD_Q))).toEqual(cold);
      expect(one(await other.query(FRAUD_NEAR_Q))).toEqual(cold);
      expect(await other.registry.lookupSchema({ fields: [{ name: 'card_number', kind: 'id' }, { name: 'amount', kind: 'number' }, { name: 'merchant', kind: 'categorical' }, { name: 'country', kind: 'categorical' }, { name: 'ts', kind: 'date' }] })).toEqual(cold);
    }
    expect(one(await globex.query(CHURN_Q))).toEqual({ mode: 'warm_load', model: 'churn', version: 1, distance: 0 });
    expect(one(await globex.query(CHURN_NEAR_Q))).toMatchObject({ mode: 'warm_start', model: 'churn', version: 1 });
  });

  it('another tenant\'s fingerprints do not displace a global match, even when newer and nearer', async () => {
    const d = await db();
    const acme = d.withTenant('acme');
    const globex = d.withTenant('globex');
    await d.query(`CREATE MODEL churn WITH (weights = $1) SCHEMA (customer id, tenure number, plan categorical)`, [weights(1)]);
    // acme's schema is exactly the query; the global one is one field short.
    await acme.query(`CREATE MODEL mine WITH (weights = $1) ${CHURN}`, [weights(2)]);
    const near = one(await globex.query(CHURN_Q));
    expect(near).toMatchObject({ mode: 'warm_start', model: 'churn', version: 1 });
    expect(one(await acme.query(CHURN_Q))).toEqual({ mode: 'warm_load', model: 'mine', version: 1, distance: 0 });
  });

  it('an exact match prefers the own model over a newer global one', async () => {
    const d = await db();
    const acme = d.withTenant('acme');
    await acme.query(`CREATE MODEL own WITH (weights = $1) ${CHURN}`, [weights(1)]);
    await d.query(`CREATE MODEL shared WITH (weights = $1) ${CHURN}`, [weights(2)]);
    await d.query(`CREATE MODEL shared WITH (weights = $1) ${CHURN}`, [weights(3)]);
    expect(one(await acme.query(CHURN_Q))).toEqual({ mode: 'warm_load', model: 'own', version: 1, distance: 0 });
    expect(one(await d.query(CHURN_Q))).toEqual({ mode: 'warm_load', model: 'shared', version: 2, distance: 0 });
    // Once the own version is archived, the global one is the match again.
    await acme.query('ARCHIVE MODEL own VERSION 1');
    expect(one(await acme.query(CHURN_Q))).toEqual({ mode: 'warm_load', model: 'shared', version: 2, distance: 0 });
  });

  it('"then the newest": of two own exact matches, the one registered later wins; within one millisecond, model name order decides', async () => {
    // created_at is honest wall-clock time (whole milliseconds, strictly increasing only
    // within one model), so two models registered in the same millisecond tie on it.
    let now = Date.now();
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const acme = (await db()).withTenant('acme');
      await acme.query(`CREATE MODEL zeta WITH (weights = $1) ${CHURN}`, [weights(1)]);
      now += 1;
      await acme.query(`CREATE MODEL alpha WITH (weights = $1) ${CHURN}`, [weights(2)]);
      expect(one(await acme.query(CHURN_Q))).toEqual({ mode: 'warm_load', model: 'alpha', version: 1, distance: 0 });
      expect(one(await acme.query(CHURN_NEAR_Q))).toMatchObject({ mode: 'warm_start', model: 'alpha', version: 1 });

      now += 1;
      await acme.query(`CREATE MODEL mid WITH (weights = $1) ${CHURN}`, [weights(3)]);
      await acme.query(`CREATE MODEL beta WITH (weights = $1) ${CHURN}`, [weights(4)]);
      expect(one(await acme.query(CHURN_Q))).toEqual({ mode: 'warm_load', model: 'mid', version: 1, distance: 0 });
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('an own model shadows the global one of the same name in lookups too', async () => {
    const d = await db();
    const acme = d.withTenant('acme');
    const globex = d.withTenant('globex');
    await d.query(`CREATE MODEL churn WITH (weights = $1) ${CHURN}`, [weights(1)]);
    // acme's own `churn` has another schema: the global churn's fingerprint is not acme's to use.
    await acme.query(`CREATE MODEL churn WITH (weights = $1) ${FRAUD}`, [weights(2)]);
    const cold = { mode: 'cold_start', model: null, version: null, distance: null };
    expect(one(await acme.query(CHURN_Q))).toEqual(cold);
    expect(one(await acme.query(CHURN_NEAR_Q))).toEqual(cold);
    expect(one(await acme.query(FRAUD_Q))).toEqual({ mode: 'warm_load', model: 'churn', version: 1, distance: 0 });
    expect(one(await globex.query(CHURN_Q))).toEqual({ mode: 'warm_load', model: 'churn', version: 1, distance: 0 });
    expect(one(await globex.query(FRAUD_Q))).toEqual(cold);
  });
});

describe('persistence and close', () => {
  it('tenant models (and the global ones) survive reopening an on-disk store, each tenant seeing exactly what it saw', async () => {
    const dir = await resources.dir();
    const first = await open({ path: dir });
    await create(first, 'spam', 1);
    await first.query(`CREATE MODEL shared WITH (weights = $1) SCHEMA (a id, b number)`, [weights(2)]);
    const acme = first.withTenant('acme');
    const globex = first.withTenant('globex');
    await create(acme, 'spam', 3);
    await create(acme, 'spam', 4);
    await acme.query('ALTER MODEL spam VERSION 2 PROMOTE TO STAGING');
    await acme.query(`CREATE MODEL own WITH (weights = $1) SCHEMA (x id, y text)`, [weights(5)]);
    await create(globex, 'spam', 6);
    await globex.query('RETIRE MODEL spam');
    const views = { global: await fullView(first), acme: await fullView(acme), globex: await fullView(globex) };
    const lookups = { acme: await acme.query('LOOKUP MODEL FOR SCHEMA (x id, y text)'), globex: await globex.query('LOOKUP MODEL FOR SCHEMA (x id, y text)') };
    await first.close();

    const second = resources.track(await open({ path: dir }));
    expect(await fullView(second)).toEqual(views.global);
    expect(await fullView(second.withTenant('acme'))).toEqual(views.acme);
    expect(await fullView(second.withTenant('globex'))).toEqual(views.globex);
    expect(views.acme.dashboard.map((r) => [r.name, r.tenant, r.latest_version])).toEqual([['own', 'acme', 1], ['shared', null, 1], ['spam', 'acme', 2]]);
    expect(await second.withTenant('acme').query('LOOKUP MODEL FOR SCHEMA (x id, y text)')).toEqual(lookups.acme);
    expect(await second.withTenant('globex').query('LOOKUP MODEL FOR SCHEMA (x id, y text)')).toEqual(lookups.globex);
    expect(Buffer.from(await second.withTenant('acme').registry.readWeights('spam', 2))).toEqual(weights(4));
    await second.close();

    // open({ path, tenant }) binds the reopened store to a tenant from the start.
    const third = resources.track(await open({ path: dir, tenant: 'acme' }));
    expect(third.tenant).toBe('acme');
    expect(await fullView(third)).toEqual(views.acme);
    expect(await create(third, 'spam', 7)).toMatchObject({ version: 3 });
  });

  it('close() on a withTenant handle closes the registry for every handle, after in-flight statements finish', async () => {
    const d = resources.track(await open({ memory: true }));
    const acme = d.withTenant('acme');
    const globex = d.withTenant('globex');
    const inFlight = globex.query('CREATE MODEL m WITH (weights = $1)', [weights(1)]);
    await acme.close();
    expect(one(await inFlight)).toMatchObject({ version: 1 });
    for (const h of [d, acme, globex]) {
      expect(h.closed).toBe(true);
      await expectError(h.query('SELECT * FROM ML_MODELS_DASHBOARD'), 'CLOSED');
      await expectError(h.registry.summaries(), 'CLOSED');
      await expectError(h.jobs.list(), 'CLOSED');
    }
    expect(() => d.withTenant('x')).toThrow(/closed/);
    // Closing again from any handle is harmless.
    await d.close();
    await globex.close();
  });

  it('close() on the unpinned handle closes tenant handles too', async () => {
    const d = resources.track(await open({ memory: true }));
    const acme = d.withTenant('acme');
    await d.close();
    expect(acme.closed).toBe(true);
    await expectError(acme.query('SELECT * FROM ML_JOBS'), 'CLOSED');
  });
});
