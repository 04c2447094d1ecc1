/**
 * Behaviour pinned down after reviewing issue 4: lineage of train jobs is fixed when
 * the statement runs, created_at never runs backwards within a model (across reopen
 * and clock steps), index damage is reported instead of answered around, and FROM
 * VERSION on a global-only name explains itself.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { storedJson } from '../helpers/store.js';
import { open, type Database } from '../../src/index.js';
import { stageKey, modelKey, versionKey } from '../../src/store/keys.js';
import { openLevel } from '../../src/store/level.js';
import { Resources, deferred, expectError, one, waitForJob, weights } from '../helpers/sql.js';

const resources = new Resources();
afterEach(() => {
  vi.restoreAllMocks();
  return resources.cleanup();
});

describe('train jobs pin their lineage when the statement runs', () => {
  it('a tenant creating its own model named like the global base meanwhile does not redirect the lineage', async () => {
    const release = deferred();
    const db = resources.track(await open({ memory: true, trainers: { slow: async () => (await release.promise, { weights: weights(9) }) } }));
    await db.query('CREATE MODEL g WITH (weights = $1)', [weights(1)]);
    await db.query('CREATE MODEL g WITH (weights = $1)', [weights(2)]);
    const acme = db.withTenant('acme');
    const { job_id: jobId } = one(await acme.query("CREATE MODEL ft WITH (trainer = 'slow', async = TRUE, base_model = 'g')"));
    await acme.query('CREATE MODEL g WITH (weights = $1)', [weights(3)]); // acme's own g (only version 1) now shadows the global g
    release.resolve();
    expect((await waitForJob(acme, jobId as string)).status).toBe('completed');
    expect(one(await acme.query("SELECT base_model, base_version, base_tenant FROM ML_MODEL_VERSIONS WHERE model = 'ft' AND version = 1"))).toEqual({
      base_model: 'g', base_version: 2, base_tenant: null,
    });
  });
});

describe('created_at', () => {
  it('never runs backwards within a model: not within one millisecond, not after a reopen with the clock stepped back', async () => {
    const dir = await resources.dir();
    const t = 1_900_000_000_000;
    let clock = t;
    vi.spyOn(Date, 'now').mockImplementation(() => clock);
    const first = await open({ path: dir });
    await first.query('CREATE MODEL m WITH (weights = $1)', [weights(1)]);
    await first.query('CREATE MODEL m WITH (weights = $1)', [weights(2)]); // same millisecond
    await first.query('ALTER MODEL m USE VERSION 1');
    await first.close();

    clock = t - 60_000; // the clock stepped back a minute
    const db = resources.track(await open({ path: dir }));
    await db.query('CREATE MODEL m WITH (weights = $1)', [weights(3)]);
    const times = (await db.query("SELECT version, created_at FROM ML_MODEL_VERSIONS WHERE model = 'm'")).rows.map((r) => (r.created_at as Date).getTime());
    expect(times).toEqual([t, t + 1, t + 2]);
    const newest = await db.query("SELECT version FROM ML_MODEL_VERSIONS WHERE model = 'm' ORDER BY created_at DESC LIMIT 1");
    expect(one(newest).version).toBe(3);
    const { updated_at: updated } = one(await db.query("SELECT updated_at FROM ML_MODELS_DASHBOARD WHERE name = 'm'"));
    expect((updated as Date).getTime()).toBe(t + 2);
  });
});

describe('index damage is reported, not answered around', () => {
  async function damaged(edit: (level: Awaited<ReturnType<typeof openLevel>>) => Promise<void>): Promise<Database> {
    const dir = await resources.dir();
    const db = await open({ path: dir });
    await db.exec(`CREATE MODEL m WITH (weights = x'01') SCHEMA (a name, b date);
                   CREATE MODEL m WITH (weights = x'02', base_model = 'm') SCHEMA (a name, b date)`);
    await db.close();
    const level = await openLevel({ path: dir });
    await edit(level);
    await level.root.close();
    return resources.track(await open({ path: dir }));
  }

  it('a stage index entry whose version record says otherwise is CORRUPTION (SQL and typed API)', async () => {
    const db = await damaged((level) => level.stages.put(stageKey(modelKey('m'), 'production', 2), ''));
    await expectError(db.registry.latestAtStage('m', 'production'), 'CORRUPTION', /version 2 at production but its record says dev/);
    await expectError(db.query("SELECT version FROM ML_MODEL_VERSIONS WHERE model = 'm' AND stage = 'production'"), 'CORRUPTION');
  });

  it('a schema index entry for an archived version is CORRUPTION', async () => {
    const db = await damaged(async (level) => {
      const key = versionKey(modelKey('m'), 2);
      const record = storedJson(await level.versions.get(key)) as Record<string, unknown>;
      await level.versions.put(key, JSON.stringify({ ...record, archived: true })); // archived without removing its index entry
    });
    await expectError(db.query('LOOKUP MODEL FOR SCHEMA (a name, b date)'), 'CORRUPTION', /archived/);
  });

  it('a version record whose base model is not a model key is CORRUPTION, not a NULL lineage', async () => {
    const db = await damaged(async (level) => {
      const key = versionKey(modelKey('m'), 2);
      const record = storedJson(await level.versions.get(key)) as Record<string, unknown>;
      await level.versions.put(key, JSON.stringify({ ...record, baseModel: 'no-colon' }));
    });
    await expectError(db.query("SELECT base_model FROM ML_MODEL_VERSIONS WHERE model = 'm' AND version = 2"), 'CORRUPTION', /baseModel/);
  });
});

describe('FROM VERSION in a tenant session', () => {
  it('on a name only a global model has explains that FROM VERSION means the own model, and points at base_model', async () => {
    const db = resources.track(await open({ memory: true }));
    await db.query('CREATE MODEL g WITH (weights = $1)', [weights(1)]);
    const acme = db.withTenant('acme');
    await expectError(acme.query('CREATE MODEL g FROM VERSION 1 WITH (weights = $1)', [weights(2)]), 'INVALID_ARGUMENT', /use base_model = 'g'/);
    await expectError(acme.query("CREATE MODEL g FROM VERSION 1 WITH (trainer = 'x')"), 'INVALID_ARGUMENT', /use base_model = 'g'/);
    expect((await acme.query("SELECT tenant FROM ML_MODELS_DASHBOARD WHERE name = 'g'")).rows).toEqual([{ tenant: null }]);
  });
});

describe('the schema index holds only what LOOKUP may offer', () => {
  it('retiring a model takes its versions out of the index; archiving and unarchiving its versions afterwards does not bring them back', async () => {
    const dir = await resources.dir();
    const db = await open({ path: dir });
    await db.exec(`CREATE MODEL m WITH (weights = x'01') SCHEMA (a name, b date);
                   CREATE MODEL m WITH (weights = x'02') SCHEMA (a name, b date, c id);
                   CREATE MODEL other WITH (weights = x'03') SCHEMA (z text)`);
    await db.query('RETIRE MODEL m');
    await db.query('ARCHIVE MODEL m VERSION 1');
    await db.query('UNARCHIVE MODEL m VERSION 1');
    expect(one(await db.query('LOOKUP MODEL FOR SCHEMA (a name, b date)')).mode).toBe('cold_start');
    await db.close();
    const level = await openLevel({ path: dir });
    const entries = await level.fingerprints.keys().all();
    await level.root.close();
    expect(entries).toHaveLength(1); // only `other`
    expect(entries[0]).toContain(':other:');
  });
});

