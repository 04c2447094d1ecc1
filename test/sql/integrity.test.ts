/**
 * CHECK REGISTRY: a clean registry has no problems; each kind of damage, written into
 * a closed folder with classic-level behind modelsql's back, is listed with namespace,
 * key and problem. Also the cheap cross-check on the read path (head.production vs
 * the stage index).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { open, type Database } from '../../src/index.js';
import { sealJson } from '../../src/store/checksum.js';
import { checkIntegrity } from '../../src/store/integrity.js';
import { blobChunkKey, jobQueueKey, modelKey, stageKey, versionKey } from '../../src/store/keys.js';
import { openLevel, type Level } from '../../src/store/level.js';
import { storedJson } from '../helpers/store.js';
import { Resources, expectError, gatedTrainer, memoryDb, waitForJob, weights } from '../helpers/sql.js';

const resources = new Resources();
afterEach(() => resources.cleanup());

const m = modelKey('m');
const big = weights(9, 2 * 1024 * 1024 + 5); // three chunks

/** A registry with versions at every stage, archived and retired ones, schemas, weights and jobs. */
async function populate(db: Database): Promise<{ jobId: string }> {
  await db.query('CREATE MODEL m WITH (weights = $1) SCHEMA (a name, b date) RECORD_COUNT 10', [weights(1)]);
  await db.query('CREATE MODEL m WITH (weights = $1) SCHEMA (a name, c id)', [big]);
  await db.query("CREATE MODEL m WITH (artifact = 's3://x')");
  await db.query('CREATE MODEL m WITH (weights = $1, active = FALSE)', [weights(4)]);
  await db.query('ALTER MODEL m VERSION 1 PROMOTE TO STAGING');
  await db.query('ALTER MODEL m VERSION 1 PROMOTE TO PRODUCTION');
  await db.query('ALTER MODEL m VERSION 2 PROMOTE TO STAGING');
  await db.query('ARCHIVE MODEL m VERSION 3');
  await db.query('RETIRE MODEL m VERSION 4');
  await db.query("SET TENANT 'acme'");
  await db.query('CREATE MODEL m WITH (weights = $1) SCHEMA (a name)', [weights(5)]);
  await db.query('RESET TENANT');
  const trainer = gatedTrainer();
  db.registerTrainer('t', trainer.trainer);
  const queued = await db.query("CREATE MODEL trained WITH (trainer = 't', async = TRUE)");
  const jobId = String(queued.rows[0]!.job_id);
  trainer.release();
  await waitForJob(db, jobId, ['completed']);
  return { jobId };
}

async function populatedFolder(): Promise<{ dir: string; jobId: string }> {
  const dir = await resources.dir();
  const db = await open({ path: dir });
  const { jobId } = await populate(db);
  await db.close();
  return { dir, jobId };
}

/**
 * Damages the closed folder through LevelDB directly, then checks it twice: as
 * `modelsql check` does (the closed folder, no recovery) and with CHECK REGISTRY after
 * open(), which must agree whenever the damage still lets the folder open.
 */
async function checkAfter(dir: string, damage: (level: Level) => Promise<void>): Promise<{ namespace: string; key: string; problem: string }[]> {
  const level = await openLevel({ path: dir });
  const direct = [];
  try {
    await damage(level);
    for await (const found of checkIntegrity(level)) direct.push(found);
  } finally {
    await level.root.close();
  }
  let db: Database;
  try {
    db = resources.track(await open({ path: dir }));
  } catch (error) {
    expect(error).toMatchObject({ code: 'CORRUPTION' }); // e.g. a queue entry naming a missing job
    return direct;
  }
  const result = await db.query('CHECK REGISTRY');
  expect(result.columns).toEqual(['namespace', 'key', 'problem']);
  expect(result.rows).toEqual(direct);
  return direct;
}

async function blobOf(level: Level, key: string): Promise<string> {
  return storedJson(await level.versions.get(key)).blob as string;
}

async function rewrite(level: Level, sublevel: 'models' | 'versions' | 'jobs', key: string, change: (record: Record<string, unknown>) => Record<string, unknown>): Promise<void> {
  await level[sublevel].put(key, sealJson(JSON.stringify(change(storedJson(await level[sublevel].get(key))))));
}

