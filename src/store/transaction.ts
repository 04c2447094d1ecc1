/**
 * Transactions: several statements committed as one atomic unit, or not at all.
 *
 * A transaction's writes never reach the commit queue before COMMIT: each statement's
 * unit goes into a {@link WriteOverlay} that the transaction's own reads look through
 * (so a statement sees the earlier ones) and nobody else's do (so no other session
 * sees any of it). Its events wait beside the writes and are logged at COMMIT in one
 * submission, so they get consecutive seqs.
 *
 * Isolation. A statement of a transaction takes its model's lock as any write does,
 * but keeps it until the transaction ends, so no other write changes a model the
 * transaction has read for a write and then changed, and versions it allocates stay
 * consecutive. Transactions run side by side (those of different tenants never share
 * a lock); two that come to wait for each other's models are caught when the cycle
 * would close, and the statement closing it fails with DEADLOCK_DETECTED (see
 * ./model-locks.ts). Reads outside never wait; they see committed state.
 *
 * Weights. In-memory weights a statement found stored already add no chunks to the
 * unit; a cleanup may delete those bytes before COMMIT (when no committed version
 * references them), so COMMIT takes the blobs it references (shared, after the model
 * locks, as every writer does) and re-adds any chunks that are gone. Streamed uploads
 * keep their upload marker until COMMIT deletes it; ROLLBACK discards them.
 */

import { ModelSqlError, invalidTransactionState } from '../errors.js';
import type { PreparedBlob } from './blobs.js';
import type { EventInput } from './events.js';
import type { HeadRecord } from './records.js';
import type { RegistryStore, WriteUnit } from './registry/context.js';
import { WriteOverlay } from './write-overlay.js';
import { KeyedMutex } from './keyed-mutex.js';

/** What COMMIT answers: how many events it logged and their seqs (null when it logged none). */
export interface CommitOutcome {
  readonly events: number;
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
}

type State = 'open' | 'committing' | 'ended';

/** One open transaction over a store (see the module comment). */
export class Transaction {
  /** The transaction's writes, read through by its own statements. */
  readonly overlay = new WriteOverlay();
  private readonly logged: EventInput[] = [];
  private readonly prepared = new Map<string, PreparedBlob>();
  private readonly undo: (() => Promise<void>)[] = [];
  /** Model keys locked by this transaction, with the function that unlocks each. */
  private readonly held = new Map<string, () => void>();
  /** The transaction's statements write one at a time (their reads need not wait). */
  private readonly statements = new KeyedMutex();
  private state: State = 'open';

  private constructor(
    private readonly store: RegistryStore,
    /** The commit queue's epoch at begin: a batch failing meanwhile may have lost writes this transaction read. */
    private readonly epoch: number,
  ) {}

  /** Opens a transaction; it waits for nothing until a statement of it takes a model's lock. */
  static begin(store: RegistryStore): Transaction {
    return new Transaction(store, store.queue.epoch);
  }

  /** Whether statements may still join it. */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Whether it holds the lock of model key `key` (a write to it from outside would wait for its end). */
  holds(key: string): boolean {
    return this.state !== 'ended' && this.held.has(key);
  }

  /** INVALID_TRANSACTION_STATE once it has committed or rolled back. */
  assertOpen(): void {
    if (this.state !== 'open') throw invalidTransactionState('the transaction has ended (committed or rolled back); start a new one');
  }

