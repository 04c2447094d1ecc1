/**
 * The handle an app holds: `open()` → {@link Database}. It parses, executes, tracks
 * in-flight work so `close()` can wait for it, and refuses everything once closed.
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { resolve } from 'node:path';
import { ModelSqlError, describeValue, invalidArgument, invalidTransactionState, notAllowedInTransaction, permissionDenied } from './errors.js';
import { executeStatement, type ExecutionContext, type QueryResult } from './exec/executor.js';
import { fileAccessDenied, writeWeightsFile } from './exec/files.js';
import type { Params } from './exec/params.js';
import { createTables } from './exec/tables.js';
import type { Row, VirtualTable } from './exec/virtual-table.js';
import { parseScript } from './parser/parse.js';
import { StatementCache } from './exec/statement-cache.js';
import { CommitQueue } from './store/commit-queue.js';
import { Jobs, type Job, type Trainer } from './store/jobs.js';
import { openLevel, type Level } from './store/level.js';
import { translateLevelError } from './store/level-errors.js';
import { validateTenantName } from './store/keys.js';
import { checkStoreFormat } from './store/format.js';
import { upgradeSchemaIndex } from './store/schema-index-layout.js';
import { STAGES, type Stage } from './store/records.js';
import type { ModelEvent } from './store/events.js';
import { Registry, type AliasOutcome, type ArchiveOutcome, type CopiedVersion, type CopyOptions, type CopySource, type HistoryOptions, type ListOptions, type StageMove, type TagOutcome, type WatchOptions } from './store/registry.js';
import { isStage } from './store/stages.js';
import type { Transaction } from './store/transaction.js';
import { DEFAULT_LOCK_TIMEOUT_MS } from './store/model-locks.js';
import type { ModelAlias, ModelSummary, ModelVersion, RegisterVersionInput, RegisteredVersion, SchemaInput, SchemaLookup, VersionRef } from './store/types.js';

/** Options of {@link open}. Give exactly one of `path` and `memory`. */
export interface OpenOptions {
  /** LevelDB folder (created on first use). */
  readonly path?: string;
  /** A throwaway in-memory registry (tests, experiments). */
  readonly memory?: boolean;
  /** Default `created_by` of new versions. */
  readonly createdBy?: string;
  /** fsync every commit, so it survives power loss and not only a process crash (slower). Default false. */
  readonly sync?: boolean;
  /** Trainers available from the start, so requeued jobs find them. */
  readonly trainers?: Readonly<Record<string, Trainer>>;
  /** How many train jobs run at once. Default 1. */
  readonly jobConcurrency?: number;
  /**
   * Bind the returned handle to this tenant (pinned: SQL cannot switch it). Without it
   * the handle acts globally and may switch with `SET TENANT`.
   */
  readonly tenant?: string;
  /** Errors of background work (the job worker), which have no caller. Default: printed to stderr. */
  readonly onError?: (error: unknown) => void;
  /**
   * Let statements read files (`weights = FILE 'path'`) and `exportWeights` write them.
   * Off by default: SQL text from an untrusted source must not reach the filesystem.
   */
  readonly allowFileAccess?: boolean;
  /**
   * How long a write waits for a model that an open transaction holds before it fails
   * with LOCK_TIMEOUT, in milliseconds. Default 5000. Waits behind single statements
   * never time out; they end when those are durable.
   */
  readonly lockTimeoutMs?: number;
}

/** Options of {@link Database.close}. */
export interface CloseOptions {
  /** Abort running train jobs instead of waiting for them; they are requeued on the next open. */
  readonly abortJobs?: boolean;
}