describe('CHECK REGISTRY', () => {
  it('finds nothing wrong with a clean registry, in memory and on disk, while it is in use', async () => {
    const db = await memoryDb();
    await populate(db);
    expect((await db.query('CHECK REGISTRY')).rows).toEqual([]);
    await db.close();
    const { dir } = await populatedFolder();
    expect(await checkAfter(dir, async () => undefined)).toEqual([]);
  });

  it('reports aliases pointing at a missing, archived or retired version, or on a retired model', async () => {
    const dir = await resources.dir();
    const db = await open({ path: dir });
    for (let i = 0; i < 3; i++) await db.query('CREATE MODEL m WITH (weights = $1)', [weights(i)]);
    await db.query('CREATE MODEL r WITH (weights = $1)', [weights(7)]);
    await db.query('ARCHIVE MODEL m VERSION 1');
    await db.query('RETIRE MODEL m VERSION 2');
    await db.query('RETIRE MODEL r');
    await db.close();
    const alias = (version: number) => ({ version, setAt: 1, setBy: null });
    const found = await checkAfter(dir, async (level) => {
      await rewrite(level, 'models', modelKey('m'), (head) => ({ ...head, aliases: { ok: alias(3), gone: alias(9), old: alias(1), dead: alias(2) } }));
      await rewrite(level, 'models', modelKey('r'), (head) => ({ ...head, aliases: { stale: alias(1) } }));
    });
    expect(found.filter((p) => p.problem.includes('alias'))).toEqual([
      { namespace: 'models', key: modelKey('m'), problem: "alias 'dead' points at version 2, which is archived or retired (that drops its aliases)" },
      { namespace: 'models', key: modelKey('m'), problem: "alias 'gone' points at version 9, which does not exist" },
      { namespace: 'models', key: modelKey('m'), problem: "alias 'old' points at version 1, which is archived or retired (that drops its aliases)" },
      { namespace: 'models', key: modelKey('r'), problem: "alias 'stale' points at version 1 of a retired model (retiring drops aliases)" },
    ]);
  });

  it('lists every kind of damage with its namespace and key', async () => {
    let jobId = '';
    const cases: { name: string; damage: (level: Level) => Promise<void>; expected: { namespace: string; key: string; problem: RegExp }[] }[] = [
      {
        name: 'a flipped byte in a version record',
        damage: async (level) => {
          const raw = (await level.versions.get(versionKey(m, 2)))!;
          await level.versions.put(versionKey(m, 2), raw.replace('"stage":"staging"', '"stage":"stagimg"'));
        },
        expected: [{ namespace: 'model_versions', key: versionKey(m, 2), problem: /checksum mismatch/ }],
      },
      {
        name: "the head's counts",
        damage: (level) => rewrite(level, 'models', m, (h) => ({ ...h, latest: 5, archived: 0, active: 3, production: 2 })),
        expected: [
          { namespace: 'models', key: m, problem: /latest version is 5 but versions 1 to 4 exist/ },
          { namespace: 'models', key: m, problem: /counts 0 archived versions but 1/ },
          { namespace: 'models', key: m, problem: /active version 3 is archived/ },
          { namespace: 'models', key: m, problem: /production version is 2 but the version records say 1/ },
        ],
      },
      {
        name: 'a missing version record',
        damage: (level) => level.versions.del(versionKey(m, 3)),
        expected: [
          { namespace: 'model_versions', key: versionKey(m, 3), problem: /version 3 is missing/ },
          { namespace: 'models', key: m, problem: /archived/ },
        ],
      },
      {
        name: 'a missing or spurious stage index entry',
        damage: async (level) => {
          await level.stages.del(stageKey(m, 'production', 1));
          await level.stages.put(stageKey(m, 'staging', 3), '');
          await level.stages.put('nonsense', '');
        },
        expected: [
          { namespace: 'version_stages', key: stageKey(m, 'production', 1), problem: /no entry/ },
          { namespace: 'version_stages', key: stageKey(m, 'staging', 3), problem: /at staging but its record says dev/ },
          { namespace: 'version_stages', key: 'nonsense', problem: /malformed/ },
        ],
      },
      {
        name: 'damaged, missing and orphan weights',
        damage: async (level) => {
          const one = await blobOf(level, versionKey(m, 1));
          const two = await blobOf(level, versionKey(m, 2));
          await level.weights.put(blobChunkKey(one, 0), new Uint8Array([1, 2, 3]));
          await level.weights.del(blobChunkKey(two, 1));
          await level.weights.put(blobChunkKey('f'.repeat(32), 0), new Uint8Array([7]));
        },
        expected: [
          { namespace: 'weights', key: expect.any(String) as never, problem: /do not match the size and SHA-256/ },
          { namespace: 'weights', key: expect.stringMatching(/:000002$/) as never, problem: /expected chunk 1/ },
          { namespace: 'weights', key: 'f'.repeat(32), problem: /1 orphan chunk/ },
        ],
      },
      {
        name: 'schema index entries out of step with the versions',
        damage: async (level) => {
          const [first, second] = await level.fingerprints.keys().all();
          await level.fingerprints.del(first!);
          await level.fingerprints.put(second!, (await level.fingerprints.get(second!))!.replace(/:10,/, ':11,').replace(/^#[0-9a-f]{8}/, '#00000000'));
        },
        expected: [
          { namespace: 'schema_entries', key: expect.any(String) as never, problem: /missing index entry of version/ },
          { namespace: 'schema_entries', key: expect.any(String) as never, problem: /checksum mismatch/ },
          { namespace: 'schema_entries', key: expect.any(String) as never, problem: /stored statistics differ/ },
        ],
      },
      {
        name: 'jobs and the queue disagreeing',
        damage: async (level) => {
          const job = storedJson(await level.jobs.get(jobId));
          await level.jobQueue.put(jobQueueKey(job.createdAt as number, jobId), jobId);
          await level.jobQueue.put(jobQueueKey(1, 'a'.repeat(32)), 'a'.repeat(32));
        },
        expected: [
          { namespace: 'jobs', key: expect.stringMatching(/^[0-9a-f]{32}$/) as never, problem: /completed job is still in the queue/ },
          { namespace: 'job_queue', key: jobQueueKey(1, 'a'.repeat(32)), problem: /does not exist/ },
        ],
      },
      {
        name: 'malformed keys and a version without a head',
        damage: async (level) => {
          await level.models.put('no-colon', (await level.models.get(m))!);
          await level.versions.put(versionKey(modelKey('ghost'), 1), (await level.versions.get(versionKey(m, 3)))!);
          await level.versions.put(`${m}:12`, '{}');
          await level.meta.put('extra', '1');
        },
        expected: [
          { namespace: 'meta', key: 'extra', problem: /unknown key/ },
          { namespace: 'models', key: 'no-colon', problem: /malformed model key/ },
          { namespace: 'model_versions', key: versionKey(modelKey('ghost'), 1), problem: /no head/ },
          { namespace: 'model_versions', key: `${m}:12`, problem: /malformed version key/ },
        ],
      },
    ];
    for (const { name, damage, expected } of cases) {
      const fresh = await populatedFolder();
      jobId = fresh.jobId;
      const rows = await checkAfter(fresh.dir, damage);
      for (const row of expected) expect(rows, name).toContainEqual(expect.objectContaining({ ...row, problem: expect.stringMatching(row.problem) }));
      await resources.cleanup();
    }
  });

  it('an upload marker naming a referenced blob is no problem: recovery keeps a referenced blob', async () => {
    const { dir } = await populatedFolder();
    const level = await openLevel({ path: dir });
    let blob: string;
    try {
      blob = await blobOf(level, versionKey(m, 1));
      await level.uploads.put(`${blob}:${'a'.repeat(32)}`, '1');
      const found = [];
      for await (const p of checkIntegrity(level)) found.push(p);
      expect(found).toEqual([]);
    } finally {
      await level.root.close();
    }
    const db = resources.track(await open({ path: dir }));
    expect((await db.query('CHECK REGISTRY')).rows).toEqual([]);
    expect((await db.registry.readWeights('m', 1)).length).toBe(weights(1).length);
  });

  it('understands shared blobs: one blob for identical bytes, dangling and missing references, and shared bytes that mismatch', async () => {
    const dir = await resources.dir();
    const db = await open({ path: dir });
    for (const model of ['a', 'b', 'c']) await db.query(`CREATE MODEL ${model} WITH (weights = $1)`, [weights(7)]);
    expect((await db.query('CHECK REGISTRY')).rows).toEqual([]);
    await db.close();
    const rows = await checkAfter(dir, async (level) => {
      const blob = await blobOf(level, versionKey(modelKey('a'), 1));
      expect(await blobOf(level, versionKey(modelKey('c'), 1))).toBe(blob);
      expect(await level.weights.keys().all()).toEqual([blobChunkKey(blob, 0)]);
      await level.weightRefs.del(`${blob}:${versionKey(modelKey('b'), 1)}`);
      await level.weightRefs.put(`${blob}:${versionKey(modelKey('ghost'), 1)}`, '');
      await level.weights.put(blobChunkKey(blob, 0), new Uint8Array(weights(8)));
    });
    const blob = rows.find((row) => row.namespace === 'weights')?.key;
    const mismatch = (model: string) => ({ namespace: 'weights', key: blob, problem: expect.stringMatching(new RegExp(`do not match .* '${versionKey(modelKey(model), 1)}'`)) });
    expect(rows).toEqual([
      mismatch('a'),
      { namespace: 'weight_refs', key: `${blob}:${versionKey(modelKey('b'), 1)}`, problem: expect.stringMatching(/reference index has no entry/) },
      mismatch('b'),
      mismatch('c'),
      { namespace: 'weight_refs', key: `${blob}:${versionKey(modelKey('ghost'), 1)}`, problem: expect.stringMatching(/dangling reference: version record .* does not exist/) },
    ]);
  });

  it('reports a content blob not marked as stored whole, and a mark whose chunks are gone', async () => {
    const dir = await resources.dir();
    const db = await open({ path: dir });
    await db.query('CREATE MODEL a WITH (weights = $1)', [weights(7)]);
    await db.close();
    const ghost = 'f'.repeat(64);
    const rows = await checkAfter(dir, async (level) => {
      const blob = await blobOf(level, versionKey(modelKey('a'), 1));
      expect(await level.blobs.get(blob)).toBe('1');
      await level.blobs.del(blob);
      await level.blobs.put(ghost, '2');
    });
    expect(rows).toEqual([
      { namespace: 'blobs', key: expect.stringMatching(/^[0-9a-f]{64}$/), problem: expect.stringMatching(/not marked as stored whole with 1 chunks/) },
      { namespace: 'blobs', key: ghost, problem: expect.stringMatching(/chunk 1 is missing/) },
    ]);
  });

  it('finds orphan chunks with a bounded set of blob ids, partition by partition', async () => {
    const db = await memoryDb();
    for (let i = 0; i < 40; i++) await db.query('CREATE MODEL m WITH (weights = $1)', [weights(i)]);
    const level = (db as unknown as { core: { level: Level } }).core.level;
    await level.weights.put(blobChunkKey('0'.repeat(32), 0), new Uint8Array([1]));
    await level.weights.put(blobChunkKey('f'.repeat(32), 3), new Uint8Array([1]));
    const found = [];
    for await (const p of checkIntegrity(level, { blobSetLimit: 4 })) found.push(p);
    expect(found.map((p) => p.key)).toEqual(['0'.repeat(32), 'f'.repeat(32)]);
    await db.close();
  });

  it('splits the blob id space into ceil(references / (limit / 2)) ranges: one pass over the versions per range, not 16^digits', async () => {
    const db = await memoryDb();
    for (let i = 0; i < 40; i++) await db.query('CREATE MODEL m WITH (weights = $1)', [weights(i)]);
    const level = (db as unknown as { core: { level: Level } }).core.level;
    await level.weights.put(blobChunkKey('0'.repeat(32), 0), new Uint8Array([1]));
    await level.weights.put(blobChunkKey('f'.repeat(32), 3), new Uint8Array([1]));
    // Count the walks over all versions (the model walk reads one model's range at a time).
    let fullScans = 0;
    const iterator = level.versions.iterator.bind(level.versions);
    level.versions.iterator = ((options?: { gt?: string; gte?: string }) => {
      if (options?.gt === undefined && options?.gte === undefined) fullScans++;
      return iterator(options as never);
    }) as never;
    const found = [];
    for await (const p of checkIntegrity(level, { blobSetLimit: 4 })) found.push(p);
    expect(found.map((p) => p.key)).toEqual(['0'.repeat(32), 'f'.repeat(32)]);
    // 40 references, 2 per range: 20 ranges, plus the pass that counts them.
    expect(fullScans).toBe(1 + 20);
    await db.close();
  });

  it('cuts the blob id space into equal, adjoining, open-ended ranges', async () => {
    const { blobIdRanges } = await import('../../src/store/integrity.js');
    expect(blobIdRanges(1)).toEqual([{}]);
    expect(blobIdRanges(4)).toEqual([{ lt: '4' }, { gte: '4', lt: '8' }, { gte: '8', lt: 'c' }, { gte: 'c' }]);
    const ranges = blobIdRanges(20);
    expect(ranges).toHaveLength(20);
    const bounds = ranges.slice(1).map((r) => parseInt(r.gte!, 16));
    expect(ranges.slice(0, -1).map((r) => r.lt)).toEqual(ranges.slice(1).map((r) => r.gte));
    const widths = [...bounds, 256].map((b, i) => b - (i === 0 ? 0 : bounds[i - 1]!));
    expect(Math.max(...widths) - Math.min(...widths)).toBeLessThanOrEqual(1);
  });

  it('reports the same with and without partitions: a headless version still references its blob, and a malformed chunk key is found', async () => {
    const db = await memoryDb();
    for (let i = 0; i < 6; i++) await db.query('CREATE MODEL m WITH (weights = $1)', [weights(i)]);
    await db.query('CREATE MODEL headless WITH (weights = $1)', [weights(99)]);
    const level = (db as unknown as { core: { level: Level } }).core.level;
    await level.models.del(modelKey('headless'));
    await level.weights.put('zz-not-a-chunk', new Uint8Array([1]));
    await level.weights.put(blobChunkKey('0'.repeat(32), 0), new Uint8Array([1]));
    const report = async (options: { blobSetLimit?: number }) => {
      const found = [];
      for await (const p of checkIntegrity(level, options)) found.push(p);
      return found;
    };
    const whole = await report({});
    expect(whole.map((p) => [p.namespace, p.key])).toEqual([
      ['model_versions', versionKey(modelKey('headless'), 1)],
      ['weights', '0'.repeat(32)],
      ['weights', 'zz-not-a-chunk'],
    ]);
    expect(await report({ blobSetLimit: 2 })).toEqual(whole);
    await db.close();
  });

  it('reports a missing posting once for its scope and schema, not once per version that has the schema', async () => {
    const db = await memoryDb();
    for (let i = 0; i < 5; i++) await db.query('CREATE MODEL m WITH (artifact = $1) SCHEMA (a name, b date)', [`s3://${i}`]);
    await db.query("SET TENANT 'acme'");
    await db.query("CREATE MODEL m WITH (artifact = 's3://t') SCHEMA (a name, b date)");
    await db.query('RESET TENANT');
    const level = (db as unknown as { core: { level: Level } }).core.level;
    const postings = await level.schemaTokens.keys().all();
    const globalPosting = postings.find((key) => key.startsWith(':a:'))!;
    await level.schemaTokens.del(globalPosting);
    const found = [];
    for await (const p of checkIntegrity(level)) found.push(p);
    expect(found).toEqual([{ namespace: 'schema_postings', key: globalPosting, problem: expect.stringMatching(/missing posting/) }]);
    await db.close();
  });

  it('is refused in a tenant session: it reports every tenant\'s keys', async () => {
    const db = await memoryDb();
    await expectError(db.withTenant('acme').query('CHECK REGISTRY'), 'PERMISSION_DENIED');
    await db.query("SET TENANT 'acme'");
    await expectError(db.query('CHECK REGISTRY'), 'PERMISSION_DENIED');
    await db.close();
  });
});

describe('read paths cross-check the stage index', () => {
  it("a lost production index entry is CORRUPTION from latestAtStage, not a null that contradicts the head", async () => {
    const { dir } = await populatedFolder();
    const level = await openLevel({ path: dir });
    await level.stages.del(stageKey(m, 'production', 1));
    await level.root.close();
    const db = resources.track(await open({ path: dir }));
    const error = await expectError(db.registry.latestAtStage('m', 'production'), 'CORRUPTION', /stage index has no entry/);
    expect(error).toMatchObject({ namespace: 'version_stages', key: stageKey(m, 'production', 1) });
  });
});
