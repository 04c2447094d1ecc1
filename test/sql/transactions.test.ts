/**
 * Transactions as users meet them: `BEGIN` / `COMMIT` / `ROLLBACK` on a handle and
 * `db.transaction(fn)`. The typical multi-step changes, all or nothing, reading one's
 * own writes, isolation from other sessions, transactions side by side (deadlocks,
 * lock waits), what is refused inside one, persistence, weights and tenants.
 *
 * Nothing here depends on timing: transactions are held open with deferred promises,
 * "X waits for Y" is observed as an order (of versions, of events, of a log), and the
 * lock timeout tests only wait for it to fire.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { open, parseStatement, printStatement, type Database, type ModelEvent, type OpenOptions, type Row } from '../../src/index.js';
import { blobChunkKey } from '../../src/store/keys.js';
import { setRootFactoryForTests, type Level } from '../../src/store/level.js';
import { FaultInjector, faultyRootFactory } from '../harness/faulty-level.js';
import {
  Resources,
  deferred,
  expectError,
  expectFailsUnchanged,
  gatedTrainer,
  jobRow,
  memoryDb,
  one,
  sha256,
  versionNumbers,
  waitForJob,
  weights,
} from '../helpers/sql.js';

const resources = new Resources();
afterEach(() => resources.cleanup());

async function db(options: Omit<OpenOptions, 'path' | 'memory'> = { createdBy: 'ci' }): Promise<Database> {
  return resources.track(await memoryDb(options));
}

const MiB = 1024 * 1024;

/** The store under a handle (internal), to see which weights chunks exist. */
const levelOf = (d: Database): Level => (d as unknown as { core: { level: Level } }).core.level;

/**
 * A registry with history: spam v1 (active, alias champion), v2 (inactive, alias
 * challenger), a model tag; ham v1 (active). Events 1..8.
 */
async function seeded(options?: Omit<OpenOptions, 'path' | 'memory'>): Promise<Database> {
  const d = await db(options);
  await d.query("CREATE MODEL spam WITH (weights = $1, metrics = '{\"f1\":0.8}')", [weights(1)]);
  await d.query("CREATE MODEL spam WITH (weights = $1, metrics = '{\"f1\":0.9}', active = FALSE)", [weights(2)]);
  await d.query('ALTER MODEL spam SET ALIAS champion TO VERSION 1');
  await d.query('ALTER MODEL spam SET ALIAS challenger TO VERSION 2');
  await d.query("ALTER MODEL spam SET TAG team = 'search'");
  await d.query('CREATE MODEL ham WITH (weights = $1)', [weights(3)]);
  return d;
}

/** Everything a session can see through SQL, retired models and versions included. */
async function dump(d: Database): Promise<Record<string, readonly Row[]>> {
  const rows = async (sql: string): Promise<readonly Row[]> => (await d.query(sql)).rows;
  return {
    dashboard: await rows('SELECT * FROM ML_MODELS_DASHBOARD WHERE retired OR NOT retired ORDER BY name'),
    versions: await rows('SELECT * FROM ML_MODEL_VERSIONS WHERE retired OR NOT retired'),
    aliases: await rows('SELECT * FROM ML_MODEL_ALIASES'),
    events: await rows('SELECT * FROM ML_MODEL_EVENTS'),
    jobs: await rows('SELECT * FROM ML_JOBS'),
  };
}

/** The stored weights, upload markers and blob references, key by key. */
async function storedWeights(d: Database): Promise<{ weights: string[]; uploads: string[]; weightRefs: string[]; blobs: string[] }> {
  const level = levelOf(d);
  return {
    weights: await level.weights.keys().all(),
    uploads: await level.uploads.keys().all(),
    weightRefs: await level.weightRefs.keys().all(),
    blobs: await level.blobs.keys().all(),
  };
}

async function expectSound(d: Database): Promise<void> {
  expect((await d.query('CHECK REGISTRY')).rows).toEqual([]);
}

async function lastSeq(d: Database): Promise<number> {
  const { rows } = await d.query('SELECT max(seq) AS last FROM ML_MODEL_EVENTS');
  return (rows[0]?.last as number | null) ?? 0;
}

/** Events after `seq`, as the table shows them. */
async function eventsAfter(d: Database, seq: number): Promise<readonly Row[]> {
  const { rows } = await d.query('SELECT seq, actor, tenant, model, version, kind, old_value, new_value, detail FROM ML_MODEL_EVENTS WHERE seq > $1', [seq]);
  return rows;
}

const seqsFrom = (first: number, count: number): number[] => Array.from({ length: count }, (_, i) => first + i);

describe('BEGIN / COMMIT / ROLLBACK: the statements', () => {
  it('parse case-insensitively, with or without TRANSACTION, and print and re-parse as BEGIN / COMMIT / ROLLBACK', () => {
    const cases = [
      ['BEGIN', 'BEGIN'], ['begin transaction', 'BEGIN'], ['Begin Transaction', 'BEGIN'],
      ['COMMIT', 'COMMIT'], ['commit TRANSACTION', 'COMMIT'],
      ['ROLLBACK', 'ROLLBACK'], ['rollback transaction', 'ROLLBACK'],
    ] as const;
    for (const [sql, action] of cases) {
      const ast = parseStatement(sql);
      expect(ast, sql).toEqual({ kind: 'Transaction', action });
      expect(printStatement(ast)).toBe(action);
      expect(parseStatement(printStatement(ast))).toEqual(ast);
    }
  });

  it('BEGIN, COMMIT, ROLLBACK and TRANSACTION stay usable as names', async () => {
    const d = await db();
    for (const name of ['begin', 'commit', 'rollback', 'transaction']) {
      await d.query(`CREATE MODEL ${name} WITH (artifact = 's3://models/${name}')`);
      await d.query(`ALTER MODEL ${name} SET ALIAS transaction TO VERSION 1`);
    }
    expect((await d.query('SELECT name, active_version FROM ML_MODELS_DASHBOARD')).rows).toEqual([
      { name: 'begin', active_version: 1 }, { name: 'commit', active_version: 1 }, { name: 'rollback', active_version: 1 }, { name: 'transaction', active_version: 1 },
    ]);
    expect(d.inTransaction).toBe(false);
  });

  it('a malformed transaction statement is a SYNTAX_ERROR with its position, and begins nothing', async () => {
    const d = await db();
    const error = await expectFailsUnchanged(d, () => d.query('BEGIN WORK'), 'SYNTAX_ERROR');
    expect(error).toMatchObject({ line: 1, column: expect.any(Number) });
    await expectFailsUnchanged(d, () => d.query('COMMIT TRANSACTION now'), 'SYNTAX_ERROR');
    expect(d.inTransaction).toBe(false);
  });

  it('results: BEGIN and ROLLBACK no rows; COMMIT one row with the events it committed (nulls when it changed nothing)', async () => {
    const d = await db();
    expect(d.inTransaction).toBe(false);
    expect(await d.query('BEGIN')).toMatchObject({ command: 'BEGIN', rows: [] });
    expect(d.inTransaction).toBe(true);
    await d.query('SELECT * FROM ML_MODELS_DASHBOARD');
    const empty = await d.query('COMMIT');
    expect(empty.command).toBe('COMMIT');
    expect(one(empty)).toEqual({ events: 0, first_seq: null, last_seq: null });
    expect(d.inTransaction).toBe(false);

    await d.query('BEGIN TRANSACTION');
    await d.query('CREATE MODEL spam WITH (weights = $1)', [weights(1)]);
    expect(one(await d.query('COMMIT TRANSACTION'))).toEqual({ events: 2, first_seq: 1, last_seq: 2 });

    await d.query('begin');
    await d.query('CREATE MODEL spam WITH (weights = $1)', [weights(2)]);
    expect(await d.query('rollback')).toMatchObject({ command: 'ROLLBACK', rows: [] });
    expect(d.inTransaction).toBe(false);
    // The rolled-back events never took seqs: the next commit continues at 3.
    await d.query('CREATE MODEL spam WITH (weights = $1)', [weights(3)]);
    expect((await eventsAfter(d, 0)).map((e) => [e.seq, e.version, e.kind])).toEqual([
      [1, 1, 'version_created'], [2, 1, 'active_moved'], [3, 2, 'version_created'], [4, 2, 'active_moved'],
    ]);
    // One script may hold several transactions, each committed as its own block.
    const results = await d.exec(
      "BEGIN; ALTER MODEL spam SET TAG a = '1'; COMMIT; BEGIN; ALTER MODEL spam SET TAG b = '2'; ALTER MODEL spam UNSET TAG a; COMMIT",
    );
    expect(results.filter((r) => r.command === 'COMMIT').map((r) => one(r))).toEqual([
      { events: 1, first_seq: 5, last_seq: 5 },
      { events: 2, first_seq: 6, last_seq: 7 },
    ]);
    expect(d.inTransaction).toBe(false);
  });
});

