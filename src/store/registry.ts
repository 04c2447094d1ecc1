/**
 * The model registry: immutable, monotonically numbered versions per model, one
 * movable active pointer, lifecycle stages, soft retire, and schema fingerprints.
 * SQL and the typed API both land here.
 *
 * Identity is (tenant, name). A `Registry` is a session view bound to one tenant (or
 * to none: global). It sees its own models and the global ones, its own shadowing a
 * global one of the same name, and it changes only its own; other tenants' models do
 * not exist for it. Views made by {@link Registry.withTenant} share one store, one set
 * of locks and one commit queue.
 *
 * Writes to one model run under that model's lock and commit as one unit through the
 * {@link CommitQueue}; the per-model head record makes allocation O(1) and the
 * dashboard O(models). Each read operation sees committed state only, all of it through
 * one {@link ReadView}, so it never mixes two commits.
 *
 * This class is a facade: each concern lives in its own module under ./registry/
 * (registration, versions, listings, stage-moves, retire, lookup, weights), all
 * working through one {@link RegistryContext}, whose `writeUnit` is the one place a
 * write is locked, read and committed.
 */

import { backupStore, type BackupResult } from './backup.js';
import { Blobs, type StoredBlob } from './blobs.js';
import type { CommitQueue, ReadView } from './commit-queue.js';
import type { SchemaInput } from './fingerprint.js';
import { EventLog, type ModelEvent } from './events.js';
import { checkIntegrity, type IntegrityProblem } from './integrity.js';
import { ModelLocks } from './model-locks.js';
import { validateTenantName } from './keys.js';
import type { Level } from './level.js';
import type { Stage } from './records.js';
import { SchemaIndex } from './schema-index.js';
import { Transaction } from './transaction.js';
import type { StageDirection } from './stages.js';
import type { ModelAlias, ModelSummary, ModelVersion, RegisterVersionInput, RegisteredVersion, SchemaLookup, VersionRef } from './types.js';
import { dropAlias, resolveAlias, setAlias, type AliasOutcome } from './registry/aliases.js';
import { usePreviousVersion, type RollbackOutcome } from './registry/rollback.js';
import { changeTag, type TagOutcome } from './registry/tags.js';
import { RegistryContext } from './registry/context.js';
import { history, modelHistory, visibleEvents, watchEvents, type HistoryOptions, type WatchOptions } from './registry/history.js';
import { listAliases, listVersions, scanVersions, summaries, summary, type ListOptions } from './registry/listings.js';
import { lookupSchema } from './registry/lookup.js';
import { copyVersion, type CopiedVersion, type CopyOptions, type CopySource } from './registry/copy.js';
import { checkRegistration, registerVersion, type RegistrationHooks, type ResolvedBase } from './registry/registration.js';
import { retire } from './registry/retire.js';
import { changeStage, latestAtStage, versionsAtStage, type StageMove } from './registry/stage-moves.js';
import { archiveModel, getActive, getVersion, setActiveVersion, setArchived, type ArchiveOutcome } from './registry/versions.js';
import { readWeights, weightsSource, type WeightsSource } from './registry/weights.js';

export type { AliasOutcome, ArchiveOutcome, CopiedVersion, CopyOptions, CopySource, HistoryOptions, ListOptions, RegistrationHooks, ResolvedBase, RollbackOutcome, StageMove, TagOutcome, WatchOptions };

/** The registry over one opened store, as one tenant (or the global session) sees it. */
export class Registry {
  private readonly context: RegistryContext;
  /** The tenant this view acts as; null for the global session. */
  readonly tenant: string | null;

