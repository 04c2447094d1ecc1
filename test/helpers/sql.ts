/**
 * Shared helpers of the SQL-level tests: databases, temp folders, polling, result rows
 * and "this error changed nothing" checks.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ModelSqlError, open, type Database, type ErrorCode, type OpenOptions, type QueryResult, type Row, type TrainerContext, type TrainerResult } from '../../src/index.js';

/** A fresh in-memory registry. */
export function memoryDb(options: Omit<OpenOptions, 'path' | 'memory'> = {}): Promise<Database> {
  return open({ ...options, memory: true });
}

/** A new empty folder in the OS temp dir. */
export function makeTempDir(prefix = 'modelsql-sql-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Removes a temp folder (retrying: LevelDB may still be releasing files). */
export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
}

/**
 * Tracks temp folders and databases of one test file; call `cleanup()` in `afterEach`.
 * Databases still open are closed (aborting jobs) before their folders are removed.
 */
export class Resources {
  private readonly dirs: string[] = [];
  private readonly dbs: Database[] = [];

  async dir(): Promise<string> {
    const dir = await makeTempDir();
    this.dirs.push(dir);
    return dir;
  }

  /** Tracks a database so it is closed at cleanup. */
  track<T extends Database>(db: T): T {
    this.dbs.push(db);
    return db;
  }

  async cleanup(): Promise<void> {
    const dbs = this.dbs.splice(0);
    await Promise.allSettled(dbs.map((db) => (db.closed ? db.close() : db.close({ abortJobs: true }))));
    const dirs = this.dirs.splice(0);
    await Promise.all(dirs.map(removeDir));
  }
}

/** Polls `check` until it returns a value other than `undefined`/`false`, or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 5_000, intervalMs = 5, what = 'condition' }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** ML_JOBS row of one job. */
export async function jobRow(db: Database, id: string): Promise<Row> {
  const { rows } = await db.query('SELECT * FROM ML_JOBS WHERE id = $1', [id]);
  expect(rows, `job ${id} in ML_JOBS`).toHaveLength(1);
  return rows[0]!;
}

/** Waits until the job has one of `statuses` (default: any terminal status) and returns its ML_JOBS row. */
export function waitForJob(
  db: Database,
  id: string,
  statuses: readonly string[] = ['completed', 'failed', 'cancelled'],
  timeoutMs = 5_000,
): Promise<Row> {
  return waitFor(
    async () => {
      const row = await jobRow(db, id);
      return statuses.includes(row.status as string) ? row : undefined;
    },
    { timeoutMs, what: `job ${id} to reach ${statuses.join('/')}` },
  );
}

/** The single row of a result, checking there is exactly one. */
export function one(result: QueryResult): Row {
  expect(result.rows, `rows of ${result.command}`).toHaveLength(1);
  expect(result.rowCount).toBe(1);
  return result.rows[0]!;
}

/** Hex SHA-256, computed independently of the code under test. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Deterministic weights of `length` bytes seeded by `seed`. */
export function weights(seed: number, length = 16): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (seed * 31 + i * 7 + 3) & 0xff;
  return out;
}

/** A double-quoted SQL identifier. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A single-quoted SQL string literal. */
export function str(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** Awaits `promise`, expects it to reject with a ModelSqlError of `code`, and returns that error. */
export async function expectError(promise: Promise<unknown>, code: ErrorCode, message?: string | RegExp): Promise<ModelSqlError> {
  const outcome = await promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) throw new Error(`expected ${code}, but it succeeded with ${JSON.stringify(outcome.value)}`);
  const error = outcome.error;
  expect(error, `expected a ModelSqlError ${code}, got ${String(error)}`).toBeInstanceOf(ModelSqlError);
  expect((error as ModelSqlError).code, (error as Error).message).toBe(code);
  if (typeof message === 'string') expect((error as Error).message).toBe(message);
  else if (message) expect((error as Error).message).toMatch(message);
  return error as ModelSqlError;
}

/** Everything SQL can see: dashboard, every version, every job. */
export async function snapshot(db: Database): Promise<{ dashboard: readonly Row[]; versions: readonly Row[]; jobs: readonly Row[]; events: readonly Row[] }> {
  const dashboard = (await db.query('SELECT * FROM ML_MODELS_DASHBOARD ORDER BY name')).rows;
  const versions = (await db.query('SELECT * FROM ML_MODEL_VERSIONS')).rows;
  const jobs = (await db.query('SELECT * FROM ML_JOBS')).rows;
  const events = (await db.query('SELECT * FROM ML_MODEL_EVENTS')).rows;
  return { dashboard, versions, jobs, events };
}

/** Expects `run()` to fail with `code` and to leave the dashboard, versions, jobs and event log exactly as they were. */
export async function expectFailsUnchanged(
  db: Database,
  run: () => Promise<unknown>,
  code: ErrorCode,
  message?: string | RegExp,
): Promise<ModelSqlError> {
  const before = await snapshot(db);
  const error = await expectError(run(), code, message);
  expect(await snapshot(db), `state after ${code}`).toEqual(before);
  return error;
}

/** Dashboard row of one model (undefined if it does not exist). */
export async function dashboardRow(db: Database, model: string): Promise<Row | undefined> {
  const { rows } = await db.query('SELECT * FROM ML_MODELS_DASHBOARD WHERE name = $1', [model]);
  expect(rows.length).toBeLessThanOrEqual(1);
  return rows[0];
}

/** Version numbers of one model as ML_MODEL_VERSIONS lists them (no ORDER BY). */
export async function versionNumbers(db: Database, model: string): Promise<number[]> {
  const { rows } = await db.query('SELECT version FROM ML_MODEL_VERSIONS WHERE model = $1', [model]);
  return rows.map((r) => r.version as number);
}

/** A promise with its resolve/reject exposed. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Resolves to `'timeout'` if `promise` has not settled within `ms`. */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A trainer that waits for `release()` and records the contexts it was given. */
export function gatedTrainer(result: TrainerResult = { weights: weights(77), metrics: { f1: 0.91 } }) {
  const gate = deferred();
  const calls: TrainerContext[] = [];
  const started = deferred<TrainerContext>();
  const trainer = async (ctx: TrainerContext): Promise<TrainerResult> => {
    calls.push(ctx);
    started.resolve(ctx);
    await gate.promise;
    return result;
  };
  return { trainer, calls, started: started.promise, release: () => gate.resolve() };
}