describe('the typical uses', () => {
  it('in one step: champion moves to the challenger\'s version, challenger to a new version, and the pointer follows champion', async () => {
    const d = await seeded();
    const before = await lastSeq(d);
    const results = await d.exec(
      `BEGIN;
       CREATE MODEL spam WITH (weights = $1, metrics = '{"f1":0.95}', active = FALSE, created_by = 'alice');
       ALTER MODEL spam SET ALIAS champion TO VERSION @challenger;
       ALTER MODEL spam SET ALIAS challenger TO VERSION 3;
       ALTER MODEL spam USE VERSION @champion;
       COMMIT`,
      [weights(4)],
    );
    expect(results.map((r) => r.command)).toEqual(['BEGIN', 'CREATE MODEL', 'ALTER MODEL', 'ALTER MODEL', 'ALTER MODEL', 'COMMIT']);
    expect(one(results[1]!)).toMatchObject({ model: 'spam', version: 3, active: false });
    expect(one(results[2]!)).toEqual({ model: 'spam', alias: 'champion', version: 2, previous_version: 1 });
    expect(one(results[3]!)).toEqual({ model: 'spam', alias: 'challenger', version: 3, previous_version: 2 });
    expect(one(results[4]!)).toEqual({ model: 'spam', active_version: 2, previous_version: 1 });
    expect(one(results[5]!)).toEqual({ events: 4, first_seq: before + 1, last_seq: before + 4 });
    expect(d.inTransaction).toBe(false);

    expect(one(await d.query("SELECT active_version, latest_version, aliases, tags FROM ML_MODELS_DASHBOARD WHERE name = 'spam'"))).toEqual({
      active_version: 2, latest_version: 3, aliases: { challenger: 3, champion: 2 }, tags: { team: 'search' },
    });
    expect((await d.query("SELECT alias, version, set_by FROM ML_MODEL_ALIASES WHERE model = 'spam'")).rows).toEqual([
      { alias: 'challenger', version: 3, set_by: 'ci' },
      { alias: 'champion', version: 2, set_by: 'ci' },
    ]);
    const base = { tenant: null, model: 'spam' };
    expect(await eventsAfter(d, before)).toEqual([
      { ...base, seq: before + 1, actor: 'alice', version: 3, kind: 'version_created', old_value: null, new_value: 3, detail: null },
      { ...base, seq: before + 2, actor: 'ci', version: 2, kind: 'alias_moved', old_value: 1, new_value: 2, detail: { alias: 'champion' } },
      { ...base, seq: before + 3, actor: 'ci', version: 3, kind: 'alias_moved', old_value: 2, new_value: 3, detail: { alias: 'challenger' } },
      { ...base, seq: before + 4, actor: 'ci', version: 2, kind: 'active_moved', old_value: 1, new_value: 2, detail: null },
    ]);
    await expectSound(d);
  });

  it('db.transaction registers versions and aliases them atomically, resolving to the callback\'s value once committed', async () => {
    const d = await seeded();
    const before = await lastSeq(d);
    const outcome = await d.transaction(async (tx) => {
      expect(tx.inTransaction).toBe(true);
      const registered = await tx.registry.registerVersion('spam', { weights: weights(5), createdBy: 'bob', active: false });
      await tx.registry.setAlias('spam', 'candidate', registered.version);
      const [created] = await tx.exec("CREATE MODEL ham WITH (weights = $1, created_by = 'carol'); ALTER MODEL ham SET ALIAS champion TO VERSION 2", [weights(6)]);
      return { spam: registered.version, ham: one(created!).version };
    });
    expect(outcome).toEqual({ spam: 3, ham: 2 });
    // Committed when the promise resolves: every session sees it.
    const viewer = d.withTenant('viewer');
    expect(await viewer.registry.resolve('spam', 'candidate')).toBe(3);
    expect(await viewer.registry.resolve('ham', 'champion')).toBe(2);
    expect((await viewer.registry.getActive('ham'))?.version).toBe(2);
    expect(Buffer.from(await viewer.registry.readWeights('spam', '@candidate')).equals(weights(5))).toBe(true);
    expect((await eventsAfter(d, before)).map((e) => [e.seq, e.actor, e.model, e.version, e.kind, e.old_value, e.new_value])).toEqual([
      [before + 1, 'bob', 'spam', 3, 'version_created', null, 3],
      [before + 2, 'ci', 'spam', 3, 'alias_set', null, 3],
      [before + 3, 'carol', 'ham', 2, 'version_created', null, 2],
      [before + 4, 'carol', 'ham', 2, 'active_moved', 1, 2],
      [before + 5, 'ci', 'ham', 2, 'alias_set', null, 2],
    ]);
    await expectSound(d);
  });
});

/** Statements of every kind, run inside a transaction against {@link seeded}. */
const EVERY_KIND_OF_CHANGE = `
  CREATE MODEL spam WITH (weights = $1, metrics = '{"f1":0.99}');
  CREATE MODEL fresh WITH (weights = $1, task = 'classification') SCHEMA (body text, score number);
  CREATE MODEL spam_prod FROM MODEL spam VERSION 3;
  ALTER MODEL spam USE VERSION 2;
  ALTER MODEL spam USE PREVIOUS VERSION;
  ALTER MODEL spam VERSION 2 PROMOTE TO STAGING;
  ALTER MODEL spam SET ALIAS champion TO VERSION 3;
  ALTER MODEL spam DROP ALIAS challenger;
  ALTER MODEL spam SET TAG team = 'ads';
  ALTER MODEL spam VERSION 1 SET TAG validated = 'yes';
  ARCHIVE MODEL spam VERSION 1;
  ALTER MODEL spam USE BEST VERSION BY metrics.f1;
  RETIRE MODEL ham`;