  /**
   * @param level the opened store
   * @param queue group commit shared with the job store
   * @param defaultActor `created_by` when a registration names none
   * @param lockTimeoutMs how long a write waits for a model a transaction holds (see ./model-locks.ts)
   */
  constructor(level: Level, queue: CommitQueue, defaultActor: string | null, lockTimeoutMs?: number);
  /** @internal a view of an existing registry (see {@link withTenant}) */
  constructor(context: RegistryContext);
  constructor(levelOrContext: Level | RegistryContext, queue?: CommitQueue, defaultActor?: string | null, lockTimeoutMs?: number) {
    if (levelOrContext instanceof RegistryContext) {
      this.context = levelOrContext;
    } else {
      const level = levelOrContext;
      const store = { level, queue: queue!, locks: new ModelLocks(lockTimeoutMs), blobs: new Blobs(level, queue!), index: new SchemaIndex(level), events: new EventLog(level, queue!), defaultActor: defaultActor ?? null };
      this.context = new RegistryContext(store, null);
    }
    this.tenant = this.context.tenant;
  }

  /** The commit queue (shared by every view and the job store). */
  get queue(): CommitQueue {
    return this.context.queue;
  }

  /** A view of the same store acting as `tenant` (null: global). */
  withTenant(tenant: string | null): Registry {
    if (tenant !== null) validateTenantName(tenant);
    return tenant === this.tenant && this.context.tx === null && this.context.outer === null ? this : new Registry(new RegistryContext(this.context, tenant));
  }

  /**
   * A view acting as `tenant` whose writes join transaction `tx` and whose reads see
   * its writes; `outer`: a transaction the caller runs inside of without being part
   * of it (its held models are refused rather than waited for, see RegistryContext).
   */
  inTransaction(tenant: string | null, tx: Transaction | null, outer: Transaction | null = null): Registry {
    if (tenant !== null) validateTenantName(tenant);
    return new Registry(new RegistryContext(this.context, tenant, tx, outer));
  }

  /** Opens a transaction over this store (see ./transaction.ts). */
  beginTransaction(): Transaction {
    return Transaction.begin(this.context);
  }

  /**
   * Streams weights into the store ahead of registering them (pass the result as
   * `hooks.weights`), so a large file is never held in memory whole.
   */
  uploadWeights(source: AsyncIterable<Uint8Array>): Promise<StoredBlob> {
    return this.context.blobs.upload(source, this.context.tenant);
  }

  /** Finds where the event log ends; run once at open, before the first write. */
  startEvents(): Promise<void> {
    return this.context.events.start();
  }

  /** Ends every watcher (the store is closing). */
  closeEvents(): void {
    this.context.events.close();
  }

  /** Deletes uploads a crash left unreferenced; run once at open. Returns how many. */
  recoverUploads(): Promise<number> {
    return this.context.blobs.recover();
  }

  // ---- writes (see ./registry/registration.ts, versions.ts, stage-moves.ts, retire.ts) ----

  /**
   * Registers the next version of `model` (highest so far + 1; the model is created by
   * its first version). It becomes active unless `input.active === false`. A tenant
   * session always writes its own model, which then shadows a global one of that name.
   */
  registerVersion(model: string, input: RegisterVersionInput, hooks: RegistrationHooks = {}): Promise<RegisteredVersion> {
    return registerVersion(this.context, model, input, hooks);
  }

  /**
   * Copies version `source.version` of `source.model` (this session's own or a global
   * model) to the next version of this session's own `target`, created if missing:
   * same blob, metrics and metadata, lineage recorded (see ./registry/copy.ts).
   */
  copyVersion(target: string, source: CopySource, options: CopyOptions = {}): Promise<CopiedVersion> {
    return copyVersion(this.context, target, source, options);
  }

  /**
   * Checks now what a train job will register later (catalog fields, schema, lineage,
   * and that the model may take a new version), so a bad statement fails before a job
   * is queued. The weights come from the trainer, so they are not required here.
   * Returns the base the lineage resolves to now, for the job to pin.
   */
  checkRegistration(model: string, input: RegisterVersionInput): Promise<{ base: ResolvedBase | null }> {
    return checkRegistration(this.context, model, input);
  }