/** The typed registry API: the same implementation SQL uses, acting as the handle's tenant. */
export interface RegistryApi {
  registerVersion(model: string, input: RegisterVersionInput): Promise<RegisteredVersion>;
  /**
   * Copies a version to the next version of `target` (created if missing), as
   * `CREATE MODEL target FROM MODEL source VERSION n`: the same weights (not copied
   * again), metrics and metadata, with `copied_from_*` lineage and events on both models.
   */
  copyVersion(target: string, source: CopySource, options?: CopyOptions): Promise<CopiedVersion>;
  /**
   * Points the active pointer at `version`. Wherever this API takes a version it takes
   * a {@link VersionRef}: the number, or an alias written `'@champion'`, resolved when
   * the call runs (UNKNOWN_ALIAS when the model has no such alias).
   */
  setActiveVersion(model: string, version: VersionRef): Promise<{ previous: number | null; version: number }>;
  /** `USE PREVIOUS VERSION`: back one step along the pointer's logged history (NO_MATCHING_VERSION when there is none). */
  usePreviousVersion(model: string): Promise<{ previous: number | null; version: number; steps: number }>;
  /** Moves a version one stage up: dev → staging → production (else INVALID_TRANSITION). */
  promote(model: string, version: VersionRef, to: Stage): Promise<StageMove>;
  /** Moves a version one stage down: production → staging → dev (else INVALID_TRANSITION). */
  demote(model: string, version: VersionRef, to: Stage): Promise<StageMove>;
  /** Archives a version (dropping its aliases). */
  archiveVersion(model: string, version: VersionRef): Promise<ArchiveOutcome>;
  archiveModel(model: string): Promise<{ archived: number; active: number | null }>;
  unarchiveVersion(model: string, version: VersionRef): Promise<ArchiveOutcome>;
  /** Soft-retires a model: hidden from the dashboard and listings, still resolvable; no-op when already retired. */
  retireModel(model: string): Promise<{ changed: boolean }>;
  /** Soft-retires one version (clearing the active pointer if it pointed there, dropping its aliases). */
  retireVersion(model: string, version: VersionRef): Promise<{ changed: boolean; active: number | null; version: number | null }>;
  getVersion(model: string, version: VersionRef): Promise<ModelVersion>;
  /** The active version, or null; MODEL_RETIRED for a retired model. */
  getActive(model: string): Promise<ModelVersion | null>;
  /** The most recently registered version at `stage`, or null. */
  latestAtStage(model: string, stage: Stage): Promise<ModelVersion | null>;
  listVersions(model: string): Promise<ModelVersion[]>;
  summaries(options?: ListOptions): Promise<ModelSummary[]>;
  /** `LOOKUP MODEL FOR SCHEMA`: warm_load, warm_start or cold_start for data with this schema. */
  lookupSchema(schema: SchemaInput): Promise<SchemaLookup>;
  readWeights(model: string, version: VersionRef): Promise<Uint8Array>;
  /**
   * Streams a version's weights to a file, verifying their SHA-256 before the file
   * appears under its name. Needs `open({ allowFileAccess: true })`.
   */
  exportWeights(model: string, version: VersionRef, path: string, options?: { onProgress?: (percent: number) => void }): Promise<{ sha256: string; sizeBytes: number }>;
  /** One model's events (`ML_MODEL_EVENTS`), oldest first: those after seq `since`, at most `limit`. O(events returned). */
  history(model: string, options?: HistoryOptions): Promise<ModelEvent[]>;
  /** Points alias `alias` (a name, without `@`) at `version`, creating or moving it. */
  setAlias(model: string, alias: string, version: VersionRef): Promise<AliasOutcome>;
  /** Drops an alias; UNKNOWN_ALIAS when the model has none of that name. */
  dropAlias(model: string, alias: string): Promise<{ alias: string; version: number }>;
  /** The version an alias (`'champion'` or `'@champion'`) points at: one point read. */
  resolve(model: string, alias: string): Promise<number>;
  /** The aliases of one model, or of every model this handle sees. */
  listAliases(model?: string): Promise<ModelAlias[]>;
  /** Sets a model tag (a string value); setting the value it has changes nothing. */
  setTag(model: string, key: string, value: string): Promise<TagOutcome>;
  /** Removes a model tag; removing one that is not there changes nothing. */
  removeTag(model: string, key: string): Promise<TagOutcome>;
  /** Sets a tag of one version. */
  setVersionTag(model: string, version: VersionRef, key: string, value: string): Promise<TagOutcome>;
  /** Removes a tag of one version. */
  removeVersionTag(model: string, version: VersionRef, key: string): Promise<TagOutcome>;
}

