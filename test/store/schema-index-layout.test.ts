/**
 * The schema index's move from layout 1 (one posting list for every tenant, before
 * issue 8) to the per-tenant layout: a folder written in layout 1 is rebuilt at open and
 * answers every LOOKUP as before; a move cut short at any batch re-runs cleanly; the
 * layout marker is checked like the format number.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/maintenance.js';
import { open } from '../../src/index.js';
import { backupStore } from '../../src/store/backup.js';
import { CommitQueue } from '../../src/store/commit-queue.js';
import type { SchemaInput } from '../../src/store/fingerprint.js';
import { checkIntegrity, type IntegrityProblem } from '../../src/store/integrity.js';
import { openLevel, type Level, type TextSublevel } from '../../src/store/level.js';
import { Registry } from '../../src/store/registry.js';
import { LAYOUT_1_NAMESPACES, SCHEMA_INDEX_LAYOUT_KEY, upgradeSchemaIndex } from '../../src/store/schema-index-layout.js';
import type { SchemaLookup } from '../../src/store/types.js';
import { Resources } from '../helpers/sql.js';

const resources = new Resources();
afterEach(() => resources.cleanup());

const fields = (spec: string): SchemaInput['fields'] =>
  spec.split(' ').map((pair) => {
    const [name, kind] = pair.split(':') as [string, string];
    return { name, kind, nullRate: 0.1, cardinality: 10 };
  });
const S = {
  people: fields('ssn:id name:name born:date city:text'),
  peopleMore: fields('ssn:id name:name born:date city:text zip:text'),
  sims: fields('sim:id msisdn:phone ssn:id'),
  orders: fields('order:id amount:number ssn:id placed:date'),
};
const TENANTS = [null, 'acme', 'x:y', 'nobody'] as const;
const QUERIES: SchemaInput[] = [
  { fields: S.people },
  { fields: S.people, recordCount: 100 },
  { fields: [...S.people, { name: 'extra', kind: 'text' }] },
  { fields: S.peopleMore, recordCount: 100 },
  { fields: S.sims },
  { fields: [...S.orders, { name: 'extra', kind: 'text' }], recordCount: 100 },
  { fields: fields('ssn:id zz:text') },
];

/** Versions in every state the index distinguishes, for global models and two tenants (one shadowing a global name). */
async function populate(registry: Registry): Promise<void> {
  const global = registry;
  const acme = registry.withTenant('acme');
  const xy = registry.withTenant('x:y');
  const add = (r: Registry, model: string, schema: SchemaInput['fields'], recordCount = 100) => r.registerVersion(model, { artifact: 's3://m', schema: { fields: schema, recordCount } });
  await add(global, 'people', S.people);
  await add(global, 'people', S.peopleMore);
  await add(global, 'sims', S.sims);
  await global.registerVersion('plain', { artifact: 's3://no-schema' });
  await add(acme, 'people', S.people, 5); // shadows the global `people`
  await add(acme, 'orders', S.orders);
  await add(acme, 'orders', S.orders, 7);
  await acme.archiveVersion('orders', 2);
  await add(acme, 'orders', S.peopleMore);
  await acme.retire('orders', 3);
  await add(xy, 'sims', S.sims, 3);
  await add(xy, 'gone', S.orders);
  await xy.retire('gone');
  await add(xy, 'back', S.peopleMore);
  await xy.archiveVersion('back', 1);
  await xy.unarchiveVersion('back', 1);
}

async function answers(lookup: (tenant: string | null, query: SchemaInput) => Promise<SchemaLookup>): Promise<SchemaLookup[]> {
  const out: SchemaLookup[] = [];
  for (const tenant of TENANTS) for (const query of QUERIES) out.push(await lookup(tenant, query));
  return out;
}

const registryAnswers = (registry: Registry) => answers((tenant, query) => registry.withTenant(tenant).lookupSchema(query));

