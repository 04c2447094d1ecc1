/**
 * CREATE MODEL target FROM MODEL source VERSION n: a copy of a version as the target's
 * next version, sharing the source's blob, with lineage columns, events on both models
 * and tenant rules; every error path changes nothing.
 */
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/index.js';
import type { Level } from '../../src/store/level.js';
import { expectLogRebuildsState } from '../helpers/replay.js';
import { expectFailsUnchanged, memoryDb, sha256, weights } from '../helpers/sql.js';

const levelOf = (db: Database): Level => (db as unknown as { core: { level: Level } }).core.level;

async function seeded(): Promise<Database> {
  const db = await memoryDb({ createdBy: 'ci' });
  await db.query("CREATE MODEL spam WITH (weights = $1, metrics = '{\"f1\":0.9}', hyperparams = '{\"lr\":0.1}', description = 'first', task = 'classification') SCHEMA (text name)", [weights(1, 5000)]);
  await db.query("CREATE MODEL spam WITH (weights = $1, metrics = '{\"f1\":0.95}', description = 'second')", [weights(2, 5000)]);
  return db;
}

describe('CREATE MODEL ... FROM MODEL ... VERSION', () => {
  it('creates the target with a copy of the version: weights, metrics, metadata and schema, with lineage columns', async () => {
    const db = await seeded();
    const created = await db.query('CREATE MODEL spam_prod FROM MODEL spam VERSION 1');
    expect(created.command).toBe('CREATE MODEL');
    expect(created.rows).toEqual([{ model: 'spam_prod', version: 1, active: true, sha256: sha256(weights(1, 5000)), copied_from_model: 'spam', copied_from_version: 1, copied_from_tenant: null }]);
    const columns = 'model, version, active, sha256, size_bytes, metrics, hyperparams, description, task, schema_hash, stage, created_by, copied_from_model, copied_from_version, copied_from_tenant';
    const [source] = (await db.query(`SELECT ${columns} FROM ML_MODEL_VERSIONS WHERE model = 'spam' AND version = 1`)).rows;
    const [copy] = (await db.query(`SELECT ${columns} FROM ML_MODEL_VERSIONS WHERE model = 'spam_prod'`)).rows;
    expect(copy).toEqual({ ...source, model: 'spam_prod', version: 1, active: true, copied_from_model: 'spam', copied_from_version: 1, copied_from_tenant: null });
    expect(source).toMatchObject({ copied_from_model: null, copied_from_version: null, copied_from_tenant: null });
    expect(Buffer.from(await db.registry.readWeights('spam_prod', 1)).equals(weights(1, 5000))).toBe(true);
    // LOOKUP finds the copy's schema too.
    expect((await db.query('LOOKUP MODEL FOR SCHEMA (text name)')).rows[0]).toMatchObject({ mode: 'warm_load' });
    await db.close();
  });

  it('shares the source blob: no bytes are copied, one more reference', async () => {
    const db = await seeded();
    const level = levelOf(db);
    const chunksBefore = await level.weights.keys().all();
    await db.query('CREATE MODEL spam_prod FROM MODEL spam VERSION 2');
    await db.query('CREATE MODEL spam_stage FROM MODEL spam_prod VERSION 1');
    expect(await level.weights.keys().all()).toEqual(chunksBefore);
    const blob = sha256(weights(2, 5000));
    expect((await level.weightRefs.keys().all()).filter((key) => key.startsWith(`${blob}:`))).toHaveLength(3);
    expect((await db.query('CHECK REGISTRY')).rows).toEqual([]);
    await db.close();
  });

  it('takes the next version of an existing target, honours WITH options, and may copy into the same model', async () => {
    const db = await seeded();
    await db.query('CREATE MODEL spam FROM MODEL spam VERSION 1');
    expect((await db.query("SELECT version, active, description, copied_from_version FROM ML_MODEL_VERSIONS WHERE model = 'spam' AND version = 3")).rows).toEqual([
      { version: 3, active: true, description: 'first', copied_from_version: 1 },
    ]);
    const row = (await db.query("CREATE MODEL spam FROM MODEL spam VERSION 2 WITH (description = 'republished', created_by = 'alice', active = FALSE)")).rows[0];
    expect(row).toMatchObject({ version: 4, active: false });
    expect((await db.query("SELECT description, created_by, active FROM ML_MODEL_VERSIONS WHERE model = 'spam' AND version = 4")).rows).toEqual([{ description: 'republished', created_by: 'alice', active: false }]);
    expect((await db.query("SELECT active_version FROM ML_MODELS_DASHBOARD WHERE name = 'spam'")).rows).toEqual([{ active_version: 3 }]);
    const typed = await db.registry.copyVersion('spam_prod', { model: 'spam', version: 4 }, { active: true });
    expect(typed).toMatchObject({ model: 'spam_prod', version: 1, active: true, copiedFrom: { model: 'spam', version: 4, tenant: null } });
    await db.close();
  });

  it('records version_copied on both models and active_moved on the target, in one statement', async () => {
    const db = await seeded();
    const before = (await db.query('SELECT seq FROM ML_MODEL_EVENTS')).rowCount;
    await db.query("CREATE MODEL spam_prod FROM MODEL spam VERSION 2 WITH (created_by = 'bob')");
    const events = (await db.query('SELECT seq, actor, model, version, kind, old_value, new_value, detail FROM ML_MODEL_EVENTS WHERE seq > $1', [before])).rows;
    expect(events).toEqual([
      { seq: before + 1, actor: 'bob', model: 'spam_prod', version: 1, kind: 'version_copied', old_value: null, new_value: 1, detail: { from: { model: 'spam', version: 2, tenant: null } } },
      { seq: before + 2, actor: 'bob', model: 'spam_prod', version: 1, kind: 'active_moved', old_value: null, new_value: 1, detail: null },
      { seq: before + 3, actor: 'bob', model: 'spam', version: 2, kind: 'version_copied', old_value: null, new_value: null, detail: { to: { model: 'spam_prod', version: 1, tenant: null } } },
    ]);
    await db.query('CREATE MODEL spam_prod FROM MODEL spam VERSION 1 WITH (active = FALSE)');
    expect((await db.query("SELECT kind FROM ML_MODEL_EVENTS WHERE model = 'spam_prod' AND version = 2")).rows).toEqual([{ kind: 'version_copied' }]);
    await expectLogRebuildsState(db);
    await db.close();
  });

  it('a tenant copies from its own or a global model into its own target; other tenants do not exist for it', async () => {
    const db = await seeded();
    const acme = db.withTenant('acme');
    const other = db.withTenant('other');
    await other.query('CREATE MODEL secret WITH (weights = $1)', [weights(9)]);
    const row = (await acme.query('CREATE MODEL spam_acme FROM MODEL spam VERSION 1')).rows[0];
    expect(row).toMatchObject({ model: 'spam_acme', version: 1, copied_from_model: 'spam', copied_from_tenant: null });
    expect((await acme.query("SELECT tenant, copied_from_tenant FROM ML_MODEL_VERSIONS WHERE model = 'spam_acme'")).rows).toEqual([{ tenant: 'acme', copied_from_tenant: null }]);
    // Copying "into" the global spam from a tenant writes the tenant's own spam, which then shadows it.
    await acme.query('CREATE MODEL spam FROM MODEL spam_acme VERSION 1');
    expect((await acme.query("SELECT tenant, version, copied_from_model, copied_from_tenant FROM ML_MODEL_VERSIONS WHERE model = 'spam'")).rows).toEqual([
      { tenant: 'acme', version: 1, copied_from_model: 'spam_acme', copied_from_tenant: 'acme' },
    ]);
    expect((await db.query("SELECT version FROM ML_MODEL_VERSIONS WHERE model = 'spam'")).rowCount).toBe(2);
    const missing = await expectFailsUnchanged(acme, () => acme.query('CREATE MODEL stolen FROM MODEL nothing VERSION 1'), 'UNKNOWN_MODEL');
    const hidden = await expectFailsUnchanged(acme, () => acme.query('CREATE MODEL stolen FROM MODEL secret VERSION 1'), 'UNKNOWN_MODEL');
    expect(hidden.message).toBe(missing.message.replace('nothing', 'secret'));
    await db.close();
  });

  it('copies an archived version; refuses a retired version or a version of a retired model', async () => {
    const db = await seeded();
    await db.query('ARCHIVE MODEL spam VERSION 1');
    expect((await db.query('CREATE MODEL spam_prod FROM MODEL spam VERSION 1')).rows[0]).toMatchObject({ version: 1, active: true });
    expect((await db.query("SELECT archived FROM ML_MODEL_VERSIONS WHERE model = 'spam_prod'")).rows).toEqual([{ archived: false }]);
    await db.query('CREATE MODEL ham WITH (weights = $1)', [weights(3)]);
    await db.query('CREATE MODEL ham WITH (weights = $1)', [weights(4)]);
    await db.query('RETIRE MODEL ham VERSION 1');
    await expectFailsUnchanged(db, () => db.query('CREATE MODEL ham_prod FROM MODEL ham VERSION 1'), 'VERSION_RETIRED', "version 1 of model 'ham' is retired");
    await db.query('RETIRE MODEL ham');
    await expectFailsUnchanged(db, () => db.query('CREATE MODEL ham_prod FROM MODEL ham VERSION 2'), 'MODEL_RETIRED');
    // A retired target takes no new version, as with CREATE MODEL.
    await expectFailsUnchanged(db, () => db.query('CREATE MODEL ham FROM MODEL spam VERSION 2'), 'MODEL_RETIRED');
    await db.close();
  });

  it('fails unchanged on an unknown version, a bad version number, and bad or unknown options', async () => {
    const db = await seeded();
    await expectFailsUnchanged(db, () => db.query('CREATE MODEL spam_prod FROM MODEL spam VERSION 3'), 'UNKNOWN_VERSION');
    await expectFailsUnchanged(db, () => db.query('CREATE MODEL spam_prod FROM MODEL spam VERSION $1', [0]), 'INVALID_ARGUMENT', /VERSION must be a whole number/);
    await expectFailsUnchanged(db, () => db.query('CREATE MODEL spam_prod FROM MODEL spam VERSION 1 WITH (weights = $1)', [weights(5)]), 'INVALID_ARGUMENT', /unknown option 'weights'/);
    await expectFailsUnchanged(db, () => db.query('CREATE MODEL spam_prod FROM MODEL spam VERSION 1 WITH (active = 1)'), 'INVALID_ARGUMENT', /active must be TRUE or FALSE/);
    await expectFailsUnchanged(db, () => db.query('CREATE MODEL spam_prod FROM MODEL spam VERSION 1 WITH (description = 5)'), 'INVALID_ARGUMENT', /description must be text/);
    await expectFailsUnchanged(db, () => db.query("CREATE MODEL spam_prod FROM MODEL spam VERSION 1 WITH (description = 'a', description = 'b')"), 'INVALID_ARGUMENT', /given twice/);
    await expectFailsUnchanged(db, () => db.query('CREATE MODEL spam_prod FROM MODEL spam VERSION 1 SCHEMA (a name)'), 'SYNTAX_ERROR');
    await expectFailsUnchanged(db, () => db.registry.copyVersion('spam_prod', null as never), 'INVALID_ARGUMENT');
    await expectFailsUnchanged(db, () => db.registry.copyVersion('spam_prod', { model: 'spam', version: 1.5 }), 'INVALID_ARGUMENT');
    await expectFailsUnchanged(db, () => db.registry.copyVersion('', { model: 'spam', version: 1 }), 'INVALID_ARGUMENT');
    await expectFailsUnchanged(db, () => db.registry.copyVersion('spam_prod', { model: 'spam', version: 1 }, { active: 'yes' as never }), 'INVALID_ARGUMENT');
    await db.close();
  });
});
