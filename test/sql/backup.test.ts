/**
 * BACKUP TO: a consistent copy of one snapshot, taken while writers go on, that opens
 * as a registry, passes CHECK REGISTRY and equals the source at some point in time.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { open, type Database } from '../../src/index.js';
import { blobChunkKey, modelKey, versionKey } from '../../src/store/keys.js';
import { openLevel } from '../../src/store/level.js';
import { storedJson } from '../helpers/store.js';
import { Resources, expectError, memoryDb, sha256, weights } from '../helpers/sql.js';

const resources = new Resources();
afterEach(() => resources.cleanup());

interface VersionRow { model: string; version: number; archived: boolean; sha256: string | null; active: boolean }

async function versions(db: Database): Promise<VersionRow[]> {
  return (await db.query('SELECT model, version, archived, sha256, active FROM ML_MODEL_VERSIONS ORDER BY model, version')).rows as unknown as VersionRow[];
}

describe('BACKUP TO', () => {
  it('copies a registry into a new folder that opens, passes CHECK REGISTRY and reads the same, weights included', async () => {
    const source = await resources.dir();
    const db = resources.track(await open({ path: source, allowFileAccess: true }));
    const big = weights(3, 3 * 1024 * 1024 + 11);
    await db.query('CREATE MODEL m WITH (weights = $1) SCHEMA (a name)', [big]);
    await db.query('CREATE MODEL m WITH (weights = $1)', [weights(4)]);
    await db.query('ALTER MODEL m VERSION 1 PROMOTE TO STAGING');
    const dest = join(await resources.dir(), 'backup');
    const result = await db.query('BACKUP TO $1', [dest]);
    expect(result.rows[0]).toMatchObject({ path: dest, models: 1, versions: 2, weights_bytes: big.length + 16 });
    const copy = resources.track(await open({ path: dest }));
    expect((await copy.query('CHECK REGISTRY')).rows).toEqual([]);
    expect(await versions(copy)).toEqual(await versions(db));
    expect(sha256(await copy.registry.readWeights('m', 1))).toBe(sha256(big));
    expect((await copy.query('LOOKUP MODEL FOR SCHEMA (a name)')).rows[0]).toMatchObject({ mode: 'warm_load', model: 'm', version: 1 });
  });

  it('copies the event log, aliases and tags: history, USE PREVIOUS VERSION and the next seq carry on', async () => {
    const db = resources.track(await open({ path: await resources.dir(), allowFileAccess: true }));
    for (let i = 0; i < 3; i++) await db.query('CREATE MODEL m WITH (weights = $1)', [weights(i)]);
    await db.query('ALTER MODEL m SET ALIAS champion TO VERSION 2');
    await db.query("ALTER MODEL m VERSION @champion SET TAG validated = 'yes'");
    const dest = join(await resources.dir(), 'backup');
    await db.query('BACKUP TO $1', [dest]);
    const copy = resources.track(await open({ path: dest }));
    const log = 'SELECT * FROM ML_MODEL_EVENTS';
    expect((await copy.query(log)).rows).toEqual((await db.query(log)).rows);
    expect((await copy.query('CHECK REGISTRY')).rows).toEqual([]);
    expect(await copy.registry.resolve('m', 'champion')).toBe(2);
    expect((await copy.registry.getVersion('m', '@champion')).tags).toEqual({ validated: 'yes' });
    expect((await copy.registry.usePreviousVersion('m')).version).toBe(2);
    const [last] = (await db.query('SELECT seq FROM ML_MODEL_EVENTS ORDER BY seq DESC LIMIT 1')).rows;
    expect((await copy.query('SELECT seq FROM ML_MODEL_EVENTS ORDER BY seq DESC LIMIT 1')).rows).toEqual([{ seq: (last!.seq as number) + 1 }]);
  });

  it('copies a blob shared by many versions once, and the copy still shares it', async () => {
    const source = await resources.dir();
    const db = resources.track(await open({ path: source, allowFileAccess: true }));
    const shared = weights(5, 1024 * 1024 + 3);
    for (const model of ['a', 'b', 'a', 'c']) await db.query(`CREATE MODEL ${model} WITH (weights = $1)`, [shared]);
    await db.query('CREATE MODEL b WITH (weights = $1)', [weights(6)]);
    const dest = join(await resources.dir(), 'backup');
    const result = await db.query('BACKUP TO $1', [dest]);
    expect(result.rows[0]).toMatchObject({ versions: 5, weights_bytes: shared.length + 16 });
    const copy = resources.track(await open({ path: dest }));
    expect((await copy.query('CHECK REGISTRY')).rows).toEqual([]);
    for (const [model, version] of [['a', 1], ['a', 2], ['b', 1], ['c', 1]] as const) expect(sha256(await copy.registry.readWeights(model, version))).toBe(sha256(shared));
    await copy.close();
    const level = await openLevel({ path: dest });
    expect(await level.weights.keys().all()).toHaveLength(3); // two chunks of the shared blob, one of the other
    expect(await level.weightRefs.keys().all()).toHaveLength(5);
    await level.root.close();
  });

  it('under concurrent CREATE, USE VERSION and ARCHIVE: the copy is the source at one moment', async () => {
    const db = await memoryDb({ allowFileAccess: true });
    const models = ['a', 'b', 'c'];
    for (const model of models) await db.query(`CREATE MODEL ${model} WITH (weights = $1)`, [weights(0, 300_000)]);
    let stop = false;
    let created = models.length; // acknowledged versions
    const writer = async (model: string, seed: number): Promise<number> => {
      let n = 0;
      while (!stop && n < 400) {
        const result = await db.query(`CREATE MODEL ${model} WITH (weights = $1)`, [weights(seed + n, 20_000 + n)]);
        created++;
        const version = Number(result.rows[0]!.version);
        if (n % 3 === 0) await db.query(`ALTER MODEL ${model} USE VERSION 1`); // a rollback (version 1 is never archived)
        if (n % 4 === 1) await db.query(`ARCHIVE MODEL ${model} VERSION ${version}`);
        n++;
      }
      return n;
    };
    const writers = models.map((model, i) => writer(model, i * 1000));
    for (const running of writers) running.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
    // Two backups at least; more (a bounded number) until one of them provably ran while
    // writes were acknowledged, so the test cannot pass with writers that never overlapped.
    const backups: { dest: string; before: number; after: number }[] = [];
    for (let i = 0; i < 10 && (backups.length < 2 || !backups.some((b) => b.after > b.before)); i++) {
      const dest = join(await resources.dir(), `backup-${i}`);
      const before = created;
      await db.query('BACKUP TO $1', [dest]);
      backups.push({ dest, before, after: created });
    }
    expect(backups.some((b) => b.after > b.before), 'a backup during which writes were acknowledged').toBe(true);
    stop = true;
    expect(Math.min(...(await Promise.all(writers)))).toBeGreaterThan(0);
    const final = await versions(db);
    for (const { dest, before } of backups) {
      const copy = resources.track(await open({ path: dest }));
      expect((await copy.query('CHECK REGISTRY')).rows).toEqual([]);
      const rows = await versions(copy);
      // Every version acknowledged before the backup began is in it.
      expect(rows.length).toBeGreaterThanOrEqual(before);
      for (const model of models) {
        const mine = rows.filter((r) => r.model === model);
        // A prefix 1..k of the source's versions, with the same weights; only the flags may have moved on since.
        expect(mine.map((r) => r.version)).toEqual(mine.map((_, i) => i + 1));
        const theirs = final.filter((r) => r.model === model).slice(0, mine.length);
        expect(mine.map((r) => r.sha256)).toEqual(theirs.map((r) => r.sha256));
        const dashboard = (await copy.query('SELECT latest_version, archived_versions, active_version FROM ML_MODELS_DASHBOARD WHERE name = $1', [model])).rows[0]!;
        expect(dashboard).toEqual({
          latest_version: mine.length,
          archived_versions: mine.filter((r) => r.archived).length,
          active_version: mine.find((r) => r.active)?.version ?? null,
        });
      }
    }
    await db.close();
  });

  it('refuses a destination that exists and is not empty, and leaves nothing behind when it fails', async () => {
    const db = await memoryDb({ allowFileAccess: true });
    await db.query('CREATE MODEL m WITH (weights = $1)', [weights(1)]);
    const parent = await resources.dir();
    const full = join(parent, 'full');
    await mkdir(full);
    await writeFile(join(full, 'x'), 'x');
    await expectError(db.query('BACKUP TO $1', [full]), 'INVALID_ARGUMENT', /not empty/);
    const empty = join(parent, 'empty');
    await mkdir(empty);
    await db.query('BACKUP TO $1', [empty]); // an empty folder is fine
    expect((await readdir(parent)).sort()).toEqual(['empty', 'full']);
    await db.close();
  });

  it('refuses a destination whose parent folder does not exist (or is a file), creating nothing', async () => {
    const db = await memoryDb({ allowFileAccess: true });
    await db.query('CREATE MODEL m WITH (weights = $1)', [weights(1)]);
    const parent = await resources.dir();
    const missing = join(parent, 'no', 'such');
    const error = await expectError(db.query('BACKUP TO $1', [join(missing, 'b')]), 'INVALID_ARGUMENT', new RegExp(`parent folder '${missing}' does not exist`));
    expect(error.path).toBe(missing);
    await writeFile(join(parent, 'file'), 'x');
    await expectError(db.query('BACKUP TO $1', [join(parent, 'file', 'b')]), 'INVALID_ARGUMENT', /is not a folder/);
    expect(await readdir(parent)).toEqual(['file']);
    await db.close();
  });

  it('fails on damaged weights without writing a backup', async () => {
    const source = await resources.dir();
    let db = await open({ path: source });
    await db.query('CREATE MODEL m WITH (weights = $1)', [weights(1)]);
    await db.close();
    const level = await openLevel({ path: source });
    const blob = storedJson(await level.versions.get(versionKey(modelKey('m'), 1))).blob as string;
    await level.weights.put(blobChunkKey(blob, 0), new Uint8Array([9]));
    await level.root.close();
    db = resources.track(await open({ path: source, allowFileAccess: true }));
    const parent = await resources.dir();
    await expectError(db.query('BACKUP TO $1', [join(parent, 'b')]), 'CORRUPTION', /SHA-256/);
    expect(await readdir(parent)).toEqual([]);
  });

  it('needs file access and a global session', async () => {
    const dest = join(await resources.dir(), 'b');
    const closed = await memoryDb();
    await expectError(closed.query('BACKUP TO $1', [dest]), 'FILE_ACCESS_DENIED');
    await closed.close();
    const db = await memoryDb({ allowFileAccess: true });
    await expectError(db.withTenant('acme').query('BACKUP TO $1', [dest]), 'PERMISSION_DENIED');
    await expectError(db.query('BACKUP TO 42'), 'INVALID_ARGUMENT');
    expect(existsSync(dest)).toBe(false);
    await db.close();
  });
});
