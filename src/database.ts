/**
 * The handle an app holds: `open()` → {@link Database}. It parses, executes, tracks
 * in-flight work so `close()` can wait for it, and refuses everything once closed.
 */

import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ModelSqlError, invalidArgument } from './errors.js';
import { executeStatement, type ExecutionContext, type QueryResult } from './exec/executor.js';
import { fileAccessDenied, writeWeightsFile } from './exec/files.js';
import type { Params } from './exec/params.js';
import { createTables } from './exec/tables.js';
import type { VirtualTable } from './exec/virtual-table.js';
import { parseScript } from './parser/parse.js';
import { StatementCache } from './exec/statement-cache.js';
import { CommitQueue } from './store/commit-queue.js';
import { Jobs, type Job, type Trainer } from './store/jobs.js';
import { openLevel, type Level } from './store/level.js';
import { Registry } from './store/registry.js';
import type { ModelSummary, ModelVersion, RegisterVersionInput, RegisteredVersion } from './store/types.js';

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
  /** Errors of background work (the job worker), which have no caller. Default: printed to stderr. */
  readonly onError?: (error: unknown) => void;
  /**
   * Let statements read files (`weights = FILE 'path'`) and `exportWeights` write them.
   * Off by default: SQL text from an untrusted source must not reach the filesystem.
   */
  readonly allowFileAccess?: boolean;
}

/** Options of {@link Database.close}. */
export interface CloseOptions {
  /** Abort running train jobs instead of waiting for them; they are requeued on the next open. */
  readonly abortJobs?: boolean;
}

/** The typed registry API: the same implementation SQL uses. */
export interface RegistryApi {
  registerVersion(model: string, input: RegisterVersionInput): Promise<RegisteredVersion>;
  setActiveVersion(model: string, version: number): Promise<{ previous: number | null }>;
  archiveVersion(model: string, version: number): Promise<{ changed: boolean; active: number | null }>;
  archiveModel(model: string): Promise<{ archived: number; active: number | null }>;
  unarchiveVersion(model: string, version: number): Promise<{ changed: boolean; active: number | null }>;
  getVersion(model: string, version: number): Promise<ModelVersion>;
  getActive(model: string): Promise<ModelVersion | null>;
  listVersions(model: string): Promise<ModelVersion[]>;
  summaries(): Promise<ModelSummary[]>;
  readWeights(model: string, version: number): Promise<Uint8Array>;
  /**
   * Streams a version's weights to a file, verifying their SHA-256 before the file
   * appears under its name. Needs `open({ allowFileAccess: true })`.
   */
  exportWeights(model: string, version: number, path: string, options?: { onProgress?: (percent: number) => void }): Promise<{ sha256: string; sizeBytes: number }>;
}

/** The typed job API. */
export interface JobsApi {
  get(id: string): Promise<Job>;
  list(): Promise<Job[]>;
  cancel(id: string): Promise<Job>;
}

/** An open registry. */
export class Database {
  /** Typed registry operations, beside SQL. */
  readonly registry: RegistryApi;
  /** Typed job operations, beside SQL. */
  readonly jobs: JobsApi;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly statements = new StatementCache();
  private closing: Promise<void> | null = null;

  /** @internal use {@link open} */
  constructor(
    private readonly level: Level,
    private readonly store: Registry,
    private readonly jobStore: Jobs,
    private readonly tables: ReadonlyMap<string, VirtualTable>,
    private readonly allowFileAccess: boolean,
  ) {
    const guard = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => (...args: A) => this.track(() => fn(...args));
    this.registry = {
      registerVersion: guard((model: string, input: RegisterVersionInput) => store.registerVersion(model, input)),
      setActiveVersion: guard((model: string, version: number) => store.setActiveVersion(model, version)),
      archiveVersion: guard((model: string, version: number) => store.archiveVersion(model, version)),
      archiveModel: guard((model: string) => store.archiveModel(model)),
      unarchiveVersion: guard((model: string, version: number) => store.unarchiveVersion(model, version)),
      getVersion: guard((model: string, version: number) => store.getVersion(model, version)),
      getActive: guard((model: string) => store.getActive(model)),
      listVersions: guard((model: string) => store.listVersions(model)),
      summaries: guard(() => store.summaries()),
      readWeights: guard((model: string, version: number) => store.readWeights(model, version)),
      exportWeights: guard(async (model: string, version: number, path: string, options: { onProgress?: (percent: number) => void } = {}) => {
        if (!this.allowFileAccess) throw fileAccessDenied(path);
        if (typeof path !== 'string' || path.length === 0) throw invalidArgument('export path must be a non-empty string');
        const meta = await store.getVersion(model, version);
        if (meta.sha256 === null || meta.sizeBytes === null) {
          throw invalidArgument(`version ${version} of model '${model}' has no stored weights${meta.artifact ? ` (artifact: ${meta.artifact})` : ''}`, { model, version });
        }
        return writeWeightsFile(store.weightsChunks(model, version), path, { sha256: meta.sha256, sizeBytes: meta.sizeBytes, describe: `model '${model}' version ${version}` }, options.onProgress);
      }),
    };
    this.jobs = {
      get: guard((id: string) => jobStore.get(id)),
      list: guard(() => jobStore.list()),
      cancel: guard((id: string) => jobStore.cancel(id)),
    };
  }

