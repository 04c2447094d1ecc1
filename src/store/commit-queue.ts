/**
 * Group commit. Statements hand their writes to the queue as one unit; units that
 * arrive while a LevelDB batch is in flight are combined into the next batch. Each
 * unit is therefore atomic (it lives in exactly one batch), and many concurrent
 * statements cost one write instead of many.
 *
 * Writes not yet durable sit in an overlay that writers (holding a model's lock)
 * read through, so a statement sees the effects of the one queued just before it.
 * If a batch fails, it and every unit queued behind it (which may depend on it) are
 * rejected, and the overlay and cache are dropped so the next read goes back to disk.
 *
 * Readers see only committed state, and all of a batch or none of it: each read goes
 * through a {@link ReadView}, one LevelDB snapshot taken by the queue itself right
 * after a batch commits, together with the cache as of that moment. LevelDB makes a
 * batch visible to new reads when its write finishes on the thread pool, which is
 * before JavaScript hears of it; a read of "the latest" could therefore see a batch
 * whose other effects (cache, job state) are not yet published. A snapshot the queue
 * publishes never can.
 */

import type { AbstractSnapshot } from 'abstract-level';
import type { BytesSublevel, RootLevel, TextSublevel } from './level.js';

type Sublevel = TextSublevel | BytesSublevel;

/** One write of a statement's unit. */
export type WriteOp =
  | { readonly type: 'put'; readonly sublevel: TextSublevel; readonly key: string; readonly value: string }
  | { readonly type: 'put'; readonly sublevel: BytesSublevel; readonly key: string; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly sublevel: Sublevel; readonly key: string };

interface Group {
  readonly ops: WriteOp[];
  readonly done: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

interface PendingValue {
  readonly group: Group;
  /** `undefined` for a pending delete. */
  readonly value: string | Uint8Array | undefined;
}

const CACHE_LIMIT = 50_000;

/**
 * One published state: the snapshot of every batch committed before it was taken. When
 * LevelDB could not take the snapshot, `snapshot` is null and every read through it
 * fails with `error` until a later publication succeeds.
 */
interface Published {
  readonly snapshot: AbstractSnapshot | null;
  readonly error: unknown;
  /** Options for reads from this snapshot, built once (abstract-level clones options otherwise). */
  readonly readOptions: { readonly snapshot: AbstractSnapshot | undefined; readonly keyEncoding: 'utf8'; readonly valueEncoding: 'utf8' };
  /** Open views; the snapshot is closed when it is superseded and this drops to 0. */
  users: number;
  superseded: boolean;
}

/**
 * A consistent read of committed state: every read made through one view sees the
 * same set of batches. Release it when done (a view pins a LevelDB snapshot).
 */
export class ReadView {
  private released = false;

  /** @internal made by {@link CommitQueue.view} */
  constructor(
    private readonly queue: CommitQueue,
    private readonly published: Published,
  ) {}

  /** Pass as `snapshot` in iterator options so a scan reads this view's state. */
  get snapshot(): AbstractSnapshot {
    if (this.published.snapshot === null) throw this.published.error;
    return this.published.snapshot;
  }

  /** The committed value of `key` in this view; synchronous (a LevelDB snapshot read, or the cache). */
  get(sublevel: TextSublevel, key: string): string | undefined {
    return this.queue.readAt(this.published, sublevel, key);
  }

  /** Ends the view; reads after this are a bug. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.queue.unpin(this.published);
  }
}

function newGroup(): Group {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody may be awaiting a group yet when it fails; the rejection is delivered through submit().
  done.catch(() => undefined);
  return { ops: [], done, resolve, reject };
}

/** Told of every batch's outcome, in the synchronous step that publishes it. */
export interface CommitListener {
  /** A batch committed: its writes, in submission order; views made from now on see them. */
  committed(ops: readonly WriteOp[]): void;
  /** A batch failed: it and every unit queued behind it were rejected. */
  failed(): void;
}

/** Batches writes, keeps the unflushed overlay and a cache of committed small records. */
export class CommitQueue {
  private readonly listeners = new Set<CommitListener>();
  private readonly encoder: BatchEncoder;
  private readonly overlay = new Map<Sublevel, Map<string, PendingValue>>();
  private readonly cache = new Map<Sublevel, Map<string, string | undefined>>();
  private current: Group | null = null;
  private flushing: Promise<void> | null = null;
  private failures = 0;
  private failure: unknown = null;
  private published: Published;

