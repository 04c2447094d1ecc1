/**
 * Writes not yet committed, readable as if they were: point reads, and scans that
 * merge them into a sublevel's committed entries in key order. This is what lets the
 * statements of a transaction see the earlier ones before anything is written (the
 * transaction itself is a later slice; see the issue 9 notes).
 *
 * Keys are compared as LevelDB compares them: by their UTF-8 bytes.
 */

import type { WriteOp } from './commit-queue.js';

/** The value a key has in the overlay: a put's value, or `undefined` for a delete. */
type Pending = string | Uint8Array | undefined;

/** A key range as abstract-level iterators take it. */
export interface KeyRange {
  readonly gt?: string;
  readonly gte?: string;
  readonly lt?: string;
  readonly lte?: string;
  readonly reverse?: boolean;
  /** At most this many entries; -1 or absent: all. */
  readonly limit?: number;
}

/** Byte order of UTF-8 keys (which differs from JS string order past U+FFFF). */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Whether `key` lies in `range` (bounds only; order and limit aside). Like
 * abstract-level, an inclusive bound wins over an exclusive one on the same side.
 */
export function inRange(key: string, range: KeyRange): boolean {
  if (range.gte !== undefined) {
    if (compareKeys(key, range.gte) < 0) return false;
  } else if (range.gt !== undefined && compareKeys(key, range.gt) <= 0) return false;
  if (range.lte !== undefined) {
    if (compareKeys(key, range.lte) > 0) return false;
  } else if (range.lt !== undefined && compareKeys(key, range.lt) >= 0) return false;
  return true;
}

/** Pending writes over any number of sublevels, the last write to a key winning. */
export class WriteOverlay {
  private readonly pending = new Map<unknown, Map<string, Pending>>();
  /** Every op applied, in order: what a commit writes. */
  readonly ops: WriteOp[] = [];

  /** Records `ops` as pending, in order. */
  apply(ops: readonly WriteOp[]): void {
    for (const op of ops) {
      let keys = this.pending.get(op.sublevel);
      if (!keys) this.pending.set(op.sublevel, (keys = new Map()));
      keys.set(op.key, op.type === 'put' ? op.value : undefined);
      this.ops.push(op);
    }
  }

  /** `{ pending: true, value }` when the overlay decides `key` (value undefined: deleted), else `{ pending: false }`. */
  get(sublevel: unknown, key: string): { readonly pending: true; readonly value: Pending } | { readonly pending: false } {
    const keys = this.pending.get(sublevel);
    if (!keys || !keys.has(key)) return { pending: false };
    return { pending: true, value: keys.get(key) };
  }

  /**
   * `committed` (the sublevel's entries in `range`, in the range's order, as an
   * iterator with the same range would give them, limit aside) with the pending
   * writes merged in: a pending put replaces or adds an entry, a pending delete hides
   * one. The range's limit applies to the merged result.
   */
  async *merge<V extends string | Uint8Array>(sublevel: unknown, range: KeyRange, committed: AsyncIterable<readonly [string, V]>): AsyncGenerator<[string, V]> {
    const direction = range.reverse ? -1 : 1;
    const keys = this.pending.get(sublevel);
    const mine = keys ? [...keys].filter(([key]) => inRange(key, range)).sort(([a], [b]) => direction * compareKeys(a, b)) : [];
    let left = range.limit === undefined || range.limit < 0 ? Infinity : range.limit;
    let next = 0;
    const emit = function* (key: string, value: Pending): Generator<[string, V]> {
      if (value === undefined || left <= 0) return;
      left--;
      yield [key, value as V];
    };
    for await (const [key, value] of committed) {
      if (left <= 0) return;
      while (next < mine.length && direction * compareKeys(mine[next]![0], key) < 0) {
        yield* emit(mine[next]![0], mine[next]![1]);
        next++;
      }
      if (next < mine.length && mine[next]![0] === key) {
        yield* emit(key, mine[next]![1]);
        next++;
        continue;
      }
      yield* emit(key, value);
    }
    for (; next < mine.length && left > 0; next++) yield* emit(mine[next]![0], mine[next]![1]);
  }
}
