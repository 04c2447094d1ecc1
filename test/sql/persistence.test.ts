/**
 * On-disk registries: everything survives close/reopen byte for byte, the folder lock,
 * the closed state, and corrupt records reported as CORRUPTION.
 */
import { ClassicLevel } from 'classic-level';
import { afterEach, describe, expect, it } from 'vitest';
import { storedJson } from '../helpers/store.js';
import { open, type Database } from '../../src/index.js';
import {
  Resources, deferred, expectError, jobRow, one, sha256, snapshot, versionNumbers, waitForJob, weights,
} from '../helpers/sql.js';

const resources = new Resources();
afterEach(() => resources.cleanup());

/** Opens the raw LevelDB folder (the registry must be closed). */
async function raw(dir: string): Promise<ClassicLevel<string, string>> {
  const level = new ClassicLevel<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  await level.open();
  return level;
}

async function populate(db: Database): Promise<Buffer[]> {
  const blobs = [weights(1, 10), weights(2, 3000), Buffer.alloc(0), weights(4, 1)];
  await db.query(`CREATE MODEL spam WITH (weights = $1, hyperparams = '{"lr":0.01}', metrics = '{"f1":0.9}', training_sql = 'SELECT 1', training_data_hash = 'h1', description = 'first')`, [blobs[0]]);
  await db.query('CREATE MODEL spam FROM VERSION 1 WITH (weights = $1, metrics = $2, created_by = $3)', [blobs[1], { f1: 0.95, per_class: [0.9, 1] }, 'bob']);
  await db.query('CREATE MODEL spam WITH (weights = $1, active = FALSE)', [blobs[2]]);
  await db.query("CREATE MODEL spam WITH (artifact = 's3://bucket/spam/4.onnx')");
  await db.query('CREATE MODEL "team.ham v2" WITH (weights = $1)', [blobs[3]]);
  await db.query('ARCHIVE MODEL spam VERSION 1');
  await db.query('ALTER MODEL spam USE VERSION 3');
  await db.query('ALTER MODEL spam USE VERSION 2'); // rollback
  await db.query('ARCHIVE MODEL "team.ham v2"');
  return blobs;
}

