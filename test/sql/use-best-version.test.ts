/**
 * ALTER MODEL m USE BEST VERSION BY expr [ASC | DESC] [WHERE condition] (issue 9).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/index.js';
import { useBestVersion } from '../../src/exec/use-best-version.js';
import { parseStatement } from '../../src/parser/index.js';
import type { UseBestVersionNode } from '../../src/parser/index.js';
import type { Registry } from '../../src/store/registry.js';
import { memoryTable } from '../exec/helpers.js';
import { Resources, expectFailsUnchanged, memoryDb, one, weights } from '../helpers/sql.js';

const resources = new Resources();
afterEach(() => resources.cleanup());

/** spam: v1 f1 .80 (staging), v2 f1 .95 (archived), v3 f1 .90, v4 no f1, v5 f1 .90 (staging), v6 f1 .99 (retired); v1 active. */
async function fixture(): Promise<Database> {
  const db = resources.track(await memoryDb());
  const metrics = [{ f1: 0.8, loss: 0.3 }, { f1: 0.95, loss: 0.1 }, { f1: 0.9, loss: 0.2 }, { acc: 1 }, { f1: 0.9, loss: 0.25 }, { f1: 0.99, loss: 0.05 }];
  for (const [i, m] of metrics.entries()) {
    await db.query('CREATE MODEL spam WITH (weights = $1, metrics = $2, active = $3)', [weights(i), m, i === 0]);
  }
  await db.exec(`ALTER MODEL spam VERSION 1 PROMOTE TO STAGING; ALTER MODEL spam VERSION 5 PROMOTE TO STAGING;
                 ARCHIVE MODEL spam VERSION 2; RETIRE MODEL spam VERSION 6`);
  await db.query('CREATE MODEL ham WITH (weights = $1, metrics = $2)', [weights(9), { f1: 1 }]);
  return db;
}

const active = async (db: Database, model = 'spam') =>
  one(await db.query('SELECT active_version FROM ML_MODELS_DASHBOARD WHERE name = $1', [model])).active_version;