/** The typed job API (a tenant sees only its own jobs). */
export interface JobsApi {
  get(id: string): Promise<Job>;
  list(): Promise<Job[]>;
  cancel(id: string): Promise<Job>;
}

/** What every handle of one open registry shares: the store, the worker, and the close state. */
class Core {
  readonly inFlight = new Set<Promise<unknown>>();
  /** Transactions not yet ended; close() rolls them back. */
  readonly transactions = new Set<Transaction>();
  readonly statements = new StatementCache();
  closing: Promise<void> | null = null;

  constructor(
    readonly level: Level,
    readonly registry: Registry,
    readonly jobs: Jobs,
    readonly allowFileAccess: boolean,
  ) {}

  /**
   * Runs one call of the API, so close() can wait for it. Every call passes here, so
   * this is where a failure of the level layer (LevelDB reporting corruption or an
   * I/O error from any read, write or iterator) becomes a typed ModelSqlError.
   */
  track<T>(work: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new ModelSqlError('CLOSED', 'the registry is closed'));
    const running = work().catch((error: unknown) => {
      throw translateLevelError(error, this.level.path);
    });
    this.inFlight.add(running);
    const forget = (): void => void this.inFlight.delete(running);
    running.then(forget, forget);
    return running;
  }
}

/**
 * An open registry, as one session sees it. The handle `open()` returns acts as the
 * tenant given there (or globally); {@link withTenant} makes more handles over the
 * same store. A handle bound to a tenant by the application is pinned: SQL cannot
 * switch it (`SET TENANT` to another tenant is PERMISSION_DENIED). An unpinned handle
 * switches with `SET TENANT 'acme'` / `RESET TENANT`, for its later statements.
 */
export class Database {
  /** Typed registry operations, beside SQL. */
  readonly registry: RegistryApi;
  /** Typed job operations, beside SQL. */
  readonly jobs: JobsApi;
  private currentTenant: string | null;
  /** The transaction `BEGIN` opened on this session, until COMMIT or ROLLBACK. */
  private sqlTransaction: Transaction | null = null;
  /** A BEGIN waiting at the gate: a second one on this session is refused, not queued behind the first. */
  private beginning = false;
  private viewFor: { tenant: string | null; tx: Transaction | null; outer: Transaction | null; registry: Registry; tables: ReadonlyMap<string, VirtualTable> } | null = null;