describe('persistence', () => {
  it('dashboard, every version row and the weights read back identically after reopening', async () => {
    const dir = await resources.dir();
    const first = await open({ path: dir, createdBy: 'alice' });
    const blobs = await populate(first);
    const before = await snapshot(first);
    await first.close();

    const second = resources.track(await open({ path: dir }));
    const after = await snapshot(second);
    expect(after).toEqual(before);
    expect(after.dashboard.map((r) => [r.name, r.active_version, r.total_versions, r.archived_versions, r.latest_version])).toEqual([
      ['spam', 2, 4, 1, 4],
      ['team.ham v2', null, 1, 1, 1],
    ]);
    const spam = after.versions.filter((r) => r.model === 'spam');
    expect(spam.map((r) => [r.version, r.active, r.archived, r.parent_version, r.created_by])).toEqual([
      [1, false, true, null, 'alice'],
      [2, true, false, 1, 'bob'],
      [3, false, false, null, 'alice'],
      [4, false, false, null, 'alice'],
    ]);
    expect(spam[0]).toMatchObject({ hyperparams: { lr: 0.01 }, metrics: { f1: 0.9 }, training_sql: 'SELECT 1', training_data_hash: 'h1', description: 'first' });
    expect(spam[1]).toMatchObject({ metrics: { f1: 0.95, per_class: [0.9, 1] }, sha256: sha256(blobs[1]!) });
    expect(spam[3]).toMatchObject({ artifact: 's3://bucket/spam/4.onnx', sha256: null });
    for (const [version, blob] of [[1, blobs[0]], [2, blobs[1]], [3, blobs[2]]] as const) {
      expect(Buffer.from(await second.registry.readWeights('spam', version))).toEqual(blob);
    }
    expect(Buffer.from(await second.registry.readWeights('team.ham v2', 1))).toEqual(blobs[3]);
    // The state keeps working: the next version continues the numbering, rollback works.
    expect(one(await second.query('CREATE MODEL spam WITH (weights = $1)', [weights(5)])).version).toBe(5);
    await second.query('ALTER MODEL spam USE VERSION 2');
    expect((await second.registry.getActive('spam'))?.version).toBe(2);
  });

  it('large weights (several 1 MiB chunks) survive reopening byte for byte', async () => {
    const dir = await resources.dir();
    const big = Buffer.alloc(2.5 * 1024 * 1024 + 7);
    for (let i = 0; i < big.length; i++) big[i] = (i * 131 + 17) & 0xff;
    const first = await open({ path: dir });
    expect(one(await first.query('CREATE MODEL big WITH (weights = $1)', [big])).sha256).toBe(sha256(big));
    await first.close();
    const second = resources.track(await open({ path: dir }));
    const back = Buffer.from(await second.registry.readWeights('big', 1));
    expect(back.length).toBe(big.length);
    expect(back.equals(big)).toBe(true);
    expect(one(await second.query("SELECT size_bytes, sha256 FROM ML_MODEL_VERSIONS WHERE model = 'big'"))).toEqual({ size_bytes: big.length, sha256: sha256(big) });
  });

  it('a Buffer the app reuses right after calling query() does not change the stored version', async () => {
    const dir = await resources.dir();
    const db = await open({ path: dir });
    const buffer = weights(3, 64);
    const original = Buffer.from(buffer);
    const pending = db.query('CREATE MODEL m WITH (weights = $1)', [buffer]);
    buffer.fill(0); // e.g. a pooled buffer reused for the next request
    expect(one(await pending).sha256).toBe(sha256(original));
    await db.close();
    const reopened = resources.track(await open({ path: dir }));
    expect(Buffer.from(await reopened.registry.readWeights('m', 1))).toEqual(original);
  });

  it('with sync = TRUE commits survive reopening too', async () => {
    const dir = await resources.dir();
    const first = await open({ path: dir, sync: true });
    await first.query('CREATE MODEL m WITH (weights = $1)', [weights(1)]);
    await first.close();
    const second = resources.track(await open({ path: dir }));
    expect(await versionNumbers(second, 'm')).toEqual([1]);
  });

  it('opening a folder that is already open is DATABASE_LOCKED naming the path; the first handle keeps working', async () => {
    const dir = await resources.dir();
    const first = resources.track(await open({ path: dir }));
    await first.query('CREATE MODEL m WITH (weights = $1)', [weights(1)]);
    const error = await expectError(open({ path: dir }), 'DATABASE_LOCKED');
    expect(error.message).toContain(dir);
    expect(error.path).toBe(dir);
    expect(one(await first.query('CREATE MODEL m WITH (weights = $1)', [weights(2)])).version).toBe(2);
    await first.close();
    const second = resources.track(await open({ path: dir }));
    expect(await versionNumbers(second, 'm')).toEqual([1, 2]);
  });

  it('after close(), every call is CLOSED', async () => {
    const dir = await resources.dir();
    const db = await open({ path: dir });
    await db.query('CREATE MODEL m WITH (weights = $1)', [weights(1)]);
    await db.close();
    expect(db.closed).toBe(true);
    await expectError(db.query('SELECT * FROM ML_MODELS_DASHBOARD'), 'CLOSED');
    await expectError(db.query('CREATE MODEL m WITH (weights = $1)', [weights(2)]), 'CLOSED');
    await expectError(db.exec('SELECT * FROM ML_JOBS'), 'CLOSED');
    await expectError(db.registry.getActive('m'), 'CLOSED');
    await expectError(db.registry.summaries(), 'CLOSED');
    await expectError(db.registry.readWeights('m', 1), 'CLOSED');
    await expectError(db.registry.registerVersion('m', { weights: weights(3) }), 'CLOSED');
    await expectError(db.jobs.list(), 'CLOSED');
    await expectError(Promise.resolve().then(() => db.registerTrainer('t', () => ({ weights: weights(1) }))), 'CLOSED');
    // close() again is fine.
    await db.close();
    // Nothing was written after close.
    const reopened = resources.track(await open({ path: dir }));
    expect(await versionNumbers(reopened, 'm')).toEqual([1]);
  });

  it('close() waits for in-flight CREATEs to finish; they are there after reopening', async () => {
    const dir = await resources.dir();
    const db = await open({ path: dir });
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    const pending = [
      db.query('CREATE MODEL m WITH (weights = $1)', [big]),
      db.query('CREATE MODEL m WITH (weights = $1)', [weights(2)]),
      db.query('CREATE MODEL other WITH (weights = $1)', [weights(3)]),
    ];
    const closing = db.close();
    await expectError(db.query('SELECT * FROM ML_JOBS'), 'CLOSED');
    const results = await Promise.all(pending);
    await closing;
    expect(results.map((r) => [one(r).model, one(r).version])).toEqual([['m', 1], ['m', 2], ['other', 1]]);
    const reopened = resources.track(await open({ path: dir }));
    expect(await versionNumbers(reopened, 'm')).toEqual([1, 2]);
    expect(await versionNumbers(reopened, 'other')).toEqual([1]);
    expect(Buffer.from(await reopened.registry.readWeights('m', 1)).equals(big)).toBe(true);
  });

  it('close() waits for a running train job; its version is there after reopening', async () => {
    const dir = await resources.dir();
    const gate = deferred();
    const started = deferred();
    const db = await open({
      path: dir,
      trainers: {
        slow: async () => {
          started.resolve();
          await gate.promise;
          return { weights: weights(8), metrics: { f1: 1 } };
        },
      },
    });
    const { job_id } = one(await db.query("CREATE MODEL m WITH (trainer = 'slow', async = TRUE)"));
    await started.promise;
    let closed = false;
    const closing = db.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(closed).toBe(false);
    gate.resolve();
    await closing;
    const reopened = resources.track(await open({ path: dir }));
    expect(await jobRow(reopened, job_id as string)).toMatchObject({ status: 'completed', version: 1 });
    expect(await versionNumbers(reopened, 'm')).toEqual([1]);
  });
});

