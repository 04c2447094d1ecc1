/**
 * Storage format upgrades: a folder written by the format-1 modelsql (before stages,
 * tenants, retire, catalog and schemas) opens, reads with defaults and takes the new
 * statements; a folder from a newer modelsql is refused, untouched.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { storedJson } from '../helpers/store.js';
import { open } from '../../src/index.js';
import { openLevel, type Level, type TextSublevel } from '../../src/store/level.js';
import { STORE_FORMAT } from '../../src/store/records.js';
import { Resources, one, sha256, weights } from '../helpers/sql.js';
import { sealJson } from '../../src/store/checksum.js';
import { checkIntegrity } from '../../src/store/integrity.js';
import { blobChunkKey, modelKey, versionKey } from '../../src/store/keys.js';

const resources = new Resources();
afterEach(() => resources.cleanup());

/** Fields format 2 added; a format-1 record has none of them. */
const ADDED = {
  head: ['retired', 'production'],
  version: ['stage', 'promotedAt', 'retired', 'modelType', 'task', 'backend', 'baseModel', 'baseVersion', 'config', 'schema', 'schemaHash'],
  job: ['tenant'],
};

async function rewrite(sublevel: TextSublevel, drop: readonly string[]): Promise<number> {
  let n = 0;
  for await (const [key, value] of sublevel.iterator()) {
    const record = storedJson(value) as Record<string, unknown>;
    for (const field of drop) {
      expect(field in record).toBe(true); // the test must strip fields that format 2 really writes
      delete record[field];
    }
    await sublevel.put(key, JSON.stringify(record));
    n++;
  }
  return n;
}

/** Turns a freshly written folder into what format 1 wrote: old record shapes, no format marker, no new namespaces. */
async function downgradeToFormat1(dir: string): Promise<void> {
  const level: Level = await openLevel({ path: dir });
  try {
    expect(await rewrite(level.models, ADDED.head)).toBeGreaterThan(0);
    expect(await rewrite(level.versions, ADDED.version)).toBeGreaterThan(0);
    expect(await rewrite(level.jobs, ADDED.job)).toBeGreaterThan(0);
    await level.meta.clear();
    await level.stages.clear();
  } finally {
    await level.root.close();
  }
}

describe('storage format', () => {
  it('a new folder is marked with the current format', async () => {
    const dir = await resources.dir();
    const db = await open({ path: dir });
    await db.close();
    const level = await openLevel({ path: dir });
    expect(await level.meta.get('format')).toBe(String(STORE_FORMAT));
    await level.root.close();
  });

  it('a format-1 folder opens, reads with defaults, takes the new statements and is then marked current', async () => {
    const dir = await resources.dir();
    const first = await open({ path: dir, createdBy: 'alice', trainers: { quick: () => ({ weights: weights(9, 4) }) } });
    await first.query('CREATE MODEL spam WITH (weights = $1)', [weights(1, 8)]);
    await first.query('CREATE MODEL spam WITH (weights = $1)', [weights(2, 8)]);
    await first.query("CREATE MODEL ham WITH (trainer = 'quick')");
    await first.close();
    await downgradeToFormat1(dir);

    const db = resources.track(await open({ path: dir }));
    const dashboard = await db.query('SELECT name, active_version, production_version, retired, tenant FROM ML_MODELS_DASHBOARD');
    expect(dashboard.rows).toEqual([
      { name: 'ham', active_version: 1, production_version: null, retired: false, tenant: null },
      { name: 'spam', active_version: 2, production_version: null, retired: false, tenant: null },
    ]);
    const versions = await db.query("SELECT version, stage, promoted_at, retired, task, base_model, schema_hash, tenant FROM ML_MODEL_VERSIONS WHERE model = 'spam'");
    expect(versions.rows).toEqual([1, 2].map((version) => ({ version, stage: 'dev', promoted_at: null, retired: false, task: null, base_model: null, schema_hash: null, tenant: null })));
    expect((await db.jobs.list()).map((job) => job.tenant)).toEqual([null]);

    await db.query('ALTER MODEL spam VERSION 2 PROMOTE TO STAGING');
    await db.query('ALTER MODEL spam VERSION 2 PROMOTE TO PRODUCTION');
    await db.query('RETIRE MODEL ham');
    expect((await db.query('SELECT name, production_version FROM ML_MODELS_DASHBOARD')).rows).toEqual([{ name: 'spam', production_version: 2 }]);
    await db.close();

    const level = await openLevel({ path: dir });
    expect(await level.meta.get('format')).toBe(String(STORE_FORMAT));
    await level.root.close();
  });

  it('a folder from a newer modelsql is refused with UNSUPPORTED_FORMAT and left untouched', async () => {
    const dir = await resources.dir();
    const db = await open({ path: dir });
    await db.query('CREATE MODEL spam WITH (weights = $1)', [weights(1, 8)]);
    await db.close();
    const level = await openLevel({ path: dir });
    await level.meta.put('format', String(STORE_FORMAT + 1));
    await level.root.close();

    await expect(open({ path: dir })).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT', message: expect.stringContaining(`format ${STORE_FORMAT + 1}`) });
    const after = await openLevel({ path: dir });
    expect(await after.meta.get('format')).toBe(String(STORE_FORMAT + 1));
    await after.root.close();
  });

  it('a version record missing a field format 1 already had is still CORRUPTION', async () => {
    const dir = await resources.dir();
    const db = await open({ path: dir });
    await db.query('CREATE MODEL spam WITH (weights = $1)', [weights(1, 8)]);
    await db.close();
    const level = await openLevel({ path: dir });
    await rewrite(level.versions, ['sha256']);
    await level.root.close();
    const reopened = resources.track(await open({ path: dir }));
    await expect(reopened.query('SELECT * FROM ML_MODEL_VERSIONS')).rejects.toMatchObject({ code: 'CORRUPTION', namespace: 'model_versions' });
  });
});

