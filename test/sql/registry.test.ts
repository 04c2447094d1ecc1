/**
 * The RedDB registry tests (seed 000, `registry.rs`), ported to SQL, plus the result
 * rows of every statement and the CREATE MODEL options.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { open, type Database } from '../../src/index.js';
import {
  Resources, dashboardRow, deferred, expectError, expectFailsUnchanged, ident, memoryDb, one, sha256, snapshot, str,
  versionNumbers, waitForJob, weights,
} from '../helpers/sql.js';

const resources = new Resources();
afterEach(() => resources.cleanup());

async function db(options: { createdBy?: string } = {}): Promise<Database> {
  return resources.track(await memoryDb(options));
}

/** CREATE MODEL with a small weights blob; returns the result row. */
async function create(d: Database, model = 'm', extra = ''): Promise<Record<string, unknown>> {
  return one(await d.query(`CREATE MODEL ${ident(model)} WITH (weights = $1${extra ? `, ${extra}` : ''})`, [weights(1)]));
}

describe('RedDB registry semantics over SQL', () => {
  it('assigns monotonic versions 1, 2, 3', async () => {
    const d = await db();
    const versions = [];
    for (let i = 0; i < 3; i++) versions.push((await create(d)).version);
    expect(versions).toEqual([1, 2, 3]);
    expect(await versionNumbers(d, 'm')).toEqual([1, 2, 3]);
  });

  it('makes a new version active by default', async () => {
    const d = await db();
    await create(d);
    const second = await create(d);
    expect(second.active).toBe(true);
    expect((await dashboardRow(d, 'm'))?.active_version).toBe(2);
    const { rows } = await d.query("SELECT version, active FROM ML_MODEL_VERSIONS WHERE model = 'm'");
    expect(rows).toEqual([{ version: 1, active: false }, { version: 2, active: true }]);
    expect((await d.registry.getActive('m'))?.version).toBe(2);
  });

  it('keeps the old active version when the new one is created with active = FALSE', async () => {
    const d = await db();
    await create(d);
    const row = await create(d, 'm', 'active = FALSE');
    expect(row).toMatchObject({ version: 2, active: false });
    expect((await dashboardRow(d, 'm'))?.active_version).toBe(1);
    expect((await d.registry.getActive('m'))?.version).toBe(1);
  });

  it('leaves a first version created with active = FALSE inactive (no active version)', async () => {
    const d = await db();
    const row = await create(d, 'm', 'active = FALSE');
    expect(row).toMatchObject({ version: 1, active: false });
    expect((await dashboardRow(d, 'm'))?.active_version).toBeNull();
    expect(await d.registry.getActive('m')).toBeNull();
  });

  it('rolls back with USE VERSION', async () => {
    const d = await db();
    await create(d);
    await create(d);
    const result = await d.query('ALTER MODEL m USE VERSION 1');
    expect(result.command).toBe('ALTER MODEL');
    expect(result.columns).toEqual(['model', 'active_version', 'previous_version']);
    expect(one(result)).toEqual({ model: 'm', active_version: 1, previous_version: 2 });
    expect((await dashboardRow(d, 'm'))?.active_version).toBe(1);
    expect((await d.registry.getActive('m'))?.version).toBe(1);
    // Rolling forward again reports where it came from.
    expect(one(await d.query('ALTER MODEL m USE VERSION $1', [2]))).toEqual({ model: 'm', active_version: 2, previous_version: 1 });
  });

  it('USE VERSION of the version already active changes nothing', async () => {
    const d = await db();
    await create(d);
    const before = await snapshot(d);
    expect(one(await d.query('ALTER MODEL m USE VERSION 1'))).toEqual({ model: 'm', active_version: 1, previous_version: 1 });
    expect(await snapshot(d)).toEqual(before);
  });

  it('rejects USE of an unknown version with UNKNOWN_VERSION and changes nothing', async () => {
    const d = await db();
    await create(d);
    const error = await expectFailsUnchanged(d, () => d.query('ALTER MODEL m USE VERSION 99'), 'UNKNOWN_VERSION', "unknown version 99 for model 'm'");
    expect(error).toMatchObject({ model: 'm', version: 99 });
  });

  it('refuses to make an archived version active (VERSION_ARCHIVED) and changes nothing', async () => {
    const d = await db();
    await create(d);
    await create(d, 'm', 'active = FALSE');
    await d.query('ARCHIVE MODEL m VERSION 1');
    expect((await dashboardRow(d, 'm'))?.active_version).toBeNull();
    await expectFailsUnchanged(
      d, () => d.query('ALTER MODEL m USE VERSION 1'), 'VERSION_ARCHIVED', "version 1 of model 'm' is archived; unarchive before use",
    );
    // Unarchiving makes it eligible again, without activating it.
    await d.query('UNARCHIVE MODEL m VERSION 1');
    expect((await dashboardRow(d, 'm'))?.active_version).toBeNull();
    await d.query('ALTER MODEL m USE VERSION 1');
    expect((await dashboardRow(d, 'm'))?.active_version).toBe(1);
  });

  it('clears the active pointer when the active version is archived', async () => {
    const d = await db();
    await create(d);
    const result = await d.query('ARCHIVE MODEL m VERSION 1');
    expect(one(result)).toEqual({ model: 'm', archived: 1, active_version: null });
    expect(await d.registry.getActive('m')).toBeNull();
    expect(await dashboardRow(d, 'm')).toMatchObject({ active_version: null, total_versions: 1, archived_versions: 1 });
    const { rows } = await d.query("SELECT active, archived FROM ML_MODEL_VERSIONS WHERE model = 'm'");
    expect(rows).toEqual([{ active: false, archived: true }]);
  });

  it('archiving an inactive version keeps the active pointer', async () => {
    const d = await db();
    await create(d);
    await create(d);
    expect(one(await d.query('ARCHIVE MODEL m VERSION 1'))).toEqual({ model: 'm', archived: 1, active_version: 2 });
    expect((await dashboardRow(d, 'm'))?.active_version).toBe(2);
  });

  it('lists versions in order', async () => {
    const d = await db();
    for (let i = 0; i < 5; i++) await create(d);
    expect(await versionNumbers(d, 'm')).toEqual([1, 2, 3, 4, 5]);
    expect((await d.registry.listVersions('m')).map((v) => v.version)).toEqual([1, 2, 3, 4, 5]);
  });

  it('lists 12 versions numerically (2 before 10), by default and with ORDER BY', async () => {
    const d = await db();
    for (let i = 0; i < 12; i++) await create(d);
    const expected = Array.from({ length: 12 }, (_, i) => i + 1);
    expect(await versionNumbers(d, 'm')).toEqual(expected);
    const all = (await d.query('SELECT version FROM ML_MODEL_VERSIONS')).rows.map((r) => r.version);
    expect(all).toEqual(expected);
    const ordered = (await d.query("SELECT version FROM ML_MODEL_VERSIONS WHERE model = 'm' ORDER BY version DESC")).rows.map((r) => r.version);
    expect(ordered).toEqual([...expected].reverse());
    expect((await d.registry.listVersions('m')).map((v) => v.version)).toEqual(expected);
    expect(await dashboardRow(d, 'm')).toMatchObject({ latest_version: 12, total_versions: 12, active_version: 12 });
  });

  it('counts archived versions separately on the dashboard', async () => {
    const d = await db();
    for (let i = 0; i < 3; i++) await create(d);
    await d.query('ARCHIVE MODEL m VERSION 1');
    const row = await dashboardRow(d, 'm');
    expect(row).toMatchObject({ name: 'm', total_versions: 3, archived_versions: 1, active_version: 3, latest_version: 3 });
    const summary = (await d.registry.summaries())[0]!;
    expect(summary).toMatchObject({ totalVersions: 3, archivedVersions: 1, activeVersion: 3 });
  });

  it('reports unknown models cleanly with UNKNOWN_MODEL', async () => {
    const d = await db();
    await create(d); // another model exists
    const message = "unknown model 'nope'";
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL nope USE VERSION 1'), 'UNKNOWN_MODEL', message);
    await expectFailsUnchanged(d, () => d.query('ARCHIVE MODEL nope VERSION 1'), 'UNKNOWN_MODEL', message);
    await expectFailsUnchanged(d, () => d.query('ARCHIVE MODEL nope'), 'UNKNOWN_MODEL', message);
    await expectFailsUnchanged(d, () => d.query('UNARCHIVE MODEL nope VERSION 1'), 'UNKNOWN_MODEL', message);
    const error = await expectError(d.registry.getActive('nope'), 'UNKNOWN_MODEL', message);
    expect(error.model).toBe('nope');
    await expectError(d.registry.listVersions('nope'), 'UNKNOWN_MODEL', message);
    await expectError(d.registry.getVersion('nope', 1), 'UNKNOWN_MODEL', message);
    await expectError(d.registry.readWeights('nope', 1), 'UNKNOWN_MODEL', message);
    // Reading through SQL is an empty result, not an error.
    expect((await d.query("SELECT * FROM ML_MODEL_VERSIONS WHERE model = 'nope'")).rows).toEqual([]);
    expect((await d.query("SELECT * FROM ML_MODELS_DASHBOARD WHERE name = 'nope'")).rows).toEqual([]);
  });

  it('reports unknown versions in ARCHIVE and UNARCHIVE and changes nothing', async () => {
    const d = await db();
    await create(d);
    await expectFailsUnchanged(d, () => d.query('ARCHIVE MODEL m VERSION 2'), 'UNKNOWN_VERSION', "unknown version 2 for model 'm'");
    await expectFailsUnchanged(d, () => d.query('UNARCHIVE MODEL m VERSION 7'), 'UNKNOWN_VERSION', "unknown version 7 for model 'm'");
    await expectError(d.registry.getVersion('m', 2), 'UNKNOWN_VERSION');
  });

  it('rejects version numbers that are not whole numbers >= 1 with INVALID_ARGUMENT', async () => {
    const d = await db();
    await create(d);
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL m USE VERSION 0'), 'INVALID_ARGUMENT');
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL m USE VERSION 1.5'), 'INVALID_ARGUMENT');
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL m USE VERSION -1'), 'INVALID_ARGUMENT');
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL m USE VERSION $1', ['1']), 'INVALID_ARGUMENT');
    await expectFailsUnchanged(d, () => d.query('ARCHIVE MODEL m VERSION $1', [null]), 'INVALID_ARGUMENT');
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL m USE VERSION $1'), 'INVALID_ARGUMENT');
  });
});

