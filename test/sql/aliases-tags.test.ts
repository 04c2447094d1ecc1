/**
 * Aliases, tags and USE PREVIOUS VERSION as users meet them: the statements, `@alias`
 * wherever a version is named, the typed API, the tables and columns, the events, and
 * every refusal (which changes nothing).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Database, Row } from '../../src/index.js';
import { parseStatement, printStatement } from '../../src/index.js';
import { Resources, expectError, expectFailsUnchanged, memoryDb, one, weights } from '../helpers/sql.js';

const resources = new Resources();
afterEach(() => resources.cleanup());

async function db(options: { createdBy?: string } = {}): Promise<Database> {
  return resources.track(await memoryDb(options));
}

/** A model with versions 1..n, version n active. */
async function withVersions(d: Database, n: number, model = 'spam'): Promise<Database> {
  for (let i = 0; i < n; i++) await d.query(`CREATE MODEL ${model} WITH (weights = $1)`, [weights(i)]);
  return d;
}

async function events(d: Database, kinds: string): Promise<Row[]> {
  return [...(await d.query(`SELECT version, kind, old_value, new_value, detail FROM ML_MODEL_EVENTS WHERE kind IN (${kinds})`)).rows];
}

describe('SET ALIAS / DROP ALIAS', () => {
  it('sets, moves and drops an alias, one event each; pointing it where it points changes nothing', async () => {
    const d = await withVersions(await db(), 3);
    expect(one(await d.query('ALTER MODEL spam SET ALIAS champion TO VERSION 2'))).toEqual({ model: 'spam', alias: 'champion', version: 2, previous_version: null });
    expect(one(await d.query('ALTER MODEL spam SET ALIAS champion TO VERSION 3'))).toEqual({ model: 'spam', alias: 'champion', version: 3, previous_version: 2 });
    const logged = (await d.query('SELECT * FROM ML_MODEL_EVENTS')).rowCount;
    expect(one(await d.query('ALTER MODEL spam SET ALIAS champion TO VERSION 3'))).toEqual({ model: 'spam', alias: 'champion', version: 3, previous_version: 3 });
    expect((await d.query('SELECT * FROM ML_MODEL_EVENTS')).rowCount).toBe(logged);
    const before = one(await d.query('SELECT updated_at FROM ML_MODELS_DASHBOARD')).updated_at as Date;
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(one(await d.query('ALTER MODEL spam DROP ALIAS champion'))).toEqual({ model: 'spam', alias: 'champion', version: null, previous_version: 3 });
    // An alias change is a change of the model: its updated_at moves, as for tags and the pointer.
    expect((one(await d.query('SELECT updated_at FROM ML_MODELS_DASHBOARD')).updated_at as Date).getTime()).toBeGreaterThan(before.getTime());
    expect(await events(d, "'alias_set', 'alias_moved', 'alias_dropped'")).toEqual([
      { version: 2, kind: 'alias_set', old_value: null, new_value: 2, detail: { alias: 'champion' } },
      { version: 3, kind: 'alias_moved', old_value: 2, new_value: 3, detail: { alias: 'champion' } },
      { version: 3, kind: 'alias_dropped', old_value: 3, new_value: null, detail: { alias: 'champion' } },
    ]);
  });

  it('several aliases may point at one version: the aliases column is sorted, ML_MODEL_ALIASES lists them with who set them', async () => {
    const d = await withVersions(await db({ createdBy: 'ci' }), 2);
    await d.query('ALTER MODEL spam SET ALIAS prod TO VERSION 1');
    await d.query('ALTER MODEL spam SET ALIAS champion TO VERSION 1');
    await d.query('ALTER MODEL spam SET ALIAS challenger TO VERSION @champion');
    await d.query('ALTER MODEL spam SET ALIAS challenger TO VERSION 2');
    expect((await d.query("SELECT version, aliases FROM ML_MODEL_VERSIONS WHERE model = 'spam'")).rows).toEqual([
      { version: 1, aliases: ['champion', 'prod'] },
      { version: 2, aliases: ['challenger'] },
    ]);
    expect(one(await d.query('SELECT aliases FROM ML_MODELS_DASHBOARD')).aliases).toEqual({ challenger: 2, champion: 1, prod: 1 });
    const rows = (await d.query("SELECT model, alias, version, set_at, set_by, tenant FROM ML_MODEL_ALIASES WHERE model = 'spam'")).rows;
    expect(rows.map((r) => [r.alias, r.version, r.set_by, r.tenant])).toEqual([
      ['challenger', 2, 'ci', null],
      ['champion', 1, 'ci', null],
      ['prod', 1, 'ci', null],
    ]);
    expect(rows.every((r) => r.set_at instanceof Date)).toBe(true);
    expect((await d.query("SELECT alias FROM ML_MODEL_ALIASES WHERE version = 1 ORDER BY alias DESC")).rows).toEqual([{ alias: 'prod' }, { alias: 'champion' }]);
    expect((await d.query("SELECT * FROM ML_MODEL_ALIASES WHERE model = 'nope'")).rowCount).toBe(0);
  });

  it('@alias stands for its version wherever a version is named, also as a $n string', async () => {
    const d = await withVersions(await db(), 3);
    await d.query('ALTER MODEL spam SET ALIAS champion TO VERSION 1');
    expect(one(await d.query('ALTER MODEL spam USE VERSION @champion'))).toEqual({ model: 'spam', active_version: 1, previous_version: 3 });
    expect(one(await d.query('ALTER MODEL spam VERSION @champion PROMOTE TO STAGING'))).toMatchObject({ version: 1, stage: 'staging' });
    expect(one(await d.query('ALTER MODEL spam USE VERSION $1', ['@champion']))).toMatchObject({ active_version: 1 });
    await d.query('ALTER MODEL spam SET ALIAS challenger TO VERSION 2');
    expect(one(await d.query('ARCHIVE MODEL spam VERSION @challenger'))).toEqual({ model: 'spam', archived: 1, active_version: 1 });
    expect(one(await d.query("SELECT archived, aliases FROM ML_MODEL_VERSIONS WHERE model = 'spam' AND version = 2"))).toEqual({ archived: true, aliases: [] });
    await d.query('ALTER MODEL spam SET ALIAS old TO VERSION 3');
    expect(one(await d.query('RETIRE MODEL spam VERSION @old'))).toMatchObject({ version: 3, retired: 1 });
  });

  it('archiving or retiring a version drops its aliases, as events in the same statement', async () => {
    const d = await withVersions(await db(), 3);
    await d.query('ALTER MODEL spam SET ALIAS a TO VERSION 1');
    await d.query('ALTER MODEL spam SET ALIAS b TO VERSION 1');
    await d.query('ALTER MODEL spam SET ALIAS c TO VERSION 2');
    await d.query('ARCHIVE MODEL spam VERSION 1');
    await d.query('RETIRE MODEL spam VERSION 2');
    expect(await events(d, "'alias_dropped'")).toEqual([
      { version: 1, kind: 'alias_dropped', old_value: 1, new_value: null, detail: { alias: 'a', reason: 'archived' } },
      { version: 1, kind: 'alias_dropped', old_value: 1, new_value: null, detail: { alias: 'b', reason: 'archived' } },
      { version: 2, kind: 'alias_dropped', old_value: 2, new_value: null, detail: { alias: 'c', reason: 'retired' } },
    ]);
    await d.query('ALTER MODEL spam SET ALIAS d TO VERSION 3');
    await d.query('RETIRE MODEL spam');
    expect((await d.query('SELECT * FROM ML_MODEL_ALIASES')).rowCount).toBe(0);
  });

  it('refuses, changing nothing: unknown alias, archived or retired target, unknown version, bad names', async () => {
    const d = await withVersions(await db(), 3);
    await d.query('ARCHIVE MODEL spam VERSION 1');
    await d.query('RETIRE MODEL spam VERSION 2');
    const unknown = await expectFailsUnchanged(d, () => d.query('ALTER MODEL spam USE VERSION @champion'), 'UNKNOWN_ALIAS', "model 'spam' has no alias 'champion'");
    expect(unknown).toMatchObject({ model: 'spam', alias: 'champion' });
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL spam DROP ALIAS champion'), 'UNKNOWN_ALIAS');
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL spam SET ALIAS x TO VERSION @champion'), 'UNKNOWN_ALIAS');
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL spam SET ALIAS x TO VERSION 1'), 'VERSION_ARCHIVED');
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL spam SET ALIAS x TO VERSION 2'), 'VERSION_RETIRED');
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL spam SET ALIAS x TO VERSION 9'), 'UNKNOWN_VERSION');
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL nope SET ALIAS x TO VERSION 1'), 'UNKNOWN_MODEL');
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL spam SET ALIAS "no-dashes" TO VERSION 3'), 'INVALID_ARGUMENT');
    await expectFailsUnchanged(d, () => d.query(`ALTER MODEL spam SET ALIAS a${'x'.repeat(64)} TO VERSION 3`), 'INVALID_ARGUMENT');
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL spam USE VERSION $1', ['champion']), 'INVALID_ARGUMENT');
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL spam USE VERSION $1', ['@no-dashes']), 'INVALID_ARGUMENT');
  });

  it('the typed API takes an alias as "@name" where it takes a version; resolve() answers with one read', async () => {
    const d = await withVersions(await db(), 2);
    expect(await d.registry.setAlias('spam', 'champion', 1)).toEqual({ alias: 'champion', previous: null, version: 1 });
    expect(await d.registry.resolve('spam', 'champion')).toBe(1);
    expect(await d.registry.resolve('spam', '@champion')).toBe(1);
    expect(await d.registry.setActiveVersion('spam', '@champion')).toEqual({ previous: 2, version: 1 });
    expect((await d.registry.getVersion('spam', '@champion')).aliases).toEqual(['champion']);
    expect(await d.registry.promote('spam', '@champion', 'staging')).toMatchObject({ version: 1, to: 'staging' });
    expect((await d.registry.listAliases()).map((a) => `${a.model}@${a.alias}=${a.version}`)).toEqual(['spam@champion=1']);
    await expectError(d.registry.resolve('spam', 'nope'), 'UNKNOWN_ALIAS');
    await expectError(d.registry.getVersion('spam', 'champion' as never), 'INVALID_ARGUMENT');
    await expectError(d.registry.setActiveVersion('spam', {} as never), 'INVALID_ARGUMENT');
    expect(await d.registry.dropAlias('spam', 'champion')).toEqual({ alias: 'champion', version: 1 });
    await expectError(d.registry.resolve('spam', 'champion'), 'UNKNOWN_ALIAS');
  });

  it('a tenant aliases only its own models: a global one is PERMISSION_DENIED, another tenant\'s is UNKNOWN_MODEL', async () => {
    const d = await withVersions(await db(), 1, 'shared');
    const acme = d.withTenant('acme');
    const other = d.withTenant('other');
    await withVersions(other, 1, 'secret');
    await other.query('ALTER MODEL secret SET ALIAS hidden TO VERSION 1');
    await expectFailsUnchanged(acme, () => acme.query('ALTER MODEL shared SET ALIAS x TO VERSION 1'), 'PERMISSION_DENIED');
    const missing = await expectError(acme.query('ALTER MODEL nothing SET ALIAS x TO VERSION 1'), 'UNKNOWN_MODEL');
    const hidden = await expectError(acme.query('ALTER MODEL secret SET ALIAS x TO VERSION 1'), 'UNKNOWN_MODEL');
    expect(hidden.message.replace('secret', 'nothing')).toBe(missing.message);
    await expectError(acme.query('ALTER MODEL secret USE VERSION @hidden'), 'UNKNOWN_MODEL');
    expect((await acme.query('SELECT * FROM ML_MODEL_ALIASES')).rowCount).toBe(0);
    expect((await other.query('SELECT alias, tenant FROM ML_MODEL_ALIASES')).rows).toEqual([{ alias: 'hidden', tenant: 'other' }]);
    expect((await d.query('SELECT * FROM ML_MODEL_ALIASES')).rowCount).toBe(0);
  });
});

