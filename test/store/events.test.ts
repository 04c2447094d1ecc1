/**
 * The event log's sequence: one for the whole registry, strictly increasing in commit
 * order, without gaps or duplicates, whatever batches fail; and its two read paths.
 */
import { describe, expect, it, vi } from 'vitest';
import { EventLog, type ModelEvent } from '../../src/store/events.js';
import { modelKey } from '../../src/store/keys.js';
import { memoryRegistry, registryOver } from '../helpers/store.js';

async function log() {
  const { level, queue } = await memoryRegistry();
  const events = new EventLog(level, queue);
  await events.start();
  const put = (model: string, n: number) =>
    events.submit([{ type: 'put', sublevel: level.models, key: modelKey(model), value: String(n) }], [{ kind: 'active_moved', model: modelKey(model), version: n, oldValue: n - 1, newValue: n }], queue.epoch, 'tester');
  const all = async (): Promise<ModelEvent[]> => {
    const out: ModelEvent[] = [];
    await queue.read(async (view) => {
      for await (const event of events.scan(view)) out.push(event);
    });
    return out;
  };
  return { level, queue, events, put, all };
}

describe('event log sequence', () => {
  it('numbers events 1, 2, 3, ... in commit order across concurrent units, one per thing changed', async () => {
    const { put, all } = await log();
    await Promise.all(Array.from({ length: 40 }, (_, i) => put(`m${i % 4}`, i + 1)));
    const events = await all();
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    // Submission order is commit order: the i-th unit got seq i + 1.
    expect(events.map((e) => e.version)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(events[0]).toMatchObject({ kind: 'active_moved', model: 'm0', tenant: null, oldValue: 0, newValue: 1, actor: 'tester', detail: null });
  });

  it('a failed batch leaves no gap: the next event takes the seq the failed ones would have had', async () => {
    const { level, put, all } = await log();
    await put('a', 1);
    vi.spyOn(level.root as unknown as { _batch: (ops: object[], options: object) => Promise<void> }, '_batch').mockRejectedValueOnce(new Error('disk full'));
    const failed = await Promise.allSettled([put('a', 2), put('b', 3)]);
    expect(failed.map((f) => f.status)).toEqual(['rejected', 'rejected']);
    await put('a', 4);
    expect((await all()).map((e) => [e.seq, e.version])).toEqual([[1, 1], [2, 4]]);
  });

  it('a batch applied but reported failed is not overwritten: the next seq follows what the disk holds', async () => {
    const { level, put, all } = await log();
    await put('a', 1);
    const real = (level.root as unknown as { _batch: (ops: object[], options: object) => Promise<void> })._batch.bind(level.root);
    vi.spyOn(level.root as unknown as { _batch: (ops: object[], options: object) => Promise<void> }, '_batch').mockImplementationOnce((async (...args: Parameters<typeof real>) => {
      await real(...args);
      throw new Error('applied, then the acknowledgement was lost');
    }) as never);
    await expect(put('a', 2)).rejects.toThrow('acknowledgement was lost');
    await put('a', 3);
    expect((await all()).map((e) => [e.seq, e.version])).toEqual([[1, 1], [2, 2], [3, 3]]);
  });

  it('continues after the last event when the store is opened again', async () => {
    const { level, queue, put } = await log();
    await put('a', 1);
    await put('a', 2);
    const reopened = new EventLog(level, queue);
    await reopened.start();
    await reopened.submit([], [{ kind: 'retired', model: modelKey('a'), version: null }], queue.epoch, null);
    const seqs: number[] = [];
    await queue.read(async (view) => {
      for await (const event of reopened.scan(view, 1)) seqs.push(event.seq);
    });
    expect(seqs).toEqual([2, 3]);
  });
});

describe('event log reads', () => {
  it('history reads one model\'s events after `since`, up to `limit`, without the others', async () => {
    const { queue, events, put } = await log();
    for (let i = 1; i <= 9; i++) await put(i % 3 === 0 ? 'x' : 'y', i);
    const history = async (model: string, options = {}): Promise<number[]> => {
      const seqs: number[] = [];
      await queue.read(async (view) => {
        for await (const event of events.history(view, modelKey(model), options)) seqs.push(event.seq);
      });
      return seqs;
    };
    expect(await history('x')).toEqual([3, 6, 9]);
    expect(await history('y', { since: 4 })).toEqual([5, 7, 8]);
    expect(await history('y', { since: 1, limit: 2 })).toEqual([2, 4]);
    expect(await history('nope')).toEqual([]);
  });

  it('a view sees exactly the events committed before it was taken', async () => {
    const { queue, events, put } = await log();
    await put('a', 1);
    const before = queue.view();
    await put('a', 2);
    const seqs: number[] = [];
    for await (const event of events.scan(before)) seqs.push(event.seq);
    before.release();
    expect(seqs).toEqual([1]);
  });

  it('damage is CORRUPTION naming namespace and key', async () => {
    const { level, put } = await log();
    await put('a', 1);
    await level.modelEvents.put(`${modelKey('a')}:0000000000000007`, '');
    // Opened again over the damage (raw writes bypass the published snapshot).
    const { queue } = registryOver(level);
    const fresh = new EventLog(level, queue);
    const read = queue.read(async (view) => {
      for await (const _ of fresh.history(view, modelKey('a'))) void _;
    });
    await expect(read).rejects.toMatchObject({ code: 'CORRUPTION', namespace: 'model_events', key: `${modelKey('a')}:0000000000000007` });
  });
});

describe('watch', () => {
  /** Collects `count` events from a watcher, then breaks out of its loop. */
  async function take(iterable: AsyncIterable<ModelEvent>, count: number): Promise<ModelEvent[]> {
    const out: ModelEvent[] = [];
    if (count === 0) return out;
    for await (const event of iterable) {
      out.push(event);
      if (out.length === count) break;
    }
    return out;
  }

  it('replays what came after `since`, then follows live: in seq order, none skipped, none twice', async () => {
    const { events, put, all } = await log();
    for (let i = 1; i <= 5; i++) await put('a', i);
    const watched = take(events.watch(() => true, 2), 13);
    // Writes while the watcher replays and after: concurrent units, several per batch.
    await Promise.all(Array.from({ length: 10 }, (_, i) => put(`m${i % 3}`, 6 + i)));
    const got = await watched;
    expect(got.map((e) => e.seq)).toEqual(Array.from({ length: 13 }, (_, i) => i + 3));
    expect(got).toEqual((await all()).filter((e) => e.seq > 2));
  });

  it('without `since` it hears only what commits from now on; a filter passes over the rest', async () => {
    const { events, put } = await log();
    await put('a', 1);
    const watched = take(events.watch((e) => e.model === 'b'), 2);
    await put('a', 2);
    await put('b', 3);
    await put('a', 4);
    await put('b', 5);
    expect((await watched).map((e) => [e.seq, e.model])).toEqual([[3, 'b'], [5, 'b']]);
  });

  it('breaking out releases it, and close() ends every watcher', async () => {
    const { events, put } = await log();
    await take(events.watch(() => true), 0);
    const pending = (async () => {
      const got: number[] = [];
      for await (const event of events.watch(() => true)) got.push(event.seq);
      return got;
    })();
    await put('a', 1);
    await new Promise((resolve) => setImmediate(resolve));
    events.close();
    expect(await pending).toEqual([1]);
  });

  it('a watcher that falls behind by more than its buffer rereads from disk and still misses nothing', async () => {
    const { events, put } = await log();
    const iterator = events.watch(() => true, 0)[Symbol.asyncIterator]();
    const first = await Promise.all([iterator.next(), put('a', 1)]);
    expect(first[0].value?.seq).toBe(1);
    // 10,050 events while the watcher reads nothing: more than the live buffer holds.
    for (let i = 0; i < 201; i++) await Promise.all(Array.from({ length: 50 }, (_, k) => put(`m${k}`, 2 + i * 50 + k)));
    const seqs: number[] = [];
    for (let i = 0; i < 10_050; i++) seqs.push((await iterator.next()).value!.seq);
    await iterator.return?.(undefined);
    expect(seqs[0]).toBe(2);
    expect(seqs.every((seq, i) => seq === i + 2)).toBe(true);
  });
});
