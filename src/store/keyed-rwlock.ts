/**
 * One shared/exclusive lock per key, granted first come first served: any number of
 * shared holders at once, or one exclusive holder. Blobs use it so that versions
 * referencing a blob (shared: they may commit together, in one group-commit batch)
 * never run alongside a cleanup that decides whether the blob is still referenced
 * (exclusive).
 */

interface Waiter {
  readonly exclusive: boolean;
  readonly grant: () => void;
}

interface KeyState {
  shared: number;
  exclusive: boolean;
  readonly waiting: Waiter[];
}

/** Shared/exclusive locks by key; the map holds only keys in use. */
export class KeyedSharedLock {
  private readonly states = new Map<string, KeyState>();

  /** Runs `fn` holding `key` shared (alongside other shared holders). */
  shared<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.run(key, false, fn);
  }

  /** Runs `fn` holding `key` alone. */
  exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.run(key, true, fn);
  }

  /**
   * Takes `key` shared and keeps it until the returned function is called (idempotent):
   * for a holder whose span is not one call (a version's unit holds its blob until the
   * unit is durable, after the model's lock is released).
   */
  async acquireShared(key: string): Promise<() => void> {
    const { held, granted } = this.request(key, false);
    await granted;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release(key, held, false);
    };
  }

  private async run<T>(key: string, exclusive: boolean, fn: () => Promise<T>): Promise<T> {
    const { held, granted } = this.request(key, exclusive);
    // Uncontended: start at once, as an unlocked call would (no extra tick).
    if (granted !== null) await granted;
    try {
      return await fn();
    } finally {
      this.release(key, held, exclusive);
    }
  }

  /** Queues a request; `granted` is null when it was granted at once. */
  private request(key: string, exclusive: boolean): { held: KeyState; granted: Promise<void> | null } {
    let state = this.states.get(key);
    if (!state) this.states.set(key, (state = { shared: 0, exclusive: false, waiting: [] }));
    const held = state;
    let grantedAtOnce = false;
    const granted = new Promise<void>((grant) => {
      held.waiting.push({ exclusive, grant: () => ((grantedAtOnce = true), grant()) });
      this.pump(held);
    });
    return { held, granted: grantedAtOnce ? null : granted };
  }

  private release(key: string, held: KeyState, exclusive: boolean): void {
    if (exclusive) held.exclusive = false;
    else held.shared--;
    this.pump(held);
    if (!held.exclusive && held.shared === 0 && held.waiting.length === 0) this.states.delete(key);
  }

  /** Grants waiters from the front while they are compatible with the holders. */
  private pump(state: KeyState): void {
    for (;;) {
      const next = state.waiting[0];
      if (!next || state.exclusive) return;
      if (next.exclusive && state.shared > 0) return;
      state.waiting.shift();
      if (next.exclusive) state.exclusive = true;
      else state.shared++;
      next.grant();
    }
  }
}