describe('persistence round trip (seed backend tests)', () => {
  it('rehydrates versions and the active pointer', async () => {
    const dir = await resources.dir();
    const first = await open({ path: dir });
    await create(first);
    await create(first);
    await first.close();
    const second = resources.track(await open({ path: dir }));
    expect((await second.registry.getActive('m'))?.version).toBe(2);
    expect(await versionNumbers(second, 'm')).toEqual([1, 2]);
    expect(await dashboardRow(second, 'm')).toMatchObject({ active_version: 2, total_versions: 2, latest_version: 2, archived_versions: 0 });
  });

  it('rehydrates after archive-then-rollback', async () => {
    const dir = await resources.dir();
    const first = await open({ path: dir });
    await create(first);
    await create(first);
    await first.query('ARCHIVE MODEL m VERSION 1');
    await first.query('ALTER MODEL m USE VERSION 2');
    await first.close();
    const second = resources.track(await open({ path: dir }));
    const { rows } = await second.query("SELECT version, archived, active FROM ML_MODEL_VERSIONS WHERE model = 'm'");
    expect(rows).toEqual([{ version: 1, archived: true, active: false }, { version: 2, archived: false, active: true }]);
    expect((await second.registry.getActive('m'))?.version).toBe(2);
    // The next version continues the numbering.
    expect((await create(second)).version).toBe(3);
  });
});

