/**
 * One async lock per key: callers with the same key run one after another, callers
 * with different keys run freely. This is what keeps two concurrent statements on one
 * model from reading the same head and allocating the same version.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `fn` once every earlier `run` with the same key has settled. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key);
    let release!: () => void;
    // `mine` settles only after we ran, which is after `previous` settled, so the
    // next caller awaiting it waits for everyone before it too.
    const mine = new Promise<void>((resolve) => (release = resolve));
    this.tails.set(key, mine);
    if (previous) await previous;
    try {
      return await fn();
    } finally {
      release();
      // Drop the entry once nobody queued behind us, so the map stays O(busy keys).
      if (this.tails.get(key) === mine) this.tails.delete(key);
    }
  }

  /**
   * Takes the lock of `key` once every earlier holder is done, and keeps it until the
   * returned function is called (idempotent). For holders whose span is not one call:
   * a transaction keeps each model it changes locked until it ends.
   */
  async acquire(key: string): Promise<() => void> {
    const previous = this.tails.get(key);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    this.tails.set(key, mine);
    if (previous) await previous;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      release();
      if (this.tails.get(key) === mine) this.tails.delete(key);
    };
  }
}
