/**
 * What every concern of the registry (versions, stages, retire, lookup, weights, and
 * later the event log, aliases and transactions) works through: the shared store
 * parts, the session's tenant, name resolution and record reads through a
 * {@link ReadView} (or the writers' latest state), and {@link RegistryContext.writeUnit},
 * the one place a registry write is locked, read and committed.
 */

import { ModelSqlError, corruption, notAllowedInTransaction, permissionDenied, unknownModel, unknownVersion } from '../../errors.js';
import type { Blobs, PreparedBlob } from '../blobs.js';
import type { CommitQueue, ReadView, WriteOp } from '../commit-queue.js';
import type { EventInput, EventLog } from '../events.js';
import type { ModelLocks } from '../model-locks.js';
import { blobRange, escapeSegment, modelKey, parseModelKey, parseVersionKey, validateModelName, versionKey } from '../keys.js';
import type { BytesSublevel, Level, TextSublevel } from '../level.js';
import type { Transaction } from '../transaction.js';
import type { KeyRange } from '../write-overlay.js';
import { NS, decodeHead, decodeJsonText, decodeVersion, encodeRecord, type HeadRecord, type VersionRecord } from '../records.js';
import { snapshotRead, type IndexRead, type SchemaIndex } from '../schema-index.js';
import { aliasesOf } from './aliases.js';
import type { ModelVersion } from '../types.js';

/**
 * What a read sees: one consistent view of committed state (readers), or the latest
 * state including unflushed writes (writers holding the model's lock).
 */
export type View = ReadView | 'latest';

/** What every tenant view of one store shares. */
export interface RegistryStore {
  readonly level: Level;
  readonly queue: CommitQueue;
  readonly locks: ModelLocks;
  readonly blobs: Blobs;
  readonly index: SchemaIndex;
  readonly events: EventLog;
  /** `created_by` when a registration names none, and the actor of events of statements that name none. */
  readonly defaultActor: string | null;
}

/** A model as this session resolved it. */
export interface Resolved {
  readonly key: string;
  readonly head: HeadRecord;
}

/**
 * What the work of one write returns: its answer, the writes to commit as one unit,
 * and the events that record them (committed in the same unit; one per thing changed).
 */
export interface WriteUnit<T> {
  readonly result: T;
  readonly ops: readonly WriteOp[];
  readonly events?: readonly EventInput[];
  /** Who made the change (the statement's `created_by`); default: the handle's actor. */
  readonly actor?: string | null;
  /** In-memory weights the unit references: a transaction re-adds them at COMMIT if a cleanup took them meanwhile. */
  readonly prepared?: PreparedBlob;
  /** What to undo if a transaction the unit joined is rolled back (a streamed upload's bytes). */
  readonly undo?: () => Promise<void>;
}

/** A CORRUPTION for a key that does not parse. */
export function malformedKey(namespace: string, key: string): ModelSqlError {
  return new ModelSqlError('CORRUPTION', `malformed key '${key}' in namespace '${namespace}'`, { namespace, key });
}

/** The version number in a version key, or CORRUPTION. */
export function versionOf(vKey: string): number {
  const parsed = parseVersionKey(vKey);
  if (!parsed) throw malformedKey(NS.versions, vKey);
  return parsed.version;
}

/** A head's new `updatedAt`: now, but never before the last change (a registration may have run ahead of the clock). */
export function touched(head: HeadRecord): number {
  return Math.max(Date.now(), head.updatedAt);
}

/** The store as one tenant (or the global session, `tenant` null) sees it. */
export class RegistryContext implements RegistryStore {
  readonly level: Level;
  readonly queue: CommitQueue;
  readonly locks: ModelLocks;
  readonly blobs: Blobs;
  readonly index: SchemaIndex;
  readonly events: EventLog;
  readonly defaultActor: string | null;

  constructor(
    store: RegistryStore,
    /** The tenant this view acts as; null for the global session. */
    readonly tenant: string | null,
    /** The transaction this view's writes join and its reads look through, if any. */
    readonly tx: Transaction | null = null,
    /**
     * A transaction this view is not part of but is called from (a write through the
     * outer handle inside `db.transaction`'s callback): writing a model it holds would
     * wait for its end, which waits for the caller, so that is refused.
     */
    readonly outer: Transaction | null = null,
  ) {
    this.level = store.level;
    this.queue = store.queue;
    this.locks = store.locks;
    this.blobs = store.blobs;
    this.index = store.index;
    this.events = store.events;
    this.defaultActor = store.defaultActor;
  }

  /** Key scopes this session sees, its own first: `[tenant, global]`, or `[global]`. */
  scopes(): string[] {
    return this.tenant === null ? [''] : [escapeSegment(this.tenant), ''];
  }