const layout1 = (level: Level) => ({
  postings: level.root.sublevel<string, string>(LAYOUT_1_NAMESPACES.postings, { keyEncoding: 'utf8', valueEncoding: 'utf8' }) as TextSublevel,
  entries: level.root.sublevel<string, string>(LAYOUT_1_NAMESPACES.entries, { keyEncoding: 'utf8', valueEncoding: 'utf8' }) as TextSublevel,
});

async function contents(sublevel: TextSublevel): Promise<[string, string][]> {
  return sublevel.iterator().all();
}

/**
 * Rewrites the index as modelsql before issue 8 kept it: entries `<hash>:<scope>:...` in
 * `schema_fingerprints`, postings `<field>:<kind>:<size>:<hash>` shared by all scopes in
 * `schema_tokens`, no layout marker.
 */
async function downgradeToLayout1(level: Level): Promise<void> {
  const old = layout1(level);
  for (const [key, value] of await contents(level.fingerprints)) {
    const [scope, hash, ...rest] = key.split(':');
    await old.entries.put([hash, scope, ...rest].join(':'), value);
  }
  for (const key of await level.schemaTokens.keys().all()) await old.postings.put(key.slice(key.indexOf(':') + 1), '');
  await level.fingerprints.clear();
  await level.schemaTokens.clear();
  await level.meta.del(SCHEMA_INDEX_LAYOUT_KEY);
}

/** The index as it stands: entries exactly, postings as the set a rebuild writes (the schemas of live entries). */
async function indexState(level: Level) {
  const entries = await contents(level.fingerprints);
  const live = new Set(entries.map(([key]) => key.split(':').slice(0, 2).join(':')));
  const postings = (await level.schemaTokens.keys().all()).filter((key) => live.has(`${key.split(':')[0]}:${key.slice(-64)}`));
  return { entries, postings };
}

