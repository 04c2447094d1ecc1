/**
 * The model locks every registry write takes: one lock per model key, granted first
 * come first served. A single statement holds one for the span of its unit; a
 * transaction keeps each model it changed locked until it ends.
 *
 * Transactions run side by side, so two of them can come to wait for each other (T1
 * holds a and wants b while T2 holds b and wants a). Whoever would close such a cycle
 * is refused at once with DEADLOCK_DETECTED instead of waiting: a wait-for graph over
 * the queues is checked on every wait a transaction starts. A single statement holds
 * no model lock while it waits for one, and waits for nothing but a blob while it holds
 * one, so it never closes a cycle; it can only wait behind one.
 *
 * Waits the graph cannot see (an app awaiting, inside a transaction, a write through
 * another handle to a model its transaction holds) would last forever; a wait behind a
 * transaction therefore ends after `timeoutMs` with LOCK_TIMEOUT. Waits behind single
 * statements do not time out: they end when those units are durable, however large.
 */

import { ModelSqlError } from '../errors.js';
import { parseModelKey } from './keys.js';

/** Who holds or waits for a lock: a transaction (any object identifying it), or null for a single statement. */
export type LockOwner = object | null;

interface Request {
  readonly owner: LockOwner;
  granted: boolean;
  readonly grant: () => void;
  readonly fail: (error: ModelSqlError) => void;
  timer: NodeJS.Timeout | undefined;
}

/** Default of `open({ lockTimeoutMs })`: as long as better-sqlite3's busy timeout. */
export const DEFAULT_LOCK_TIMEOUT_MS = 5000;

function modelName(key: string): string {
  return parseModelKey(key)?.name ?? key;
}

/** DEADLOCK_DETECTED: the wait would close a cycle of transactions waiting for each other. */
export function deadlockDetected(key: string): ModelSqlError {
  const model = modelName(key);
  return new ModelSqlError(
    'DEADLOCK_DETECTED',
    `deadlock detected: model '${model}' is locked by a transaction that waits for one this transaction holds; this statement changed nothing (roll back and retry the transaction)`,
    { model },
  );
}

/** Model locks by key, with deadlock detection and a wait timeout behind transactions (see the module comment). */
export class ModelLocks {
  /** Each key's requests in arrival order; the granted one is first. Holds only keys in use. */
  private readonly queues = new Map<string, Request[]>();
  /** The key each waiting transaction waits for. */
  private readonly waitingFor = new Map<object, string>();

  constructor(private readonly timeoutMs: number = DEFAULT_LOCK_TIMEOUT_MS) {}

  /** Runs `fn` holding `key` (a single statement's unit). */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire(key, null);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /**
   * Takes `key` for `owner` and keeps it until the returned function is called
   * (idempotent). DEADLOCK_DETECTED when a transaction's wait would close a cycle;
   * LOCK_TIMEOUT when it waited `timeoutMs` behind a transaction.
   */
  acquire(key: string, owner: LockOwner): Promise<() => void> {
    let queue = this.queues.get(key);
    if (!queue) this.queues.set(key, (queue = []));
    if (queue.length > 0 && owner !== null && this.closesCycle(owner, queue)) return Promise.reject(deadlockDetected(key));
    let request!: Request;
    const granted = new Promise<() => void>((resolve, reject) => {
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        this.release(key, request);
      };
      request = { owner, granted: false, grant: () => resolve(release), fail: reject, timer: undefined };
    });
    queue.push(request);
    if (queue.length === 1) {
      request.granted = true;
      request.grant();
    } else {
      if (owner !== null) this.waitingFor.set(owner, key);
      this.armTimeout(key, request, this.timeoutMs);
    }
    return granted;
  }

  /**
   * Whether `owner` waiting behind `queue`'s requests would wait for itself: a
   * depth-first walk from every owner ahead, through the requests ahead of each
   * waiting transaction in the queue it waits in.
   */
  private closesCycle(owner: object, queue: readonly Request[]): boolean {
    const pending: object[] = [];
    const ahead = (requests: readonly Request[], upTo: object | null): void => {
      for (const request of requests) {
        if (request.owner === upTo && upTo !== null) return;
        if (request.owner !== null) pending.push(request.owner);
      }
    };
    ahead(queue, null);
    const seen = new Set<object>();
    while (pending.length > 0) {
      const next = pending.pop()!;
      if (next === owner) return true;
      if (seen.has(next)) continue;
      seen.add(next);
      const key = this.waitingFor.get(next);
      if (key !== undefined) ahead(this.queues.get(key) ?? [], next);
    }
    return false;
  }

  /** After `ms`, a request still waiting behind a transaction fails; behind single statements only, it waits on. */
  private armTimeout(key: string, request: Request, ms: number): void {
    request.timer = setTimeout(() => {
      const queue = this.queues.get(key);
      if (!queue || request.granted) return;
      const index = queue.indexOf(request);
      if (index < 0) return;
      if (!queue.slice(0, index).some((r) => r.owner !== null)) {
        this.armTimeout(key, request, ms);
        return;
      }
      queue.splice(index, 1);
      if (request.owner !== null) this.waitingFor.delete(request.owner);
      const model = modelName(key);
      request.fail(
        new ModelSqlError(
          'LOCK_TIMEOUT',
          `model '${model}' is locked by an open transaction; waited ${ms} ms for it to end (open({ lockTimeoutMs }) sets the limit); nothing was changed`,
          { model },
        ),
      );
    }, ms);
  }

  private release(key: string, request: Request): void {
    const queue = this.queues.get(key);
    if (!queue || queue[0] !== request) return;
    queue.shift();
    const next = queue[0];
    if (!next) {
      this.queues.delete(key);
      return;
    }
    next.granted = true;
    clearTimeout(next.timer);
    if (next.owner !== null) this.waitingFor.delete(next.owner);
    next.grant();
  }
}