describe('@alias in the other places a version is named', () => {
  it('readWeights and exportWeights, CREATE ... FROM VERSION @a, and a copy FROM MODEL s VERSION @a', async () => {
    const d = await withVersions(await db(), 2);
    await d.query('ALTER MODEL spam SET ALIAS champion TO VERSION 1');
    expect(Buffer.from(await d.registry.readWeights('spam', '@champion')).equals(weights(0))).toBe(true);
    expect(one(await d.query('CREATE MODEL spam FROM VERSION @champion WITH (weights = $1)', [weights(9)]))).toMatchObject({ version: 3 });
    expect(one(await d.query("SELECT parent_version FROM ML_MODEL_VERSIONS WHERE model = 'spam' AND version = 3")).parent_version).toBe(1);
    expect(one(await d.query('CREATE MODEL spam_prod FROM MODEL spam VERSION @champion'))).toMatchObject({ model: 'spam_prod', version: 1, copied_from_version: 1 });
    expect((await d.registry.copyVersion('spam_prod', { model: 'spam', version: '@champion' })).copiedFrom.version).toBe(1);
    await expectFailsUnchanged(d, () => d.query('CREATE MODEL spam FROM VERSION @nope WITH (weights = $1)', [weights(8)]), 'UNKNOWN_ALIAS');
    await expectFailsUnchanged(d, () => d.query('CREATE MODEL x FROM MODEL spam VERSION @nope'), 'UNKNOWN_ALIAS');
    await expectError(d.registry.readWeights('spam', '@nope'), 'UNKNOWN_ALIAS');
  });

  it('a model has at most 100 aliases', async () => {
    const d = await withVersions(await db(), 1);
    for (let i = 0; i < 100; i++) await d.registry.setAlias('spam', `a${i}`, 1);
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL spam SET ALIAS one_more TO VERSION 1'), 'INVALID_ARGUMENT', /100 aliases/);
    await d.query('ALTER MODEL spam SET ALIAS a0 TO VERSION 1'); // an existing one may still be set
  });
});