describe('schema index layout', () => {
  it('a layout-1 folder is rebuilt at open: the same answers for every tenant, the old keys gone, the layout recorded', async () => {
    const dir = await resources.dir();
    const level = await openLevel({ path: dir });
    const registry = new Registry(level, new CommitQueue(level.root, [level.models], false), 'tester');
    await populate(registry);
    const before = await registryAnswers(registry);
    const index = await indexState(level);
    await downgradeToLayout1(level);
    // The fixture really is layout 1: one shared posting per field, entries led by the hash.
    const old = layout1(level);
    const [peopleHash] = (await old.entries.keys().all()).filter((key) => key.includes(':acme:')).map((key) => key.split(':')[0]);
    expect(await old.postings.keys().all()).toContain(`ssn:id:0004:${peopleHash}`);
    await level.root.close();

    const db = resources.track(await open({ path: dir }));
    const after = await answers((tenant, query) => (tenant === null ? db : db.withTenant(tenant)).registry.lookupSchema(query));
    expect(after).toEqual(before);
    expect(after.map((a) => a.mode)).toEqual(expect.arrayContaining(['warm_load', 'warm_start', 'cold_start']));
    await db.close();

    const reopened = await openLevel({ path: dir });
    try {
      expect(await reopened.meta.get(SCHEMA_INDEX_LAYOUT_KEY)).toBe('2');
      expect(await layout1(reopened).entries.keys().all()).toEqual([]);
      expect(await layout1(reopened).postings.keys().all()).toEqual([]);
      expect(await indexState(reopened)).toEqual(index);
      // Only the postings of live entries' schemas are written back.
      expect(await reopened.schemaTokens.keys().all()).toEqual(index.postings);
    } finally {
      await reopened.root.close();
    }
  });

  it('a move cut short after any batch leaves the layout unrecorded, and the next open finishes it with the same index', async () => {
    let batches = Infinity;
    for (let crashAfter = 0; crashAfter < batches; crashAfter++) {
      const level = await openLevel({ memory: true });
      const queue = new CommitQueue(level.root, [level.models], false);
      const registry = new Registry(level, queue, 'tester');
      await populate(registry);
      const before = await registryAnswers(registry);
      const index = await indexState(level);
      await downgradeToLayout1(level);

      // The process dies after `crashAfter` batches: nothing after them reaches the store.
      let submitted = 0;
      const dying = Object.create(queue) as CommitQueue;
      dying.submit = (ops, epoch) => (submitted++ < crashAfter ? queue.submit(ops, epoch) : Promise.reject(new Error('killed')));
      await expect(upgradeSchemaIndex(level, dying, { chunkOps: 7 })).rejects.toThrow('killed');
      expect(await level.meta.get(SCHEMA_INDEX_LAYOUT_KEY)).toBeUndefined();

      const upgrade = await upgradeSchemaIndex(level, queue, { chunkOps: 7 });
      expect(upgrade).toMatchObject({ kind: 'rebuilt', entries: index.entries.length });
      if (upgrade.kind === 'rebuilt' && crashAfter === 0) batches = upgrade.batches;
      expect(await level.meta.get(SCHEMA_INDEX_LAYOUT_KEY)).toBe('2');
      expect(await indexState(level)).toEqual(index);
      expect(await layout1(level).entries.keys().all()).toEqual([]);
      expect(await layout1(level).postings.keys().all()).toEqual([]);
      expect(await registryAnswers(new Registry(level, queue, 'tester'))).toEqual(before);
      expect(await upgradeSchemaIndex(level, queue)).toEqual({ kind: 'current' });
      await level.root.close();
    }
    // Bounded chunks really split the move (clear, rebuild, delete the old keys).
    expect(batches).toBeGreaterThan(5);
  });

  it('a new folder records the layout; versions an older modelsql indexed in layout 1 after the move are rebuilt into the new one', async () => {
    const dir = await resources.dir();
    const first = await open({ path: dir });
    await first.close();
    const level = await openLevel({ path: dir });
    expect(await level.meta.get(SCHEMA_INDEX_LAYOUT_KEY)).toBe('2');
    // An older modelsql registers a version: it writes the layout-1 keys, not ours.
    const registry = new Registry(level, new CommitQueue(level.root, [level.models], false), 'tester');
    await registry.withTenant('acme').registerVersion('people', { artifact: 's3://m', schema: { fields: S.people } });
    const index = await indexState(level);
    await downgradeToLayout1(level);
    await level.meta.put(SCHEMA_INDEX_LAYOUT_KEY, '2');
    await level.root.close();

    const db = resources.track(await open({ path: dir }));
    expect(await db.withTenant('acme').registry.lookupSchema({ fields: S.people })).toEqual({ mode: 'warm_load', model: 'people', version: 1, distance: 0 });
    await db.close();
    const after = await openLevel({ path: dir });
    expect(await indexState(after)).toEqual(index);
    await after.root.close();
  });

  it.each([
    ['3', 'UNSUPPORTED_FORMAT', /schema index layout 3, written by a newer modelsql/],
    ['two', 'CORRUPTION', /schema_index_layout/],
    ['1', 'CORRUPTION', /schema_index_layout/],
  ])('a layout marker of %s is refused at open with %s, the folder untouched', async (marker, code, message) => {
    const dir = await resources.dir();
    const first = await open({ path: dir });
    await first.query("CREATE MODEL m WITH (artifact = 's3://m') SCHEMA (a id, b text)");
    await first.close();
    const level = await openLevel({ path: dir });
    await level.meta.put(SCHEMA_INDEX_LAYOUT_KEY, marker);
    const index = await indexState(level);
    await level.root.close();

    await expect(open({ path: dir })).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
    const after = await openLevel({ path: dir });
    expect(await after.meta.get(SCHEMA_INDEX_LAYOUT_KEY)).toBe(marker);
    expect(await indexState(after)).toEqual(index);
    await after.root.close();
  });
});

