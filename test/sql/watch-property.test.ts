/**
 * Property: what a watcher receives equals the rows of ML_MODEL_EVENTS after its
 * `since`, in order, none skipped, none twice, whatever statements run concurrently
 * before and while it watches, for the global session and for tenants.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Database, ModelEvent } from '../../src/index.js';
import { memoryDb, weights } from '../helpers/sql.js';

type Op = { kind: 'create'; model: string; active: boolean } | { kind: 'use'; model: string; version: number } | { kind: 'archive'; model: string; version: number } | { kind: 'promote'; model: string; version: number };

const model = fc.constantFrom('spam', 'ham', 'eggs');
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('create' as const), model, active: fc.boolean() }) },
  fc.record({ kind: fc.constant('use' as const), model, version: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('archive' as const), model, version: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('promote' as const), model, version: fc.integer({ min: 1, max: 4 }) }),
);
const session = fc.constantFrom<string | null>(null, 'acme');

/** Runs one statement; refusals (unknown version, archived...) are part of the game. */
function run(db: Database, o: Op): Promise<unknown> {
  const sql = {
    create: `CREATE MODEL ${o.model} WITH (weights = $1, active = ${o.kind === 'create' && o.active})`,
    use: `ALTER MODEL ${o.model} USE VERSION ${'version' in o ? o.version : 0}`,
    archive: `ARCHIVE MODEL ${o.model} VERSION ${'version' in o ? o.version : 0}`,
    promote: `ALTER MODEL ${o.model} VERSION ${'version' in o ? o.version : 0} PROMOTE TO STAGING`,
  }[o.kind];
  return db.query(sql, o.kind === 'create' ? [weights(1)] : []).catch(() => undefined);
}

async function collect(iterator: AsyncIterator<ModelEvent>, count: number): Promise<ModelEvent[]> {
  const out: ModelEvent[] = [];
  while (out.length < count) {
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`watcher got ${out.length} of ${count} events`)), 1_000));
    const next = await Promise.race([iterator.next(), timeout]);
    if (next.done) throw new Error('watch ended early');
    out.push(next.value);
  }
  return out;
}

describe('watch', () => {
  it('receives exactly the table rows after its since, across concurrent statements', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(op, session), { maxLength: 12 }),
        fc.array(fc.tuple(op, session), { minLength: 1, maxLength: 12 }),
        fc.nat(20),
        session,
        async (before, during, sinceSeed, watcherTenant) => {
          const db = await memoryDb();
          try {
            const as = (tenant: string | null) => (tenant === null ? db : db.withTenant(tenant));
            await Promise.all(before.map(([o, t]) => run(as(t), o)));
            const total = (await db.query('SELECT seq FROM ML_MODEL_EVENTS')).rowCount + (await db.withTenant('acme').query("SELECT seq FROM ML_MODEL_EVENTS WHERE tenant = 'acme'")).rowCount;
            const since = total === 0 ? 0 : sinceSeed % (total + 1);
            const watcher = as(watcherTenant);
            const iterator = watcher.watch({ since })[Symbol.asyncIterator]();
            const first = iterator.next(); // iteration begins now
            await Promise.all(during.map(([o, t]) => run(as(t), o)));
            const expected = (await watcher.query('SELECT * FROM ML_MODEL_EVENTS WHERE seq > $1', [since])).rows;
            const got = expected.length === 0 ? [] : [await first.then((r) => r.value as ModelEvent), ...(await collect(iterator, expected.length - 1))];
            expect(
              got.map((e) => ({ seq: e.seq, at: e.at, actor: e.actor, tenant: e.tenant, model: e.model, version: e.version, kind: e.kind, old_value: e.oldValue, new_value: e.newValue, detail: e.detail })),
            ).toEqual(expected);
            await iterator.return?.();
          } finally {
            await db.close();
          }
        },
      ),
      { numRuns: 40, endOnFailure: true },
    );
  });
});