  /** Global sessions only: PERMISSION_DENIED for a tenant, naming `what`. */
  requireGlobal(what: string): void {
    if (this.tenant !== null) throw permissionDenied(`${what} covers every tenant's models; tenant '${this.tenant}' cannot run it (use a global session)`);
  }

  // ---- writes ---------------------------------------------------------------------

  /**
   * The one place a registry write runs: under the lock of model key `key`, reads its
   * head as of the latest state (`undefined` when the model has no versions yet), lets
   * `work` decide, and submits the ops it returns, with the events recording them, as
   * one unit (no ops: nothing is committed), then waits until they are durable.
   * Everything a statement writes goes through here, so whatever must join the same
   * atomic unit (the event log, transactions) hooks in here.
   *
   * `options.blob`: a blob the unit references (a registration's or a copy's weights).
   * It is held against cleanup inside the model's lock (locks are always taken model
   * first, blob second) until the unit is durable, so nothing deletes the bytes between
   * the check that they are stored and the reference. A transaction takes its blobs at
   * COMMIT instead.
   */
  async writeUnit<T>(key: string, work: (head: HeadRecord | undefined) => Promise<WriteUnit<T>>, options: { readonly blob?: string | null } = {}): Promise<T> {
    if (this.tx) return this.tx.unit(key, () => this.readHead(key, 'latest'), work);
    if (this.outer?.holds(key)) {
      const name = parseModelKey(key)?.name ?? key;
      throw notAllowedInTransaction(`model '${name}' is locked by the transaction this call was made from; inside db.transaction(), run statements through the transaction's handle (the callback's argument), not the outer one`, { model: name });
    }
    const { queue } = this;
    let durable: Promise<void> | undefined;
    let releaseBlob: (() => void) | undefined;
    try {
      const result = await this.locks.run(key, async () => {
        if (options.blob) releaseBlob = await this.blobs.hold(options.blob);
        const epoch = queue.epoch;
        const unit = await work(this.readHead(key, 'latest'));
        if (unit.ops.length > 0) durable = this.events.submit(unit.ops, unit.events ?? [], epoch, unit.actor ?? this.defaultActor);
        return unit.result;
      });
      await durable;
      return result;
    } finally {
      releaseBlob?.();
    }
  }

  /**
   * Runs a change to one of this session's own, existing models (see {@link writeUnit}).
   * A tenant naming a global model gets PERMISSION_DENIED; a name it cannot see at all
   * is UNKNOWN_MODEL.
   */
  async mutate<T>(model: string, work: (key: string, head: HeadRecord) => Promise<WriteUnit<T>>): Promise<T> {
    validateModelName(model);
    const key = modelKey(model, this.tenant);
    return this.writeUnit(key, async (head) => {
      if (!head) {
        if (this.tenant !== null && this.readHead(modelKey(model, null), 'latest')) {
          throw permissionDenied(`model '${model}' is global; tenant '${this.tenant}' can change only its own models`, { model });
        }
        throw unknownModel(model);
      }
      return work(key, head);
    });
  }

  /** The write of a model's head. */
  headOp(key: string, head: HeadRecord): WriteOp {
    return { type: 'put', sublevel: this.level.models, key, value: encodeRecord(head) };
  }

  // ---- reads ----------------------------------------------------------------------

  /** Resolves a name as this session sees it: its own model first, then a global one. */
  tryResolve(model: string, view: View): Resolved | undefined {
    validateModelName(model);
    if (this.tenant !== null) {
      const key = modelKey(model, this.tenant);
      const head = this.readHead(key, view);
      if (head) return { key, head };
    }
    const key = modelKey(model, null);
    const head = this.readHead(key, view);
    return head ? { key, head } : undefined;
  }

  /** {@link tryResolve}, or UNKNOWN_MODEL. */
  resolve(model: string, view: View): Resolved {
    const found = this.tryResolve(model, view);
    if (!found) throw unknownModel(model);
    return found;
  }

  /** The head of model key `key`, or `undefined` when it has none. */
  readHead(key: string, view: View): HeadRecord | undefined {
    const raw = this.readValue(this.level.models, key, view);
    return raw === undefined ? undefined : decodeHead(raw, key);
  }

  /** One version's record: UNKNOWN_VERSION beyond the head's latest, CORRUPTION when missing below it. */
  readRecord(model: string, key: string, head: HeadRecord, version: number, view: View): VersionRecord {
    if (version > head.latest) throw unknownVersion(model, version);
    const vKey = versionKey(key, version);
    const raw = this.readValue(this.level.versions, vKey, view);
    if (raw === undefined) throw new ModelSqlError('CORRUPTION', `version record missing for model '${model}' version ${version} (namespace '${NS.versions}', key '${vKey}')`, { namespace: NS.versions, key: vKey, model, version });
    return decodeVersion(raw, vKey);
  }