  /**
   * One statement's write (what {@link RegistryContext.writeUnit} does outside a
   * transaction): under model key `key`'s lock, kept until the end, `work` decides from
   * the head as the transaction sees it (`read`), and its unit joins the transaction.
   */
  async unit<T>(key: string, read: () => HeadRecord | undefined, work: (head: HeadRecord | undefined) => Promise<WriteUnit<T>>): Promise<T> {
    this.assertOpen();
    return this.statements.run('', async () => {
      this.assertOpen();
      const newlyLocked = !this.held.has(key);
      if (newlyLocked) {
        const release = await this.store.locks.acquire(key, this);
        if (this.state !== 'open') {
          release();
          this.assertOpen();
        }
        this.held.set(key, release);
      }
      // A statement that fails or changes nothing leaves a model it newly locked unlocked:
      // only the models a transaction changed wait for its end.
      const unlockUnchanged = (): void => {
        if (!newlyLocked || this.state !== 'open') return;
        this.held.get(key)?.();
        this.held.delete(key);
      };
      let unit: WriteUnit<T>;
      try {
        unit = await work(read());
      } catch (error) {
        unlockUnchanged();
        throw error;
      }
      // Rolled back (the registry closing) while the statement ran: it joins nothing.
      this.assertOpen();
      if (unit.ops.length === 0) unlockUnchanged();
      if (unit.ops.length > 0) {
        this.overlay.apply(unit.ops);
        const actor = unit.actor ?? this.store.defaultActor;
        for (const event of unit.events ?? []) this.logged.push({ ...event, actor: event.actor !== undefined ? event.actor : actor });
        if (unit.prepared) this.prepared.set(unit.prepared.blob.blob, unit.prepared);
      }
      if (unit.undo) this.undo.push(unit.undo);
      return unit.result;
    });
  }

  /**
   * The in-memory weights of blob `blob` one of its statements registered, if any: its
   * reads take them from here, since a cleanup may delete stored bytes no committed
   * version references before COMMIT re-adds them.
   */
  preparedChunks(blob: string): readonly Uint8Array[] | undefined {
    return this.prepared.get(blob)?.chunks;
  }

  /** The events this transaction will log for model key `key`, in order (they have no seq yet). */
  pendingEvents(key: string): readonly EventInput[] {
    return this.logged.filter((event) => event.model === key);
  }

  /**
   * Commits everything as one unit and waits until it is durable; then the transaction
   * has ended. Waits for its statements still running. On failure nothing of it is
   * written and it has ended too (rolled back).
   */
  async commit(): Promise<CommitOutcome> {
    this.assertOpen();
    return this.statements.run('', async () => {
      this.assertOpen();
      this.state = 'committing';
      const { blobs, level, events, defaultActor } = this.store;
      const blobHolds: (() => void)[] = [];
      try {
        for (const blob of this.referencedBlobs()) blobHolds.push(await blobs.hold(blob));
        const ops = [...this.overlay.ops];
        // Bytes found stored when their statement ran may have been cleaned up since.
        for (const prepared of this.prepared.values()) {
          if (!this.overlay.get(level.blobs, prepared.blob.blob).pending) ops.push(...blobs.writeOps(prepared));
        }
        if (ops.length === 0) return { events: 0, firstSeq: null, lastSeq: null };
        if (this.store.queue.epoch !== this.epoch) {
          const cause = this.store.queue.lastFailure;
          throw new ModelSqlError(
            'TRANSACTION_ABORTED',
            `a write to the registry failed while this transaction was open (${describeFailure(cause)}), so what it read may be gone; nothing of it was committed (retry the transaction)`,
            {},
            { cause },
          );
        }
        const submitted = events.submitLogged(ops, this.logged, this.epoch, defaultActor);
        await submitted.durable;
        return { events: this.logged.length, firstSeq: submitted.first, lastSeq: submitted.last };
      } catch (error) {
        await this.discardUploads();
        throw error;
      } finally {
        for (const release of blobHolds) release();
        this.end();
      }
    });
  }

  /**
   * Drops everything: nothing of it was written, and nothing will be. A statement still
   * running fails instead of joining. Idempotent.
   */
  async rollback(): Promise<void> {
    if (this.state !== 'open') return;
    this.end();
    await this.discardUploads();
  }

  /** Blob ids the transaction's versions reference, sorted (the order their locks are taken in). */
  private referencedBlobs(): string[] {
    const ids = new Set<string>();
    for (const op of this.overlay.ops) {
      if (op.sublevel === this.store.level.weightRefs && op.type === 'put') ids.add(op.key.slice(0, op.key.indexOf(':')));
    }
    return [...ids].sort();
  }

  private async discardUploads(): Promise<void> {
    const undo = this.undo.splice(0);
    for (const step of undo) await step().catch(() => undefined);
  }

  private end(): void {
    this.state = 'ended';
    for (const release of this.held.values()) release();
    this.held.clear();
  }
}

function describeFailure(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