describe('result rows', () => {
  it('CREATE MODEL returns model, version, active and the SHA-256 of the weights', async () => {
    const d = await db();
    const bytes = weights(42, 100);
    const result = await d.query('CREATE MODEL spam WITH (weights = $1)', [bytes]);
    expect(result.command).toBe('CREATE MODEL');
    expect(result.columns).toEqual(['model', 'version', 'active', 'sha256']);
    expect(one(result)).toEqual({ model: 'spam', version: 1, active: true, sha256: sha256(bytes) });
    const row = one(await d.query("SELECT sha256, size_bytes FROM ML_MODEL_VERSIONS WHERE model = 'spam'"));
    expect(row).toEqual({ sha256: sha256(bytes), size_bytes: 100 });
  });

  it('CREATE MODEL of an artifact-only version has a null sha256', async () => {
    const d = await db();
    const row = one(await d.query("CREATE MODEL spam WITH (artifact = 's3://models/spam/1.onnx')"));
    expect(row).toEqual({ model: 'spam', version: 1, active: true, sha256: null });
    const version = one(await d.query("SELECT artifact, sha256, size_bytes FROM ML_MODEL_VERSIONS WHERE model = 'spam'"));
    expect(version).toEqual({ artifact: 's3://models/spam/1.onnx', sha256: null, size_bytes: null });
    await expectError(d.registry.readWeights('spam', 1), 'INVALID_ARGUMENT');
  });

  it('ARCHIVE MODEL m VERSION n returns model, archived (newly archived count) and active_version; repeating it is a no-op', async () => {
    const d = await db();
    await create(d);
    await create(d);
    const result = await d.query('ARCHIVE MODEL m VERSION 2');
    expect(result.command).toBe('ARCHIVE MODEL');
    expect(result.columns).toEqual(['model', 'archived', 'active_version']);
    expect(one(result)).toEqual({ model: 'm', archived: 1, active_version: null });
    const before = await snapshot(d);
    expect(one(await d.query('ARCHIVE MODEL m VERSION 2'))).toEqual({ model: 'm', archived: 0, active_version: null });
    expect(await snapshot(d)).toEqual(before);
  });

  it('ARCHIVE MODEL m archives every version, clears the active pointer and reports how many were newly archived', async () => {
    const d = await db();
    for (let i = 0; i < 4; i++) await create(d);
    await create(d, 'other');
    await d.query('ARCHIVE MODEL m VERSION 2');
    const result = await d.query('ARCHIVE MODEL m');
    expect(result.command).toBe('ARCHIVE MODEL');
    expect(result.columns).toEqual(['model', 'archived', 'active_version']);
    expect(one(result)).toEqual({ model: 'm', archived: 3, active_version: null });
    expect(await dashboardRow(d, 'm')).toMatchObject({ active_version: null, total_versions: 4, archived_versions: 4, latest_version: 4 });
    const { rows } = await d.query("SELECT archived FROM ML_MODEL_VERSIONS WHERE model = 'm'");
    expect(rows.every((r) => r.archived === true)).toBe(true);
    // Other models are untouched.
    expect(await dashboardRow(d, 'other')).toMatchObject({ active_version: 1, archived_versions: 0 });
    // Again: nothing newly archived, nothing changed.
    const before = await snapshot(d);
    expect(one(await d.query('ARCHIVE MODEL m'))).toEqual({ model: 'm', archived: 0, active_version: null });
    expect(await snapshot(d)).toEqual(before);
    // Archived versions stay readable.
    expect(Buffer.from(await d.registry.readWeights('m', 1)).equals(weights(1))).toBe(true);
  });

  it('UNARCHIVE returns model, unarchived (number newly unarchived) and active_version; repeating it is a no-op', async () => {
    const d = await db();
    await create(d);
    await create(d);
    await d.query('ARCHIVE MODEL m VERSION 1');
    const result = await d.query('UNARCHIVE MODEL m VERSION 1');
    expect(result.command).toBe('UNARCHIVE MODEL');
    expect(result.columns).toEqual(['model', 'unarchived', 'active_version']);
    expect(one(result)).toEqual({ model: 'm', unarchived: 1, active_version: 2 });
    expect(await dashboardRow(d, 'm')).toMatchObject({ archived_versions: 0, active_version: 2 });
    const before = await snapshot(d);
    expect(one(await d.query('UNARCHIVE MODEL m VERSION 1'))).toEqual({ model: 'm', unarchived: 0, active_version: 2 });
    expect(await snapshot(d)).toEqual(before);
  });

  it('UNARCHIVE makes a version eligible again without activating it', async () => {
    const d = await db();
    await create(d);
    await d.query('ARCHIVE MODEL m VERSION 1');
    const row = one(await d.query('UNARCHIVE MODEL m VERSION 1'));
    expect(row.model).toBe('m');
    expect(row.active_version).toBeNull();
    expect(await dashboardRow(d, 'm')).toMatchObject({ active_version: null, archived_versions: 0 });
    const version = one(await d.query("SELECT archived, active FROM ML_MODEL_VERSIONS WHERE model = 'm'"));
    expect(version).toEqual({ archived: false, active: false });
  });

  it('CANCEL JOB returns id and status', async () => {
    const d = await db();
    const gate = deferred<void>();
    d.registerTrainer('slow', async () => {
      await gate.promise;
      return { weights: weights(9) };
    });
    try {
      const first = one(await d.query("CREATE MODEL m WITH (trainer = 'slow', async = TRUE)"));
      const second = one(await d.query("CREATE MODEL m WITH (trainer = 'slow', async = TRUE)"));
      const result = await d.query('CANCEL JOB $1', [second.job_id]);
      expect(result.command).toBe('CANCEL JOB');
      expect(result.columns).toEqual(['id', 'status']);
      expect(one(result)).toEqual({ id: second.job_id, status: 'cancelled' });
      gate.resolve();
      await waitForJob(d, first.job_id as string);
    } finally {
      gate.resolve();
    }
  });
});