describe('SET TAG / UNSET TAG', () => {
  it('tags models and versions; setting the same value or unsetting a missing tag changes nothing', async () => {
    const d = await withVersions(await db(), 2);
    expect(one(await d.query("ALTER MODEL spam SET TAG team = 'search'"))).toEqual({ model: 'spam', tag: 'team', value: 'search', previous_value: null, changed: 1 });
    expect(one(await d.query("ALTER MODEL spam SET TAG team = 'ranking'"))).toEqual({ model: 'spam', tag: 'team', value: 'ranking', previous_value: 'search', changed: 1 });
    expect(one(await d.query("ALTER MODEL spam SET TAG team = 'ranking'"))).toMatchObject({ changed: 0 });
    expect(one(await d.query("ALTER MODEL spam VERSION 2 SET TAG validated = $1", ['yes']))).toMatchObject({ tag: 'validated', value: 'yes', changed: 1 });
    expect(one(await d.query('ALTER MODEL spam VERSION 1 UNSET TAG validated'))).toMatchObject({ previous_value: null, changed: 0 });
    expect(one(await d.query('SELECT tags FROM ML_MODELS_DASHBOARD')).tags).toEqual({ team: 'ranking' });
    expect((await d.query("SELECT version, tags FROM ML_MODEL_VERSIONS WHERE model = 'spam'")).rows).toEqual([
      { version: 1, tags: {} },
      { version: 2, tags: { validated: 'yes' } },
    ]);
    expect(one(await d.query('ALTER MODEL spam UNSET TAG team'))).toEqual({ model: 'spam', tag: 'team', value: null, previous_value: 'ranking', changed: 1 });
    expect(await events(d, "'tag_set', 'tag_removed'")).toEqual([
      { version: null, kind: 'tag_set', old_value: null, new_value: 'search', detail: { tag: 'team' } },
      { version: null, kind: 'tag_set', old_value: 'search', new_value: 'ranking', detail: { tag: 'team' } },
      { version: 2, kind: 'tag_set', old_value: null, new_value: 'yes', detail: { tag: 'validated' } },
      { version: null, kind: 'tag_removed', old_value: 'ranking', new_value: null, detail: { tag: 'team' } },
    ]);
  });

  it('tags are the only mutable annotation: a version keeps its metrics, and archived versions keep their tags', async () => {
    const d = await db();
    await d.query(`CREATE MODEL spam WITH (weights = $1, metrics = '{"f1":0.9}')`, [weights(1)]);
    await d.query("ALTER MODEL spam VERSION 1 SET TAG note = 'keep'");
    await d.query('ARCHIVE MODEL spam VERSION 1');
    await d.query("ALTER MODEL spam VERSION 1 SET TAG reason = 'drift'");
    expect(one(await d.query('SELECT metrics, tags, archived FROM ML_MODEL_VERSIONS'))).toEqual({ metrics: { f1: 0.9 }, tags: { note: 'keep', reason: 'drift' }, archived: true });
    await d.query('UNARCHIVE MODEL spam VERSION 1');
    expect(one(await d.query('SELECT tags FROM ML_MODEL_VERSIONS')).tags).toEqual({ note: 'keep', reason: 'drift' });
  });

  it('refuses, changing nothing: non-string values, retired models and versions, unknown versions and aliases, limits', async () => {
    const d = await withVersions(await db(), 2);
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL spam SET TAG n = 1'), 'INVALID_ARGUMENT', /tag value is a string/);
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL spam SET TAG n = NULL'), 'INVALID_ARGUMENT');
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL spam SET TAG n = $1', [{ a: 1 }]), 'INVALID_ARGUMENT');
    await expectFailsUnchanged(d, () => d.query(`ALTER MODEL spam SET TAG n = '${'x'.repeat(5001)}'`), 'INVALID_ARGUMENT');
    await expectFailsUnchanged(d, () => d.query(`ALTER MODEL spam SET TAG "${'k'.repeat(251)}" = 'v'`), 'INVALID_ARGUMENT');
    await expectFailsUnchanged(d, () => d.query("ALTER MODEL spam VERSION 9 SET TAG a = 'b'"), 'UNKNOWN_VERSION');
    await expectFailsUnchanged(d, () => d.query("ALTER MODEL spam VERSION @nope SET TAG a = 'b'"), 'UNKNOWN_ALIAS');
    await expectFailsUnchanged(d, () => d.query("ALTER MODEL nope SET TAG a = 'b'"), 'UNKNOWN_MODEL');
    await d.query('RETIRE MODEL spam VERSION 1');
    await expectFailsUnchanged(d, () => d.query("ALTER MODEL spam VERSION 1 SET TAG a = 'b'"), 'VERSION_RETIRED');
    for (let i = 0; i < 100; i++) await d.registry.setTag('spam', `t${i}`, 'v');
    await expectFailsUnchanged(d, () => d.query("ALTER MODEL spam SET TAG one_more = 'v'"), 'INVALID_ARGUMENT', /100 tags/);
    await d.query("ALTER MODEL spam SET TAG t0 = 'changed'"); // changing an existing one is fine
    await d.query('RETIRE MODEL spam');
    await expectFailsUnchanged(d, () => d.query("ALTER MODEL spam SET TAG a = 'b'"), 'MODEL_RETIRED');
  });

  it('the typed API: setTag, removeTag, setVersionTag, removeVersionTag; a key like __proto__ is a tag like any other', async () => {
    const d = await withVersions(await db(), 1);
    expect(await d.registry.setTag('spam', 'team', 'search')).toEqual({ changed: true, previous: null });
    expect(await d.registry.setTag('spam', '__proto__', 'x')).toEqual({ changed: true, previous: null });
    expect(await d.registry.setVersionTag('spam', 1, 'validated', 'yes')).toEqual({ changed: true, previous: null });
    expect((await d.registry.getVersion('spam', 1)).tags).toEqual({ validated: 'yes' });
    expect(await d.registry.removeVersionTag('spam', 1, 'validated')).toEqual({ changed: true, previous: 'yes' });
    expect(await d.registry.removeTag('spam', 'team')).toEqual({ changed: true, previous: 'search' });
    const [summary] = await d.registry.summaries();
    expect(Object.keys(summary!.tags)).toEqual(['__proto__']);
    await expectError(d.registry.setTag('spam', 'team', null as never), 'INVALID_ARGUMENT');
    await expectError(d.registry.setVersionTag('spam', null as never, 'a', 'b'), 'INVALID_ARGUMENT');
    await expectError(d.registry.setTag('spam', '', 'b'), 'INVALID_ARGUMENT');
  });
});