  /** @internal use {@link open}, {@link withTenant} or {@link transaction} */
  constructor(
    private readonly core: Core,
    tenant: string | null,
    private readonly pinned: boolean,
    /** Set on the handle `transaction()` passes to its callback: every call joins this transaction. */
    private readonly ownTransaction: Transaction | null = null,
  ) {
    this.currentTenant = tenant;
    // async: an argument check that throws becomes a rejection, like every other failure.
    const guard = <A extends unknown[], R>(fn: (store: Registry, ...args: A) => Promise<R>) => (...args: A) =>
        core.track(async () => {
          this.checkTransactionHandle();
          return fn(this.store(), ...args);
        });
    this.registry = {
      registerVersion: guard((store, model: string, input: RegisterVersionInput) => store.registerVersion(model, input)),
      copyVersion: guard((store, target: string, source: CopySource, options?: CopyOptions) => store.copyVersion(target, source, options)),
      setActiveVersion: guard((store, model: string, version: VersionRef) => store.setActiveVersion(model, version)),
      usePreviousVersion: guard((store, model: string) => store.usePreviousVersion(model)),
      promote: guard((store, model: string, version: VersionRef, to: Stage) => store.changeStage(model, version, 'promote', checkStage(to))),
      demote: guard((store, model: string, version: VersionRef, to: Stage) => store.changeStage(model, version, 'demote', checkStage(to))),
      archiveVersion: guard((store, model: string, version: VersionRef) => store.archiveVersion(model, version)),
      archiveModel: guard((store, model: string) => store.archiveModel(model)),
      unarchiveVersion: guard((store, model: string, version: VersionRef) => store.unarchiveVersion(model, version)),
      retireModel: guard(async (store, model: string) => ({ changed: (await store.retire(model)).changed })),
      retireVersion: guard((store, model: string, version: VersionRef) => store.retire(model, version)),
      getVersion: guard((store, model: string, version: VersionRef) => store.getVersion(model, version)),
      getActive: guard((store, model: string) => store.getActive(model)),
      latestAtStage: guard((store, model: string, stage: Stage) => store.latestAtStage(model, checkStage(stage))),
      listVersions: guard((store, model: string) => store.listVersions(model)),
      summaries: guard((store, options?: ListOptions) => store.summaries(options)),
      lookupSchema: guard((store, schema: SchemaInput) => store.lookupSchema(schema)),
      readWeights: guard((store, model: string, version: VersionRef) => store.readWeights(model, version)),
      history: guard((store, model: string, options?: HistoryOptions) => store.history(model, options)),
      setAlias: guard((store, model: string, alias: string, version: VersionRef) => store.setAlias(model, alias, version)),
      dropAlias: guard((store, model: string, alias: string) => store.dropAlias(model, alias)),
      resolve: guard((store, model: string, alias: string) => store.resolveAlias(model, alias)),
      listAliases: guard((store, model?: string) => store.listAliases(model)),
      setTag: guard((store, model: string, key: string, value: string) => store.changeTag(model, null, key, checkTagValue(value))),
      removeTag: guard((store, model: string, key: string) => store.changeTag(model, null, key, null)),
      setVersionTag: guard((store, model: string, version: VersionRef, key: string, value: string) => store.changeTag(model, checkVersionGiven(version), key, checkTagValue(value))),
      removeVersionTag: guard((store, model: string, version: VersionRef, key: string) => store.changeTag(model, checkVersionGiven(version), key, null)),
      exportWeights: guard(async (store, model: string, ref: VersionRef, path: string, options: { onProgress?: (percent: number) => void } = {}) => {
        if (!core.allowFileAccess) throw fileAccessDenied(path);
        if (typeof path !== 'string' || path.length === 0) throw invalidArgument('export path must be a non-empty string');
        const { content, blob, sha256, sizeBytes, version } = await store.weightsSource(model, ref);
        return writeWeightsFile(content, path, { blob, sha256, sizeBytes, model, version }, options.onProgress);
      }),
    };
    this.jobs = {
      get: (id: string) =>
        core.track(async () => {
          this.checkTransactionHandle();
          return core.jobs.get(id, this.currentTenant);
        }),
      list: () =>
        core.track(async () => {
          this.checkTransactionHandle();
          return core.jobs.list(this.currentTenant);
        }),
      cancel: (id: string) =>
        core.track(async () => {
          if (this.transactionNow()) throw notAllowedInTransaction('jobs.cancel() cannot run inside a transaction: jobs change on their own, not with the transaction; call it after COMMIT or ROLLBACK');
          return core.jobs.cancel(id, this.currentTenant);
        }),
    };
  }

  /** The folder this registry lives in, or `null` in memory. */
  get path(): string | null {
    return this.core.level.path;
  }

  /** True once {@link close} was called (on this or any handle of the same registry). */
  get closed(): boolean {
    return this.core.closing !== null;
  }

  /** The tenant this handle acts as, or null for the global session. */
  get tenant(): string | null {
    return this.currentTenant;
  }

  /** Whether statements run through this handle join a transaction (after `BEGIN`, or the handle of {@link transaction}). */
  get inTransaction(): boolean {
    return this.transactionNow()?.isOpen === true;
  }

