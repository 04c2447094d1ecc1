/**
 * CHECK REGISTRY over the event log: each kind of damage, written with raw level ops
 * behind modelsql's back, is reported with its namespace and key, and nothing else is;
 * models written before the log existed are not compared against it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { open, type Database } from '../../src/index.js';
import { sealJson } from '../../src/store/checksum.js';
import { eventKey, modelEventKey, scopeEventKey } from '../../src/store/events.js';
import { checkIntegrity } from '../../src/store/integrity.js';
import { modelKey } from '../../src/store/keys.js';
import type { Level } from '../../src/store/level.js';
import { openLevel } from '../../src/store/level.js';
import { storedJson } from '../helpers/store.js';
import { Resources, memoryDb, weights } from '../helpers/sql.js';

const resources = new Resources();
afterEach(() => resources.cleanup());

const spam = modelKey('spam');
const ham = modelKey('ham');
const acmeM = modelKey('m', 'acme');

type Row = { namespace: string; key: string; problem: string };

/**
 * A registry whose log is, by seq: 1 spam v1 created, 2 spam active → 1, 3 spam v2
 * created (inactive), 4 spam v2 to staging, 5 acme's m v1 created, 6 its active → 1,
 * 7 ham v1 created (inactive: ham never moves its pointer).
 */
async function logged(): Promise<{ db: Database; level: Level }> {
  const db = resources.track(await memoryDb());
  await db.query('CREATE MODEL spam WITH (weights = $1)', [weights(1)]);
  await db.query('CREATE MODEL spam WITH (weights = $1, active = FALSE)', [weights(2)]);
  await db.query('ALTER MODEL spam VERSION 2 PROMOTE TO STAGING');
  await db.withTenant('acme').query('CREATE MODEL m WITH (weights = $1)', [weights(3)]);
  await db.query('CREATE MODEL ham WITH (weights = $1, active = FALSE)', [weights(4)]);
  const level = (db as unknown as { core: { level: Level } }).core.level;
  return { db, level };
}

async function check(db: Database): Promise<Row[]> {
  return (await db.query('CHECK REGISTRY')).rows as Row[];
}

/** Rewrites the stored JSON of event `seq` (resealed, so only the change is wrong). */
async function rewriteEvent(level: Level, seq: number, change: (record: Record<string, unknown>) => Record<string, unknown>): Promise<void> {
  await level.events.put(eventKey(seq), sealJson(JSON.stringify(change(storedJson(await level.events.get(eventKey(seq)))))));
}

async function rewriteHead(level: Level, key: string, change: (record: Record<string, unknown>) => Record<string, unknown>): Promise<void> {
  await level.models.put(key, sealJson(JSON.stringify(change(storedJson(await level.models.get(key))))));
}

const row = (namespace: string, key: string, problem: RegExp) => ({ namespace, key, problem: expect.stringMatching(problem) as unknown as string });