describe('FROM VERSION lineage', () => {
  it('records parent_version', async () => {
    const d = await db();
    await create(d);
    await create(d);
    const row = one(await d.query('CREATE MODEL m FROM VERSION 1 WITH (weights = $1)', [weights(3)]));
    expect(row.version).toBe(3);
    const { rows } = await d.query("SELECT version, parent_version FROM ML_MODEL_VERSIONS WHERE model = 'm'");
    expect(rows).toEqual([{ version: 1, parent_version: null }, { version: 2, parent_version: null }, { version: 3, parent_version: 1 }]);
    expect((await d.registry.getVersion('m', 3)).parentVersion).toBe(1);
    one(await d.query('CREATE MODEL m FROM VERSION $2 WITH (weights = $1)', [weights(4), 3]));
    expect((await d.registry.getVersion('m', 4)).parentVersion).toBe(3);
  });

  it('accepts an archived parent (lineage is history)', async () => {
    const d = await db();
    await create(d);
    await d.query('ARCHIVE MODEL m VERSION 1');
    one(await d.query('CREATE MODEL m FROM VERSION 1 WITH (weights = $1)', [weights(2)]));
    expect((await d.registry.getVersion('m', 2)).parentVersion).toBe(1);
  });

  it('fails with UNKNOWN_VERSION for an unknown parent and changes nothing', async () => {
    const d = await db();
    await create(d);
    await create(d);
    await expectFailsUnchanged(
      d, () => d.query('CREATE MODEL m FROM VERSION 3 WITH (weights = $1)', [weights(3)]), 'UNKNOWN_VERSION', "unknown version 3 for model 'm'",
    );
    await expectFailsUnchanged(d, () => d.query('CREATE MODEL m FROM VERSION 99 WITH (weights = $1)', [weights(3)]), 'UNKNOWN_VERSION');
    // The failed statements did not use up a version number.
    expect((await create(d)).version).toBe(3);
  });

  it('fails for a parent of a model that does not exist and does not create the model', async () => {
    const d = await db();
    const error = await expectError(d.query('CREATE MODEL fresh FROM VERSION 1 WITH (weights = $1)', [weights(1)]), 'UNKNOWN_MODEL');
    expect(error.model).toBe('fresh');
    expect((await d.query('SELECT * FROM ML_MODELS_DASHBOARD')).rows).toEqual([]);
  });
});

