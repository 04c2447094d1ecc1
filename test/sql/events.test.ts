/**
 * The event log as users meet it: one event per thing changed, in the statement's own
 * batch, through ML_MODEL_EVENTS, db.registry.history and db.watch, with tenants
 * seeing only their own models' events.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { open, type Database, type ModelEvent, type Row } from '../../src/index.js';
import { Resources, expectError, expectFailsUnchanged, memoryDb, waitForJob, weights } from '../helpers/sql.js';

const resources = new Resources();
afterEach(() => resources.cleanup());

async function db(options: { createdBy?: string } = {}): Promise<Database> {
  return resources.track(await memoryDb(options));
}

async function events(d: Database, where = ''): Promise<readonly Row[]> {
  const { rows } = await d.query(`SELECT seq, actor, tenant, model, version, kind, old_value, new_value, detail FROM ML_MODEL_EVENTS ${where}`);
  return rows;
}

const create = (d: Database, model: string, extra = '') => d.query(`CREATE MODEL ${model} WITH (weights = $1${extra})`, [weights(1)]);

describe('ML_MODEL_EVENTS', () => {
  it('records one event per thing changed, with old and new values, in seq order', async () => {
    const d = await db({ createdBy: 'ci' });
    await create(d, 'spam', ", created_by = 'alice'");
    await create(d, 'spam', ', active = false');
    await d.query('ALTER MODEL spam USE VERSION 2');
    await d.query('ALTER MODEL spam VERSION 2 PROMOTE TO STAGING');
    await d.query('ARCHIVE MODEL spam VERSION 1');
    await d.query('ARCHIVE MODEL spam VERSION 2');
    await d.query('UNARCHIVE MODEL spam VERSION 2');
    await d.query('RETIRE MODEL spam VERSION 1');
    await d.query('RETIRE MODEL spam');
    const base = { tenant: null, model: 'spam', detail: null };
    expect(await events(d)).toEqual([
      { ...base, seq: 1, actor: 'alice', version: 1, kind: 'version_created', old_value: null, new_value: 1 },
      { ...base, seq: 2, actor: 'alice', version: 1, kind: 'active_moved', old_value: null, new_value: 1 },
      { ...base, seq: 3, actor: 'ci', version: 2, kind: 'version_created', old_value: null, new_value: 2 },
      { ...base, seq: 4, actor: 'ci', version: 2, kind: 'active_moved', old_value: 1, new_value: 2 },
      { ...base, seq: 5, actor: 'ci', version: 2, kind: 'stage_moved', old_value: 'dev', new_value: 'staging' },
      { ...base, seq: 6, actor: 'ci', version: 1, kind: 'archived', old_value: null, new_value: null },
      { ...base, seq: 7, actor: 'ci', version: 2, kind: 'archived', old_value: null, new_value: null },
      // Archiving the active version clears the pointer: that is a move too.
      { ...base, seq: 8, actor: 'ci', version: 2, kind: 'active_moved', old_value: 2, new_value: null },
      { ...base, seq: 9, actor: 'ci', version: 2, kind: 'unarchived', old_value: null, new_value: null },
      { ...base, seq: 10, actor: 'ci', version: 1, kind: 'retired', old_value: null, new_value: null },
      { ...base, seq: 11, actor: 'ci', version: null, kind: 'retired', old_value: null, new_value: null },
    ]);
  });

  it('ARCHIVE MODEL records every version it archives and the cleared pointer; a no-op records nothing', async () => {
    const d = await db();
    await create(d, 'spam');
    await create(d, 'spam');
    await d.query('ARCHIVE MODEL spam VERSION 1');
    const before = (await events(d)).length;
    await d.query('ARCHIVE MODEL spam');
    expect((await events(d)).slice(before).map((e) => [e.kind, e.version, e.old_value, e.new_value])).toEqual([
      ['archived', 2, null, null],
      ['active_moved', 2, 2, null],
    ]);
    const after = (await events(d)).length;
    await d.query('ARCHIVE MODEL spam');
    await d.query('ARCHIVE MODEL spam VERSION 1');
    await d.query('UNARCHIVE MODEL spam VERSION 1');
    await d.query('UNARCHIVE MODEL spam VERSION 1');
    expect((await events(d)).length).toBe(after + 1);
  });

  it('USE VERSION of the version already active records nothing', async () => {
    const d = await db();
    await create(d, 'spam');
    await d.query('ALTER MODEL spam USE VERSION 1');
    expect(await events(d)).toHaveLength(2);
  });

  it('a failed statement appends nothing', async () => {
    const d = await db();
    await create(d, 'spam');
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL spam USE VERSION 9'), 'UNKNOWN_VERSION');
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL spam VERSION 1 PROMOTE TO PRODUCTION'), 'INVALID_TRANSITION');
    await expectFailsUnchanged(d, () => d.query('ALTER MODEL nope USE VERSION 1'), 'UNKNOWN_MODEL');
    await d.query('RETIRE MODEL spam');
    await expectFailsUnchanged(d, () => create(d, 'spam'), 'MODEL_RETIRED');
  });

  it('filters, orders and limits like the other tables, and model = reads one model', async () => {
    const d = await db();
    for (const m of ['a', 'b', 'a', 'c', 'a']) await create(d, m);
    expect((await d.query("SELECT seq, version FROM ML_MODEL_EVENTS WHERE model = 'a' AND kind = 'version_created'")).rows).toEqual([
      { seq: 1, version: 1 },
      { seq: 5, version: 2 },
      { seq: 9, version: 3 },
    ]);
    expect((await d.query('SELECT seq FROM ML_MODEL_EVENTS ORDER BY seq DESC LIMIT 2')).rows).toEqual([{ seq: 10 }, { seq: 9 }]);
    expect((await d.query("SELECT seq FROM ML_MODEL_EVENTS WHERE model = 'nope'")).rows).toEqual([]);
    const [first] = (await d.query('SELECT at FROM ML_MODEL_EVENTS LIMIT 1')).rows;
    expect(first!.at).toBeInstanceOf(Date);
  });

  it('training, inline or async, records its job in the version_created detail', async () => {
    const d = await db();
    d.registerTrainer('t', async () => ({ weights: weights(3), metrics: { f1: 0.5 } }));
    await d.query("CREATE MODEL spam WITH (trainer = 't')");
    const { job_id } = (await d.query("CREATE MODEL spam WITH (trainer = 't', async = TRUE)")).rows[0]!;
    await waitForJob(d, job_id as string);
    const created = await events(d, "WHERE kind = 'version_created'");
    const versions = await d.registry.listVersions('spam');
    expect(versions).toHaveLength(2);
    expect(created.map((e) => [e.version, e.detail])).toEqual(versions.map((v) => [v.version, { job_id: v.jobId }]));
    expect(versions[1]!.jobId).toBe(job_id);
  });
});

describe('db.registry.history', () => {
  it('returns one model’s events after since, at most limit, with oldValue / newValue', async () => {
    const d = await db();
    for (const m of ['a', 'b', 'a', 'a']) await create(d, m);
    const all = await d.registry.history('a');
    expect(all.map((e) => [e.seq, e.kind, e.version])).toEqual([
      [1, 'version_created', 1], [2, 'active_moved', 1], [5, 'version_created', 2], [6, 'active_moved', 2], [7, 'version_created', 3], [8, 'active_moved', 3],
    ]);
    expect(all[3]).toMatchObject({ model: 'a', tenant: null, oldValue: 1, newValue: 2 });
    expect((await d.registry.history('a', { since: 5, limit: 2 })).map((e) => e.seq)).toEqual([6, 7]);
    expect(await d.registry.history('a', { limit: 0 })).toEqual([]);
  });

  it('refuses bad options and unknown models with typed errors', async () => {
    const d = await db();
    await create(d, 'a');
    await expectError(d.registry.history('nope'), 'UNKNOWN_MODEL');
    await expectError(d.registry.history('a', { since: -1 }), 'INVALID_ARGUMENT');
    await expectError(d.registry.history('a', { limit: 1.5 }), 'INVALID_ARGUMENT');
    await expectError(d.registry.history('a', { since: 'x' as never }), 'INVALID_ARGUMENT');
  });
});

describe('tenants and the log', () => {
  it('a tenant sees its own models’ events and global ones from before it shadowed them; the global session sees global ones', async () => {
    const d = await db();
    const acme = d.withTenant('acme');
    const other = d.withTenant('other');
    await create(d, 'shared');
    await create(d, 'spam');
    await create(acme, 'mine');
    await create(other, 'secret');
    await create(acme, 'spam'); // shadows the global spam
    const seen = (rows: readonly Row[]) => rows.map((e) => `${e.tenant ?? '-'}/${e.model}:${e.kind}`);
    expect(seen(await events(acme, "WHERE kind = 'version_created'"))).toEqual(['-/shared:version_created', '-/spam:version_created', 'acme/mine:version_created', 'acme/spam:version_created']);
    await create(d, 'spam'); // after acme's own spam: not in acme's log
    expect(seen(await events(acme, "WHERE model = 'spam' AND kind = 'version_created'"))).toEqual(['-/spam:version_created', 'acme/spam:version_created']);
    expect(seen(await events(d, "WHERE kind = 'version_created'"))).toEqual(['-/shared:version_created', '-/spam:version_created', '-/spam:version_created']);
    expect(seen(await events(other, "WHERE kind = 'version_created'"))).toEqual(['-/shared:version_created', '-/spam:version_created', 'other/secret:version_created', '-/spam:version_created']);
    expect(seen(await events(acme, "WHERE model = 'secret'"))).toEqual([]);
    // history() of a name answers what the log shows of it: the global spam's first version, then acme's own.
    expect((await acme.registry.history('spam')).map((e) => `${e.tenant ?? '-'}:${e.kind}`)).toEqual(['-:version_created', '-:active_moved', 'acme:version_created', 'acme:active_moved']);
    await expectError(acme.registry.history('secret'), 'UNKNOWN_MODEL');
  });
});

describe('db.watch', () => {
  async function take(iterable: AsyncIterable<ModelEvent>, n: number): Promise<ModelEvent[]> {
    const out: ModelEvent[] = [];
    if (n === 0) return out;
    for await (const event of iterable) {
      out.push(event);
      if (out.length === n) break;
    }
    return out;
  }

  it('follows live commits in seq order; breaking out releases it', async () => {
    const d = await db();
    await create(d, 'spam');
    // Iteration begins (and fixes "from now on") when take() first calls next().
    const watched = take(d.watch({ model: 'spam' }), 3);
    await create(d, 'ham');
    await create(d, 'spam');
    await d.query('ALTER MODEL spam USE VERSION 1');
    const got = await watched;
    expect(got.map((e) => [e.seq, e.model, e.kind])).toEqual([
      [5, 'spam', 'version_created'], [6, 'spam', 'active_moved'], [7, 'spam', 'active_moved'],
    ]);
  });

  it('with since, replays what came after it first, then follows live, equal to the table', async () => {
    const d = await db();
    for (let i = 0; i < 5; i++) await create(d, i % 2 ? 'a' : 'b');
    const watched = take(d.watch({ since: 3 }), 9);
    for (let i = 0; i < 1; i++) await create(d, 'c');
    const got = await watched;
    const rows = (await d.query('SELECT seq, model, kind FROM ML_MODEL_EVENTS WHERE seq > 3')).rows;
    expect(got.map((e) => ({ seq: e.seq, model: e.model, kind: e.kind }))).toEqual(rows);
  });

  it('refuses bad options, and ends when the registry closes', async () => {
    const d = await db();
    expect(() => d.watch({ since: -2 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const iterator = d.watch()[Symbol.asyncIterator]();
    const next = iterator.next();
    await d.close();
    expect(await next).toEqual({ done: true, value: undefined });
    expect(() => d.watch()).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });
});

describe('the log across a restart, and its actors', () => {
  it('db.watch({ since }) replays events written before the folder was reopened, then follows live', async () => {
    const dir = await resources.dir();
    const first = await open({ path: dir, createdBy: 'ci' });
    await create(first, 'spam');
    await first.close();
    const d = resources.track(await open({ path: dir }));
    const iterator = d.watch({ since: 0 })[Symbol.asyncIterator]();
    const replayed = [await iterator.next(), await iterator.next()].map((r) => r.value as ModelEvent);
    expect(replayed.map((e) => [e.seq, e.kind, e.actor])).toEqual([[1, 'version_created', 'ci'], [2, 'active_moved', 'ci']]);
    const live = iterator.next();
    await d.query('ALTER MODEL spam VERSION 1 PROMOTE TO STAGING');
    expect((await live).value).toMatchObject({ seq: 3, kind: 'stage_moved', actor: null, oldValue: 'dev', newValue: 'staging' });
    await iterator.return?.();
  });

  it("a trained version's events carry its statement's created_by; other statements the handle's actor", async () => {
    const d = await db({ createdBy: 'ci' });
    d.registerTrainer('t', async () => ({ weights: weights(3) }));
    await d.query("CREATE MODEL spam WITH (trainer = 't', created_by = 'bob')");
    await d.query('ALTER MODEL spam VERSION 1 PROMOTE TO STAGING');
    expect((await events(d)).map((e) => [e.kind, e.actor])).toEqual([['version_created', 'bob'], ['active_moved', 'bob'], ['stage_moved', 'ci']]);
  });
});

describe('ending a watch', () => {
  it('return() ends a next() that is waiting for an event, and the watcher is released', async () => {
    const d = await db();
    const iterator = d.watch()[Symbol.asyncIterator]();
    const waiting = iterator.next();
    await iterator.return?.();
    expect(await waiting).toEqual({ done: true, value: undefined });
    await create(d, 'spam'); // nobody listens any more; must not throw or hang
    expect((await iterator.next()).done).toBe(true);
  });

  it('each ended watch takes its listener off the caller\'s signal; history() options must be an object', async () => {
    const d = await db();
    const controller = new AbortController();
    const added: unknown[] = [];
    const removed: unknown[] = [];
    const add = controller.signal.addEventListener.bind(controller.signal);
    const remove = controller.signal.removeEventListener.bind(controller.signal);
    controller.signal.addEventListener = ((type: string, listener: never, options?: never) => (added.push(listener), add(type, listener, options))) as never;
    controller.signal.removeEventListener = ((type: string, listener: never) => (removed.push(listener), remove(type, listener))) as never;
    for (let i = 0; i < 3; i++) {
      const iterator = d.watch({ signal: controller.signal })[Symbol.asyncIterator]();
      const waiting = iterator.next();
      await iterator.return?.();
      await waiting;
    }
    expect(added).toHaveLength(3);
    expect(new Set(removed.filter((l) => added.includes(l))).size).toBe(3);
    await create(d, 'spam');
    await expectError(d.registry.history('spam', null as never), 'INVALID_ARGUMENT');
    await expectError(d.registry.history('spam', 'x' as never), 'INVALID_ARGUMENT');
  });

  it('an aborted signal ends the loop, also while it waits', async () => {
    const d = await db();
    const controller = new AbortController();
    const seen: string[] = [];
    const loop = (async () => {
      for await (const event of d.watch({ signal: controller.signal })) {
        seen.push(event.kind);
        if (event.kind === 'active_moved') setTimeout(() => controller.abort(), 0);
      }
    })();
    await create(d, 'spam');
    await loop;
    expect(seen).toEqual(['version_created', 'active_moved']);
    const already = new AbortController();
    already.abort();
    expect(await d.watch({ signal: already.signal })[Symbol.asyncIterator]().next()).toEqual({ done: true, value: undefined });
    await expectError((async () => d.watch({ signal: 'soon' as never }))(), 'INVALID_ARGUMENT');
  });
});

describe('grammar.md: the ML_MODEL_EVENTS examples', () => {
  /** The statements of the first sql block of grammar.md's ML_MODEL_EVENTS section. */
  function documented(): string[] {
    const grammar = readFileSync(fileURLToPath(new URL('../../grammar.md', import.meta.url)), 'utf8');
    const section = grammar.slice(grammar.indexOf('\n### ML_MODEL_EVENTS\n'));
    const block = /```sql\n([\s\S]*?)\n```/.exec(section)![1]!;
    return block.split(/;\s*\n/).map((sql) => sql.replace(/\s+/g, ' ').trim());
  }

  it('run as documented against a registry with every kind of event', async () => {
    const d = await db({ createdBy: 'ci' });
    d.registerTrainer('t', async () => ({ weights: weights(5) }));
    await create(d, 'spam'); // 1 version_created, 2 active_moved
    await create(d, 'spam', ", active = FALSE, created_by = 'alice'"); // 3
    await d.query('ALTER MODEL spam VERSION 2 PROMOTE TO STAGING'); // 4
    await d.query('ALTER MODEL spam VERSION 2 PROMOTE TO PRODUCTION'); // 5
    await d.query('ARCHIVE MODEL spam VERSION 1'); // 6 archived, 7 active_moved 1 → null
    await d.query("CREATE MODEL ham WITH (trainer = 't')"); // 8 version_created with its job, 9 active_moved
    const [job] = await d.jobs.list();
    const at = expect.any(Date) as unknown as Date;
    const examples: [string, readonly unknown[], readonly Row[]][] = [
      ["SELECT seq, kind, version, old_value, new_value FROM ML_MODEL_EVENTS WHERE model = 'spam'", [], [
        { seq: 1, kind: 'version_created', version: 1, old_value: null, new_value: 1 },
        { seq: 2, kind: 'active_moved', version: 1, old_value: null, new_value: 1 },
        { seq: 3, kind: 'version_created', version: 2, old_value: null, new_value: 2 },
        { seq: 4, kind: 'stage_moved', version: 2, old_value: 'dev', new_value: 'staging' },
        { seq: 5, kind: 'stage_moved', version: 2, old_value: 'staging', new_value: 'production' },
        { seq: 6, kind: 'archived', version: 1, old_value: null, new_value: null },
        { seq: 7, kind: 'active_moved', version: 1, old_value: 1, new_value: null },
      ]],
      ["SELECT seq, at, actor, model FROM ML_MODEL_EVENTS WHERE kind = 'active_moved' AND new_value IS NULL", [], [{ seq: 7, at, actor: 'ci', model: 'spam' }]],
      [`SELECT model, version, new_value FROM ML_MODEL_EVENTS WHERE kind = 'stage_moved' AND new_value = '"production"' ORDER BY seq DESC LIMIT 1`, [], [
        { model: 'spam', version: 2, new_value: 'production' },
      ]],
      ["SELECT seq, model, detail FROM ML_MODEL_EVENTS WHERE kind = 'version_created' AND detail IS NOT NULL", [], [{ seq: 8, model: 'ham', detail: { job_id: job!.id } }]],
      ['SELECT * FROM ML_MODEL_EVENTS WHERE seq > $1 ORDER BY seq LIMIT 100', [7], [
        { seq: 8, at, actor: 'ci', tenant: null, model: 'ham', version: 1, kind: 'version_created', old_value: null, new_value: 1, detail: { job_id: job!.id } },
        { seq: 9, at, actor: 'ci', tenant: null, model: 'ham', version: 1, kind: 'active_moved', old_value: null, new_value: 1, detail: null },
      ]],
    ];
    expect(documented()).toEqual(examples.map(([sql]) => sql));
    for (const [sql, params, rows] of examples) expect((await d.query(sql, params)).rows, sql).toEqual(rows);
    const named = (await d.query("SELECT actor FROM ML_MODEL_EVENTS WHERE model = 'spam' AND seq = 3")).rows;
    expect(named).toEqual([{ actor: 'alice' }]);
  });
});
