/**
 * One async lock per key: callers with the same key run one after another, callers
 * with different keys run freely. This is what keeps two concurrent statements on one
 * model from reading the same head and allocating the same version.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `fn` once every earlier `run` with the same key has settled. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      // Drop the entry once nobody queued behind us, so the map stays O(busy keys).
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
