/**
 * The write overlay: reading pending writes merged into committed entries must give
 * exactly what a real level gives once those writes are applied, for any range, order
 * and limit.
 */
import fc from 'fast-check';
import { MemoryLevel } from 'memory-level';
import { describe, expect, it } from 'vitest';
import type { WriteOp } from '../../src/store/commit-queue.js';
import type { TextSublevel } from '../../src/store/level.js';
import { WriteOverlay, compareKeys, type KeyRange } from '../../src/store/write-overlay.js';

const key = fc.oneof(fc.constantFrom('a', 'a:1', 'a:2', 'a;', 'b', 'é', '\u{1F600}', '\uE000', ''), fc.string({ maxLength: 3 }));
const write = fc.record({ key, value: fc.option(fc.string({ maxLength: 2 }), { nil: null }) });
const range: fc.Arbitrary<KeyRange> = fc.record(
  { gt: key, gte: key, lt: key, lte: key, reverse: fc.boolean(), limit: fc.integer({ min: -1, max: 4 }) },
  { requiredKeys: [] },
);

async function entries(sublevel: TextSublevel, r: KeyRange): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const entry of sublevel.iterator(r)) out.push(entry);
  return out;
}

describe('WriteOverlay', () => {
  it('merged scans equal the level with the writes applied, for any range, order and limit', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(key, fc.string({ maxLength: 2 })), { maxLength: 8 }), fc.array(write, { maxLength: 8 }), range, async (committed, writes, r) => {
        const root = new MemoryLevel<string, string>();
        const sublevel = root.sublevel<string, string>('s', {}) as unknown as TextSublevel;
        try {
          await sublevel.batch(committed.map(([k, v]) => ({ type: 'put' as const, key: k, value: v })));
          const ops: WriteOp[] = writes.map((w) => (w.value === null ? { type: 'del', sublevel, key: w.key } : { type: 'put', sublevel, key: w.key, value: w.value }));
          const overlay = new WriteOverlay();
          overlay.apply(ops);
          const { limit: _limit, ...unlimited } = r;
          const merged: [string, string][] = [];
          for await (const entry of overlay.merge(sublevel, r, sublevel.iterator(unlimited))) merged.push(entry);
          for (const op of ops) await (op.type === 'put' ? sublevel.put(op.key, op.value as string) : sublevel.del(op.key));
          expect(merged).toEqual(await entries(sublevel, r));
          for (const w of writes) {
            const found = overlay.get(sublevel, w.key);
            expect(found.pending).toBe(true);
            expect(found.pending && found.value).toBe(await sublevel.get(w.key));
          }
          expect(overlay.get(sublevel, '\u0000never')).toEqual({ pending: false });
          expect(overlay.ops).toEqual(ops);
        } finally {
          await root.close();
        }
      }),
      { numRuns: 300 },
    );
  });

  it('orders keys by their UTF-8 bytes, as LevelDB does', () => {
    expect(compareKeys('\uE000', '\u{1F600}')).toBeLessThan(0); // JS string order says the opposite
    expect('\uE000' < '\u{1F600}').toBe(false);
  });
});