  /**
   * Runs `work` as one transaction: every statement and call made through the handle
   * it receives (`tx`, a Database like this one) commits as one atomic unit when `work`
   * resolves, or not at all when it throws (the error is rethrown). Statements inside
   * see the earlier ones; nobody else sees any of it before the commit. Each model the
   * transaction changes stays locked until it ends: a write elsewhere to such a model
   * waits for the end (LOCK_TIMEOUT after `open({ lockTimeoutMs })`). Transactions run
   * side by side; a statement that would make two of them wait for each other fails
   * with DEADLOCK_DETECTED (roll back and retry).
   * Inside `work`, use `tx`, not this handle: a write through this one to a model the
   * transaction holds is NOT_ALLOWED_IN_TRANSACTION (it would wait for itself).
   *
   * ```ts
   * await db.transaction(async (tx) => {
   *   await tx.query("ALTER MODEL spam SET ALIAS champion TO VERSION @challenger");
   *   await tx.query("ALTER MODEL spam SET ALIAS challenger TO VERSION 7");
   * });
   * ```
   */
  transaction<T>(work: (tx: Database) => Promise<T> | T): Promise<T> {
    return this.core.track(async () => {
      if (typeof work !== 'function') throw invalidArgument('transaction() takes a function: async (tx) => { ... }');
      if (this.ownTransaction) throw invalidTransactionState('transactions do not nest: this handle already runs in one; run the statements through it');
      if (this.sqlTransaction || this.beginning) throw invalidTransactionState('this session has a transaction open (BEGIN); COMMIT or ROLLBACK it before transaction()');
      this.refuseNested('transaction()');
      const { core } = this;
      const tx = await this.begin();
      try {
        const handle = new Database(core, this.currentTenant, true, tx);
        let value: T;
        try {
          scopesRunning++;
          value = await transactionScope.run({ core, tx }, () => work(handle));
        } catch (error) {
          await tx.rollback();
          throw error;
        } finally {
          // The scope costs every promise a hook while enabled: off when no callback runs.
          if (--scopesRunning === 0) transactionScope.disable();
        }
        if (!tx.isOpen) throw new ModelSqlError('CLOSED', 'the registry closed before the transaction committed; it was rolled back');
        await tx.commit();
        return value;
      } finally {
        core.transactions.delete(tx);
      }
    });
  }

  /**
   * A handle over the same open registry acting as `tenant`, pinned to it. Handles are
   * cheap views and need no closing of their own; {@link close} on any handle closes
   * the registry for all of them.
   */
  withTenant(tenant: string): Database {
    this.assertOpen();
    if (this.ownTransaction) throw notAllowedInTransaction('withTenant() on a transaction\'s handle: a transaction acts as the tenant it began as');
    return new Database(this.core, validateTenantName(tenant), true);
  }

  /**
   * Runs exactly one statement. `$1..$n` bind `params[0..n-1]`; a Buffer/Uint8Array
   * parameter is how weights are passed.
   */
  query(sql: string, params: Params = [], options: { onProgress?: (percent: number) => void } = {}): Promise<QueryResult> {
    return this.core.track(async () => {
      if (typeof sql !== 'string') throw invalidArgument('query() takes the SQL text as a string');
      if (!Array.isArray(params)) throw invalidArgument('params must be an array ($1 is params[0])');
      const statement = this.core.statements.parse(sql);
      this.checkTransactionHandle();
      return executeStatement(statement, params, this.context(options.onProgress));
    });
  }