describe('format 3 → 4: weights stored once per content', () => {
  /**
   * What format 3 wrote: each version's bytes under its own random 32-hex blob id (even
   * identical ones), no `weight_refs`, a bare `<blob>` upload marker, and format 3.
   */
  async function writeFormat3(dir: string, data: Buffer): Promise<{ blobs: string[]; orphan: string }> {
    const level = await openLevel({ path: dir });
    try {
      const blobs: string[] = [];
      let n = 0;
      for (const model of ['a', 'b']) {
        const blob = `${String(n++).repeat(32)}`.slice(0, 32);
        blobs.push(blob);
        const record = {
          archived: false, sha256: sha256(data), sizeBytes: data.length, blob, chunks: 1, artifact: null, hyperparams: null, metrics: null,
          trainingSql: null, trainingDataHash: null, parentVersion: null, createdAt: 1000, createdBy: null, description: null, jobId: null,
          stage: 'dev', promotedAt: null, retired: false, modelType: null, task: null, backend: null, baseModel: null, baseVersion: null,
          config: null, schema: null, schemaHash: null,
        };
        const head = { active: 1, latest: 1, archived: 0, createdAt: 1000, updatedAt: 1000, retired: false, production: null };
        await level.models.put(modelKey(model), sealJson(JSON.stringify(head)));
        await level.versions.put(versionKey(modelKey(model), 1), sealJson(JSON.stringify(record)));
        await level.weights.put(blobChunkKey(blob, 0), new Uint8Array(data));
      }
      const orphan = 'e'.repeat(32);
      await level.weights.put(blobChunkKey(orphan, 0), new Uint8Array([1, 2, 3]));
      await level.uploads.put(orphan, '1000');
      await level.meta.put('format', '3');
      return { blobs, orphan };
    } finally {
      await level.root.close();
    }
  }

  it('a format-3 folder opens: its weights still read, get their references, its crashed upload is cleaned up, and it is marked 4', async () => {
    const dir = await resources.dir();
    const data = weights(3, 100);
    const { blobs, orphan } = await writeFormat3(dir, data);
    const db = resources.track(await open({ path: dir }));
    expect(Buffer.from(await db.registry.readWeights('a', 1)).equals(data)).toBe(true);
    expect(Buffer.from(await db.registry.readWeights('b', 1)).equals(data)).toBe(true);
    expect((await db.query('CHECK REGISTRY')).rows).toEqual([]);
    // New versions store content once, next to the old random-id blobs.
    await db.query('CREATE MODEL a WITH (weights = $1)', [data]);
    await db.query('CREATE MODEL b WITH (weights = $1)', [data]);
    expect((await db.query('CHECK REGISTRY')).rows).toEqual([]);
    await db.close();
    const level = await openLevel({ path: dir });
    expect(await level.meta.get('format')).toBe(String(STORE_FORMAT));
    expect(await level.uploads.keys().all()).toEqual([]);
    expect((await level.weights.keys().all()).sort()).toEqual([...blobs, sha256(data)].map((blob) => blobChunkKey(blob, 0)).sort());
    expect(await level.weights.get(blobChunkKey(orphan, 0))).toBeUndefined();
    expect(await level.weightRefs.keys().all()).toEqual(
      [`${blobs[0]}:${versionKey(modelKey('a'), 1)}`, `${blobs[1]}:${versionKey(modelKey('b'), 1)}`, `${sha256(data)}:${versionKey(modelKey('a'), 2)}`, `${sha256(data)}:${versionKey(modelKey('b'), 2)}`].sort(),
    );
    await level.root.close();
  });

  it('modelsql check of a format-3 folder (no upgrade) expects no references', async () => {
    const dir = await resources.dir();
    await writeFormat3(dir, weights(3, 100));
    const level = await openLevel({ path: dir });
    try {
      const found = [];
      for await (const p of checkIntegrity(level)) found.push(p);
      expect(found).toEqual([]);
      expect(await level.weightRefs.keys().all()).toEqual([]);
    } finally {
      await level.root.close();
    }
  });
});

