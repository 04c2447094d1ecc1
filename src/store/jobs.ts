/**
 * Train jobs: a queue in the `jobs` namespace and an in-process worker that runs the
 * trainer an app registered. A job's result becomes the model's next version in the
 * same atomic unit that marks the job completed, so a crash never leaves one without
 * the other. Terminal jobs never change; a cancelled job's late result is dropped.
 *
 * An inline train (the statement waits for it) stores nothing until it is done: its
 * job record, already completed, and its version are one unit, so a failed statement
 * leaves no trace. The worker's own failures (a read or write of the store failing)
 * never leave a job in limbo: a pass over the queue that failed is retried with
 * backoff, a job whose run this process lost is run again (as after a crash), and a
 * result that could not be recorded fails its job with the cause.
 */

import { randomBytes } from 'node:crypto';
import { ModelSqlError, corruption, describeValue, invalidArgument, isModelSqlError } from '../errors.js';
import type { CommitQueue, ReadView, WriteOp } from './commit-queue.js';
import { KeyedMutex } from './keyed-mutex.js';
import { isJobId, jobKey, jobQueueKey } from './keys.js';
import type { Level } from './level.js';
import { MAX_JSON_DEPTH, checkJson, toJsonText } from './json.js';
import { NS, decodeJob, decodeJsonText, encodeRecord, isTerminal, type JobRecord } from './records.js';
import type { Registry, ResolvedBase } from './registry.js';
import type { RegisterVersionInput, RegisteredVersion } from './types.js';

/** What a trainer is given. */
export interface TrainerContext {
  readonly jobId: string;
  /** The model the new version will belong to. */
  readonly model: string;
  /** The tenant that owns the model, or null for a global one. */
  readonly tenant: string | null;
  /** `hyperparams` from the statement (parsed JSON), or null. */
  readonly hyperparams: unknown;
  /** Fires when the job is cancelled (or the registry closes with `abortJobs`). */
  readonly signal: AbortSignal;
  /** Reports progress from 0 to 100. */
  reportProgress(percent: number): void;
}

/** What a trainer returns: it becomes the next version. */
export interface TrainerResult {
  readonly weights?: Uint8Array;
  readonly artifact?: string;
  readonly metrics?: unknown;
  /** Overrides the statement's hyperparams on the new version (e.g. tuned values). */
  readonly hyperparams?: unknown;
}

/** A function that trains a model. Registered with `db.registerTrainer(name, fn)`. */
export type Trainer = (context: TrainerContext) => Promise<TrainerResult> | TrainerResult;

/** Everything a train job needs to produce its version, possibly after a restart. */
export interface TrainSpec {
  readonly trainer: string;
  readonly hyperparams: unknown;
  /** Registration fields other than weights/metrics, from the statement. */
  readonly registration: Omit<RegisterVersionInput, 'weights' | 'metrics' | 'hyperparams'>;
  /** The base model as resolved when the statement ran (absent in specs from before format 2). */
  readonly base?: ResolvedBase | null;
}

/** A job as the API and ML_JOBS show it. */
export interface Job {
  readonly id: string;
  readonly kind: JobRecord['kind'];
  readonly target: string;
  /** Tenant of the session that created the job (null: global). */
  readonly tenant: string | null;
  readonly status: JobRecord['status'];
  readonly progress: number;
  readonly createdAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly durationMs: number | null;
  readonly error: string | null;
  readonly spec: unknown;
  readonly metrics: unknown;
  readonly version: number | null;
}

const date = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));

/** Delay before retrying a failed pass over the queue, doubling per failure up to the maximum. */
const RETRY_FIRST_MS = 10;
const RETRY_MAX_MS = 30_000;