describe('all or nothing', () => {
  it('ROLLBACK undoes every kind of change: the registry is exactly as before, and sound', async () => {
    const d = await seeded();
    const viewer = d.withTenant('viewer');
    const before = await dump(d);
    const viewerBefore = await dump(viewer);
    const stored = await storedWeights(d);
    await d.query('BEGIN');
    await d.exec(EVERY_KIND_OF_CHANGE, [weights(9)]);
    // Inside, the changes are there ...
    expect(one(await d.query("SELECT active_version, latest_version, aliases, tags FROM ML_MODELS_DASHBOARD WHERE name = 'spam'"))).toEqual({
      active_version: 3, latest_version: 3, aliases: { champion: 3 }, tags: { team: 'ads' },
    });
    expect((await d.query('SELECT name FROM ML_MODELS_DASHBOARD')).rows).toEqual([{ name: 'fresh' }, { name: 'spam' }, { name: 'spam_prod' }]);
    // ... and nowhere else.
    expect(await dump(viewer)).toEqual(viewerBefore);
    expect(await d.query('ROLLBACK')).toMatchObject({ command: 'ROLLBACK', rows: [] });
    expect(d.inTransaction).toBe(false);
    expect(await dump(d)).toEqual(before);
    expect(await dump(viewer)).toEqual(viewerBefore);
    expect(await storedWeights(d)).toEqual(stored);
    expect((await d.query('LOOKUP MODEL FOR SCHEMA (body text, score number)')).rows).toEqual([{ mode: 'cold_start', model: null, version: null, distance: null }]);
    await expectSound(d);
  });

  it('statements run concurrently on the handle all join its transaction, and ROLLBACK drops them all', async () => {
    const d = await seeded();
    const before = await dump(d);
    await d.query('BEGIN');
    const [results, script] = await Promise.all([
      Promise.all([1, 2, 3, 4, 5].map((i) => d.query('CREATE MODEL many WITH (weights = $1)', [weights(10 + i)]))),
      d.exec("ALTER MODEL spam SET TAG busy = 'yes'; ALTER MODEL ham SET TAG busy = 'yes'"),
    ]);
    expect(results.map((r) => one(r).version as number).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(script.map((r) => one(r).changed)).toEqual([1, 1]);
    expect(one(await d.query("SELECT tags FROM ML_MODELS_DASHBOARD WHERE name = 'ham'")).tags).toEqual({ busy: 'yes' });
    expect(await versionNumbers(d, 'many')).toEqual([1, 2, 3, 4, 5]);
    expect(await versionNumbers(d.withTenant('viewer'), 'many')).toEqual([]);
    await d.query('ROLLBACK');
    expect(await dump(d)).toEqual(before);
    await expectSound(d);
    // The same through a tx handle, committed: one block of events, versions 1..3.
    const last = await lastSeq(d);
    const created = await d.transaction(async (tx) =>
      Promise.all([1, 2, 3].map(async (i) => one(await tx.query('CREATE MODEL many WITH (weights = $1)', [weights(20 + i)])).version as number)),
    );
    expect([...created].sort()).toEqual([1, 2, 3]);
    expect((await eventsAfter(d, last)).map((e) => e.seq)).toEqual(seqsFrom(last + 1, 6));
    expect(await versionNumbers(d, 'many')).toEqual([1, 2, 3]);
  });

  it('a db.transaction callback that throws rolls everything back and rejects with that same error', async () => {
    const d = await seeded();
    const before = await dump(d);
    const stored = await storedWeights(d);
    const boom = new Error('boom');
    let reached = false;
    await expect(
      d.transaction(async (tx) => {
        await tx.exec(EVERY_KIND_OF_CHANGE, [weights(9)]);
        await tx.registry.setAlias('spam_prod', 'live', 1);
        await tx.registry.registerVersion('fresh', { weights: weights(10), createdBy: 'bob' });
        reached = true;
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(reached).toBe(true);
    expect(await dump(d)).toEqual(before);
    expect(await storedWeights(d)).toEqual(stored);
    await expectSound(d);
    // Its locks are released: a statement on a model it changed and the next transaction both run.
    expect(one(await d.query('ALTER MODEL spam USE VERSION 2'))).toMatchObject({ active_version: 2 });
    expect(await d.transaction(async (tx) => one(await tx.query('ALTER MODEL ham SET ALIAS next TO VERSION 1')).version)).toBe(1);
  });

  it('a callback that lets a failed statement escape rolls back the statements before it, with the statement\'s error', async () => {
    const d = await seeded();
    const before = await dump(d);
    const error = await expectError(
      d.transaction(async (tx) => {
        await tx.query('CREATE MODEL spam WITH (weights = $1)', [weights(9)]);
        await tx.query('ALTER MODEL spam SET ALIAS champion TO VERSION 3');
        await tx.query('ALTER MODEL spam USE VERSION 99');
      }),
      'UNKNOWN_VERSION',
    );
    expect(error).toMatchObject({ model: 'spam', version: 99 });
    expect(await dump(d)).toEqual(before);
    await expectSound(d);
  });

  it("exec('BEGIN; ...; <failing statement>; COMMIT') leaves nothing, and the handle is out of the transaction", async () => {
    const d = await seeded();
    const viewer = d.withTenant('viewer');
    const before = await dump(d);
    await expectError(
      d.exec(
        `BEGIN;
         CREATE MODEL spam WITH (weights = $1);
         ALTER MODEL spam SET ALIAS champion TO VERSION 3;
         CREATE MODEL fresh WITH (weights = $1);
         ALTER MODEL spam USE VERSION 99;
         COMMIT`,
        [weights(9)],
      ),
      'UNKNOWN_VERSION',
    );
    expect(d.inTransaction).toBe(false);
    expect(await dump(d)).toEqual(before);
    // A script that does not parse runs nothing, so begins nothing.
    await expectFailsUnchanged(d, () => d.exec('BEGIN; CREATE MODEL spam WITH (weights = $1); CREATE MODL x; COMMIT', [weights(9)]), 'SYNTAX_ERROR');
    expect(d.inTransaction).toBe(false);
    await expectSound(d);
    // Later statements commit on their own again: another session sees them at once.
    await d.query('CREATE MODEL ham WITH (weights = $1)', [weights(8)]);
    expect(await versionNumbers(viewer, 'ham')).toEqual([1, 2]);
    // The rolled-back transaction released its locks: its models take writes, and another transaction begins.
    expect(one(await d.query('ALTER MODEL spam SET ALIAS champion TO VERSION 2'))).toMatchObject({ version: 2, previous_version: 1 });
    await viewer.query('BEGIN');
    await viewer.query('ROLLBACK');
  });

  it('a script that begins a transaction and succeeds leaves it open for later statements', async () => {
    const d = await seeded();
    const viewer = d.withTenant('viewer');
    await d.exec('BEGIN; CREATE MODEL spam WITH (weights = $1)', [weights(9)]);
    expect(d.inTransaction).toBe(true);
    expect(await versionNumbers(viewer, 'spam')).toEqual([1, 2]);
    await d.query('ALTER MODEL spam SET ALIAS champion TO VERSION 3');
    expect(one(await d.query('COMMIT'))).toMatchObject({ events: 3 });
    expect(await versionNumbers(viewer, 'spam')).toEqual([1, 2, 3]);
    expect(await viewer.registry.resolve('spam', 'champion')).toBe(3);
  });

  it('a statement that fails inside a SQL transaction changes nothing and leaves it open; COMMIT commits the rest', async () => {
    const d = await seeded();
    const viewer = d.withTenant('viewer');
    const before = await lastSeq(d);
    await d.query('BEGIN');
    await d.query('CREATE MODEL spam WITH (weights = $1)', [weights(9)]);
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL spam USE VERSION 99'), 'UNKNOWN_VERSION');
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL spam SET ALIAS x TO VERSION @nope'), 'UNKNOWN_ALIAS');
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL nope USE VERSION 1'), 'UNKNOWN_MODEL');
    // A failing script this exec did not begin the transaction of leaves it open too, and
    // its statements before the failure stay in it (each statement is atomic on its own).
    await expectError(d.exec("ALTER MODEL ham SET TAG kept = 'yes'; ALTER MODEL ham VERSION 1 PROMOTE TO PRODUCTION"), 'INVALID_TRANSITION');
    expect(d.inTransaction).toBe(true);
    expect(await versionNumbers(d, 'spam')).toEqual([1, 2, 3]);
    expect(await versionNumbers(viewer, 'spam')).toEqual([1, 2]);
    await d.query('ALTER MODEL spam SET ALIAS champion TO VERSION 3');
    expect(one(await d.query('COMMIT'))).toEqual({ events: 4, first_seq: before + 1, last_seq: before + 4 });
    expect((await eventsAfter(viewer, before)).map((e) => [e.model, e.version, e.kind])).toEqual([
      ['spam', 3, 'version_created'], ['spam', 3, 'active_moved'], ['ham', null, 'tag_set'], ['spam', 3, 'alias_moved'],
    ]);
    expect(one(await viewer.query("SELECT tags FROM ML_MODELS_DASHBOARD WHERE name = 'ham'")).tags).toEqual({ kept: 'yes' });
    await expectSound(d);
  });
});

describe('reading one\'s own writes', () => {
  it('inside a SQL transaction every table, typed read and LOOKUP sees the earlier statements; the event log shows committed events', async () => {
    const d = await db();
    for (let i = 1; i <= 3; i++) await d.query('CREATE MODEL spam WITH (weights = $1)', [weights(i)]);
    const committedEvents = await dump(d).then((s) => s.events);
    const committedHistory = await d.registry.history('spam');
    await d.query('BEGIN');
    await d.query("CREATE MODEL fresh WITH (weights = $1, metrics = '{\"f1\":0.7}') SCHEMA (body text, score number)", [weights(10)]);
    expect((await d.query("SELECT version, active, sha256, metrics FROM ML_MODEL_VERSIONS WHERE model = 'fresh'")).rows).toEqual([
      { version: 1, active: true, sha256: sha256(weights(10)), metrics: { f1: 0.7 } },
    ]);
    expect((await d.query('SELECT name, active_version, total_versions FROM ML_MODELS_DASHBOARD')).rows).toEqual([
      { name: 'fresh', active_version: 1, total_versions: 1 },
      { name: 'spam', active_version: 3, total_versions: 3 },
    ]);
    await d.query('ALTER MODEL fresh SET ALIAS champion TO VERSION 1');
    expect((await d.query("SELECT alias, version FROM ML_MODEL_ALIASES WHERE model = 'fresh'")).rows).toEqual([{ alias: 'champion', version: 1 }]);
    await d.query('CREATE MODEL fresh WITH (weights = $1)', [weights(11)]);
    // USE VERSION @alias of an alias set in the transaction.
    expect(one(await d.query('ALTER MODEL fresh USE VERSION @champion'))).toEqual({ model: 'fresh', active_version: 1, previous_version: 2 });
    expect((await d.registry.getActive('fresh'))?.version).toBe(1);
    expect(await d.registry.getVersion('fresh', 2)).toMatchObject({ version: 2, active: false, sha256: sha256(weights(11)) });
    expect((await d.registry.listVersions('fresh')).map((v) => v.version)).toEqual([1, 2]);
    expect(await d.registry.resolve('fresh', 'champion')).toBe(1);
    expect(Buffer.from(await d.registry.readWeights('fresh', 2)).equals(weights(11))).toBe(true);
    // A copy of a version created in the transaction.
    expect(one(await d.query('CREATE MODEL fresh_prod FROM MODEL fresh VERSION 2'))).toEqual({
      model: 'fresh_prod', version: 1, active: true, sha256: sha256(weights(11)), copied_from_model: 'fresh', copied_from_version: 2, copied_from_tenant: null,
    });
    expect(Buffer.from(await d.registry.readWeights('fresh_prod', 1)).equals(weights(11))).toBe(true);
    // USE PREVIOUS VERSION follows the pointer moves made in the transaction: 1 → 2 → 3, then 1, 2: back to 1.
    await d.query('ALTER MODEL spam USE VERSION 1');
    await d.query('ALTER MODEL spam USE VERSION 2');
    expect(one(await d.query('ALTER MODEL spam USE PREVIOUS VERSION'))).toEqual({ model: 'spam', active_version: 1, previous_version: 2 });
    // LOOKUP finds a version registered in the transaction; the log shows what is committed.
    expect(one(await d.query('LOOKUP MODEL FOR SCHEMA (body text, score number)'))).toEqual({ mode: 'warm_load', model: 'fresh', version: 1, distance: 0 });
    expect((await d.query('SELECT * FROM ML_MODEL_EVENTS')).rows).toEqual(committedEvents);
    expect(await d.registry.history('spam')).toEqual(committedHistory);
    expect(one(await d.withTenant('viewer').query('LOOKUP MODEL FOR SCHEMA (body text, score number)'))).toMatchObject({ mode: 'cold_start' });

    await d.query('COMMIT');
    const viewer = d.withTenant('viewer');
    expect(await viewer.registry.resolve('fresh', 'champion')).toBe(1);
    expect((await viewer.registry.getActive('fresh'))?.version).toBe(1);
    expect((await viewer.registry.getActive('spam'))?.version).toBe(1);
    expect((await viewer.registry.getVersion('fresh_prod', 1)).sha256).toBe(sha256(weights(11)));
    expect(one(await d.query('LOOKUP MODEL FOR SCHEMA (body text, score number)'))).toMatchObject({ mode: 'warm_load', model: 'fresh', version: 1 });
    expect((await d.registry.history('spam')).slice(committedHistory.length).map((e) => [e.kind, e.oldValue, e.newValue, e.detail])).toEqual([
      ['active_moved', 3, 1, null], ['active_moved', 1, 2, null], ['active_moved', 2, 1, { rollback: 1 }],
    ]);
    await expectSound(d);
  });

  it('inside db.transaction the tx handle sees its own writes through SQL and the typed API', async () => {
    const d = await seeded();
    await d.transaction(async (tx) => {
      const { version } = await tx.registry.registerVersion('spam', { weights: weights(20), active: false });
      expect(version).toBe(3);
      expect(await versionNumbers(tx, 'spam')).toEqual([1, 2, 3]);
      await tx.registry.setAlias('spam', 'next', 3);
      expect(await tx.registry.setActiveVersion('spam', '@next')).toEqual({ previous: 1, version: 3 });
      expect(one(await tx.query("SELECT active_version, aliases FROM ML_MODELS_DASHBOARD WHERE name = 'spam'"))).toEqual({
        active_version: 3, aliases: { challenger: 2, champion: 1, next: 3 },
      });
      expect(await tx.registry.usePreviousVersion('spam')).toMatchObject({ previous: 3, version: 1 });
      expect(await tx.registry.copyVersion('spam_prod', { model: 'spam', version: '@next' })).toMatchObject({ model: 'spam_prod', version: 1 });
      expect(Buffer.from(await tx.registry.readWeights('spam_prod', 1)).equals(weights(20))).toBe(true);
      expect((await tx.registry.summaries()).map((s) => [s.name, s.activeVersion])).toEqual([['ham', 1], ['spam', 1], ['spam_prod', 1]]);
      expect((await tx.registry.listAliases('spam')).map((a) => `${a.alias}=${a.version}`)).toEqual(['challenger=2', 'champion=1', 'next=3']);
    });
    expect((await d.registry.getActive('spam'))?.version).toBe(1);
    expect((await d.registry.getVersion('spam_prod', 1)).sha256).toBe(sha256(weights(20)));
    await expectSound(d);
  });
});

describe('isolation: other sessions see committed state only', () => {
  it('from inside db.transaction, the outer handle reads the committed state; a watcher gets nothing until the commit, then all of it in order', async () => {
    const d = await seeded();
    const before = await dump(d);
    const iterator = d.watch()[Symbol.asyncIterator]();
    const firstSeen = iterator.next(); // iteration (and "from now on") begins here
    const wrote = deferred();
    const hold = deferred();
    const running = d.transaction(async (tx) => {
      try {
        await tx.query("CREATE MODEL spam WITH (weights = $1, created_by = 'bob')", [weights(7)]);
        await tx.query('ALTER MODEL spam SET ALIAS champion TO VERSION 3');
        await tx.query('CREATE MODEL brand_new WITH (weights = $1)', [weights(8)]);
        expect(await dump(d)).toEqual(before);
        expect((await d.registry.getActive('spam'))?.version).toBe(1);
        expect(await d.registry.resolve('spam', 'champion')).toBe(1);
        await expectError(d.registry.getVersion('spam', 3), 'UNKNOWN_VERSION');
        await expectError(d.registry.readWeights('spam', 3), 'UNKNOWN_VERSION');
        await expectError(d.registry.getActive('brand_new'), 'UNKNOWN_MODEL');
      } catch (error) {
        wrote.reject(error); // fail the test instead of waiting forever
        throw error;
      }
      wrote.resolve();
      await hold.promise;
      return 'done';
    });
    try {
      await wrote.promise;
      // Reads outside the transaction do not wait for it.
      expect(await dump(d)).toEqual(before);
      // A statement on a model the transaction did not touch commits at once; the watcher's
      // first event is that one, so nothing of the transaction was published before it.
      await d.query('CREATE MODEL ham WITH (weights = $1)', [weights(9)]);
      expect((await firstSeen).value).toMatchObject({ model: 'ham', version: 2, kind: 'version_created' });
      expect((await iterator.next()).value).toMatchObject({ model: 'ham', version: 2, kind: 'active_moved' });
    } finally {
      hold.resolve();
    }
    expect(await running).toBe('done');
    const txEvents: ModelEvent[] = [];
    for (let i = 0; i < 5; i++) txEvents.push((await iterator.next()).value as ModelEvent);
    await iterator.return?.();
    expect(txEvents.map((e) => [e.model, e.version, e.kind, e.actor])).toEqual([
      ['spam', 3, 'version_created', 'bob'],
      ['spam', 3, 'active_moved', 'bob'],
      ['spam', 3, 'alias_moved', 'ci'],
      ['brand_new', 1, 'version_created', 'ci'],
      ['brand_new', 1, 'active_moved', 'ci'],
    ]);
    const first = txEvents[0]!.seq;
    expect(txEvents.map((e) => e.seq)).toEqual(seqsFrom(first, 5));
    expect((await eventsAfter(d, first - 1)).map((e) => e.seq)).toEqual(seqsFrom(first, 5));
  });

  it('a SQL transaction on one handle is invisible to another handle until COMMIT', async () => {
    const d = await seeded();
    const other = d.withTenant('other'); // sees the global models' committed state
    const before = await dump(other);
    await d.query('BEGIN');
    await d.exec(EVERY_KIND_OF_CHANGE, [weights(9)]);
    expect(await dump(other)).toEqual(before);
    expect((await other.registry.getActive('spam'))?.version).toBe(1);
    await expectError(other.registry.getVersion('fresh', 1), 'UNKNOWN_MODEL');
    expect(await other.registry.resolve('spam', 'challenger')).toBe(2);
    const { events } = one(await d.query('COMMIT')) as { events: number };
    expect(events).toBeGreaterThan(10);
    expect(await dump(other)).not.toEqual(before);
    expect((await other.registry.getActive('spam'))?.version).toBe(3);
    expect((await other.registry.getVersion('fresh', 1)).task).toBe('classification');
    await expectError(other.registry.resolve('spam', 'challenger'), 'UNKNOWN_ALIAS');
    await expectSound(d);
  });
});

describe('concurrency: transactions side by side, deadlocks and lock waits', () => {
  it('two transactions over different models run side by side: the second commits while the first is still open', async () => {
    const d = await db();
    const holding = deferred();
    const hold = deferred();
    const first = d.transaction(async (tx) => {
      await tx.query("CREATE MODEL a WITH (weights = $1, created_by = 'first')", [weights(1)]).catch((error: unknown) => {
        holding.reject(error);
        throw error;
      });
      holding.resolve();
      await hold.promise;
    });
    await holding.promise;
    try {
      const second = await d.transaction(async (tx) => {
        await tx.query("CREATE MODEL b WITH (weights = $1, created_by = 'second')", [weights(2)]);
        // It does not see the first's uncommitted version.
        return one(await tx.query("SELECT count(*) AS n FROM ML_MODEL_VERSIONS WHERE model = 'a'")).n;
      });
      expect(second).toBe(0);
      expect((await eventsAfter(d, 0)).map((e) => e.actor)).toEqual(['second', 'second']);
    } finally {
      hold.resolve();
    }
    await first;
    expect((await eventsAfter(d, 0)).map((e) => [e.seq, e.actor])).toEqual([[1, 'second'], [2, 'second'], [3, 'first'], [4, 'first']]);
    await expectSound(d);
  });

  it("BEGIN on another tenant's handle does not wait for an open transaction, and neither commit waits for the other", async () => {
    const d = await db();
    const acme = d.withTenant('acme');
    const other = d.withTenant('other');
    await acme.query('BEGIN');
    await acme.query('CREATE MODEL mine WITH (weights = $1)', [weights(1)]);
    await other.query('BEGIN');
    await other.query('CREATE MODEL mine WITH (weights = $1)', [weights(2)]);
    expect(one(await other.query('COMMIT'))).toMatchObject({ events: 2, first_seq: 1, last_seq: 2 });
    await acme.query('CREATE MODEL mine WITH (weights = $1)', [weights(3)]);
    expect(one(await acme.query('COMMIT'))).toMatchObject({ events: 4, first_seq: 3, last_seq: 6 });
    expect(await versionNumbers(acme, 'mine')).toEqual([1, 2]);
    expect(await versionNumbers(other, 'mine')).toEqual([1]);
  });

  it('two transactions taking two models in opposite orders: the statement closing the cycle fails with DEADLOCK_DETECTED, its transaction rolls back, the other commits, and a retry commits after it', async () => {
    const d = await db();
    await d.query('CREATE MODEL a WITH (weights = $1)', [weights(1)]);
    await d.query('CREATE MODEL b WITH (weights = $1)', [weights(2)]);
    const before = await lastSeq(d);
    const create = (tx: Database, model: string, actor: string): Promise<unknown> =>
      tx.query(`CREATE MODEL ${model} WITH (weights = $1, created_by = $2)`, [weights(model.charCodeAt(0)), actor]);
    // Each takes its first model, waits until the other has its own, then wants the other's.
    const holds = { x: deferred(), y: deferred() };
    const run = (actor: 'x' | 'y', first: string, second: string, otherHolds: Promise<void>): Promise<string> =>
      d.transaction(async (tx) => {
        await create(tx, first, actor);
        holds[actor].resolve();
        await otherHolds;
        await create(tx, second, actor);
        return actor;
      });
    const outcomes = await Promise.allSettled([run('x', 'a', 'b', holds.y.promise), run('y', 'b', 'a', holds.x.promise)]);
    // Whichever wait came second would have closed the cycle: exactly that one failed.
    const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.reason).toMatchObject({ code: 'DEADLOCK_DETECTED', message: expect.stringMatching(/^deadlock detected: model '[ab]' is locked by a transaction that waits for one this transaction holds/) });
    const winner = outcomes.find((o) => o.status === 'fulfilled')!.value;
    const loser = winner === 'x' ? 'y' : 'x';
    // Nothing of the loser is logged; the winner's four events are one block.
    const events = await eventsAfter(d, before);
    expect(events.map((e) => [e.actor, e.version, e.kind])).toEqual([
      [winner, 2, 'version_created'], [winner, 2, 'active_moved'], [winner, 2, 'version_created'], [winner, 2, 'active_moved'],
    ]);
    // The retry runs alone and commits.
    await run(loser, 'a', 'b', Promise.resolve());
    expect(await versionNumbers(d, 'a')).toEqual([1, 2, 3]);
    expect(await versionNumbers(d, 'b')).toEqual([1, 2, 3]);
    await expectSound(d);
  });

  it('in SQL sessions the deadlocked statement changes nothing and leaves its transaction open; ROLLBACK lets the other one through', async () => {
    const d = await db();
    const sessions = [d.withTenant('t'), d.withTenant('t')] as const;
    await sessions[0].query('CREATE MODEL a WITH (weights = $1)', [weights(1)]);
    await sessions[0].query('CREATE MODEL b WITH (weights = $1)', [weights(2)]);
    for (const s of sessions) await s.query('BEGIN');
    await sessions[0].query("ALTER MODEL a SET TAG owner = 's0'");
    await sessions[1].query("ALTER MODEL b SET TAG owner = 's1'");
    const crossing = [sessions[0].query("ALTER MODEL b SET TAG also = 's0'"), sessions[1].query("ALTER MODEL a SET TAG also = 's1'")];
    // The winner waits for the loser's lock, so the first of the two to settle is the loser's, failed.
    const loser = await Promise.race(crossing.map((p, i) => p.then(() => i, () => i)));
    const winner = 1 - loser;
    await expectError(crossing[loser]!, 'DEADLOCK_DETECTED');
    expect(sessions[loser]!.inTransaction).toBe(true);
    await sessions[loser]!.query('ROLLBACK');
    expect(one(await crossing[winner]!)).toMatchObject({ changed: 1 });
    expect(one(await sessions[winner]!.query('COMMIT'))).toMatchObject({ events: 2 });
    const mine = `s${winner}`;
    expect((await d.withTenant('t').query('SELECT name, tags FROM ML_MODELS_DASHBOARD ORDER BY name')).rows).toEqual(
      winner === 0
        ? [{ name: 'a', tags: { owner: mine } }, { name: 'b', tags: { also: mine } }]
        : [{ name: 'a', tags: { also: mine } }, { name: 'b', tags: { owner: mine } }],
    );
  });

  it('a write waiting for a model an open transaction holds fails with LOCK_TIMEOUT after lockTimeoutMs and changes nothing; the transaction goes on', async () => {
    const d = await db({ createdBy: 'ci', lockTimeoutMs: 30 });
    const session = d.withTenant('acme');
    const other = d.withTenant('acme');
    await session.query('CREATE MODEL spam WITH (weights = $1)', [weights(1)]);
    await session.query('BEGIN');
    await session.query('CREATE MODEL spam WITH (weights = $1)', [weights(2)]);
    // Another session of the same tenant, awaited while the transaction is open: it would wait forever.
    const error = await expectFailsUnchanged(other, () => other.query("ALTER MODEL spam SET TAG team = 'x'"), 'LOCK_TIMEOUT', /model 'spam' is locked by an open transaction; waited 30 ms/);
    expect(error.model).toBe('spam');
    await expectError(other.registry.setAlias('spam', 'champion', 1), 'LOCK_TIMEOUT');
    // A transaction waiting behind it times out the same way, and stays open.
    await other.query('BEGIN');
    await expectError(other.query('ALTER MODEL spam USE VERSION 1'), 'LOCK_TIMEOUT');
    expect(other.inTransaction).toBe(true);
    await other.query('ROLLBACK');
    expect(one(await session.query('COMMIT'))).toMatchObject({ events: 2 });
    expect(one(await other.query("ALTER MODEL spam SET TAG team = 'x'"))).toMatchObject({ changed: 1 });
    expect(await versionNumbers(other, 'spam')).toEqual([1, 2]);
  });

  it('a batch of another statement failing while a transaction is open makes its COMMIT TRANSACTION_ABORTED: nothing of it is committed, and the next transaction works', async () => {
    const injector = new FaultInjector(null);
    setRootFactoryForTests(faultyRootFactory(injector));
    try {
      const d = await db();
      await d.query('CREATE MODEL spam WITH (weights = $1)', [weights(1)]);
      await d.query('CREATE MODEL ham WITH (weights = $1)', [weights(2)]);
      const session = d.withTenant('acme');
      await session.query('BEGIN');
      await session.query('CREATE MODEL mine WITH (weights = $1)', [weights(3)]);
      injector.arm({ kind: 'write', nth: 1, mode: 'before' });
      await expectError(d.query("ALTER MODEL ham SET TAG team = 'x'"), 'IO_ERROR');
      const error = await expectError(session.query('COMMIT'), 'TRANSACTION_ABORTED', /^a write to the registry failed while this transaction was open \(injected I\/O error: write #1 \(batch\)\), so what it read may be gone; nothing of it was committed/);
      expect((error.cause as Error).message).toMatch(/injected I\/O error/);
      expect(session.inTransaction).toBe(false);
      expect(await versionNumbers(session, 'mine')).toEqual([]);
      await session.query('BEGIN');
      await session.query('CREATE MODEL mine WITH (weights = $1)', [weights(3)]);
      expect(one(await session.query('COMMIT'))).toMatchObject({ events: 2 });
      expect(await versionNumbers(session, 'mine')).toEqual([1]);
      await expectSound(d);
    } finally {
      setRootFactoryForTests(null);
    }
  });

  it('open() refuses a lockTimeoutMs that is not a whole number of milliseconds of at least 1', async () => {
    for (const lockTimeoutMs of [0, -5, 1.5, Number.NaN, '100', 2 ** 31]) {
      await expectError(memoryDb({ lockTimeoutMs: lockTimeoutMs as number }), 'INVALID_ARGUMENT', /lockTimeoutMs must be a whole number/);
    }
  });

  it('a statement outside the transaction that changes a model it changed waits for the commit; reads outside do not wait', async () => {
    const d = await db();
    await d.query("CREATE MODEL spam WITH (weights = $1, created_by = 'setup')", [weights(1)]);
    const holding = deferred();
    const hold = deferred();
    const running = d.transaction(async (tx) => {
      await tx.query("CREATE MODEL spam WITH (weights = $1, created_by = 'tx')", [weights(2)]).catch((error: unknown) => {
        holding.reject(error);
        throw error;
      });
      holding.resolve();
      await hold.promise;
      await tx.query("CREATE MODEL spam WITH (weights = $1, created_by = 'tx')", [weights(3)]);
      await tx.query('ALTER MODEL spam SET ALIAS champion TO VERSION 2');
    });
    let outside: Promise<unknown> | undefined;
    let outsideAlias: Promise<unknown> | undefined;
    try {
      await holding.promise;
      outside = d.query("CREATE MODEL spam WITH (weights = $1, created_by = 'outside')", [weights(4)]);
      outsideAlias = d.registry.setAlias('spam', 'champion', 1);
      expect(await versionNumbers(d, 'spam')).toEqual([1]);
      expect(one(await d.query("SELECT active_version, aliases FROM ML_MODELS_DASHBOARD WHERE name = 'spam'"))).toEqual({ active_version: 1, aliases: {} });
    } finally {
      hold.resolve();
    }
    await running;
    // The outside CREATE got its number after the transaction's two, and its alias move came after the transaction's.
    expect(one((await outside) as never)).toMatchObject({ model: 'spam', version: 4 });
    expect(await outsideAlias).toEqual({ alias: 'champion', previous: 2, version: 1 });
    expect((await d.query("SELECT version, created_by FROM ML_MODEL_VERSIONS WHERE model = 'spam'")).rows).toEqual([
      { version: 1, created_by: 'setup' }, { version: 2, created_by: 'tx' }, { version: 3, created_by: 'tx' }, { version: 4, created_by: 'outside' },
    ]);
    // The transaction's events first, as one block; then the two outside statements' (in either order).
    const events = await eventsAfter(d, 2);
    expect(events.map((e) => e.seq)).toEqual(seqsFrom(3, 8));
    expect(events.slice(0, 5).map((e) => [e.actor, e.version, e.kind])).toEqual([
      ['tx', 2, 'version_created'], ['tx', 2, 'active_moved'], ['tx', 3, 'version_created'], ['tx', 3, 'active_moved'], ['ci', 2, 'alias_set'],
    ]);
    expect(events.slice(5).map((e) => `${e.actor as string}:${e.version as number}:${e.kind as string}`).sort()).toEqual(['ci:1:alias_moved', 'outside:4:active_moved', 'outside:4:version_created']);
    await expectSound(d);
  });
});

describe('what a transaction keeps locked, and closing', () => {
  it('a statement that fails or changes nothing inside a transaction leaves its model free for writers outside', async () => {
    const d = await db();
    await d.exec("CREATE MODEL spam WITH (weights = $1); CREATE MODEL ham WITH (weights = $2)", [weights(1), weights(2)]);
    const hold = deferred();
    const inside = deferred();
    const running = d.transaction(async (tx) => {
      await expect(tx.query('ALTER MODEL spam USE VERSION 9')).rejects.toMatchObject({ code: 'UNKNOWN_VERSION' });
      await tx.query("ALTER MODEL ham UNSET TAG absent"); // changes nothing
      inside.resolve();
      await hold.promise;
    });
    await inside.promise;
    try {
      // Neither model was changed by the transaction: writes to them do not wait for it.
      expect(one(await d.query('CREATE MODEL spam WITH (weights = $1)', [weights(3)]))).toMatchObject({ version: 2 });
      expect(one(await d.query("ALTER MODEL ham SET TAG team = 'x'"))).toMatchObject({ changed: 1 });
    } finally {
      hold.resolve();
    }
    await running;
  });

  it('close() rolls back every open transaction; a BEGIN or transaction() after it began is CLOSED and commits nothing', async () => {
    const dir = await resources.dir();
    const d = await open({ path: dir });
    await d.query('CREATE MODEL spam WITH (weights = $1)', [weights(1)]);
    const other = d.withTenant('acme');
    await d.query('BEGIN');
    await d.query("ALTER MODEL spam SET TAG team = 'a'");
    await other.query('BEGIN');
    await other.query('CREATE MODEL mine WITH (weights = $1)', [weights(2)]);
    const beta = other.withTenant('beta');
    const closed = d.close();
    await expect(beta.query('BEGIN')).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(beta.transaction(async () => 'ran')).rejects.toMatchObject({ code: 'CLOSED' });
    await closed;
    expect(d.inTransaction).toBe(false);
    expect(other.inTransaction).toBe(false);
    const reopened = resources.track(await open({ path: dir }));
    expect((await reopened.query('SELECT name, tenant, tags FROM ML_MODELS_DASHBOARD')).rows).toEqual([{ name: 'spam', tenant: null, tags: {} }]);
    expect((await reopened.withTenant('acme').query("SELECT name FROM ML_MODELS_DASHBOARD WHERE tenant = 'acme'")).rows).toEqual([]);
  });
});

describe('refused: INVALID_TRANSACTION_STATE', () => {
  it('BEGIN inside a transaction, changing nothing and keeping it open', async () => {
    const d = await seeded();
    await d.query('BEGIN');
    await d.query('CREATE MODEL spam WITH (weights = $1)', [weights(9)]);
    await expectFailsUnchanged(d, () => d.query('BEGIN'), 'INVALID_TRANSACTION_STATE');
    await expectFailsUnchanged(d, () => d.query('BEGIN TRANSACTION'), 'INVALID_TRANSACTION_STATE');
    await expectFailsUnchanged(d, () => d.exec('BEGIN'), 'INVALID_TRANSACTION_STATE');
    expect(d.inTransaction).toBe(true);
    expect(one(await d.query('COMMIT'))).toMatchObject({ events: 2 });
    expect(await versionNumbers(d.withTenant('viewer'), 'spam')).toEqual([1, 2, 3]);
  });

  it('COMMIT or ROLLBACK with no transaction open', async () => {
    const d = await seeded();
    await expectFailsUnchanged(d, () => d.query('COMMIT'), 'INVALID_TRANSACTION_STATE');
    await expectFailsUnchanged(d, () => d.query('ROLLBACK'), 'INVALID_TRANSACTION_STATE');
    await expectFailsUnchanged(d, () => d.exec('COMMIT TRANSACTION'), 'INVALID_TRANSACTION_STATE');
    await d.query('BEGIN');
    await d.query('COMMIT');
    await expectFailsUnchanged(d, () => d.query('COMMIT'), 'INVALID_TRANSACTION_STATE');
    await d.query('BEGIN');
    await d.query('ROLLBACK');
    await expectFailsUnchanged(d, () => d.query('ROLLBACK'), 'INVALID_TRANSACTION_STATE');
    // A tenant handle has its own session: the global handle's transaction is not its own.
    await d.query('BEGIN');
    const acme = d.withTenant('acme');
    await expectError(acme.query('COMMIT'), 'INVALID_TRANSACTION_STATE');
    expect(d.inTransaction).toBe(true);
    expect(acme.inTransaction).toBe(false);
    await d.query('ROLLBACK');
  });

  it('db.transaction on a handle with a SQL transaction open, and BEGIN on a tx handle', async () => {
    const d = await seeded();
    await d.query('BEGIN');
    await d.query('CREATE MODEL spam WITH (weights = $1)', [weights(9)]);
    let ran = false;
    await expectFailsUnchanged(d, () => d.transaction(async () => { ran = true; }), 'INVALID_TRANSACTION_STATE');
    expect(ran).toBe(false);
    expect(d.inTransaction).toBe(true);
    expect(one(await d.query('COMMIT'))).toMatchObject({ events: 2 });
    await d.transaction(async (tx) => {
      await tx.query('CREATE MODEL spam WITH (weights = $1)', [weights(10)]);
      await expectFailsUnchanged(tx, () => tx.query('BEGIN'), 'INVALID_TRANSACTION_STATE');
    });
    expect(await versionNumbers(d, 'spam')).toEqual([1, 2, 3, 4]);
  });

  it('using a tx handle after its callback ended, whether it committed or rolled back', async () => {
    const d = await seeded();
    let committed: Database | undefined;
    await d.transaction(async (tx) => {
      committed = tx;
      await tx.query('CREATE MODEL spam WITH (weights = $1)', [weights(9)]);
    });
    let rolledBack: Database | undefined;
    await expect(
      d.transaction(async (tx) => {
        rolledBack = tx;
        await tx.query('CREATE MODEL spam WITH (weights = $1)', [weights(10)]);
        throw new Error('abandon');
      }),
    ).rejects.toThrow('abandon');
    const before = await dump(d);
    for (const tx of [committed!, rolledBack!]) {
      await expectError(tx.query('SELECT * FROM ML_MODELS_DASHBOARD'), 'INVALID_TRANSACTION_STATE');
      await expectError(tx.query('CREATE MODEL spam WITH (weights = $1)', [weights(11)]), 'INVALID_TRANSACTION_STATE');
      await expectError(tx.exec("ALTER MODEL spam SET TAG late = 'yes'"), 'INVALID_TRANSACTION_STATE');
      await expectError(tx.query('COMMIT'), 'INVALID_TRANSACTION_STATE');
      await expectError(tx.registry.registerVersion('spam', { weights: weights(12) }), 'INVALID_TRANSACTION_STATE');
      await expectError(tx.registry.setAlias('spam', 'late', 1), 'INVALID_TRANSACTION_STATE');
      await expectError(tx.registry.getActive('spam'), 'INVALID_TRANSACTION_STATE');
      await expectError(tx.jobs.list(), 'INVALID_TRANSACTION_STATE');
    }
    expect(await dump(d)).toEqual(before);
    expect(await versionNumbers(d, 'spam')).toEqual([1, 2, 3]);
  });
});

describe('refused inside a transaction: NOT_ALLOWED_IN_TRANSACTION (changing nothing, the transaction stays open)', () => {
  it('CREATE MODEL with a trainer, inline or async; the trainer never runs', async () => {
    const d = await seeded();
    let calls = 0;
    d.registerTrainer('t', async () => {
      calls++;
      return { weights: weights(30), metrics: { f1: 0.5 } };
    });
    await d.query('BEGIN');
    await d.query('CREATE MODEL spam WITH (weights = $1)', [weights(9)]);
    await expectFailsUnchanged(d, () => d.query("CREATE MODEL spam WITH (trainer = 't')"), 'NOT_ALLOWED_IN_TRANSACTION');
    await expectFailsUnchanged(d, () => d.query("CREATE MODEL spam WITH (trainer = 't', async = TRUE)"), 'NOT_ALLOWED_IN_TRANSACTION');
    await expectFailsUnchanged(d, () => d.query("CREATE MODEL trained WITH (trainer = 't', async = TRUE)"), 'NOT_ALLOWED_IN_TRANSACTION');
    expect(d.inTransaction).toBe(true);
    expect(one(await d.query('COMMIT'))).toMatchObject({ events: 2 });
    await d.transaction(async (tx) => {
      await expectFailsUnchanged(tx, () => tx.query("CREATE MODEL ham WITH (trainer = 't')"), 'NOT_ALLOWED_IN_TRANSACTION');
      await expectFailsUnchanged(tx, () => tx.query("CREATE MODEL ham WITH (trainer = 't', async = TRUE)"), 'NOT_ALLOWED_IN_TRANSACTION');
    });
    expect(calls).toBe(0);
    expect((await d.query('SELECT * FROM ML_JOBS')).rows).toEqual([]);
    expect(await versionNumbers(d, 'spam')).toEqual([1, 2, 3]);
    expect(await versionNumbers(d, 'trained')).toEqual([]);
    // Outside a transaction the same trainer runs.
    expect(one(await d.query("CREATE MODEL spam WITH (trainer = 't')"))).toMatchObject({ version: 4 });
    expect(calls).toBe(1);
  });

  it('CANCEL JOB and tx.jobs.cancel; reading jobs works', async () => {
    const d = await seeded();
    const gated = gatedTrainer();
    d.registerTrainer('slow', gated.trainer);
    const { job_id: jobId } = one(await d.query("CREATE MODEL trained WITH (trainer = 'slow', async = TRUE)")) as { job_id: string };
    await gated.started;
    try {
      await d.query('BEGIN');
      await d.query('CREATE MODEL spam WITH (weights = $1)', [weights(9)]);
      await expectFailsUnchanged(d, () => d.query('CANCEL JOB $1', [jobId]), 'NOT_ALLOWED_IN_TRANSACTION');
      expect(d.inTransaction).toBe(true);
      expect(one(await d.query('COMMIT'))).toMatchObject({ events: 2 });
      await d.transaction(async (tx) => {
        expect((await tx.jobs.get(jobId)).status).toBe('running');
        expect((await tx.jobs.list()).map((job) => job.id)).toEqual([jobId]);
        await expectFailsUnchanged(tx, () => tx.query(`CANCEL JOB '${jobId}'`), 'NOT_ALLOWED_IN_TRANSACTION');
        await expectFailsUnchanged(tx, () => tx.jobs.cancel(jobId), 'NOT_ALLOWED_IN_TRANSACTION');
      });
      expect((await jobRow(d, jobId)).status).toBe('running');
    } finally {
      gated.release();
    }
    expect(await waitForJob(d, jobId)).toMatchObject({ status: 'completed', version: 1 });
    expect(await versionNumbers(d, 'spam')).toEqual([1, 2, 3]);
  });

  it('BACKUP TO, which leaves no folder', async () => {
    const d = await seeded({ allowFileAccess: true });
    const dest = join(await resources.dir(), 'copy');
    await d.query('BEGIN');
    await d.query('CREATE MODEL spam WITH (weights = $1)', [weights(9)]);
    await expectFailsUnchanged(d, () => d.query('BACKUP TO $1', [dest]), 'NOT_ALLOWED_IN_TRANSACTION');
    expect(existsSync(dest)).toBe(false);
    expect(d.inTransaction).toBe(true);
    expect(one(await d.query('COMMIT'))).toMatchObject({ events: 2 });
    await d.transaction(async (tx) => {
      await expectFailsUnchanged(tx, () => tx.query('BACKUP TO $1', [dest]), 'NOT_ALLOWED_IN_TRANSACTION');
    });
    expect(existsSync(dest)).toBe(false);
    // Outside a transaction it works, and the copy holds what was committed.
    expect(one(await d.query('BACKUP TO $1', [dest]))).toMatchObject({ path: dest, models: 2, versions: 4 });
  });

  it('SET TENANT and RESET TENANT, which leave the handle\'s tenant as it was', async () => {
    const d = await seeded();
    await d.query('BEGIN');
    await d.query('CREATE MODEL spam WITH (weights = $1)', [weights(9)]);
    await expectFailsUnchanged(d, () => d.query("SET TENANT 'acme'"), 'NOT_ALLOWED_IN_TRANSACTION');
    await expectFailsUnchanged(d, () => d.query('RESET TENANT'), 'NOT_ALLOWED_IN_TRANSACTION');
    expect(d.tenant).toBeNull();
    await d.query('CREATE MODEL later WITH (weights = $1)', [weights(10)]);
    expect(one(await d.query('COMMIT'))).toMatchObject({ events: 4 });
    expect((await d.query("SELECT name, tenant FROM ML_MODELS_DASHBOARD WHERE name = 'later'")).rows).toEqual([{ name: 'later', tenant: null }]);

    // A handle switched to a tenant before BEGIN stays that tenant.
    await d.query("SET TENANT 'acme'");
    await d.query('BEGIN');
    await d.query('CREATE MODEL mine WITH (weights = $1)', [weights(11)]);
    await expectFailsUnchanged(d, () => d.query('RESET TENANT'), 'NOT_ALLOWED_IN_TRANSACTION');
    expect(d.tenant).toBe('acme');
    await d.query('COMMIT');
    expect((await d.withTenant('acme').query("SELECT name, tenant FROM ML_MODELS_DASHBOARD WHERE name = 'mine'")).rows).toEqual([{ name: 'mine', tenant: 'acme' }]);

    await d.transaction(async (tx) => {
      await expectFailsUnchanged(tx, () => tx.query("SET TENANT 'other'"), 'NOT_ALLOWED_IN_TRANSACTION');
      expect(tx.tenant).toBe('acme');
    });
  });

  it('a nested db.transaction through the outer handle; its callback never runs', async () => {
    const d = await seeded();
    let nestedRan = false;
    await d.transaction(async (tx) => {
      await tx.query('CREATE MODEL spam WITH (weights = $1)', [weights(9)]);
      await expectFailsUnchanged(tx, () => d.transaction(async () => { nestedRan = true; }), 'NOT_ALLOWED_IN_TRANSACTION');
      await tx.query('ALTER MODEL spam SET ALIAS champion TO VERSION 3');
    });
    expect(nestedRan).toBe(false);
    expect(await d.registry.resolve('spam', 'champion')).toBe(3);
    expect(await versionNumbers(d, 'spam')).toEqual([1, 2, 3]);
  });

  it('a write through the outer handle, from inside the callback, to a model the transaction holds', async () => {
    const d = await seeded();
    const before = await lastSeq(d);
    await d.transaction(async (tx) => {
      await tx.query('CREATE MODEL spam WITH (weights = $1)', [weights(9)]);
      await expectFailsUnchanged(tx, () => d.query('ALTER MODEL spam USE VERSION 1'), 'NOT_ALLOWED_IN_TRANSACTION');
      await expectFailsUnchanged(tx, () => d.query('CREATE MODEL spam WITH (weights = $1)', [weights(10)]), 'NOT_ALLOWED_IN_TRANSACTION');
      await expectFailsUnchanged(tx, () => d.registry.setAlias('spam', 'champion', 2), 'NOT_ALLOWED_IN_TRANSACTION');
      await expectFailsUnchanged(tx, () => d.exec("ALTER MODEL spam SET TAG outer = 'yes'"), 'NOT_ALLOWED_IN_TRANSACTION');
    });
    expect((await eventsAfter(d, before)).map((e) => [e.version, e.kind])).toEqual([[3, 'version_created'], [3, 'active_moved']]);
    expect(one(await d.query("SELECT active_version, latest_version, aliases, tags FROM ML_MODELS_DASHBOARD WHERE name = 'spam'"))).toEqual({
      active_version: 3, latest_version: 3, aliases: { challenger: 2, champion: 1 }, tags: { team: 'search' },
    });
  });
});

describe('persistence', () => {
  it('committed transactions are all there after close and reopen', async () => {
    const dir = await resources.dir();
    const d = resources.track(await open({ path: dir, createdBy: 'ci' }));
    await d.query('CREATE MODEL spam WITH (weights = $1)', [weights(1)]);
    await d.transaction(async (tx) => {
      await tx.exec("CREATE MODEL spam WITH (weights = $1); ALTER MODEL spam SET ALIAS champion TO VERSION 2; ALTER MODEL spam SET TAG team = 'search'", [weights(2)]);
      await tx.registry.copyVersion('spam_prod', { model: 'spam', version: '@champion' });
    });
    await d.exec('BEGIN; CREATE MODEL ham WITH (weights = $1); ALTER MODEL ham SET ALIAS prod TO VERSION 1; ALTER MODEL spam USE VERSION 1; COMMIT', [weights(3, 3 * MiB)]);
    const committed = await dump(d);
    await d.close();
    const reopened = resources.track(await open({ path: dir }));
    expect(await dump(reopened)).toEqual(committed);
    expect(Buffer.from(await reopened.registry.readWeights('spam', '@champion')).equals(weights(2))).toBe(true);
    expect(Buffer.from(await reopened.registry.readWeights('spam_prod', 1)).equals(weights(2))).toBe(true);
    expect(Buffer.from(await reopened.registry.readWeights('ham', '@prod')).equals(weights(3, 3 * MiB))).toBe(true);
    await expectSound(reopened);
  });

  it('a SQL transaction left open at close is rolled back: after reopening none of it is there', async () => {
    const dir = await resources.dir();
    const d = resources.track(await open({ path: dir, createdBy: 'ci' }));
    await d.query('CREATE MODEL spam WITH (weights = $1)', [weights(1)]);
    const committed = await dump(d);
    const stored = await storedWeights(d);
    await d.query('BEGIN');
    await d.query('CREATE MODEL spam WITH (weights = $1)', [weights(2)]);
    await d.query('CREATE MODEL big WITH (weights = $1)', [randomBytes(3 * MiB)]);
    await d.query('ALTER MODEL spam SET ALIAS champion TO VERSION 2');
    await d.close();
    const reopened = resources.track(await open({ path: dir }));
    expect(reopened.inTransaction).toBe(false);
    expect(await dump(reopened)).toEqual(committed);
    expect(await storedWeights(reopened)).toEqual(stored);
    await expectSound(reopened);
  });
});

describe('weights in transactions', () => {
  async function withFile(bytes: Buffer): Promise<string> {
    const file = join(await resources.dir(), 'model.bin');
    await writeFile(file, bytes);
    return file;
  }

  it('a rolled-back transaction with Buffer and FILE weights leaves no stored weights behind', async () => {
    const d = await seeded({ allowFileAccess: true });
    const inMemory = randomBytes(Math.floor(1.5 * MiB));
    const onDisk = randomBytes(Math.floor(2.5 * MiB));
    const file = await withFile(onDisk);
    const before = await dump(d);
    const stored = await storedWeights(d);

    await d.query('BEGIN');
    await d.query('CREATE MODEL m WITH (weights = $1)', [inMemory]);
    await d.query('CREATE MODEL m WITH (weights = FILE $1)', [file]);
    await d.query('CREATE MODEL m WITH (weights = $1)', [weights(1)]); // the bytes of spam v1
    expect(Buffer.from(await d.registry.readWeights('m', 2)).equals(onDisk)).toBe(true);
    await d.query('ROLLBACK');
    expect(await storedWeights(d)).toEqual(stored);
    expect(await dump(d)).toEqual(before);
    await expectSound(d);

    const boom = new Error('boom');
    await expect(
      d.transaction(async (tx) => {
        await tx.query('CREATE MODEL m WITH (weights = FILE $1)', [file]);
        await tx.registry.registerVersion('m', { weights: inMemory });
        expect(Buffer.from(await tx.registry.readWeights('m', 2)).equals(inMemory)).toBe(true);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await storedWeights(d)).toEqual(stored);

    await expectError(d.exec('BEGIN; CREATE MODEL m WITH (weights = FILE $1); CREATE MODEL m WITH (weights = $2); ALTER MODEL m USE VERSION 9; COMMIT', [file, inMemory]), 'UNKNOWN_VERSION');
    expect(await storedWeights(d)).toEqual(stored);
    expect(await dump(d)).toEqual(before);
    await expectSound(d);
  });

  it('committed Buffer and FILE weights read back byte for byte, and identical bytes are stored once', async () => {
    const d = await seeded({ allowFileAccess: true });
    const inMemory = randomBytes(Math.floor(1.5 * MiB)); // 2 chunks
    const onDisk = randomBytes(Math.floor(2.5 * MiB)); // 3 chunks
    const file = await withFile(onDisk);
    await d.transaction(async (tx) => {
      await tx.query('CREATE MODEL a WITH (weights = $1)', [inMemory]);
      await tx.query('CREATE MODEL b WITH (weights = $1)', [Buffer.from(inMemory)]);
      await tx.query('CREATE MODEL a WITH (weights = FILE $1)', [file]);
      await tx.query('CREATE MODEL b WITH (weights = FILE $1)', [file]);
      await tx.registry.registerVersion('c', { weights: weights(1) }); // already stored for spam v1
    });
    const read = async (model: string, version: number): Promise<Buffer> => Buffer.from(await d.registry.readWeights(model, version));
    expect((await read('a', 1)).equals(inMemory)).toBe(true);
    expect((await read('b', 1)).equals(inMemory)).toBe(true);
    expect((await read('a', 2)).equals(onDisk)).toBe(true);
    expect((await read('b', 2)).equals(onDisk)).toBe(true);
    expect((await read('c', 1)).equals(weights(1))).toBe(true);
    const { weights: chunks, uploads, weightRefs } = await storedWeights(d);
    const chunksOf = (bytes: Uint8Array): string[] => chunks.filter((key) => key.startsWith(`${sha256(bytes)}:`));
    expect(chunksOf(inMemory)).toEqual([blobChunkKey(sha256(inMemory), 0), blobChunkKey(sha256(inMemory), 1)]);
    expect(chunksOf(onDisk)).toEqual([0, 1, 2].map((i) => blobChunkKey(sha256(onDisk), i)));
    expect(chunksOf(weights(1))).toEqual([blobChunkKey(sha256(weights(1)), 0)]);
    expect(weightRefs.filter((key) => key.startsWith(`${sha256(inMemory)}:`))).toHaveLength(2);
    expect(weightRefs.filter((key) => key.startsWith(`${sha256(onDisk)}:`))).toHaveLength(2);
    expect(weightRefs.filter((key) => key.startsWith(`${sha256(weights(1))}:`))).toHaveLength(2);
    expect(uploads).toEqual([]);
    await expectSound(d);
  });
});

describe('tenants', () => {
  it("a tenant's transaction changes only its own models; other tenants and the global session never see them", async () => {
    const d = await db();
    await d.query('CREATE MODEL shared WITH (weights = $1)', [weights(1)]);
    const acme = d.withTenant('acme');
    const other = d.withTenant('other');
    await other.query('CREATE MODEL secret WITH (weights = $1)', [weights(2)]);
    const otherBefore = await dump(other);
    const globalBefore = await dump(d);
    await acme.transaction(async (tx) => {
      expect(tx.tenant).toBe('acme');
      await tx.query('CREATE MODEL spam WITH (weights = $1)', [weights(3)]);
      await expectFailsUnchanged(tx, () => tx.query('ALTER MODEL shared SET ALIAS mine TO VERSION 1'), 'PERMISSION_DENIED');
      await expectFailsUnchanged(tx, () => tx.query('ALTER MODEL secret USE VERSION 1'), 'UNKNOWN_MODEL');
      await tx.query('CREATE MODEL shared WITH (weights = $1)', [weights(4)]); // acme's own, shadowing the global one
      await tx.query('ALTER MODEL spam SET ALIAS champion TO VERSION 1');
      expect((await tx.query('SELECT name, tenant FROM ML_MODELS_DASHBOARD')).rows).toEqual([
        { name: 'shared', tenant: 'acme' }, { name: 'spam', tenant: 'acme' },
      ]);
      expect(await dump(other)).toEqual(otherBefore);
      expect(await dump(d)).toEqual(globalBefore);
    });
    expect(await dump(other)).toEqual(otherBefore);
    expect(await dump(d)).toEqual(globalBefore);
    expect((await acme.query('SELECT name, tenant, active_version FROM ML_MODELS_DASHBOARD')).rows).toEqual([
      { name: 'shared', tenant: 'acme', active_version: 1 }, { name: 'spam', tenant: 'acme', active_version: 1 },
    ]);
    const acmeEvents = (await acme.query("SELECT tenant, model, kind FROM ML_MODEL_EVENTS WHERE tenant = 'acme'")).rows;
    expect(acmeEvents.map((e) => `${e.tenant as string}/${e.model as string}:${e.kind as string}`)).toEqual([
      'acme/spam:version_created', 'acme/spam:active_moved', 'acme/shared:version_created', 'acme/shared:active_moved', 'acme/spam:alias_set',
    ]);
    await expectSound(d);
  });

  it("a SQL transaction on a tenant handle is that tenant's alone, before and after COMMIT", async () => {
    const d = await db();
    const acme = d.withTenant('acme');
    const other = d.withTenant('other');
    const otherBefore = await dump(other);
    await acme.query('BEGIN');
    await acme.query('CREATE MODEL spam WITH (weights = $1)', [weights(1)]);
    await acme.query('ALTER MODEL spam SET ALIAS champion TO VERSION 1');
    expect(acme.inTransaction).toBe(true);
    expect(other.inTransaction).toBe(false);
    expect(d.inTransaction).toBe(false);
    expect(await dump(other)).toEqual(otherBefore);
    await expectError(other.registry.getActive('spam'), 'UNKNOWN_MODEL');
    expect(one(await acme.query('COMMIT'))).toMatchObject({ events: 3 });
    expect(await dump(other)).toEqual(otherBefore);
    await expectError(other.registry.getActive('spam'), 'UNKNOWN_MODEL');
    expect((await d.query('SELECT * FROM ML_MODELS_DASHBOARD')).rows).toEqual([]);
    expect((await acme.registry.getActive('spam'))?.tenant).toBe('acme');
  });
});