describe('format 3 (before the event log, aliases and tags)', () => {
  /** Turns a fresh folder into what format 3 wrote: sealed records without aliases and tags, no event log. */
  async function downgradeToFormat3(dir: string): Promise<void> {
    const level: Level = await openLevel({ path: dir });
    try {
      for (const [sublevel, drop] of [[level.models, ['aliases', 'tags']], [level.versions, ['tags']]] as const) {
        for await (const [key, value] of sublevel.iterator()) {
          const record = storedJson(value) as Record<string, unknown>;
          for (const field of drop) {
            expect(field in record).toBe(true);
            delete record[field];
          }
          await sublevel.put(key, sealJson(JSON.stringify(record)));
        }
      }
      await Promise.all([level.events.clear(), level.modelEvents.clear(), level.scopeEvents.clear()]);
      await level.meta.put('format', '3');
    } finally {
      await level.root.close();
    }
  }

  it('opens with no aliases, no tags and an empty log, takes the new statements, and is marked current', async () => {
    const dir = await resources.dir();
    const first = await open({ path: dir });
    await first.query('CREATE MODEL spam WITH (weights = $1)', [weights(1, 8)]);
    await first.query('CREATE MODEL spam WITH (weights = $1)', [weights(2, 8)]);
    await first.close();
    await downgradeToFormat3(dir);

    const db = resources.track(await open({ path: dir }));
    expect((await db.query('SELECT name, active_version, aliases, tags FROM ML_MODELS_DASHBOARD')).rows).toEqual([{ name: 'spam', active_version: 2, aliases: {}, tags: {} }]);
    expect((await db.query('SELECT version, aliases, tags FROM ML_MODEL_VERSIONS')).rows).toEqual([1, 2].map((version) => ({ version, aliases: [], tags: {} })));
    expect((await db.query('SELECT * FROM ML_MODEL_EVENTS')).rowCount).toBe(0);
    // The log starts now; a pointer from before it is where going back starts from.
    await db.query('ALTER MODEL spam USE VERSION 1');
    expect(one(await db.query('ALTER MODEL spam USE PREVIOUS VERSION'))).toMatchObject({ active_version: 2, previous_version: 1 });
    await db.query('ALTER MODEL spam SET ALIAS champion TO VERSION 2');
    await db.query("ALTER MODEL spam VERSION @champion SET TAG validated = 'yes'");
    expect((await db.query('SELECT seq, kind FROM ML_MODEL_EVENTS')).rows).toEqual([
      { seq: 1, kind: 'active_moved' },
      { seq: 2, kind: 'active_moved' },
      { seq: 3, kind: 'alias_set' },
      { seq: 4, kind: 'tag_set' },
    ]);
    await db.close();
    const level = await openLevel({ path: dir });
    expect(await level.meta.get('format')).toBe('4');
    await level.root.close();
  });
});