  /** Points `model`'s active pointer at `version` (a number or `'@alias'`). Returns the previous pointer. */
  setActiveVersion(model: string, version: VersionRef, detail: Readonly<Record<string, unknown>> | null = null): Promise<{ previous: number | null; version: number }> {
    return setActiveVersion(this.context, model, version, detail);
  }

  /** Moves the pointer back one step along its logged history (see ./registry/rollback.ts for the rule). */
  usePreviousVersion(model: string): Promise<RollbackOutcome> {
    return usePreviousVersion(this.context, model);
  }

  /** Points alias `alias` of `model` at `version`, creating or moving it (see ./registry/aliases.ts). */
  setAlias(model: string, alias: string, version: VersionRef): Promise<AliasOutcome> {
    return setAlias(this.context, model, alias, version);
  }

  /** Drops alias `alias` of `model`; UNKNOWN_ALIAS when there is none. */
  dropAlias(model: string, alias: string): Promise<{ alias: string; version: number }> {
    return dropAlias(this.context, model, alias);
  }

  /** The version alias `alias` (with or without `@`) of `model` points at: one point read. */
  resolveAlias(model: string, alias: string): Promise<number> {
    return resolveAlias(this.context, model, alias);
  }

  /** Sets (a string) or removes (null) tag `key` of `model`, or of one of its versions (see ./registry/tags.ts). */
  changeTag(model: string, version: VersionRef | null, key: string, value: string | null): Promise<TagOutcome> {
    return changeTag(this.context, model, version, key, value);
  }

  /**
   * Moves one version exactly one stage up (`promote`) or down (`demote`); anything
   * else is INVALID_TRANSITION. Records the time of the move. Stages never touch the
   * active pointer.
   */
  changeStage(model: string, version: VersionRef, direction: StageDirection, to: Stage): Promise<StageMove> {
    return changeStage(this.context, model, version, direction, to);
  }

  /**
   * Archives one version. It stays readable but cannot become active; archiving the
   * active version clears the pointer. Archiving an archived version changes nothing.
   */
  archiveVersion(model: string, version: VersionRef): Promise<ArchiveOutcome> {
    return setArchived(this.context, model, version, true);
  }

  /** Makes an archived version eligible again (it does not become active). */
  unarchiveVersion(model: string, version: VersionRef): Promise<ArchiveOutcome> {
    return setArchived(this.context, model, version, false);
  }

  /** Archives every version of `model` in one unit; returns how many were newly archived. */
  archiveModel(model: string): Promise<{ archived: number; active: number | null }> {
    return archiveModel(this.context, model);
  }

  /**
   * Soft-retires a whole model (`version` undefined) or one version. Retired things
   * vanish from the dashboard and default listings but still resolve by name and
   * version, so lineage keeps working; a retired model cannot be served, changed
   * (beyond archiving) or given new versions. Retiring twice changes nothing.
   * Retiring the active version clears the pointer.
   */
  retire(model: string, version?: VersionRef): Promise<{ changed: boolean; active: number | null; version: number | null }> {
    return retire(this.context, model, version);
  }

  // ---- reads (see ./registry/versions.ts, listings.ts, stage-moves.ts, lookup.ts, weights.ts) ----

  /** One version (without weights); retired ones resolve too. */
  getVersion(model: string, version: VersionRef): Promise<ModelVersion> {
    return getVersion(this.context, model, version);
  }

  /** The active version, or `null` when none is active. A retired model is MODEL_RETIRED. */
  getActive(model: string): Promise<ModelVersion | null> {
    return getActive(this.context, model);
  }

  /** Every version of `model` (retired ones included: the model is named), oldest first. O(versions of this model). */
  listVersions(model: string): Promise<ModelVersion[]> {
    return listVersions(this.context, model);
  }

  /** One summary per visible model, ordered by name; retired models only when asked. Cost is O(models). */
  summaries(options: ListOptions = {}): Promise<ModelSummary[]> {
    return summaries(this.context, options);
  }

  /** The aliases of one model, or of every visible model: by model name, then alias. */
  listAliases(model?: string): Promise<ModelAlias[]> {
    return listAliases(this.context, model);
  }