describe('modelsql check and modelsql backup of a folder still in layout 1 (the CLI does not run the move)', () => {
  /** A closed folder written in layout 1, and the answers its registry gave before the downgrade. */
  async function layout1Folder(): Promise<{ dir: string; before: SchemaLookup[] }> {
    const dir = await resources.dir();
    const level = await openLevel({ path: dir });
    const registry = new Registry(level, new CommitQueue(level.root, [level.models], false), 'tester');
    await populate(registry);
    const before = await registryAnswers(registry);
    await downgradeToLayout1(level);
    await level.root.close();
    return { dir, before };
  }

  const output = () => {
    const out = { text: '', write: (text: string) => (out.text += text) };
    return out;
  };

  it('the integrity check finds no problem in a sound layout-1 folder and notes that the next open rebuilds the index', async () => {
    const { dir } = await layout1Folder();
    const level = await openLevel({ path: dir });
    try {
      const found: IntegrityProblem[] = [];
      const notes: string[] = [];
      for await (const p of checkIntegrity(level, { onNote: (note) => notes.push(note) })) found.push(p);
      expect(found).toEqual([]);
      expect(notes).toEqual([expect.stringMatching(/layout 1.*next open.*rebuild/)]);
    } finally {
      await level.root.close();
    }
  });

  it('modelsql check exits 0 with ok on stdout and the note on stderr; the folder keeps its layout', async () => {
    const { dir } = await layout1Folder();
    const stdout = output();
    const stderr = output();
    expect(await runCommand({ kind: 'check', path: dir }, stdout, stderr)).toBe(0);
    expect(stdout.text).toBe('ok\n');
    expect(stderr.text).toMatch(/^note: .*layout 1.*\n$/);
    const level = await openLevel({ path: dir });
    expect(await level.meta.get(SCHEMA_INDEX_LAYOUT_KEY)).toBeUndefined();
    expect(await layout1(level).entries.keys().all()).not.toEqual([]);
    await level.root.close();
  });

  it('still reports real damage in a layout-1 folder', async () => {
    const { dir } = await layout1Folder();
    const level = await openLevel({ path: dir });
    await level.meta.put('stray', 'x');
    await level.root.close();
    const stdout = output();
    expect(await runCommand({ kind: 'check', path: dir }, stdout, output())).toBe(1);
    expect(stdout.text).toBe('meta\tstray\tunknown key\n');
  });

  it('modelsql backup copies the layout-1 keys: the copy is the same old-layout folder, and open() moves it with the same answers', async () => {
    const { dir, before } = await layout1Folder();
    const dest = join(await resources.dir(), 'copy');
    const stdout = output();
    const stderr = output();
    expect(await runCommand({ kind: 'backup', path: dir, dest }, stdout, stderr)).toBe(0);
    expect(stderr.text).toBe('');
    const source = await openLevel({ path: dir });
    const copy = await openLevel({ path: dest });
    try {
      expect(await copy.meta.get(SCHEMA_INDEX_LAYOUT_KEY)).toBeUndefined();
      expect(await contents(layout1(copy).entries)).toEqual(await contents(layout1(source).entries));
      expect(await contents(layout1(copy).postings)).toEqual(await contents(layout1(source).postings));
    } finally {
      await source.root.close();
      await copy.root.close();
    }
    const db = resources.track(await open({ path: dest }));
    expect(await answers((tenant, query) => (tenant === null ? db : db.withTenant(tenant)).registry.lookupSchema(query))).toEqual(before);
    expect((await db.query('CHECK REGISTRY')).rows).toEqual([]);
  });

  it('backupStore of a layout-1 store in memory verifies the copy without false problems', async () => {
    const level = await openLevel({ memory: true });
    const registry = new Registry(level, new CommitQueue(level.root, [level.models], false), 'tester');
    await populate(registry);
    await downgradeToLayout1(level);
    const dest = join(await resources.dir(), 'copy');
    await expect(backupStore(level, dest)).resolves.toMatchObject({ path: dest });
    await level.root.close();
  });
});