  /** The raw value of `key` as this view sees it (its transaction's writes first). */
  readValue(sublevel: TextSublevel, key: string, view: View): string | undefined {
    if (this.tx) {
      const mine = this.tx.overlay.get(sublevel, key);
      if (mine.pending) return mine.value as string | undefined;
    }
    return view === 'latest' ? this.queue.readLatest(sublevel, key) : view.get(sublevel, key);
  }

  /**
   * The entries of `sublevel` in `range`, in its order: of `view`'s snapshot, or of
   * the disk (`'latest'`, for writers holding the model's lock once the queue is idle),
   * with this view's transaction's writes merged in.
   */
  entries(sublevel: TextSublevel, range: KeyRange, view: View): AsyncIterable<[string, string]>;
  entries(sublevel: BytesSublevel, range: KeyRange, view: View): AsyncIterable<[string, Uint8Array]>;
  entries(sublevel: TextSublevel | BytesSublevel, range: KeyRange, view: View): AsyncIterable<[string, string | Uint8Array]> {
    const snapshot = view === 'latest' ? {} : { snapshot: view.snapshot };
    if (!this.tx) return (sublevel as TextSublevel).iterator({ ...range, ...snapshot });
    // The limit applies after merging: pending deletes may hide committed entries.
    const { limit: _limit, ...unlimited } = range;
    return this.tx.overlay.merge(sublevel, range, (sublevel as TextSublevel).iterator({ ...unlimited, ...snapshot }));
  }

  /** How a schema lookup reads the index through `view` (and this view's transaction). */
  indexRead(view: ReadView): IndexRead {
    const committed = snapshotRead(view.snapshot);
    const { tx } = this;
    if (!tx) return committed;
    return {
      entries: (sublevel, range) => this.entries(sublevel, range, view),
      hasMany: async (sublevel, keys) => {
        const found = await committed.hasMany(sublevel, keys);
        return keys.map((key, i) => {
          const mine = tx.overlay.get(sublevel, key);
          return mine.pending ? mine.value !== undefined : found[i]!;
        });
      },
    };
  }

  /** The chunks of a blob, in order (its bytes as this view sees them, a transaction's included). */
  async *blobChunks(blob: string): AsyncGenerator<Uint8Array> {
    const prepared = this.tx?.preparedChunks(blob);
    if (prepared) {
      yield* prepared;
      return;
    }
    for await (const [, chunk] of this.entries(this.level.weights, blobRange(blob), 'latest')) yield chunk;
  }

  /** Tenant of a model key; scans ask once per row, so the last answer is kept. */
  tenantOf(key: string): string | null {
    if (this.lastTenantOf?.key !== key) this.lastTenantOf = { key, tenant: parseModelKey(key)?.tenant ?? null };
    return this.lastTenantOf.tenant;
  }

  private lastTenantOf: { key: string; tenant: string | null } | undefined;

  /** A stored version as the API shows it. */
  toModelVersion(key: string, model: string, version: number, record: VersionRecord, head: HeadRecord): ModelVersion {
    const vKey = versionKey(key, version);
    const base = record.baseModel === null ? null : parseModelKey(record.baseModel);
    if (base === undefined) throw corruption(NS.versions, vKey, `field 'baseModel' is not a model key`);
    const copiedFrom = record.copiedFromModel === null ? null : parseModelKey(record.copiedFromModel);
    if (copiedFrom === undefined) throw corruption(NS.versions, vKey, `field 'copiedFromModel' is not a model key`);
    return {
      model,
      tenant: this.tenantOf(key),
      version,
      active: head.active === version,
      archived: record.archived,
      sha256: record.sha256,
      sizeBytes: record.sizeBytes,
      artifact: record.artifact,
      hyperparams: decodeJsonText(record.hyperparams, NS.versions, vKey),
      metrics: decodeJsonText(record.metrics, NS.versions, vKey),
      trainingSql: record.trainingSql,
      trainingDataHash: record.trainingDataHash,
      parentVersion: record.parentVersion,
      createdAt: new Date(record.createdAt),
      createdBy: record.createdBy,
      description: record.description,
      jobId: record.jobId,
      stage: record.stage,
      promotedAt: record.promotedAt === null ? null : new Date(record.promotedAt),
      retired: record.retired || head.retired,
      modelType: record.modelType,
      task: record.task,
      backend: record.backend,
      baseModel: base?.name ?? null,
      baseTenant: base?.tenant ?? null,
      baseVersion: record.baseVersion,
      config: decodeJsonText(record.config, NS.versions, vKey),
      schemaHash: record.schemaHash,
      schema: decodeJsonText(record.schema, NS.versions, vKey),
      copiedFromModel: copiedFrom?.name ?? null,
      copiedFromTenant: copiedFrom?.tenant ?? null,
      copiedFromVersion: record.copiedFromVersion,
      aliases: aliasesOf(head, version),
      tags: record.tags,
    };
  }
}