  /**
   * @param root the database the batches go to
   * @param cached sublevels whose committed records are kept in memory (small, hot records such as model heads)
   * @param sync fsync each batch (survives power loss, not just a process crash)
   */
  constructor(
    private readonly root: RootLevel,
    cached: readonly TextSublevel[],
    private readonly sync: boolean,
  ) {
    for (const sublevel of cached) this.cache.set(sublevel, new Map());
    this.encoder = batchEncoder(root);
    this.published = this.publish();
  }

  /**
   * A consistent view of everything committed so far. Cheap (no I/O); the caller must
   * {@link ReadView.release} it, typically in a `finally`.
   */
  view(): ReadView {
    const published = this.latestPublished();
    published.users++;
    return new ReadView(this, published);
  }

  /** Adds a listener of batch outcomes; returns the function that removes it. */
  listen(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Runs `read` with a fresh view and releases it afterwards. */
  async read<T>(read: (view: ReadView) => Promise<T> | T): Promise<T> {
    const view = this.view();
    try {
      return await read(view);
    } finally {
      view.release();
    }
  }

  /** @internal see {@link ReadView.get} */
  readAt(published: Published, sublevel: TextSublevel, key: string): string | undefined {
    if (published.snapshot === null) throw published.error;
    const current = published === this.published;
    const cache = current ? this.cache.get(sublevel) : undefined;
    if (cache?.has(key)) return cache.get(key);
    const value = sublevel.getSync(key, published.readOptions) as string | undefined;
    if (cache) this.remember(cache, key, value);
    return value;
  }

  /** @internal see {@link ReadView.release} */
  unpin(published: Published): void {
    published.users--;
    if (published.superseded && published.users === 0) void published.snapshot?.close().catch(() => undefined);
  }

  /**
   * Take this before the first read of a unit and pass it to {@link submit}: a unit
   * computed from reads made before a batch failed may depend on the lost writes.
   */
  get epoch(): number {
    return this.failures;
  }

  /** The error of the last batch that failed (what ended the current epoch), or null. */
  get lastFailure(): unknown {
    return this.failure;
  }

  /** Queues one atomic unit; resolves when it is durable, rejects if its batch failed. */
  submit(ops: readonly WriteOp[], epoch: number): Promise<void> {
    if (epoch !== this.failures) return Promise.reject(this.failure);
    const group = (this.current ??= newGroup());
    for (const op of ops) {
      group.ops.push(op);
      let pending = this.overlay.get(op.sublevel);
      if (!pending) this.overlay.set(op.sublevel, (pending = new Map()));
      pending.set(op.key, { group, value: op.type === 'put' ? op.value : undefined });
    }
    this.flushing ??= this.flushLoop();
    return group.done;
  }

  /**
   * Latest value including unflushed writes; for writers holding the record's lock.
   * Synchronous: the overlay, else the latest published state (a write to this key
   * still in flight is in the overlay, so nothing newer can exist on disk).
   */
  readLatest(sublevel: TextSublevel, key: string): string | undefined {
    const pending = this.overlay.get(sublevel)?.get(key);
    if (pending) return pending.value as string | undefined;
    return this.readAt(this.latestPublished(), sublevel, key);
  }

  /** The latest publication, retaken first if LevelDB refused its snapshot. */
  private latestPublished(): Published {
    // A failed publication is retried once no batch is in flight: a snapshot taken
    // then holds exactly the committed batches. Writers reading the latest retry it
    // too, so a worker that only writes heals as well as a reader does.
    if (this.published.snapshot === null && this.flushing === null) this.published = this.publish();
    return this.published;
  }

  /** Resolves once everything queued so far is durable (or failed). */
  async idle(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private remember(cache: Map<string, string | undefined>, key: string, value: string | undefined): void {
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(key, value);
  }

  private async flushLoop(): Promise<void> {
    // One macrotask turn lets every statement already queued on a lock (a chain of
    // microtasks) join this batch; it costs microseconds on a lone statement.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.current) {
      const group = this.current;
      this.current = null;
      try {
        // `sync` is a classic-level option; memory-level ignores it.
        await this.encoder.write(group.ops, { sync: this.sync });
      } catch (error) {
        const followers = this.current as Group | null;
        this.current = null;
        this.failures++;
        this.failure = error;
        this.overlay.clear();
        for (const cache of this.cache.values()) cache.clear();
        // Whatever the disk holds now is the truth: a batch can fail after it was applied.
        this.supersede();
        for (const listener of this.listeners) listener.failed();
        group.reject(error);
        followers?.reject(error);
        break;
      }
      this.settle(group);
      this.supersede();
      for (const listener of this.listeners) listener.committed(group.ops);
      group.resolve();
    }
    this.flushing = null;
  }

  /** A snapshot of what is committed now (or, if LevelDB refuses one, a state whose reads fail). */
  private publish(): Published {
    let snapshot: AbstractSnapshot | null = null;
    let error: unknown = null;
    try {
      snapshot = this.root.snapshot();
    } catch (cause) {
      error = cause;
    }
    return { snapshot, error, readOptions: { snapshot: snapshot ?? undefined, keyEncoding: 'utf8', valueEncoding: 'utf8' }, users: 0, superseded: false };
  }

  /**
   * Publishes the batch that just committed, in the same synchronous step as the cache
   * took its writes: views made from now on see both; older views keep their snapshot.
   */
  private supersede(): void {
    const old = this.published;
    this.published = this.publish();
    old.superseded = true;
    if (old.users === 0) void old.snapshot?.close().catch(() => undefined);
  }

  /** Moves a durable group's writes from the overlay into the cache. */
  private settle(group: Group): void {
    for (const op of group.ops) {
      const pending = this.overlay.get(op.sublevel);
      const entry = pending?.get(op.key);
      if (entry?.group === group) pending!.delete(op.key);
      const cache = this.cache.get(op.sublevel);
      if (cache) this.remember(cache, op.key, op.type === 'put' ? (op.value as string) : undefined);
    }
  }
}

/** Writes a group's ops to the root as one LevelDB batch. */
interface BatchEncoder {
  write(ops: readonly WriteOp[], options: { readonly sync: boolean }): Promise<void>;
}

/** What abstract-level's own batch() ends with: the implementation's batch of encoded ops. */
type PrivateBatch = (ops: object[], options: object) => Promise<void>;

/**
 * Encodes ops the way abstract-level's batch() does (sublevel prefix, then the root's
 * transcoders for utf8 keys and utf8 or binary values) and hands them to the
 * implementation's `_batch` directly. abstract-level's batch() also clones each op,
 * looks its encodings up again and validates it: for the many small ops of one
 * statement and its events that cost about as much as the LevelDB write itself.
 * Every op here is built by this module with text keys, so none of that can fail, and
 * the store uses no hooks or write events. The transcoders are looked up once.
 */
function batchEncoder(root: RootLevel): BatchEncoder {
  const key = root.keyEncoding('utf8');
  const text = root.valueEncoding('utf8');
  const bytes = root.valueEncoding('view');
  // Looked up per write, not bound once, so a test can put a spy in its place.
  const implementation = root as unknown as { _batch: PrivateBatch };
  const encode = (op: WriteOp): object => {
    const encodedKey = key.encode(op.sublevel.prefixKey(op.key, 'utf8'));
    if (op.type === 'del') return { type: 'del', key: encodedKey, keyEncoding: key.format };
    const value = typeof op.value === 'string' ? text : bytes;
    return { type: 'put', key: encodedKey, keyEncoding: key.format, value: value.encode(op.value as never), valueEncoding: value.format };
  };
  return {
    write: (ops, options) => {
      // Not open (closing, closed): the public path, which refuses with LevelDB's own error.
      if (root.status !== 'open') return root.batch(ops.map(toRootOp) as never, options as object);
      return implementation._batch(ops.map(encode), options);
    },
  };
}

/** An op addressed to the root with its sublevel prefix applied, for the public batch(). */
function toRootOp(op: WriteOp): object {
  const key = op.sublevel.prefixKey(op.key, 'utf8');
  if (op.type === 'del') return { type: 'del', key };
  return { type: 'put', key, value: op.value, valueEncoding: typeof op.value === 'string' ? 'utf8' : 'view' };
}