describe('CREATE MODEL options', () => {
  it('takes weights from a Buffer parameter, a Uint8Array parameter and a hex blob literal; readWeights returns the exact bytes', async () => {
    const d = await db();
    const buffer = weights(5, 257);
    const array = new Uint8Array([0, 255, 1, 254, 128]);
    expect(one(await d.query('CREATE MODEL m WITH (weights = $1)', [buffer])).sha256).toBe(sha256(buffer));
    expect(one(await d.query('CREATE MODEL m WITH (weights = $1)', [array])).sha256).toBe(sha256(array));
    const blob = Buffer.from('deadbeef', 'hex');
    expect(one(await d.query("CREATE MODEL m WITH (weights = x'deadbeef')")).sha256).toBe(sha256(blob));
    expect(one(await d.query("CREATE MODEL m WITH (weights = X'DEADBEEF')")).sha256).toBe(sha256(blob));
    expect(Buffer.from(await d.registry.readWeights('m', 1))).toEqual(buffer);
    expect(Buffer.from(await d.registry.readWeights('m', 2))).toEqual(Buffer.from(array));
    expect(Buffer.from(await d.registry.readWeights('m', 3))).toEqual(blob);
    expect(Buffer.from(await d.registry.readWeights('m', 4))).toEqual(blob);
    const { rows } = await d.query("SELECT version, size_bytes FROM ML_MODEL_VERSIONS WHERE model = 'm'");
    expect(rows.map((r) => r.size_bytes)).toEqual([257, 5, 4, 4]);
  });

  it('stores the empty blob x\'\' as zero bytes', async () => {
    const d = await db();
    expect(one(await d.query("CREATE MODEL m WITH (weights = x'')")).sha256).toBe(sha256(new Uint8Array(0)));
    expect((await d.registry.readWeights('m', 1)).length).toBe(0);
  });

  it('copies the weights: changing the caller\'s buffer afterwards does not change the version', async () => {
    const d = await db();
    const buffer = weights(8, 32);
    const original = Buffer.from(buffer);
    await d.query('CREATE MODEL m WITH (weights = $1)', [buffer]);
    buffer.fill(0);
    expect(Buffer.from(await d.registry.readWeights('m', 1))).toEqual(original);
  });

  it('takes hyperparams and metrics as JSON text and as object parameters; ML_MODEL_VERSIONS shows them parsed', async () => {
    const d = await db();
    await d.query(`CREATE MODEL m WITH (weights = $1, hyperparams = '{"lr":0.01,"layers":[64,32]}', metrics = '{"f1":0.93}')`, [weights(1)]);
    await d.query('CREATE MODEL m WITH (weights = $1, hyperparams = $2, metrics = $3)', [weights(2), { lr: 0.1, tags: ['a'] }, { auc: 0.5, nested: { x: null } }]);
    await d.query("CREATE MODEL m WITH (weights = $1, metrics = '[1, 2.5, \"x\"]', hyperparams = 'null')", [weights(3)]);
    const { rows } = await d.query("SELECT version, hyperparams, metrics FROM ML_MODEL_VERSIONS WHERE model = 'm'");
    expect(rows).toEqual([
      { version: 1, hyperparams: { lr: 0.01, layers: [64, 32] }, metrics: { f1: 0.93 } },
      { version: 2, hyperparams: { lr: 0.1, tags: ['a'] }, metrics: { auc: 0.5, nested: { x: null } } },
      { version: 3, hyperparams: null, metrics: [1, 2.5, 'x'] },
    ]);
    expect((await d.registry.getVersion('m', 2)).metrics).toEqual({ auc: 0.5, nested: { x: null } });
  });

  it('stores training_sql, training_data_hash, description and artifact as given', async () => {
    const d = await db();
    await d.query(
      "CREATE MODEL m WITH (artifact = 's3://b/k.onnx', training_sql = 'SELECT * FROM emails WHERE label = ''spam''', training_data_hash = 'abcd', description = 'first try')",
    );
    const row = one(await d.query("SELECT artifact, training_sql, training_data_hash, description FROM ML_MODEL_VERSIONS WHERE model = 'm'"));
    expect(row).toEqual({ artifact: 's3://b/k.onnx', training_sql: "SELECT * FROM emails WHERE label = 'spam'", training_data_hash: 'abcd', description: 'first try' });
  });

  it('rejects invalid JSON with INVALID_ARGUMENT and changes nothing', async () => {
    const d = await db();
    await create(d);
    await expectFailsUnchanged(d, () => d.query("CREATE MODEL m WITH (weights = $1, metrics = '{f1: 0.9}')", [weights(2)]), 'INVALID_ARGUMENT', /metrics/);
    await expectFailsUnchanged(d, () => d.query("CREATE MODEL m WITH (weights = $1, hyperparams = '{')", [weights(2)]), 'INVALID_ARGUMENT', /hyperparams/);
    await expectFailsUnchanged(d, () => d.query("CREATE MODEL new WITH (weights = $1, metrics = '')", [weights(2)]), 'INVALID_ARGUMENT');
    // Values JSON cannot represent faithfully.
    await expectFailsUnchanged(d, () => d.query('CREATE MODEL m WITH (weights = $1, metrics = $2)', [weights(2), { f1: Number.NaN }]), 'INVALID_ARGUMENT');
    await expectFailsUnchanged(d, () => d.query('CREATE MODEL m WITH (weights = $1, hyperparams = $2)', [weights(2), new Date()]), 'INVALID_ARGUMENT');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expectFailsUnchanged(d, () => d.query('CREATE MODEL m WITH (weights = $1, hyperparams = $2)', [weights(2), cyclic]), 'INVALID_ARGUMENT');
  });

  it('rejects unknown and duplicate options with INVALID_ARGUMENT naming them, and changes nothing', async () => {
    const d = await db();
    await create(d);
    await expectFailsUnchanged(d, () => d.query('CREATE MODEL m WITH (weights = $1, learning_rate = 0.1)', [weights(2)]), 'INVALID_ARGUMENT', /learning_rate/);
    await expectFailsUnchanged(d, () => d.query("CREATE MODEL m WITH (weights = $1, metrics = '{}', metrics = '{}')", [weights(2)]), 'INVALID_ARGUMENT', /metrics/);
    // Option names fold to lower case, so these are the same option twice.
    await expectFailsUnchanged(d, () => d.query('CREATE MODEL m WITH (weights = $1, WEIGHTS = $1)', [weights(2)]), 'INVALID_ARGUMENT', /weights/);
  });

  it('rejects values of the wrong type with INVALID_ARGUMENT and changes nothing', async () => {
    const d = await db();
    await create(d);
    const w = weights(2);
    const cases: Array<[string, unknown[]]> = [
      ["CREATE MODEL m WITH (weights = 'deadbeef')", []],
      ['CREATE MODEL m WITH (weights = 42)', []],
      ['CREATE MODEL m WITH (weights = $1)', [[1, 2, 3]]],
      ["CREATE MODEL m WITH (weights = $1, active = 'yes')", [w]],
      ['CREATE MODEL m WITH (weights = $1, active = 1)', [w]],
      ['CREATE MODEL m WITH (weights = $1, active = NULL)', [w]],
      ['CREATE MODEL m WITH (weights = $1, created_by = 5)', [w]],
      ['CREATE MODEL m WITH (weights = $1, description = TRUE)', [w]],
      ['CREATE MODEL m WITH (artifact = 1)', []],
      ['CREATE MODEL m WITH (weights = $1, training_sql = $2)', [w, { sql: 'x' }]],
      ["CREATE MODEL m WITH (weights = $1, metrics = x'00')", [w]],
      ['CREATE MODEL m WITH (weights = $1, async = TRUE)', [w]],
      ['CREATE MODEL m WITH (weights = $1, trainer = 3)', [w]],
      ['CREATE MODEL m WITH (weights = $2)', [w]],
      ['CREATE MODEL m WITH (weights = $1)', [new ArrayBuffer(4)]],
      ['CREATE MODEL m WITH (weights = $1, hyperparams = $2)', [w, Buffer.from('{}')]],
      ['CREATE MODEL m WITH (weights = $1, metrics = $2)', [w, () => 1]],
    ];
    for (const [sql, params] of cases) {
      await expectFailsUnchanged(d, () => d.query(sql, params), 'INVALID_ARGUMENT');
    }
  });

  it('rejects a version with neither weights nor artifact with INVALID_ARGUMENT and changes nothing', async () => {
    const d = await db();
    await expectFailsUnchanged(d, () => d.query('CREATE MODEL m'), 'INVALID_ARGUMENT');
    await expectFailsUnchanged(d, () => d.query("CREATE MODEL m WITH (metrics = '{\"f1\":1}')"), 'INVALID_ARGUMENT');
    await expectFailsUnchanged(d, () => d.query('CREATE MODEL m WITH (weights = NULL)'), 'INVALID_ARGUMENT');
    await expectFailsUnchanged(d, () => d.query('CREATE MODEL m WITH (weights = $1, artifact = $1)', [null]), 'INVALID_ARGUMENT');
    await create(d);
    await expectFailsUnchanged(d, () => d.query("CREATE MODEL m WITH (description = 'no bytes')"), 'INVALID_ARGUMENT');
    expect((await create(d)).version).toBe(2);
  });

  it('defaults created_by to open({ createdBy }) and lets the statement override it', async () => {
    const d = await db({ createdBy: 'alice' });
    await create(d);
    await create(d, 'm', "created_by = 'bob'");
    await d.query('CREATE MODEL m WITH (weights = $1, created_by = $2)', [weights(3), 'carol']);
    const { rows } = await d.query("SELECT version, created_by FROM ML_MODEL_VERSIONS WHERE model = 'm'");
    expect(rows).toEqual([{ version: 1, created_by: 'alice' }, { version: 2, created_by: 'bob' }, { version: 3, created_by: 'carol' }]);
    const anonymous = await db();
    await create(anonymous);
    expect(one(await anonymous.query('SELECT created_by FROM ML_MODEL_VERSIONS')).created_by).toBeNull();
  });

  it('records created_at between the statement start and end, and the dashboard timestamps follow', async () => {
    const d = await db();
    const before = Date.now();
    await create(d);
    const after = Date.now();
    const row = one(await d.query("SELECT created_at FROM ML_MODEL_VERSIONS WHERE model = 'm'"));
    expect(row.created_at).toBeInstanceOf(Date);
    const t = (row.created_at as Date).getTime();
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(after);
    const dash = await dashboardRow(d, 'm');
    expect((dash!.created_at as Date).getTime()).toBe(t);
    expect((dash!.updated_at as Date).getTime()).toBe(t);
  });
});