  /** The folder this registry lives in, or `null` in memory. */
  get path(): string | null {
    return this.level.path;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.closing !== null;
  }

  /**
   * Runs exactly one statement. `$1..$n` bind `params[0..n-1]`; a Buffer/Uint8Array
   * parameter is how weights are passed.
   */
  query(sql: string, params: Params = [], options: { onProgress?: (percent: number) => void } = {}): Promise<QueryResult> {
    return this.track(async () => {
      if (typeof sql !== 'string') throw invalidArgument('query() takes the SQL text as a string');
      if (!Array.isArray(params)) throw invalidArgument('params must be an array ($1 is params[0])');
      return executeStatement(this.statements.parse(sql), params, this.context(options.onProgress));
    });
  }

  /**
   * Runs a `;`-separated script, statements in order, and resolves to their results.
   * Each statement is atomic on its own; the first failure stops the script (earlier
   * statements stay committed) and rejects with that statement's error.
   */
  exec(script: string, params: Params = []): Promise<QueryResult[]> {
    return this.track(async () => {
      if (typeof script !== 'string') throw invalidArgument('exec() takes the script as a string');
      if (!Array.isArray(params)) throw invalidArgument('params must be an array ($1 is params[0])');
      const statements = parseScript(script);
      const results: QueryResult[] = [];
      for (const statement of statements) {
        results.push(await executeStatement(statement, params, this.context()));
      }
      return results;
    });
  }

  /** Registers the trainer that `CREATE MODEL ... WITH (trainer = 'name')` runs. */
  registerTrainer(name: string, trainer: Trainer): void {
    this.assertOpen();
    this.jobStore.registerTrainer(name, trainer);
  }

  /**
   * Waits for in-flight statements and running train jobs, then closes the store.
   * Calling it again returns the same promise.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= (async () => {
      await this.jobStore.stop(options.abortJobs ?? false);
      while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
      await this.store.queue.idle();
      await this.level.root.close();
    })();
    return this.closing;
  }

  private context(onProgress?: (percent: number) => void): ExecutionContext {
    return { registry: this.store, jobs: this.jobStore, tables: this.tables, allowFileAccess: this.allowFileAccess, onProgress };
  }

  private assertOpen(): void {
    if (this.closing) throw new ModelSqlError('CLOSED', 'the registry is closed');
  }

  private track<T>(work: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new ModelSqlError('CLOSED', 'the registry is closed'));
    const running = work();
    this.inFlight.add(running);
    const forget = (): void => void this.inFlight.delete(running);
    running.then(forget, forget);
    return running;
  }
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

  let location: { path: string } | { memory: true } = { memory: true };
  if (hasPath) {
    const path = resolve(options.path!);
    await mkdir(path, { recursive: true });
    location = { path };
  }
  const level = await openLevel(location);
  try {
    const queue = new CommitQueue(level.root, [level.models], options.sync ?? false);
    const registry = new Registry(level, queue, options.createdBy ?? null);
    await registry.recoverUploads();
    const onError = options.onError ?? ((error: unknown) => console.error(`modelsql: ${error instanceof Error ? error.message : String(error)}`));
    const jobs = new Jobs(level, queue, registry, onError, concurrency);
    for (const [name, trainer] of Object.entries(options.trainers ?? {})) jobs.registerTrainer(name, trainer);
    await jobs.start();
    return new Database(level, registry, jobs, createTables(registry, jobs), options.allowFileAccess === true);
  } catch (error) {
    await level.root.close();
    throw error;
  }
}