  /** Summary of one model (retired models resolve too). */
  summary(model: string): Promise<ModelSummary> {
    return summary(this.context, model);
  }

  /**
   * Versions of one model (or of every visible model when `model` is undefined), in
   * model-key then version order; retired ones only when asked. Unknown model yields nothing.
   */
  scanVersions(model?: string, options: ListOptions = {}): AsyncGenerator<ModelVersion> {
    return scanVersions(this.context, model, options);
  }

  /**
   * Versions of one model at `stage` (staging or production), in version order (or newest first), from the
   * stage index: O(versions at that stage), not O(versions). Retired versions are never
   * in the index, and a retired model yields nothing. `dev` is not indexed (every version starts there); it yields nothing.
   */
  versionsAtStage(model: string, stage: Stage, options: { newestFirst?: boolean } = {}): AsyncGenerator<ModelVersion> {
    return versionsAtStage(this.context, model, stage, options);
  }

  /**
   * The most recently registered non-retired version at `stage`, or null. Staging and
   * production come from the stage index; dev (not indexed: every version starts
   * there) is a newest-first walk that stops at the first dev version.
   */
  latestAtStage(model: string, stage: Stage): Promise<ModelVersion | null> {
    return latestAtStage(this.context, model, stage);
  }

  /**
   * How a pipeline should start on data with this schema: `warm_load` on an exact
   * fingerprint match, `warm_start` when the nearest is within 0.25, else `cold_start`.
   * Archived and retired versions, retired models and models this session cannot see
   * are never candidates; an own model shadows a global one of the same name.
   */
  lookupSchema(schema: SchemaInput): Promise<SchemaLookup> {
    return lookupSchema(this.context, schema);
  }

  /**
   * A version's stored weights, to stream: the blob, the SHA-256 and size they must
   * match, and its chunks in order as `content`, unchecked (the caller verifies while streaming).
   * A version without stored weights is INVALID_ARGUMENT.
   */
  weightsSource(model: string, version: VersionRef): Promise<WeightsSource> {
    return weightsSource(this.context, model, version);
  }

  /** The weights of one version, checked against their stored SHA-256 and size. */
  readWeights(model: string, version: VersionRef): Promise<Uint8Array> {
    return readWeights(this.context, model, version);
  }

  // ---- the event log (see ./registry/history.ts) ------------------------------------

  /** One model's events, oldest first, after `since`, at most `limit`. O(events returned). */
  history(model: string, options: HistoryOptions = {}): Promise<ModelEvent[]> {
    return history(this.context, model, options);
  }

  /**
   * Events this session can see after `since`, in seq order, all read from one view:
   * one model's (by name; O(its events)) or, without `model`, every visible model's.
   */
  async *scanEvents(model?: string, options: HistoryOptions = {}): AsyncGenerator<ModelEvent> {
    const view = this.context.queue.view();
    try {
      yield* model === undefined ? visibleEvents(this.context, view, options.since) : modelHistory(this.context, view, model, options);
    } finally {
      view.release();
    }
  }

  /**
   * Committed events this session can see, in seq order, none skipped, none twice:
   * with `since`, what came after it first, then live. Break out of the loop to stop.
   */
  watch(options: WatchOptions = {}): AsyncGenerator<ModelEvent> {
    return watchEvents(this.context, options);
  }

  // ---- maintenance ----------------------------------------------------------------

  /**
   * Every problem of the whole store, from one snapshot (see integrity.ts). Global
   * sessions only: the report names every tenant's keys.
   */
  checkIntegrity(): AsyncGenerator<IntegrityProblem> {
    this.context.requireGlobal('CHECK REGISTRY');
    return checkIntegrity(this.context.level);
  }

  /** Copies one snapshot of the whole store into the new folder `dest` (see backup.ts). Global sessions only. */
  async backupTo(dest: string): Promise<BackupResult> {
    this.context.requireGlobal('BACKUP');
    return backupStore(this.context.level, dest);
  }
}