describe('open() arguments', () => {
  it('needs exactly one of path and memory, and valid options (INVALID_ARGUMENT)', async () => {
    const dir = await resources.dir();
    await expectError(open({}), 'INVALID_ARGUMENT');
    await expectError(open({ path: dir, memory: true }), 'INVALID_ARGUMENT');
    await expectError(open({ path: '' }), 'INVALID_ARGUMENT');
    await expectError(open({ memory: true, jobConcurrency: 0 }), 'INVALID_ARGUMENT');
    await expectError(open({ memory: true, createdBy: 5 as unknown as string }), 'INVALID_ARGUMENT');
    await expectError(open(null as unknown as { memory: true }), 'INVALID_ARGUMENT');
    // The folder was not locked by the failed attempt.
    const db = resources.track(await open({ path: dir }));
    expect(db.path).toBe(dir);
  });
});

describe('corruption is reported, never skipped', () => {
  async function corruptAndReopen(mutate: (level: ClassicLevel<string, string>) => Promise<void>): Promise<Database> {
    const dir = await resources.dir();
    const db = await open({ path: dir });
    await db.query('CREATE MODEL m WITH (weights = $1)', [weights(1)]);
    await db.query('CREATE MODEL m WITH (weights = $1)', [weights(2)]);
    await db.query('CREATE MODEL n WITH (weights = $1)', [weights(3)]);
    await db.close();
    const level = await raw(dir);
    try {
      await mutate(level);
    } finally {
      await level.close();
    }
    return resources.track(await open({ path: dir }));
  }

  it('a damaged head record (models namespace) makes SELECT fail with CORRUPTION naming namespace and key', async () => {
    const db = await corruptAndReopen(async (level) => {
      expect(await level.get('!models!:m')).toBeDefined();
      await level.put('!models!:m', '{"active":1,"latest":');
    });
    const error = await expectError(db.query('SELECT * FROM ML_MODELS_DASHBOARD'), 'CORRUPTION');
    expect(error).toMatchObject({ namespace: 'models', key: ':m' });
    expect(error.message).toContain("'models'");
    expect(error.message).toContain("':m'");
    await expectError(db.query("SELECT * FROM ML_MODELS_DASHBOARD WHERE name = 'm'"), 'CORRUPTION');
    await expectError(db.query("SELECT * FROM ML_MODEL_VERSIONS WHERE model = 'm'"), 'CORRUPTION');
    await expectError(db.query('ALTER MODEL m USE VERSION 1'), 'CORRUPTION');
    await expectError(db.query('CREATE MODEL m WITH (weights = $1)', [weights(9)]), 'CORRUPTION');
    // Other models are still readable.
    expect(one(await db.query("SELECT name, latest_version FROM ML_MODELS_DASHBOARD WHERE name = 'n'"))).toEqual({ name: 'n', latest_version: 1 });
  });

  it('a head record with a field of the wrong type is CORRUPTION', async () => {
    const db = await corruptAndReopen(async (level) => {
      const head = storedJson(await level.get('!models!:m'));
      await level.put('!models!:m', JSON.stringify({ ...head, latest: 'two' }));
    });
    const error = await expectError(db.query('SELECT * FROM ML_MODELS_DASHBOARD'), 'CORRUPTION', /latest/);
    expect(error).toMatchObject({ namespace: 'models', key: ':m' });
  });

  it('a damaged version record (model_versions namespace) is CORRUPTION naming namespace and key', async () => {
    const db = await corruptAndReopen(async (level) => {
      await level.put('!model_versions!:m:0000000002', 'not json at all');
    });
    const error = await expectError(db.query('SELECT * FROM ML_MODEL_VERSIONS'), 'CORRUPTION');
    expect(error).toMatchObject({ namespace: 'model_versions', key: ':m:0000000002' });
    expect(error.message).toContain("'model_versions'");
    expect(error.message).toContain("':m:0000000002'");
    await expectError(db.query("SELECT * FROM ML_MODEL_VERSIONS WHERE model = 'm' AND version = 2"), 'CORRUPTION');
    // The dashboard only needs head records.
    expect((await db.query('SELECT name FROM ML_MODELS_DASHBOARD')).rowCount).toBe(2);
  });

  it('weights that no longer match their SHA-256 are CORRUPTION on read', async () => {
    const db = await corruptAndReopen(async (level) => {
      const weightsLevel = level.sublevel<string, Uint8Array>('weights', { keyEncoding: 'utf8', valueEncoding: 'view' });
      const record = await level.sublevel<string, string>('model_versions', { keyEncoding: 'utf8', valueEncoding: 'utf8' }).get(':m:0000000001');
      const { blob } = storedJson(record) as { blob: string };
      await weightsLevel.put(`${blob}:000000`, new Uint8Array(16));
    });
    const error = await expectError(db.registry.readWeights('m', 1), 'CORRUPTION');
    expect(error).toMatchObject({ namespace: 'weights', model: 'm', version: 1 });
    expect(Buffer.from(await db.registry.readWeights('m', 2))).toEqual(weights(2));
  });

  it('a damaged job record is CORRUPTION naming the jobs namespace', async () => {
    const dir = await resources.dir();
    const db = await open({ path: dir, trainers: { t: () => ({ weights: weights(1) }) } });
    const { job_id } = one(await db.query("CREATE MODEL m WITH (trainer = 't', async = TRUE)"));
    await waitForJob(db, job_id as string);
    await db.close();
    const level = await raw(dir);
    await level.put(`!jobs!${String(job_id)}`, '{"id":');
    await level.close();
    const reopened = resources.track(await open({ path: dir }));
    const error = await expectError(reopened.query('SELECT * FROM ML_JOBS'), 'CORRUPTION');
    expect(error).toMatchObject({ namespace: 'jobs', key: job_id });
  });
});
