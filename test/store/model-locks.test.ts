/**
 * The model lock table on its own: first come first served, the wait-for cycle check
 * across any number of transactions, and the timeout that applies only behind a
 * transaction (fake timers, so no test waits for real time).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ModelLocks } from '../../src/store/model-locks.js';
import { modelKey } from '../../src/store/keys.js';

const key = (name: string): string => modelKey(name, null);
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Whether `p` has settled by now, and how. */
function track(p: Promise<unknown>): { state: 'pending' | 'fulfilled' | 'rejected'; error?: unknown } {
  const seen: { state: 'pending' | 'fulfilled' | 'rejected'; error?: unknown } = { state: 'pending' };
  p.then(() => (seen.state = 'fulfilled'), (error: unknown) => Object.assign(seen, { state: 'rejected', error }));
  return seen;
}

afterEach(() => vi.useRealTimers());

describe('ModelLocks', () => {
  it('grants one key in arrival order, and different keys at once; a release is idempotent', async () => {
    const locks = new ModelLocks();
    const order: string[] = [];
    const first = await locks.acquire(key('a'), null);
    const second = locks.acquire(key('a'), null).then((release) => (order.push('second'), release));
    const third = locks.acquire(key('a'), {}).then((release) => (order.push('third'), release));
    await locks.run(key('b'), async () => order.push('other key'));
    expect(order).toEqual(['other key']);
    first();
    first(); // a second call must not release the next holder
    const releaseSecond = await second;
    await flush();
    expect(order).toEqual(['other key', 'second']);
    releaseSecond();
    (await third)();
    expect(order).toEqual(['other key', 'second', 'third']);
  });

  it('refuses the wait that closes a cycle of three transactions, and only that one', async () => {
    const locks = new ModelLocks();
    const [t1, t2, t3] = [{}, {}, {}];
    const r1 = await locks.acquire(key('a'), t1);
    const r2 = await locks.acquire(key('b'), t2);
    await locks.acquire(key('c'), t3);
    const t1Waits = track(locks.acquire(key('b'), t1)); // t1 → t2
    const t2Waits = track(locks.acquire(key('c'), t2)); // t2 → t3
    await expect(locks.acquire(key('a'), t3)).rejects.toMatchObject({ code: 'DEADLOCK_DETECTED', model: 'a' }); // t3 → t1 closes it
    await flush();
    expect([t1Waits.state, t2Waits.state]).toEqual(['pending', 'pending']);
    // A single statement waiting on a is no cycle: it holds nothing.
    const single = track(locks.acquire(key('a'), null));
    await flush();
    expect(single.state).toBe('pending');
    r1();
    r2();
    await flush();
    expect(t1Waits.state).toBe('fulfilled');
  });

  it('sees a cycle through a single statement queued ahead (t2 waits behind a statement that waits for t1)', async () => {
    const locks = new ModelLocks();
    const [t1, t2] = [{}, {}];
    await locks.acquire(key('a'), t1);
    await locks.acquire(key('b'), t2);
    track(locks.acquire(key('a'), null)); // a statement queued on a, behind t1
    track(locks.acquire(key('a'), t2)); // t2 → (statement →) t1
    await expect(locks.acquire(key('b'), t1)).rejects.toMatchObject({ code: 'DEADLOCK_DETECTED' });
  });

  it('a wait behind a transaction fails with LOCK_TIMEOUT after the timeout; behind single statements it waits on', async () => {
    vi.useFakeTimers();
    const locks = new ModelLocks(100);
    const tx = {};
    const heldByTx = await locks.acquire(key('a'), tx);
    const behindTx = track(locks.acquire(key('a'), null));
    const heldBySingle = await locks.acquire(key('b'), null);
    const behindSingle = track(locks.acquire(key('b'), {}));
    await vi.advanceTimersByTimeAsync(99);
    expect([behindTx.state, behindSingle.state]).toEqual(['pending', 'pending']);
    await vi.advanceTimersByTimeAsync(1);
    expect(behindTx.state).toBe('rejected');
    expect(behindTx.error).toMatchObject({ code: 'LOCK_TIMEOUT', model: 'a', message: expect.stringMatching(/^model 'a' is locked by an open transaction; waited 100 ms/) });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(behindSingle.state).toBe('pending');
    heldBySingle();
    await vi.advanceTimersByTimeAsync(0);
    expect(behindSingle.state).toBe('fulfilled');
    // The timed-out request left the queue: the next one gets the lock once the transaction ends.
    const next = track(locks.acquire(key('a'), null));
    heldByTx();
    await vi.advanceTimersByTimeAsync(0);
    expect(next.state).toBe('fulfilled');
  });
});