describe('model names', () => {
  const names = [
    'team.spam-v2',
    'my model',
    'say "hi"',
    "it's",
    '垃圾邮件',
    'détecteur',
    'emoji 🚀 model',
    'a:b%3A',
    'model',
    'version',
    'select',
    'ORDER',
    'Spam',
    'spam',
  ];

  it('work quoted everywhere: CREATE, USE, ARCHIVE, UNARCHIVE, SELECT, readWeights', async () => {
    const d = await db();
    for (const [i, name] of names.entries()) {
      const q = ident(name);
      expect(one(await d.query(`CREATE MODEL ${q} WITH (weights = $1)`, [weights(i)]))).toMatchObject({ model: name, version: 1 });
      expect(one(await d.query(`CREATE MODEL ${q} WITH (weights = $1, active = FALSE)`, [weights(i + 100)]))).toMatchObject({ model: name, version: 2 });
      expect(one(await d.query(`ALTER MODEL ${q} USE VERSION 2`))).toEqual({ model: name, active_version: 2, previous_version: 1 });
      expect(one(await d.query(`ARCHIVE MODEL ${q} VERSION 1`))).toMatchObject({ model: name, archived: 1 });
      expect(one(await d.query(`UNARCHIVE MODEL ${q} VERSION 1`))).toMatchObject({ model: name, active_version: 2 });
      expect(Buffer.from(await d.registry.readWeights(name, 2))).toEqual(weights(i + 100));
    }
    const dashboard = (await d.query('SELECT name, active_version, total_versions FROM ML_MODELS_DASHBOARD')).rows;
    expect(dashboard.map((r) => r.name).sort()).toEqual([...names].sort());
    for (const row of dashboard) expect(row).toMatchObject({ active_version: 2, total_versions: 2 });
    for (const name of names) {
      const { rows } = await d.query(`SELECT model, version FROM ML_MODEL_VERSIONS WHERE model = ${str(name)}`);
      expect(rows).toEqual([{ model: name, version: 1 }, { model: name, version: 2 }]);
      expect(await dashboardRow(d, name)).toMatchObject({ name });
    }
  });

  it('are case-sensitive and plain names are taken as written (including non-reserved keywords)', async () => {
    const d = await db();
    await d.query('CREATE MODEL Spam WITH (weights = $1)', [weights(1)]);
    await d.query('CREATE MODEL spam WITH (weights = $1)', [weights(2)]);
    await d.query('CREATE MODEL spam WITH (weights = $1)', [weights(3)]);
    await d.query("CREATE MODEL model WITH (artifact = 'file:///tmp/model.bin')");
    await d.query("CREATE MODEL version WITH (artifact = 'file:///tmp/v.bin')");
    await d.query("CREATE MODEL détecteur WITH (artifact = 'file:///tmp/d.bin')");
    await d.query('ALTER MODEL model USE VERSION 1');
    await d.query('ARCHIVE MODEL version VERSION 1');
    const dashboard = (await d.query('SELECT name, total_versions FROM ML_MODELS_DASHBOARD ORDER BY name')).rows;
    expect(dashboard).toEqual([
      { name: 'Spam', total_versions: 1 },
      { name: 'détecteur', total_versions: 1 },
      { name: 'model', total_versions: 1 },
      { name: 'spam', total_versions: 2 },
      { name: 'version', total_versions: 1 },
    ]);
    // A quoted name is the same model as the plain spelling of it.
    expect(one(await d.query('CREATE MODEL "Spam" WITH (weights = $1)', [weights(4)])).version).toBe(2);
  });

  it('rejects a reserved word as an unquoted model name with SYNTAX_ERROR and changes nothing', async () => {
    const d = await db();
    await expectFailsUnchanged(d, () => d.query('CREATE MODEL select WITH (weights = $1)', [weights(1)]), 'SYNTAX_ERROR');
    await expectFailsUnchanged(d, () => d.query('CREATE MODEL "" WITH (weights = $1)', [weights(1)]), 'SYNTAX_ERROR');
  });

  it('rejects a name that is not well-formed Unicode (lone surrogate) with INVALID_ARGUMENT and changes nothing', async () => {
    const d = await db();
    await expectFailsUnchanged(d, () => d.query(`CREATE MODEL ${ident('bad\uD800name')} WITH (weights = $1)`, [weights(1)]), 'INVALID_ARGUMENT');
  });

  it('rejects names longer than 256 characters with INVALID_ARGUMENT and changes nothing', async () => {
    const d = await db();
    await expectFailsUnchanged(d, () => d.query(`CREATE MODEL ${ident('x'.repeat(257))} WITH (weights = $1)`, [weights(1)]), 'INVALID_ARGUMENT');
    expect(one(await d.query(`CREATE MODEL ${ident('x'.repeat(256))} WITH (weights = $1)`, [weights(1)])).version).toBe(1);
  });
});