describe('USE PREVIOUS VERSION', () => {
  it('walks back along the pointer history, one step per statement, recorded as rollbacks; then says there is none', async () => {
    const d = await withVersions(await db(), 3);
    expect(one(await d.query('ALTER MODEL spam USE PREVIOUS VERSION'))).toEqual({ model: 'spam', active_version: 2, previous_version: 3 });
    expect(one(await d.query('ALTER MODEL spam USE PREVIOUS VERSION'))).toEqual({ model: 'spam', active_version: 1, previous_version: 2 });
    const error = await expectFailsUnchanged(d, () => d.query('ALTER MODEL spam USE PREVIOUS VERSION'), 'NO_MATCHING_VERSION', /no previous version/);
    expect(error.model).toBe('spam');
    const rollbacks = (await d.query("SELECT old_value, new_value, detail FROM ML_MODEL_EVENTS WHERE kind = 'active_moved' AND seq > 6")).rows;
    expect(rollbacks).toEqual([
      { old_value: 3, new_value: 2, detail: { rollback: 1 } },
      { old_value: 2, new_value: 1, detail: { rollback: 1 } },
    ]);
  });

  it('after an ordinary move, the previous version is the one it moved from; archived and retired versions are skipped', async () => {
    const d = await withVersions(await db(), 4);
    await d.query('ALTER MODEL spam USE VERSION 1'); // history 1 2 3 4 1
    expect(one(await d.query('ALTER MODEL spam USE PREVIOUS VERSION')).active_version).toBe(4);
    await d.query('ARCHIVE MODEL spam VERSION 3');
    await d.query('RETIRE MODEL spam VERSION 2');
    expect(await d.registry.usePreviousVersion('spam')).toEqual({ previous: 4, version: 1, steps: 3 });
    await expectFailsUnchanged(d, () => d.registry.usePreviousVersion('spam'), 'NO_MATCHING_VERSION');
  });

  it('from a cleared pointer it goes back to the last servable version; a retired or unknown model is refused', async () => {
    const d = await withVersions(await db(), 2);
    await d.query('ARCHIVE MODEL spam VERSION 2'); // clears the pointer
    expect(one(await d.query('ALTER MODEL spam USE PREVIOUS VERSION'))).toEqual({ model: 'spam', active_version: 1, previous_version: null });
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL nope USE PREVIOUS VERSION'), 'UNKNOWN_MODEL');
    await d.query('RETIRE MODEL spam');
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL spam USE PREVIOUS VERSION'), 'MODEL_RETIRED');
  });

  it('a model created inactive has nothing to go back to', async () => {
    const d = await db();
    await d.query('CREATE MODEL spam WITH (weights = $1, active = false)', [weights(1)]);
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL spam USE PREVIOUS VERSION'), 'NO_MATCHING_VERSION');
  });
});