describe('USE BEST VERSION', () => {
  it('picks the highest BY value among servable versions (DESC by default); ties go to the newest', async () => {
    const db = await fixture();
    const moved = one(await db.query('ALTER MODEL spam USE BEST VERSION BY metrics.f1'));
    // v2 (.95) is archived and v6 (.99) retired: v3 and v5 tie at .90, v5 is newer.
    expect(moved).toEqual({ model: 'spam', active_version: 5, previous_version: 1, by_value: 0.9 });
    expect(await active(db)).toBe(5);
  });

  it('ASC picks the lowest; WHERE filters candidates with the SELECT condition language', async () => {
    const db = await fixture();
    expect(one(await db.query('ALTER MODEL spam USE BEST VERSION BY metrics.loss ASC')).active_version).toBe(3);
    expect(one(await db.query("ALTER MODEL spam USE BEST VERSION BY metrics.f1 DESC WHERE stage = 'staging' AND version < 5")).active_version).toBe(1);
    expect(one(await db.query('ALTER MODEL spam USE BEST VERSION BY version WHERE metrics.f1 IS NOT NULL AND version <> $1', [5])).active_version).toBe(3);
  });

  it('records one active_moved event with best_by in its detail, in the statement\'s batch', async () => {
    const db = await fixture();
    const before = (await db.query('SELECT seq FROM ML_MODEL_EVENTS ORDER BY seq DESC LIMIT 1')).rows[0]!.seq as number;
    await db.query("ALTER MODEL spam USE BEST VERSION BY metrics.f1 WHERE stage = 'staging'");
    const { rows } = await db.query('SELECT kind, old_value, new_value, detail, detail.best_by AS best FROM ML_MODEL_EVENTS WHERE seq > $1', [before]);
    expect(rows).toEqual([{
      kind: 'active_moved', old_value: 1, new_value: 5,
      detail: { best_by: 'metrics.f1', direction: 'DESC', where: "stage = 'staging'" }, best: 'metrics.f1',
    }]);
  });

  it('the best version already active changes nothing and records no event', async () => {
    const db = await fixture();
    await db.query('ALTER MODEL spam USE VERSION 5');
    const events = (await db.query('SELECT count(*) AS n FROM ML_MODEL_EVENTS')).rows[0]!.n;
    expect(one(await db.query('ALTER MODEL spam USE BEST VERSION BY metrics.f1'))).toMatchObject({ active_version: 5, previous_version: 5 });
    expect((await db.query('SELECT count(*) AS n FROM ML_MODEL_EVENTS')).rows[0]!.n).toBe(events);
  });

  it('no candidate is NO_MATCHING_VERSION and changes nothing', async () => {
    const db = await fixture();
    await expectFailsUnchanged(db, () => db.query('ALTER MODEL spam USE BEST VERSION BY metrics.nope'), 'NO_MATCHING_VERSION', /model 'spam'.*non-NULL metrics.nope/);
    await expectFailsUnchanged(db, () => db.query("ALTER MODEL spam USE BEST VERSION BY metrics.f1 WHERE stage = 'production'"), 'NO_MATCHING_VERSION');
    await expectFailsUnchanged(db, () => db.query("ALTER MODEL spam USE BEST VERSION BY metrics.f1 WHERE model = 'ham'"), 'NO_MATCHING_VERSION');
    // Only archived or retired versions carry the value.
    await expectFailsUnchanged(db, () => db.query('ALTER MODEL spam USE BEST VERSION BY metrics.f1 WHERE metrics.f1 > 0.92'), 'NO_MATCHING_VERSION');
  });

  it('bad statements fail before any data is read, changing nothing', async () => {
    const db = await fixture();
    const fails = (sql: string, code: Parameters<typeof expectFailsUnchanged>[2], message?: RegExp) =>
      expectFailsUnchanged(db, () => db.query(sql), code, message);
    await fails('ALTER MODEL nope USE BEST VERSION BY metrics.f1', 'UNKNOWN_MODEL');
    await fails('ALTER MODEL spam USE BEST VERSION BY metrix.f1', 'UNKNOWN_COLUMN', /did you mean 'metrics'/);
    await fails('ALTER MODEL spam USE BEST VERSION BY metrics', 'INVALID_ARGUMENT', /json values are not ordered/);
    await fails('ALTER MODEL spam USE BEST VERSION BY max(metrics.f1)', 'INVALID_ARGUMENT', /aggregate functions are not allowed/);
    await fails('ALTER MODEL spam USE BEST VERSION BY metrics.f1 WHERE version = $1', 'INVALID_ARGUMENT', /\$1/);
    await fails('ALTER MODEL spam USE BEST VERSION BY metrics.f1 WHERE stage = 1', 'INVALID_ARGUMENT', /cannot compare/);
    await fails('ALTER MODEL spam USE BEST VERSION metrics.f1', 'SYNTAX_ERROR', /expected BY/);
  });

  it('a retired model is MODEL_RETIRED', async () => {
    const db = await fixture();
    await db.query('RETIRE MODEL ham');
    await expectFailsUnchanged(db, () => db.query('ALTER MODEL ham USE BEST VERSION BY metrics.f1'), 'MODEL_RETIRED');
  });

  it('tenant rules as USE VERSION: a global model is PERMISSION_DENIED, another tenant\'s model does not exist', async () => {
    const db = await fixture();
    const acme = db.withTenant('acme');
    await expectFailsUnchanged(db, () => acme.query('ALTER MODEL spam USE BEST VERSION BY metrics.f1'), 'PERMISSION_DENIED', /global/);
    // Even when no version would qualify, the global model is refused as such.
    await expectFailsUnchanged(db, () => acme.query('ALTER MODEL spam USE BEST VERSION BY metrics.nope'), 'PERMISSION_DENIED');
    const globex = db.withTenant('globex');
    await globex.query('CREATE MODEL secret WITH (weights = $1, metrics = $2)', [weights(1), { f1: 0.5 }]);
    await expectFailsUnchanged(db, () => acme.query('ALTER MODEL secret USE BEST VERSION BY metrics.f1'), 'UNKNOWN_MODEL');
    // A tenant's own model that shadows the global one is its to change.
    await acme.query('CREATE MODEL spam WITH (weights = $1, metrics = $2, active = FALSE)', [weights(2), { f1: 0.1 }]);
    expect(one(await acme.query('ALTER MODEL spam USE BEST VERSION BY metrics.f1'))).toMatchObject({ active_version: 1, previous_version: null });
    expect(await active(db)).toBe(1); // the global spam is untouched
  });

  it('reads only the named model\'s versions (the scan is pinned to it)', async () => {
    const table = memoryTable(
      [{ name: 'model', type: 'text' }, { name: 'version', type: 'integer' }, { name: 'archived', type: 'boolean' }, { name: 'retired', type: 'boolean' }, { name: 'stage', type: 'text' }, { name: 'metrics', type: 'json' }],
      [{ model: 'spam', version: 1, archived: false, retired: false, stage: 'dev', metrics: { f1: 0.5 } }],
      'ML_MODEL_VERSIONS',
    );
    const moves: unknown[] = [];
    const registry = {
      tenant: null,
      summary: async () => ({ tenant: null, retired: false }),
      setActiveVersion: async (...args: unknown[]) => (moves.push(args), { previous: null }),
    } as unknown as Registry;
    const node = parseStatement("ALTER MODEL spam USE BEST VERSION BY metrics.f1 WHERE stage = 'x' OR TRUE") as UseBestVersionNode;
    await useBestVersion(node, [], registry, table);
    expect(table.hints.map((h) => Object.fromEntries(h.equals))).toEqual([{ model: 'spam' }]);
    expect(moves).toEqual([['spam', 1, { best_by: 'metrics.f1', direction: 'DESC', where: "stage = 'x' OR TRUE" }]]);
  });
});