  /**
   * Runs a `;`-separated script, statements in order, and resolves to their results.
   * Each statement is atomic on its own; the first failure stops the script (earlier
   * statements stay committed) and rejects with that statement's error. A transaction
   * the script began and had not ended when it failed is rolled back, so
   * `BEGIN; ...; COMMIT` scripts are all or nothing.
   */
  exec(script: string, params: Params = []): Promise<QueryResult[]> {
    return this.core.track(async () => {
      if (typeof script !== 'string') throw invalidArgument('exec() takes the script as a string');
      if (!Array.isArray(params)) throw invalidArgument('params must be an array ($1 is params[0])');
      const statements = parseScript(script);
      this.checkTransactionHandle();
      const before = this.sqlTransaction;
      const results: QueryResult[] = [];
      try {
        for (const statement of statements) {
          results.push(await executeStatement(statement, params, this.context()));
        }
      } catch (error) {
        const begun = this.sqlTransaction;
        if (begun !== null && begun !== before) {
          this.sqlTransaction = null;
          this.core.transactions.delete(begun);
          await begun.rollback();
        }
        throw error;
      }
      return results;
    });
  }

  /**
   * Committed events this handle can see (its tenant's models and the global ones it
   * does not shadow), in seq order, none skipped, none twice. With `since`, first what
   * came after that seq (from disk, across restarts), then live; without, only what
   * commits after iteration begins (the first `next()`, which `for await` makes at
   * once). `model` narrows it to one model. Breaking out of the loop, calling the
   * iterator's `return()` or aborting `signal` releases it, also while it waits for an
   * event; closing the registry ends it.
   *
   * ```ts
   * for await (const e of db.watch({ model: 'spam' })) reload(e);
   * ```
   */
  watch(options: WatchOptions = {}): AsyncIterable<ModelEvent> {
    this.assertOpen();
    // Our own signal, so that return() can end a next() that is waiting for an event
    // (an async generator would queue the return behind it until the next commit).
    if (typeof options !== 'object' || options === null) throw invalidArgument('watch() takes an options object: { model?, since?, signal? }');
    const outer: unknown = options.signal;
    if (outer !== undefined && !(outer instanceof AbortSignal)) throw invalidArgument('signal must be an AbortSignal');
    const stop = new AbortController();
    const onAbort = (): void => stop.abort();
    if (outer instanceof AbortSignal) {
      if (outer.aborted) stop.abort();
      else outer.addEventListener('abort', onAbort, { once: true });
    }
    // The caller's signal may outlive many watches: each takes its listener back when it ends.
    const release = (): void => {
      if (outer instanceof AbortSignal) outer.removeEventListener('abort', onAbort);
    };
    const events = this.store().watch({ ...options, signal: stop.signal });
    const { level } = this.core;
    const iterator: AsyncIterableIterator<ModelEvent> = {
      next: () =>
        events.next().then(
          (step) => {
            if (step.done) release();
            return step;
          },
          (error: unknown) => {
            release();
            throw translateLevelError(error, level.path);
          },
        ),
      return: async () => {
        release();
        stop.abort();
        await events.return(undefined);
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Registers the trainer that `CREATE MODEL ... WITH (trainer = 'name')` runs. */
  registerTrainer(name: string, trainer: Trainer): void {
    this.assertOpen();
    this.core.jobs.registerTrainer(name, trainer);
  }

  /**
   * Waits for in-flight statements and running train jobs, then closes the store.
   * Calling it again returns the same promise.
   */
  close(options: CloseOptions = {}): Promise<void> {
    const { core } = this;
    if (this.ownTransaction) return Promise.reject(notAllowedInTransaction('close() on a transaction\'s handle: close the registry through the handle that opened it'));
    core.closing ??= (async () => {
      core.registry.closeEvents();
      // Never committed: a transaction still open is rolled back (its statements in
      // flight then fail), which also frees the models it holds for the statements
      // waiting on them, so waiting for them below cannot hang.
      for (const tx of core.transactions) await tx.rollback();
      await core.jobs.stop(options.abortJobs ?? false);
      while (core.inFlight.size > 0) await Promise.allSettled([...core.inFlight]);
      await core.registry.queue.idle();
      await core.level.root.close().catch((error: unknown) => {
        throw translateLevelError(error, core.level.path);
      });
    })();
    return core.closing;
  }

  private store(): Registry {
    return this.view().registry;
  }

  /** The transaction this handle's statements join now, if any. */
  private transactionNow(): Transaction | null {
    // close() rolls back a SQL transaction without the session saying ROLLBACK.
    if (this.sqlTransaction && !this.sqlTransaction.isOpen) this.sqlTransaction = null;
    return this.ownTransaction ?? this.sqlTransaction;
  }

  /** Opens a transaction and registers it for close(); once close() has begun, CLOSED. */
  private async begin(): Promise<Transaction> {
    if (this.core.closing) throw new ModelSqlError('CLOSED', 'the registry is closed');
    const tx = this.core.registry.beginTransaction();
    this.core.transactions.add(tx);
    return tx;
  }

  /** INVALID_TRANSACTION_STATE for a transaction's handle used after its transaction ended. */
  private checkTransactionHandle(): void {
    if (this.ownTransaction && !this.ownTransaction.isOpen) {
      throw invalidTransactionState('this handle belongs to a transaction that has ended (transaction() resolved or rejected); use the outer handle');
    }
  }

  /** NOT_ALLOWED_IN_TRANSACTION when called through another handle from inside a transaction() callback (it would wait for itself). */
  private refuseNested(what: string): void {
    const scope = transactionScope.getStore();
    if (scope?.core === this.core && scope.tx.isOpen) {
      throw notAllowedInTransaction(`${what} inside a transaction() callback: transactions do not nest (it would wait for the one it runs in); run the statements through the callback's handle`);
    }
  }

  /** The registry view (and its tables) for the session's tenant and transaction. */
  private view(): { registry: Registry; tables: ReadonlyMap<string, VirtualTable> } {
    const tenant = this.currentTenant;
    const tx = this.transactionNow();
    const scope = transactionScope.getStore();
    const outer = scope !== undefined && scope.core === this.core && scope.tx !== tx && scope.tx.isOpen ? scope.tx : null;
    const cached = this.viewFor;
    if (cached && cached.tenant === tenant && cached.tx === tx && cached.outer === outer) return cached;
    const registry = tx === null && outer === null ? this.core.registry.withTenant(tenant) : this.core.registry.inTransaction(tenant, tx, outer);
    this.viewFor = { tenant, tx, outer, registry, tables: createTables(registry, this.core.jobs, tenant) };
    return this.viewFor;
  }

  /** `BEGIN`, `COMMIT`, `ROLLBACK` of this session. */
  private async runTransactionStatement(action: 'BEGIN' | 'COMMIT' | 'ROLLBACK'): Promise<Row[]> {
    if (this.ownTransaction) {
      throw invalidTransactionState(`${action} on a transaction() handle: its transaction commits when the callback returns and rolls back when it throws`);
    }
    if (action === 'BEGIN') {
      if (this.sqlTransaction || this.beginning) throw invalidTransactionState('a transaction is already open on this session (transactions do not nest); COMMIT or ROLLBACK it first');
      this.refuseNested('BEGIN');
      this.beginning = true;
      try {
        this.sqlTransaction = await this.begin();
      } finally {
        this.beginning = false;
      }
      return [];
    }
    const tx = this.sqlTransaction;
    if (!tx) throw invalidTransactionState(`${action} without a transaction: this session has none open (BEGIN starts one)`);
    this.sqlTransaction = null;
    this.core.transactions.delete(tx);
    if (action === 'ROLLBACK') {
      await tx.rollback();
      return [];
    }
    const outcome = await tx.commit();
    return [{ events: outcome.events, first_seq: outcome.firstSeq, last_seq: outcome.lastSeq }];
  }

  private setTenant(tenant: string | null): void {
    if (tenant !== null) validateTenantName(tenant);
    if (this.pinned && tenant !== this.currentTenant) {
      throw permissionDenied('this session is bound to a tenant by the application; SET TENANT and RESET TENANT cannot change it');
    }
    this.currentTenant = tenant;
  }

  private context(onProgress?: (percent: number) => void): ExecutionContext {
    const { registry, tables } = this.view();
    return {
      registry,
      jobs: this.core.jobs,
      tenant: this.currentTenant,
      tables,
      allowFileAccess: this.core.allowFileAccess,
      onProgress,
      setTenant: (next) => this.setTenant(next),
      inTransaction: this.transactionNow() !== null,
      transaction: (action) => this.runTransactionStatement(action),
    };
  }

  private assertOpen(): void {
    if (this.core.closing) throw new ModelSqlError('CLOSED', 'the registry is closed');
  }
}

/** The transaction a `transaction()` callback runs in, so calls through other handles from inside it can be told apart. */
const transactionScope = new AsyncLocalStorage<{ readonly core: Core; readonly tx: Transaction }>();
/** transaction() callbacks running now, in every registry of this process. */
let scopesRunning = 0;

/** A tag value given to setTag: a string (null is not "remove": removeTag says that). */
function checkTagValue(value: unknown): string {
  if (typeof value !== 'string') throw invalidArgument(`a tag value is a string, got ${describeValue(value)}`);
  return value;
}

/** The version of a version-tag call: required (without one the call would tag the model). */
function checkVersionGiven(version: unknown): VersionRef {
  if (version === null || version === undefined) throw invalidArgument('a version tag needs a version: a number or an alias written \'@name\'');
  return version as VersionRef;
}

function checkStage(stage: unknown): Stage {
  if (!isStage(stage)) throw invalidArgument(`stage must be one of ${STAGES.join(', ')}, got ${describeValue(stage)}`);
  return stage;
}

/**
 * Opens a registry: `open({ path: './registry' })` on disk (LevelDB), or
 * `open({ memory: true })`. Jobs a crash left running are requeued.
 */
export async function open(options: OpenOptions): Promise<Database> {
  if (typeof options !== 'object' || options === null) throw invalidArgument('open() takes an options object: { path } or { memory: true }');
  const hasPath = options.path !== undefined;
  if (hasPath === (options.memory === true)) throw invalidArgument('open() needs exactly one of { path } and { memory: true }');
  if (hasPath && (typeof options.path !== 'string' || options.path.length === 0)) throw invalidArgument('path must be a non-empty string');
  const concurrency = options.jobConcurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw invalidArgument('jobConcurrency must be a whole number of at least 1');
  if (options.createdBy !== undefined && typeof options.createdBy !== 'string') throw invalidArgument('createdBy must be a string');
  if (options.tenant !== undefined) validateTenantName(options.tenant);
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  if (typeof lockTimeoutMs !== 'number' || !Number.isInteger(lockTimeoutMs) || lockTimeoutMs < 1 || lockTimeoutMs > 2 ** 31 - 1) {
    throw invalidArgument('lockTimeoutMs must be a whole number of milliseconds, at least 1');
  }

  let location: { path: string } | { memory: true } = { memory: true };
  if (hasPath) {
    location = { path: resolve(options.path!) };
  }
  const level = await openLevel(location);
  try {
    await checkStoreFormat(level);
    const queue = new CommitQueue(level.root, [level.models], options.sync ?? false);
    await upgradeSchemaIndex(level, queue);
    const registry = new Registry(level, queue, options.createdBy ?? null, lockTimeoutMs);
    await registry.startEvents();
    await registry.recoverUploads();
    const report = options.onError ?? ((error: unknown) => console.error(`modelsql: ${error instanceof Error ? error.message : describeValue(error)}`));
    const onError = (error: unknown): void => report(translateLevelError(error, level.path));
    const jobs = new Jobs(level, queue, registry, onError, concurrency);
    for (const [name, trainer] of Object.entries(options.trainers ?? {})) jobs.registerTrainer(name, trainer);
    await jobs.start();
    const core = new Core(level, registry, jobs, options.allowFileAccess === true);
    return new Database(core, options.tenant ?? null, options.tenant !== undefined);
  } catch (error) {
    await level.root.close().catch(() => undefined); // the first failure is the one to report
    throw translateLevelError(error, level.path);
  }
}