describe('parse → print → re-parse', () => {
  it.each([
    'ALTER MODEL spam SET ALIAS champion TO VERSION 3',
    'ALTER MODEL spam SET ALIAS "select" TO VERSION @challenger',
    'ALTER MODEL spam DROP ALIAS champion',
    "ALTER MODEL spam SET TAG team = 'search'",
    "ALTER MODEL spam VERSION @champion SET TAG \"odd key\" = $1",
    'ALTER MODEL spam VERSION 3 UNSET TAG validated',
    'ALTER MODEL spam UNSET TAG team',
    'ALTER MODEL spam USE PREVIOUS VERSION',
    'ALTER MODEL spam USE VERSION @champion',
    'ALTER MODEL spam VERSION @champion PROMOTE TO STAGING',
    'ARCHIVE MODEL spam VERSION @challenger',
    'UNARCHIVE MODEL spam VERSION @x',
    'RETIRE MODEL spam VERSION @old',
  ])('%s', (sql) => {
    const ast = parseStatement(sql);
    expect(parseStatement(printStatement(ast))).toEqual(ast);
    expect(printStatement(ast)).toBe(sql);
  });

  it('a syntax error after SET names what may follow', async () => {
    const d = await db();
    const error = await expectError(d.query('ALTER MODEL spam SET COLOR x'), 'SYNTAX_ERROR');
    expect(error.expected).toEqual(['ALIAS', 'TAG']);
  });
});