/** Job store and worker over one opened store. */
export class Jobs {
  private readonly locks = new KeyedMutex();
  private readonly trainers = new Map<string, Trainer>();
  /** Runs in progress; `committing` is set once a run has started writing its outcome. */
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void>; committing?: Promise<void> }>();
  private lastCreatedAt = 0;
  private pumping = false;
  private wokenWhilePumping = false;
  /** The worker's current pass over the queue; `stop` waits for it. */
  private pass: Promise<void> = Promise.resolve();
  private stopped = false;
  /** The worker only runs once {@link start} has requeued what a crash left running. */
  private started = false;
  /** Passes that failed in a row; a scheduled retry of the pass, if any. */
  private failedPasses = 0;
  private retry: { timer: NodeJS.Timeout; fired: Promise<void> } | null = null;

  constructor(
    private readonly level: Level,
    private readonly queue: CommitQueue,
    private readonly registry: Registry,
    /** Where errors of the background worker go (they have no caller to reject). */
    private readonly onError: (error: unknown) => void,
    private readonly concurrency = 1,
  ) {}

  /** Registers (or replaces) a trainer and wakes the worker: queued jobs may need it. */
  registerTrainer(name: string, trainer: Trainer): void {
    if (typeof name !== 'string' || name.length === 0) throw invalidArgument('trainer name must be a non-empty string');
    if (typeof trainer !== 'function') throw invalidArgument(`trainer '${name}' must be a function`);
    this.trainers.set(name, trainer);
    this.wake();
  }

  /** Requeues jobs a crash left running, then starts the worker. */
  async start(): Promise<void> {
    if (this.started) return;
    const epoch = this.queue.epoch;
    const ops: WriteOp[] = [];
    for await (const id of this.queuedIds()) {
      const job = await this.require(id);
      if (job.status === 'running') ops.push(this.jobOp({ ...job, status: 'queued', progress: 0, startedAt: null }));
    }
    if (ops.length > 0) await this.queue.submit(ops, epoch);
    this.started = true;
    this.wake();
  }

  /** Queues a train job for `model` of `tenant` (null: global); returns at once. */
  async enqueueTrain(model: string, spec: TrainSpec, tenant: string | null): Promise<Job> {
    try {
      return await this.newJob(model, spec, 'queued', tenant);
    } finally {
      // Also when the write failed: a batch reported failed may have been applied, and
      // then its job must run now, not wait for an unrelated wake or the next open.
      this.wake();
    }
  }

  /**
   * Runs a train job inline and returns the version it produced. Nothing is stored
   * until the trainer returned: then the job record (completed) and the version commit
   * as one unit. So the job appears in `get`/`list` only once it has completed, it
   * cannot be cancelled (the caller owns it; its progress goes to `onProgress`), and a
   * failure leaves nothing: a throwing trainer or metrics that are not JSON are
   * JOB_FAILED; a registration the registry refuses (the model retired meanwhile) or a
   * store failure is rethrown as it is, as for any CREATE MODEL.
   */
  async runInline(model: string, spec: TrainSpec, tenant: string | null, onProgress?: (percent: number) => void): Promise<{ job: Job; version: RegisteredVersion }> {
    const trainer = this.trainers.get(spec.trainer);
    if (!trainer) throw this.unknownTrainer(spec.trainer);
    const id = this.freshId();
    const createdAt = this.nextCreatedAt();
    const job: JobRecord = {
      id, kind: 'train', target: model, status: 'running', progress: 0, createdAt,
      startedAt: createdAt, finishedAt: null, error: null,
      spec: toJsonText(spec, 'job spec'), metrics: null, version: null, tenant,
    };
    const failed = (why: string): ModelSqlError =>
      new ModelSqlError('JOB_FAILED', `train job ${id} for model '${model}' failed: ${why}`, { jobId: id, model });
    const controller = new AbortController();
    let finished: JobRecord | null = null;
    let registered: RegisteredVersion | null = null;
    const done = (async () => {
      const outcome = await this.invoke(job, spec, trainer, controller, (percent) => onProgress?.(percent));
      if (outcome.kind === 'threw') throw failed(describeError(outcome.error));
      if (this.abandoned(controller)) throw failed('the registry closed before the result was recorded');
      const result = outcome.result;
      await this.commit(id, async () => {
        let metricsText: string | null;
        try {
          metricsText = metricsOf(result);
        } catch (error) {
          throw failed(`result rejected: ${describeError(error)}`);
        }
        registered = await this.registry.withTenant(tenant).registerVersion(model, this.registration(spec, result), {
          jobId: id,
          base: spec.base,
          extraOps: (version) => {
            finished = { ...job, status: 'completed', progress: 100, finishedAt: Date.now(), metrics: metricsText, version };
            return [this.jobOp(finished)];
          },
        });
      });
    })().finally(() => this.running.delete(id));
    // stop() waits for runs; this one's failure is the statement's, not close()'s.
    this.running.set(id, { controller, done: done.catch(() => undefined) });
    await done;
    return { job: toJob(finished!), version: registered! };
  }

  /**
   * Cancels a job. Queued: it never runs. Running: its trainer sees the abort signal and
   * its result is discarded. Cancelling a cancelled job is a no-op; completed and failed
   * jobs never change. Jobs of other tenants do not exist for the caller (UNKNOWN_JOB).
   */
  async cancel(id: string, tenant: string | null): Promise<Job> {
    const job = await this.locks.run(id, async () => {
      const epoch = this.queue.epoch;
      const job = await this.require(id, tenant);
      if (job.status === 'cancelled') return job;
      if (job.status === 'completed' || job.status === 'failed') {
        throw invalidArgument(`job ${id} is already ${job.status} and can no longer be cancelled`, { jobId: id });
      }
      const cancelled: JobRecord = { ...job, status: 'cancelled', finishedAt: Date.now(), error: 'cancelled' };
      await this.queue.submit([this.jobOp(cancelled), this.unqueueOp(job)], epoch);
      return cancelled;
    });
    this.running.get(id)?.controller.abort(new ModelSqlError('INVALID_ARGUMENT', `job ${id} was cancelled`, { jobId: id }));
    return toJob(job);
  }

  /**
   * One job of `tenant` (null: the global session's jobs), as committed: a job reads
   * `completed` only once its version is readable too (they commit in one batch).
   */
  async get(id: string, tenant: string | null): Promise<Job> {
    return toJob(await this.queue.read((view) => this.require(id, tenant, view)));
  }

  /** Every job of `tenant` (null: the global session's), oldest first, as committed. Cost is O(jobs). */
  async list(tenant: string | null): Promise<Job[]> {
    return this.queue.read(async (view) => {
      const jobs: Job[] = [];
      for await (const [key, raw] of this.level.jobs.iterator({ snapshot: view.snapshot })) {
        const job = decodeJob(raw, key);
        if (job.tenant === tenant) jobs.push(toJob(job));
      }
      return jobs.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1));
    });
  }

  /**
   * Stops taking jobs and waits for running ones. With `abort`, running trainers are
   * signalled and not waited for: their jobs stay `running` in the store, so the next
   * open requeues them, and whatever they return later is dropped. Only a run already
   * writing its outcome is waited for.
   */
  async stop(abort = false): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry.timer);
    this.retry = null;
    await this.pass;
    if (!abort) {
      // A run that failed has reported it (to onError or its statement); close() need not.
      await Promise.allSettled([...this.running.values()].map((run) => run.done));
      return;
    }
    for (const run of this.running.values()) if (!run.committing) run.controller.abort(new Error('registry closing'));
    await Promise.all([...this.running.values()].map((run) => run.committing));
  }

  /** True when close({ abortJobs }) cut this run off: it must not touch the store again. */
  private abandoned(controller: AbortController): boolean {
    return this.stopped && controller.signal.aborted;
  }

  /** Marks a run as writing its outcome (synchronously, so stop() sees it) and does it. */
  private commit(id: string, write: () => Promise<void>): Promise<void> {
    const committing = write();
    const run = this.running.get(id);
    if (run) run.committing = committing.catch(() => undefined);
    return committing;
  }

  // ---- internals ------------------------------------------------------------------

  private async newJob(model: string, spec: TrainSpec, status: 'queued' | 'running', tenant: string | null): Promise<Job> {
    checkJson(spec.hyperparams ?? null, 'hyperparams'); // the app's JSON, held to the app's limit
    // The spec wraps JSON the app gave: hyperparams one level down, registration.config two.
    const specText = toJsonText(spec, 'job spec', MAX_JSON_DEPTH + 2);
    const epoch = this.queue.epoch;
    const createdAt = this.nextCreatedAt();
    const id = this.freshId();
    const job: JobRecord = {
      id, kind: 'train', target: model, status, progress: 0, createdAt,
      startedAt: status === 'running' ? createdAt : null, finishedAt: null, error: null,
      spec: specText, metrics: null, version: null, tenant,
    };
    await this.queue.submit([this.jobOp(job), { type: 'put', sublevel: this.level.jobQueue, key: jobQueueKey(createdAt, id), value: id }], epoch);
    return toJob(job);
  }

  /** Strictly increasing creation times keep the queue first-in, first-out. */
  private nextCreatedAt(): number {
    return (this.lastCreatedAt = Math.max(Date.now(), this.lastCreatedAt + 1));
  }

  /** A job id no stored job and no run in progress (an inline one is not stored yet) has. */
  private freshId(): string {
    let id = randomBytes(16).toString('hex');
    while (this.running.has(id) || this.queue.readLatest(this.level.jobs, jobKey(id)) !== undefined) id = randomBytes(16).toString('hex');
    return id;
  }

  private wake(): void {
    // Before start(), a pass could see a crashed job still 'running', skip it, and start a
    // later one first once the requeue lands: queue order would be lost.
    if (this.stopped || !this.started) return;
    if (this.pumping) {
      // The running pass may already be past the job that just became runnable.
      this.wokenWhilePumping = true;
      return;
    }
    this.pumping = true;
    this.pass = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => (this.stopped ? undefined : this.pump()))
      .then(
        () => void (this.failedPasses = 0),
        (error: unknown) => {
          // A read of the queue failed (an I/O error, a corrupt record): reported, and the
          // pass is retried later, so a queued job never waits for an unrelated wake.
          this.onError(error);
          this.retryLater();
        },
      )
      .finally(() => {
        this.pumping = false;
        if (this.wokenWhilePumping) {
          this.wokenWhilePumping = false;
          this.wake();
        }
      });
  }

  /** Schedules a wake after a failed pass, backing off while the failures go on. */
  private retryLater(): void {
    if (this.stopped || this.retry) return;
    const delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** this.failedPasses++);
    let timer!: NodeJS.Timeout;
    const fired = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.retry = null;
        this.wake();
        resolve();
      }, delay);
    });
    timer.unref(); // a pending retry must not keep the process alive
    this.retry = { timer, fired };
  }

  /**
   * @internal for tests and harnesses: resolves once the worker is idle (no pass
   * pending or running, no run in progress, no retry scheduled), so what they count or
   * compare next does not race background work.
   */
  async settled(): Promise<void> {
    for (;;) {
      if (this.pumping) await this.pass;
      else if (this.running.size > 0) await Promise.allSettled([...this.running.values()].map((run) => run.done));
      else if (this.retry && !this.stopped) await this.retry.fired;
      else return;
    }
  }

  /**
   * Starts queued jobs, oldest first, up to `concurrency` at a time. A job stored as
   * `running` that this process is not running lost its run (a start or outcome write
   * that failed after all its other effects): it is run again, as after a crash.
   */
  private async pump(): Promise<void> {
    for await (const id of this.queuedIds()) {
      if (this.stopped || this.running.size >= this.concurrency) return;
      if (this.running.has(id)) continue;
      const job = await this.require(id);
      if (!this.runnable(job)) continue;
      const spec = decodeJsonText(job.spec, NS.jobs, id) as TrainSpec;
      const trainer = this.trainers.get(spec.trainer);
      if (!trainer) {
        await this.finish(id, (current) => ({ ...current, status: 'failed', error: this.unknownTrainer(spec.trainer).message }));
        continue;
      }
      const started = await this.locks.run(id, async () => {
        const epoch = this.queue.epoch;
        const current = await this.require(id);
        if (!this.runnable(current)) return false;
        await this.queue.submit([this.jobOp({ ...current, status: 'running', startedAt: Date.now(), progress: 0 })], epoch);
        return true;
      });
      if (started) void this.execute(id, trainer).catch(this.onError).finally(() => this.wake());
    }
  }

  /** Queued, or a run this process lost (see {@link pump}). */
  private runnable(job: JobRecord): boolean {
    return job.status === 'queued' || (job.status === 'running' && !this.running.has(job.id));
  }

  private execute(id: string, trainer: Trainer): Promise<void> {
    const controller = new AbortController();
    const done = this.train(id, trainer, controller).finally(() => this.running.delete(id));
    this.running.set(id, { controller, done });
    return done;
  }

  /**
   * Calls the trainer of `job`. Progress goes to `onProgress` after it is checked;
   * a throwing trainer (or one returning no object) is an outcome, not an exception.
   */
  private async invoke(
    job: JobRecord,
    spec: TrainSpec,
    trainer: Trainer,
    controller: AbortController,
    onProgress: (percent: number) => void,
  ): Promise<{ kind: 'returned'; result: TrainerResult } | { kind: 'threw'; error: unknown }> {
    const reportProgress = (percent: number): void => {
      if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) {
        throw invalidArgument(`progress must be a number from 0 to 100, got ${describeValue(percent)}`);
      }
      onProgress(percent);
    };
    try {
      const result = await trainer({ jobId: job.id, model: job.target, tenant: job.tenant, hyperparams: spec.hyperparams, signal: controller.signal, reportProgress });
      if (typeof result !== 'object' || result === null) throw new Error('trainer returned no result object');
      return { kind: 'returned', result };
    } catch (error) {
      return { kind: 'threw', error };
    }
  }

  /** The version a trainer's result registers. */
  private registration(spec: TrainSpec, result: TrainerResult): RegisterVersionInput {
    return {
      ...spec.registration,
      weights: result.weights ?? null,
      artifact: result.artifact ?? spec.registration.artifact ?? null,
      metrics: result.metrics ?? null,
      hyperparams: result.hyperparams ?? spec.hyperparams,
    };
  }

  private async train(id: string, trainer: Trainer, controller: AbortController): Promise<void> {
    const job = await this.require(id);
    const spec = decodeJsonText(job.spec, NS.jobs, id) as TrainSpec;
    let persisted = 0;
    const persistProgress = (percent: number): void => {
      if (this.abandoned(controller)) return;
      const whole = Math.floor(percent);
      if (whole <= persisted) return;
      persisted = whole;
      // Progress is advisory: a failed write must not fail the training.
      void this.update(id, (current) => (current.status === 'running' ? { ...current, progress: Math.max(current.progress, whole) } : undefined)).catch(this.onError);
    };
    const outcome = await this.invoke(job, spec, trainer, controller, persistProgress);
    // Aborted by close({ abortJobs }): leave it running so the next open requeues it;
    // a late result of such a run is dropped.
    if (this.abandoned(controller)) return;
    if (outcome.kind === 'threw') {
      await this.commit(id, () => this.finish(id, (current) => ({ ...current, status: 'failed', error: describeError(outcome.error) })));
      return;
    }
    const result = outcome.result;
    await this.commit(id, () => this.locks.run(id, async () => {
      const current = await this.require(id);
      if (current.status !== 'running') return; // cancelled meanwhile: the late result is discarded
      const epoch = this.queue.epoch;
      try {
        const metricsText = metricsOf(result);
        await this.registry.withTenant(job.tenant).registerVersion(job.target, this.registration(spec, result), {
          jobId: id,
          base: spec.base,
          extraOps: (version) => [
            this.jobOp({ ...current, status: 'completed', progress: 100, finishedAt: Date.now(), metrics: metricsText, version }),
            this.unqueueOp(current),
          ],
        });
      } catch (error) {
        // The result was rejected (bad metrics, the model retired meanwhile) or its batch
        // failed. Either way the job fails, naming the cause: the result exists only in
        // memory, and running the trainer again could cost hours and, on a disk that
        // keeps failing, would never end; the app decides whether to train again. A
        // failed batch (the epoch moved) is also reported to onError, as a store failure.
        // It invalidated what this unit read, so the job is read afresh: a batch reported
        // failed may have been applied, and then the job is completed and stays so.
        // Should this write fail too, the job stays `running` in the store without a run
        // here, and the worker's next pass runs it again (see pump).
        // A read that failed (the registration probes whether its weights are stored) is a store failure too.
        const storeFailed = this.queue.epoch !== epoch || !isModelSqlError(error) || isModelSqlError(error, 'IO_ERROR') || isModelSqlError(error, 'CORRUPTION');
        if (storeFailed) this.onError(error);
        const why = `${storeFailed ? 'result not recorded' : 'result rejected'}: ${describeError(error)}`;
        await this.finishLocked(id, (latest) => ({ ...latest, status: 'failed', error: why }));
      }
    }));
  }

  /** Applies `change` to a job under its lock; `undefined` means leave it. */
  private async update(id: string, change: (job: JobRecord) => JobRecord | undefined): Promise<void> {
    await this.locks.run(id, async () => {
      const epoch = this.queue.epoch;
      const next = change(await this.require(id));
      if (next) await this.queue.submit([this.jobOp(next)], epoch);
    });
  }

  /** Moves a non-terminal job to a terminal status (no-op if it already is terminal). */
  private finish(id: string, change: (job: JobRecord) => JobRecord): Promise<void> {
    return this.locks.run(id, () => this.finishLocked(id, change));
  }

  /** {@link finish} for a caller already holding the job's lock. */
  private async finishLocked(id: string, change: (job: JobRecord) => JobRecord): Promise<void> {
    const epoch = this.queue.epoch;
    const current = await this.require(id);
    if (isTerminal(current.status)) return;
    await this.queue.submit([this.jobOp({ ...change(current), finishedAt: Date.now() }), this.unqueueOp(current)], epoch);
  }

  /**
   * Reads a job: through `view` (readers), else the latest state (the worker and
   * writers, under the job's lock). For a caller (`tenant` given, null meaning the
   * global session) a job of another tenant is UNKNOWN_JOB, worded exactly like a
   * missing one; for the worker (`tenant` undefined) a missing job the queue names is
   * CORRUPTION.
   */
  private require(id: string, tenant?: string | null, view?: ReadView): JobRecord {
    const userFacing = tenant !== undefined;
    if (userFacing && !isJobId(id)) {
      const named = typeof id === 'string' ? `'${id}'` : describeValue(id);
      throw new ModelSqlError('UNKNOWN_JOB', `unknown job ${named} (job ids are 32 hex characters)`, typeof id === 'string' ? { jobId: id } : {});
    }
    const raw = view ? view.get(this.level.jobs, jobKey(id)) : this.queue.readLatest(this.level.jobs, jobKey(id));
    const job = raw === undefined ? undefined : decodeJob(raw, jobKey(id));
    if (job === undefined || (userFacing && job.tenant !== tenant)) {
      if (userFacing) throw new ModelSqlError('UNKNOWN_JOB', `unknown job '${id}'`, { jobId: id });
      throw new ModelSqlError('CORRUPTION', `job queue names job '${id}' but namespace '${NS.jobs}' has no such key`, { namespace: NS.jobQueue, key: id });
    }
    return job;
  }

  private unknownTrainer(name: string): ModelSqlError {
    const known = [...this.trainers.keys()];
    return invalidArgument(`no trainer registered under '${name}'${known.length ? ` (registered: ${known.join(', ')})` : ''}; register one with db.registerTrainer()`);
  }

  /**
   * Ids in the queue, oldest first. The key ends with the id its value names; a queue
   * entry where they disagree is damage, not a job to run.
   */
  private async *queuedIds(): AsyncGenerator<string> {
    for await (const [key, id] of this.level.jobQueue.iterator()) {
      if (!key.endsWith(`:${id}`) || !isJobId(id)) throw corruption(NS.jobQueue, key, `queue entry names job '${id}', which its key does not`);
      yield id;
    }
  }

  private jobOp(job: JobRecord): WriteOp {
    return { type: 'put', sublevel: this.level.jobs, key: jobKey(job.id), value: encodeRecord(job) };
  }

  private unqueueOp(job: JobRecord): WriteOp {
    return { type: 'del', sublevel: this.level.jobQueue, key: jobQueueKey(job.createdAt, job.id) };
  }
}

/** A trainer's metrics as stored JSON text (INVALID_ARGUMENT when they are not JSON). */
function metricsOf(result: TrainerResult): string | null {
  return result.metrics === undefined || result.metrics === null ? null : toJsonText(result.metrics, 'trainer metrics');
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : typeof error === 'string' ? error : describeValue(error);
}

function toJob(job: JobRecord): Job {
  return {
    id: job.id,
    kind: job.kind,
    target: job.target,
    tenant: job.tenant,
    status: job.status,
    progress: job.progress,
    createdAt: new Date(job.createdAt),
    startedAt: date(job.startedAt),
    finishedAt: date(job.finishedAt),
    durationMs: job.startedAt !== null && job.finishedAt !== null ? job.finishedAt - job.startedAt : null,
    error: job.error,
    spec: decodeJsonText(job.spec, NS.jobs, job.id),
    metrics: decodeJsonText(job.metrics, NS.jobs, job.id),
    version: job.version,
  };
}