describe('CHECK REGISTRY: the event log', () => {
  it('finds nothing wrong with a log written by statements', async () => {
    const { db, level } = await logged();
    expect((await db.query('SELECT seq FROM ML_MODEL_EVENTS')).rows).toHaveLength(5); // the global session's
    expect((await level.events.keys().all()).map(Number)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(await check(db)).toEqual([]);
  });

  it('a damaged event record: checksum, embedded JSON, a model that is no model key, a seq not its key', async () => {
    const { db, level } = await logged();
    const raw = (await level.events.get(eventKey(4)))!;
    await level.events.put(eventKey(4), raw.replace('stage_moved', 'stage_moveD'));
    await rewriteEvent(level, 5, (e) => ({ ...e, detail: '{not json' }));
    await rewriteEvent(level, 6, (e) => ({ ...e, model: 'no-colon' }));
    await level.events.put(eventKey(7), (await level.events.get(eventKey(3)))!);
    expect(await check(db)).toEqual([
      row('events', eventKey(4), /checksum mismatch/),
      row('events', eventKey(5), /embedded JSON is not valid/),
      row('events', eventKey(6), /field 'model' is not a model key/),
      // Reported once: the index entries that reach event 7 are not reported again.
      row('events', eventKey(7), /the record holds event 3, not 7/),
    ]);
  });

  it('a gap in the seqs, with the index entries left naming the lost events', async () => {
    const { db, level } = await logged();
    await level.events.del(eventKey(3));
    await level.events.del(eventKey(5));
    await level.events.del(eventKey(6));
    expect(await check(db)).toEqual([
      row('events', eventKey(3), /^event 3 is missing while event 4 exists/),
      row('events', eventKey(5), /^events 5 to 6 are missing while event 7 exists/),
      row('model_events', modelEventKey(spam, 3), /names event 3, which namespace 'events' does not hold/),
      row('model_events', modelEventKey(acmeM, 5), /names event 5/),
      row('model_events', modelEventKey(acmeM, 6), /names event 6/),
      row('scope_events', scopeEventKey('', 3), /names event 3/),
      row('scope_events', scopeEventKey('acme', 5), /names event 5/),
      row('scope_events', scopeEventKey('acme', 6), /names event 6/),
    ]);
  });

  it('index entries without their event, of another model or scope, and malformed ones', async () => {
    const { db, level } = await logged();
    await level.modelEvents.put(modelEventKey(spam, 99), '');
    await level.modelEvents.put(modelEventKey(ham, 1), ''); // event 1 is spam's
    await level.modelEvents.put('nonsense', '');
    await level.modelEvents.put(`${spam}:12`, '');
    await level.scopeEvents.put(scopeEventKey('', 98), '');
    await level.scopeEvents.put(scopeEventKey('acme', 1), ''); // event 1 is global
    await level.scopeEvents.put(`a:b:${eventKey(2)}`, '');
    await level.events.put('x', '');
    expect(await check(db)).toEqual([
      row('events', 'x', /malformed event key/),
      // Per index: malformed keys from the walk over its keys, then the strays.
      row('model_events', `${spam}:12`, /malformed model_events key \(not a 16-digit sequence number\)/),
      row('model_events', 'nonsense', /malformed model_events key \(no sequence number\)/),
      row('model_events', modelEventKey(ham, 1), /^event 1 is of model key ':spam'$/),
      row('model_events', modelEventKey(spam, 99), /names event 99, which namespace 'events' does not hold/),
      row('scope_events', `a:b:${eventKey(2)}`, /malformed scope_events key \(not canonically escaped\)/),
      row('scope_events', scopeEventKey('', 98), /names event 98/),
      row('scope_events', scopeEventKey('acme', 1), /^event 1 is of tenant scope '' \(model key ':spam'\)$/),
    ]);
  });

  it('an event missing from its model_events or scope_events index', async () => {
    const { db, level } = await logged();
    await level.modelEvents.del(modelEventKey(spam, 4));
    await level.scopeEvents.del(scopeEventKey('acme', 5));
    expect(await check(db)).toEqual([
      row('model_events', modelEventKey(spam, 4), /missing entry of event 4 \(the model's history skips it\)/),
      row('scope_events', scopeEventKey('acme', 5), /missing entry of event 5 \(its tenant's log skips it\)/),
    ]);
  });

  it('a stray entry is found even when another event is missing its entry in the same index', async () => {
    const { db, level } = await logged();
    // As if event 4's entry had been written under the wrong model.
    await level.modelEvents.del(modelEventKey(spam, 4));
    await level.modelEvents.put(modelEventKey(ham, 4), '');
    await level.scopeEvents.del(scopeEventKey('', 4));
    await level.scopeEvents.put(scopeEventKey('acme', 4), '');
    expect(await check(db)).toEqual([
      row('model_events', modelEventKey(spam, 4), /missing entry of event 4/),
      row('scope_events', scopeEventKey('', 4), /missing entry of event 4/),
      row('model_events', modelEventKey(ham, 4), /^event 4 is of model key ':spam'$/),
      row('scope_events', scopeEventKey('acme', 4), /^event 4 is of tenant scope ''/),
    ]);
  });

  it("a head's active pointer that disagrees with the model's last active_moved event, or moved without one", async () => {
    const { db, level } = await logged();
    await rewriteHead(level, spam, (h) => ({ ...h, active: 2 }));
    await rewriteHead(level, acmeM, (h) => ({ ...h, active: null }));
    await rewriteHead(level, ham, (h) => ({ ...h, active: 1 }));
    expect(await check(db)).toEqual([
      row('models', ham, /^the head's active version is 1 but no active_moved event of the model \(created with seq 7\) set it$/),
      row('models', spam, /^the head's active version is 2 but the model's last active_moved event \(seq 2\) set it to 1$/),
      row('models', acmeM, /^the head's active version is none but the model's last active_moved event \(seq 6\) set it to 1$/),
    ]);
  });

  it('compares the pointer with the last move, not an earlier one, and not past a damaged newer event', async () => {
    const { db, level } = await logged();
    await db.query('ALTER MODEL spam USE VERSION 2'); // seq 8: 1 → 2
    await db.query('ALTER MODEL spam VERSION 1 PROMOTE TO STAGING'); // seq 9
    await db.query('ALTER MODEL spam USE VERSION 1'); // seq 10: 2 → 1
    expect(await check(db)).toEqual([]);
    // The last move is damaged: reported as such, and the pointer (1) is not judged
    // against the move before it (to 2), which would be a false second problem.
    await level.events.put(eventKey(10), (await level.events.get(eventKey(10)))!.replace(/^#[0-9a-f]{8}/, '#00000000'));
    expect(await check(db)).toEqual([row('events', eventKey(10), /checksum mismatch/)]);
  });

  it('skips models written before the log existed, and those whose history begins after their creation', async () => {
    const dir = await resources.dir();
    const db = await open({ path: dir });
    await db.query('CREATE MODEL old WITH (weights = $1)', [weights(1)]);
    await db.query('CREATE MODEL old WITH (weights = $1)', [weights(2)]);
    await db.close();
    // As a folder from before the log: no events at all, and the pointer on version 1.
    const level = await openLevel({ path: dir });
    for (const sublevel of [level.events, level.modelEvents, level.scopeEvents]) await sublevel.clear();
    await rewriteHead(level, modelKey('old'), (h) => ({ ...h, active: 1 }));
    await level.root.close();
    const reopened = resources.track(await open({ path: dir }));
    expect(await check(reopened)).toEqual([]);
    // Its first event archives version 2: no move of the pointer to compare with.
    await reopened.query('ARCHIVE MODEL old VERSION 2');
    expect((await reopened.registry.history('old')).map((e) => [e.seq, e.kind])).toEqual([[1, 'archived']]);
    expect(await check(reopened)).toEqual([]);
  });

  it('reads the log from the check snapshot, so `modelsql check` of a closed folder reports the same', async () => {
    const dir = await resources.dir();
    const db = await open({ path: dir });
    await db.query('CREATE MODEL spam WITH (weights = $1)', [weights(1)]);
    await db.close();
    const level = await openLevel({ path: dir });
    try {
      await level.scopeEvents.del(scopeEventKey('', 2));
      const found = [];
      for await (const p of checkIntegrity(level)) found.push(p);
      expect(found).toEqual([row('scope_events', scopeEventKey('', 2), /missing entry of event 2/)]);
    } finally {
      await level.root.close();
    }
  });
});
