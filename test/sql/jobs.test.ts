/**
 * Train jobs driven through SQL: async and inline training, progress, failures,
 * cancellation, unique ids, and requeue of jobs a crash left running.
 */
import { randomBytes } from 'node:crypto';
import { ClassicLevel } from 'classic-level';
import { afterEach, describe, expect, it } from 'vitest';
import { open, type Database, type TrainerContext, type TrainerResult } from '../../src/index.js';
import {
  gatedTrainer,
  Resources, deferred, expectError, expectFailsUnchanged, jobRow, memoryDb, one, sha256, snapshot, versionNumbers, waitFor,
  waitForJob, weights, within,
} from '../helpers/sql.js';

const resources = new Resources();
afterEach(() => resources.cleanup());

const JOB_ID = /^[0-9a-f]{32}$/;

async function db(options: Parameters<typeof memoryDb>[0] = {}): Promise<Database> {
  return resources.track(await memoryDb({ onError: () => undefined, ...options }));
}

/** Registry state (dashboard and versions) without jobs. */
async function registryState(d: Database): Promise<unknown> {
  const { dashboard, versions } = await snapshot(d);
  return { dashboard, versions };
}


describe('async train jobs', () => {
  it('returns a queued 32-hex job id at once; the trainer gets hyperparams, reports progress, and its result becomes the next version', async () => {
    const d = await db();
    await d.query('CREATE MODEL churn WITH (weights = $1)', [weights(1)]);
    const gate = deferred();
    const progressed = deferred();
    const seen: TrainerContext[] = [];
    const trained = weights(123, 40);
    d.registerTrainer('logreg', async (ctx) => {
      seen.push(ctx);
      ctx.reportProgress(25);
      ctx.reportProgress(60.5);
      progressed.resolve();
      await gate.promise;
      return { weights: trained, metrics: { f1: 0.93, auc: 0.97 } };
    });
    const result = await d.query(`CREATE MODEL churn WITH (trainer = 'logreg', async = TRUE, hyperparams = '{"lr":0.1}')`);
    expect(result.command).toBe('CREATE MODEL');
    expect(result.columns).toEqual(['model', 'job_id', 'status']);
    const row = one(result);
    expect(row).toEqual({ model: 'churn', job_id: expect.stringMatching(JOB_ID), status: 'queued' });
    const id = row.job_id as string;
    expect(seen).toHaveLength(0); // returned before training happened

    await progressed.promise;
    expect(seen).toHaveLength(1);
    expect(seen[0]!.hyperparams).toEqual({ lr: 0.1 });
    expect(seen[0]!.model).toBe('churn');
    expect(seen[0]!.jobId).toBe(id);
    expect(seen[0]!.signal.aborted).toBe(false);
    const running = await waitFor(async () => {
      const r = await jobRow(d, id);
      return r.status === 'running' && (r.progress as number) >= 60 ? r : undefined;
    }, { what: 'progress 60' });
    expect(running).toMatchObject({ kind: 'train', target: 'churn', version: null, finished_at: null, error: null });
    expect(running.started_at).toBeInstanceOf(Date);
    // Still training: no new version yet.
    expect(await versionNumbers(d, 'churn')).toEqual([1]);

    gate.resolve();
    const done = await waitForJob(d, id);
    expect(done).toMatchObject({ id, kind: 'train', target: 'churn', status: 'completed', progress: 100, version: 2, error: null, metrics: { f1: 0.93, auc: 0.97 } });
    expect(done.duration_ms).toBeGreaterThanOrEqual(0);
    expect(done.duration_ms).toBe((done.finished_at as Date).getTime() - (done.started_at as Date).getTime());
    expect((done.created_at as Date).getTime()).toBeLessThanOrEqual((done.started_at as Date).getTime());
    expect(done.spec).toMatchObject({ trainer: 'logreg', hyperparams: { lr: 0.1 } });

    const version = one(await d.query("SELECT * FROM ML_MODEL_VERSIONS WHERE model = 'churn' AND version = 2"));
    expect(version).toMatchObject({ active: true, archived: false, metrics: { f1: 0.93, auc: 0.97 }, hyperparams: { lr: 0.1 }, sha256: sha256(trained), size_bytes: 40 });
    expect(Buffer.from(await d.registry.readWeights('churn', 2))).toEqual(trained);
    expect((await d.registry.getVersion('churn', 2)).jobId).toBe(id);
    expect(await d.jobs.get(id)).toMatchObject({ status: 'completed', version: 2 });
  });

  it('passes statement options to the new version (FROM VERSION, active = FALSE, description, created_by)', async () => {
    const d = await db({ createdBy: 'alice' });
    d.registerTrainer('t', () => ({ weights: weights(5) }));
    await d.query('CREATE MODEL m WITH (weights = $1)', [weights(1)]);
    const { job_id } = one(await d.query("CREATE MODEL m FROM VERSION 1 WITH (trainer = 't', async = TRUE, active = FALSE, description = 'nightly', training_sql = 'SELECT 2')"));
    expect(await waitForJob(d, job_id as string)).toMatchObject({ status: 'completed', version: 2 });
    const row = one(await d.query("SELECT * FROM ML_MODEL_VERSIONS WHERE model = 'm' AND version = 2"));
    expect(row).toMatchObject({ parent_version: 1, active: false, description: 'nightly', training_sql: 'SELECT 2', created_by: 'alice' });
    expect(one(await d.query("SELECT active_version FROM ML_MODELS_DASHBOARD WHERE name = 'm'")).active_version).toBe(1);
  });

  it('lets the trainer override hyperparams and register an artifact', async () => {
    const d = await db();
    d.registerTrainer('tuner', () => ({ artifact: 's3://m/tuned.onnx', hyperparams: { lr: 0.05 }, metrics: { f1: 0.5 } }));
    const { job_id } = one(await d.query(`CREATE MODEL m WITH (trainer = 'tuner', async = TRUE, hyperparams = '{"lr":0.1}')`));
    await waitForJob(d, job_id as string);
    expect(one(await d.query("SELECT artifact, hyperparams, sha256 FROM ML_MODEL_VERSIONS WHERE model = 'm'"))).toEqual({
      artifact: 's3://m/tuned.onnx', hyperparams: { lr: 0.05 }, sha256: null,
    });
  });

  it('fails an async job whose trainer is not registered, with an error naming the trainer; no version appears', async () => {
    const d = await db();
    const { job_id } = one(await d.query("CREATE MODEL m WITH (trainer = 'nope', async = TRUE)"));
    const done = await waitForJob(d, job_id as string);
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/'nope'/);
    expect(done.version).toBeNull();
    expect((await d.query('SELECT * FROM ML_MODELS_DASHBOARD')).rows).toEqual([]);
  });

  it('fails an async job whose trainer throws, with the trainer\'s message; no version appears', async () => {
    const d = await db();
    await d.query('CREATE MODEL m WITH (weights = $1)', [weights(1)]);
    d.registerTrainer('broken', () => {
      throw new Error('gradient exploded');
    });
    const before = await registryState(d);
    const { job_id } = one(await d.query("CREATE MODEL m WITH (trainer = 'broken', async = TRUE)"));
    const done = await waitForJob(d, job_id as string);
    expect(done).toMatchObject({ status: 'failed', version: null, metrics: null });
    expect(done.error).toContain('gradient exploded');
    expect(done.finished_at).toBeInstanceOf(Date);
    expect(await registryState(d)).toEqual(before);
  });

  it('fails a job whose trainer returns neither weights nor artifact; no version appears', async () => {
    const d = await db();
    d.registerTrainer('empty', () => ({ metrics: { f1: 1 } }));
    const { job_id } = one(await d.query("CREATE MODEL m WITH (trainer = 'empty', async = TRUE)"));
    const done = await waitForJob(d, job_id as string);
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/weights|artifact/);
    expect((await d.query('SELECT * FROM ML_MODEL_VERSIONS')).rows).toEqual([]);
  });

  it('runs queued jobs oldest first, one at a time by default', async () => {
    const d = await db();
    const order: string[] = [];
    d.registerTrainer('t', async (ctx) => {
      order.push(ctx.jobId);
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { weights: weights(order.length) };
    });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(one(await d.query("CREATE MODEL m WITH (trainer = 't', async = TRUE)")).job_id as string);
    for (const id of ids) await waitForJob(d, id);
    expect(order).toEqual(ids);
    const versions = await Promise.all(ids.map(async (id) => (await jobRow(d, id)).version));
    expect(versions).toEqual([1, 2, 3, 4, 5]);
  });

  it('gives unique 32-hex ids across many jobs', async () => {
    const d = await db({ jobConcurrency: 4 });
    d.registerTrainer('fast', (ctx) => ({ weights: Buffer.from(ctx.jobId, 'hex') }));
    const ids: string[] = [];
    const results = await Promise.all(Array.from({ length: 60 }, () => d.query("CREATE MODEL m WITH (trainer = 'fast', async = TRUE)")));
    for (const r of results) ids.push(one(r).job_id as string);
    expect(new Set(ids).size).toBe(60);
    for (const id of ids) expect(id).toMatch(JOB_ID);
    const done = await Promise.all(ids.map((id) => waitForJob(d, id)));
    expect(done.every((r) => r.status === 'completed')).toBe(true);
    expect(done.map((r) => r.version as number).sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect((await d.query('SELECT id FROM ML_JOBS')).rowCount).toBe(60);
    // Each version holds the weights its own job produced.
    for (const r of done.slice(0, 10)) {
      expect(Buffer.from(await d.registry.readWeights('m', r.version as number)).toString('hex')).toBe(r.id);
    }
  });
});

describe('inline train (no async)', () => {
  it('runs the same training inline and returns the version and job_id', async () => {
    const d = await db();
    const trained = weights(9, 12);
    const seen: unknown[] = [];
    d.registerTrainer('logreg', (ctx) => {
      seen.push(ctx.hyperparams);
      ctx.reportProgress(50);
      return { weights: trained, metrics: { f1: 0.8 } };
    });
    const progress: number[] = [];
    const result = await d.query(`CREATE MODEL m WITH (trainer = 'logreg', hyperparams = '{"lr":0.1}')`, [], { onProgress: (p) => progress.push(p) });
    expect(result.columns).toEqual(['model', 'version', 'active', 'sha256', 'job_id']);
    const row = one(result);
    expect(row).toEqual({ model: 'm', version: 1, active: true, sha256: sha256(trained), job_id: expect.stringMatching(JOB_ID) });
    expect(seen).toEqual([{ lr: 0.1 }]);
    expect(progress).toEqual([50]);
    expect(await jobRow(d, row.job_id as string)).toMatchObject({ status: 'completed', progress: 100, version: 1, metrics: { f1: 0.8 } });
    expect(one(await d.query("SELECT metrics, hyperparams FROM ML_MODEL_VERSIONS WHERE model = 'm'"))).toEqual({ metrics: { f1: 0.8 }, hyperparams: { lr: 0.1 } });
    expect(Buffer.from(await d.registry.readWeights('m', 1))).toEqual(trained);
  });

  it('an unknown trainer inline is INVALID_ARGUMENT naming it and changes nothing (no job either)', async () => {
    const d = await db();
    d.registerTrainer('logreg', () => ({ weights: weights(1) }));
    await d.query('CREATE MODEL m WITH (weights = $1)', [weights(1)]);
    await expectFailsUnchanged(d, () => d.query("CREATE MODEL m WITH (trainer = 'svm')"), 'INVALID_ARGUMENT', /'svm'/);
  });

  it('a throwing trainer inline is JOB_FAILED with its message and leaves nothing: no version, no job', async () => {
    const d = await db();
    await d.query('CREATE MODEL m WITH (weights = $1)', [weights(1)]);
    d.registerTrainer('broken', async () => {
      throw new Error('out of memory on GPU 0');
    });
    const error = await expectFailsUnchanged(d, () => d.query("CREATE MODEL m WITH (trainer = 'broken')"), 'JOB_FAILED', /out of memory on GPU 0/);
    // The id the trainer saw, for the app's logs; no job of that id was ever stored.
    expect(error.jobId).toMatch(JOB_ID);
    await expectError(d.jobs.get(error.jobId!), 'UNKNOWN_JOB');
  });

  it('an inline job is not listed while it runs (its progress goes to the caller) and appears once it completed', async () => {
    const d = await db();
    const gated = gatedTrainer();
    d.registerTrainer('t', gated.trainer);
    const statement = d.query("CREATE MODEL m WITH (trainer = 't')");
    const ctx = await gated.started;
    expect((await d.query('SELECT * FROM ML_JOBS')).rows).toEqual([]);
    await expectError(d.jobs.get(ctx.jobId), 'UNKNOWN_JOB');
    // It belongs to the statement: CANCEL JOB does not reach it.
    await expectError(d.query('CANCEL JOB $1', [ctx.jobId]), 'UNKNOWN_JOB');
    gated.release();
    const row = one(await statement);
    expect(row.job_id).toBe(ctx.jobId);
    expect(await jobRow(d, ctx.jobId)).toMatchObject({ status: 'completed', progress: 100, version: 1 });
  });

  it('close() waits for an inline train; when its trainer throws, the statement fails and close() does not', async () => {
    const d = await db();
    const gate = deferred();
    const started = deferred();
    d.registerTrainer('late', async () => {
      started.resolve();
      await gate.promise;
      throw new Error('diverged');
    });
    const statement = d.query("CREATE MODEL m WITH (trainer = 'late')").then(() => null, (error: unknown) => error);
    await started.promise;
    const closing = d.close();
    // Once the microtasks have run, close() is waiting for the run; then the trainer fails.
    await new Promise((resolve) => setImmediate(resolve));
    gate.resolve();
    await expect(closing).resolves.toBeUndefined();
    expect(await statement).toMatchObject({ code: 'JOB_FAILED', message: expect.stringContaining('diverged') });
  });

  it('rejects trainer combined with weights or metrics, and async without trainer, changing nothing', async () => {
    const d = await db();
    d.registerTrainer('t', () => ({ weights: weights(1) }));
    await expectFailsUnchanged(d, () => d.query("CREATE MODEL m WITH (trainer = 't', weights = $1)", [weights(1)]), 'INVALID_ARGUMENT');
    await expectFailsUnchanged(d, () => d.query("CREATE MODEL m WITH (trainer = 't', metrics = '{}')"), 'INVALID_ARGUMENT');
    await expectFailsUnchanged(d, () => d.query("CREATE MODEL m WITH (artifact = 'x', async = TRUE)"), 'INVALID_ARGUMENT');
    await expectFailsUnchanged(d, () => d.query("CREATE MODEL m WITH (trainer = 't', async = 'yes')"), 'INVALID_ARGUMENT');
  });

  it('an unknown FROM VERSION parent fails before any job is created', async () => {
    const d = await db();
    d.registerTrainer('t', () => ({ weights: weights(1) }));
    await d.query('CREATE MODEL m WITH (weights = $1)', [weights(1)]);
    await expectFailsUnchanged(d, () => d.query("CREATE MODEL m FROM VERSION 4 WITH (trainer = 't', async = TRUE)"), 'UNKNOWN_VERSION');
    await expectFailsUnchanged(d, () => d.query("CREATE MODEL m FROM VERSION 4 WITH (trainer = 't')"), 'UNKNOWN_VERSION');
  });
});

describe('CANCEL JOB', () => {
  it('cancels a queued job: it becomes cancelled and never runs', async () => {
    const d = await db();
    const gated = gatedTrainer();
    d.registerTrainer('t', gated.trainer);
    const first = one(await d.query("CREATE MODEL m WITH (trainer = 't', async = TRUE)")).job_id as string;
    const second = one(await d.query("CREATE MODEL m WITH (trainer = 't', async = TRUE)")).job_id as string;
    await gated.started;
    expect((await jobRow(d, second)).status).toBe('queued');
    const result = await d.query(`CANCEL JOB '${second}'`);
    expect(one(result)).toEqual({ id: second, status: 'cancelled' });
    gated.release();
    await waitForJob(d, first);
    // Give the worker the chance to (wrongly) pick the cancelled job up.
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(gated.calls.map((c) => c.jobId)).toEqual([first]);
    expect(await jobRow(d, second)).toMatchObject({ status: 'cancelled', version: null });
    expect(await versionNumbers(d, 'm')).toEqual([1]);
  });

  it('cancels a running job: the trainer\'s signal aborts and its late result is discarded', async () => {
    const d = await db();
    const gate = deferred();
    const started = deferred<TrainerContext>();
    let abortedWhenDone: boolean | undefined;
    const aborted = deferred<unknown>();
    d.registerTrainer('t', async (ctx) => {
      ctx.signal.addEventListener('abort', () => aborted.resolve(ctx.signal.reason));
      started.resolve(ctx);
      ctx.reportProgress(10);
      await gate.promise; // ignores the signal on purpose: a late result
      abortedWhenDone = ctx.signal.aborted;
      return { weights: weights(2), metrics: { f1: 1 } };
    });
    await d.query('CREATE MODEL m WITH (weights = $1)', [weights(1)]);
    const id = one(await d.query("CREATE MODEL m WITH (trainer = 't', async = TRUE)")).job_id as string;
    await started.promise;
    await waitForJob(d, id, ['running']);
    expect(one(await d.query('CANCEL JOB $1', [id]))).toEqual({ id, status: 'cancelled' });
    await aborted.promise;
    gate.resolve();
    await waitFor(() => abortedWhenDone !== undefined, { what: 'trainer to return' });
    expect(abortedWhenDone).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const row = await jobRow(d, id);
    expect(row).toMatchObject({ status: 'cancelled', version: null, metrics: null });
    expect(row.finished_at).toBeInstanceOf(Date);
    expect(await versionNumbers(d, 'm')).toEqual([1]);
    expect(one(await d.query("SELECT latest_version, active_version FROM ML_MODELS_DASHBOARD WHERE name = 'm'"))).toEqual({ latest_version: 1, active_version: 1 });
  });

  it('cancelling a running job whose trainer honours the signal leaves it cancelled, not failed', async () => {
    const d = await db();
    const started = deferred();
    d.registerTrainer('t', (ctx) => new Promise<TrainerResult>((_, reject) => {
      ctx.signal.addEventListener('abort', () => reject(new Error('aborted by signal')));
      started.resolve();
    }));
    const id = one(await d.query("CREATE MODEL m WITH (trainer = 't', async = TRUE)")).job_id as string;
    await started.promise;
    await d.query('CANCEL JOB $1', [id]);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(await jobRow(d, id)).toMatchObject({ status: 'cancelled', version: null });
  });

  it('cancelling a completed or failed job is INVALID_ARGUMENT and it stays as it was; cancelling twice is a no-op', async () => {
    const d = await db();
    d.registerTrainer('ok', () => ({ weights: weights(1) }));
    d.registerTrainer('bad', () => {
      throw new Error('nope');
    });
    const done = one(await d.query("CREATE MODEL m WITH (trainer = 'ok', async = TRUE)")).job_id as string;
    const failed = one(await d.query("CREATE MODEL m WITH (trainer = 'bad', async = TRUE)")).job_id as string;
    await waitForJob(d, done);
    await waitForJob(d, failed);
    const completedRow = await jobRow(d, done);
    const failedRow = await jobRow(d, failed);
    await expectFailsUnchanged(d, () => d.query('CANCEL JOB $1', [done]), 'INVALID_ARGUMENT', /completed/);
    await expectFailsUnchanged(d, () => d.query('CANCEL JOB $1', [failed]), 'INVALID_ARGUMENT', /failed/);
    expect(await jobRow(d, done)).toEqual(completedRow);
    expect(await jobRow(d, failed)).toEqual(failedRow);

    const gated = gatedTrainer();
    d.registerTrainer('slow', gated.trainer);
    const running = one(await d.query("CREATE MODEL m WITH (trainer = 'slow', async = TRUE)")).job_id as string;
    const queued = one(await d.query("CREATE MODEL m WITH (trainer = 'slow', async = TRUE)")).job_id as string;
    await d.query('CANCEL JOB $1', [queued]);
    const cancelledRow = await jobRow(d, queued);
    expect(one(await d.query('CANCEL JOB $1', [queued]))).toEqual({ id: queued, status: 'cancelled' });
    expect(await jobRow(d, queued)).toEqual(cancelledRow);
    gated.release();
    await waitForJob(d, running);
  });

  it('an unknown job id is UNKNOWN_JOB; a non-text id is INVALID_ARGUMENT', async () => {
    const d = await db();
    const unknown = randomBytes(16).toString('hex');
    const error = await expectFailsUnchanged(d, () => d.query(`CANCEL JOB '${unknown}'`), 'UNKNOWN_JOB', new RegExp(unknown));
    expect(error.jobId).toBe(unknown);
    await expectFailsUnchanged(d, () => d.query("CANCEL JOB 'not-a-job'"), 'UNKNOWN_JOB');
    await expectFailsUnchanged(d, () => d.query('CANCEL JOB $1', [42]), 'INVALID_ARGUMENT');
    await expectError(d.jobs.get(unknown), 'UNKNOWN_JOB');
  });
});

describe('crash and close', () => {
  const spec = (trainer: string) => JSON.stringify({
    trainer,
    hyperparams: { lr: 0.3 },
    registration: { artifact: null, trainingSql: null, trainingDataHash: null, createdBy: null, description: 'after crash', active: true, parentVersion: null },
  });

  /** Writes a job record left `running` by a crashed process, with its queue entry. */
  async function writeRunningJob(dir: string, id: string, createdAt: number, progress: number): Promise<void> {
    const level = new ClassicLevel<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    await level.open();
    const record = {
      id, kind: 'train', target: 'm', status: 'running', progress, createdAt, startedAt: createdAt + 1, finishedAt: null,
      error: null, spec: spec('logreg'), metrics: null, version: null,
    };
    await level.batch([
      { type: 'put', key: `!jobs!${id}`, value: JSON.stringify(record) },
      { type: 'put', key: `!job_queue!${String(createdAt).padStart(15, '0')}:${id}`, value: id },
    ]);
    await level.close();
  }

  it('requeues jobs a crash left running (progress 0) and runs them to completion with a trainer from open({ trainers })', async () => {
    const dir = await resources.dir();
    // A registry that existed before the crash.
    const before = await open({ path: dir });
    await before.query('CREATE MODEL m WITH (weights = $1)', [weights(1)]);
    await before.close();
    const first = randomBytes(16).toString('hex');
    const second = randomBytes(16).toString('hex');
    const t = Date.now() - 10_000;
    await writeRunningJob(dir, first, t, 70);
    await writeRunningJob(dir, second, t + 5, 40);

    const gated = gatedTrainer({ weights: weights(50), metrics: { f1: 0.7 } });
    const d = resources.track(await open({ path: dir, trainers: { logreg: gated.trainer }, jobConcurrency: 1 }));
    const ctx = await gated.started;
    expect(ctx.jobId).toBe(first);
    expect(ctx.hyperparams).toEqual({ lr: 0.3 });
    expect(await jobRow(d, first)).toMatchObject({ status: 'running', progress: 0 });
    // The other one waits its turn, reset to queued with progress 0.
    expect(await jobRow(d, second)).toMatchObject({ status: 'queued', progress: 0, started_at: null });
    gated.release();
    const a = await waitForJob(d, first);
    const b = await waitForJob(d, second);
    expect(a).toMatchObject({ status: 'completed', progress: 100, version: 2, metrics: { f1: 0.7 } });
    expect(b).toMatchObject({ status: 'completed', progress: 100, version: 3 });
    const { rows } = await d.query("SELECT version, description, hyperparams FROM ML_MODEL_VERSIONS WHERE model = 'm' AND version > 1");
    expect(rows).toEqual([
      { version: 2, description: 'after crash', hyperparams: { lr: 0.3 } },
      { version: 3, description: 'after crash', hyperparams: { lr: 0.3 } },
    ]);
    expect(gated.calls.map((c) => c.jobId)).toEqual([first, second]);
  });

  it('close({ abortJobs: true }) aborts a running job that honours its signal; it is requeued and completes on the next open', async () => {
    const dir = await resources.dir();
    const started = deferred<TrainerContext>();
    const d = await open({
      path: dir,
      onError: () => undefined,
      trainers: {
        logreg: (ctx) => new Promise<TrainerResult>((_, reject) => {
          ctx.reportProgress(40);
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
          started.resolve(ctx);
        }),
      },
    });
    const id = one(await d.query(`CREATE MODEL m WITH (trainer = 'logreg', async = TRUE, hyperparams = '{"lr":0.2}')`)).job_id as string;
    const ctx = await started.promise;
    await waitFor(async () => ((await jobRow(d, id)).progress as number) >= 40, { what: 'progress 40' });
    expect(await within(d.close({ abortJobs: true }), 3_000)).not.toBe('timeout');
    expect(ctx.signal.aborted).toBe(true);

    const calls: string[] = [];
    const reopened = resources.track(await open({
      path: dir,
      trainers: {
        logreg: (c) => {
          calls.push(c.jobId);
          return { weights: weights(60), metrics: { f1: 0.6 } };
        },
      },
    }));
    const done = await waitForJob(reopened, id);
    expect(done).toMatchObject({ status: 'completed', progress: 100, version: 1, metrics: { f1: 0.6 } });
    expect(calls).toEqual([id]);
    expect(Buffer.from(await reopened.registry.readWeights('m', 1))).toEqual(weights(60));
  });

  it('close({ abortJobs: true }) does not wait for a trainer that ignores its signal', async () => {
    const dir = await resources.dir();
    const gate = deferred();
    const started = deferred();
    const d = await open({
      path: dir,
      onError: () => undefined,
      trainers: {
        logreg: async () => {
          started.resolve();
          await gate.promise; // never looks at the signal
          return { weights: weights(1) };
        },
      },
    });
    await d.query("CREATE MODEL m WITH (trainer = 'logreg', async = TRUE)");
    await started.promise;
    const closing = d.close({ abortJobs: true });
    let outcome: unknown;
    try {
      outcome = await within(closing, 1_000);
    } finally {
      gate.resolve();
      await closing;
    }
    expect(outcome, 'close({ abortJobs: true }) waited for the trainer').not.toBe('timeout');
  });

  it('close({ abortJobs: true }) drops the late result of an aborted run; the job is requeued and trained again on the next open', async () => {
    const dir = await resources.dir();
    const started = deferred();
    const d = await open({
      path: dir,
      onError: () => undefined,
      trainers: {
        // Sees the abort but still returns a (late) result shortly after.
        logreg: (ctx) => new Promise<TrainerResult>((resolve) => {
          ctx.signal.addEventListener('abort', () => setTimeout(() => resolve({ weights: weights(1), metrics: { run: 'aborted' } }), 10));
          started.resolve();
        }),
      },
    });
    const id = one(await d.query("CREATE MODEL m WITH (trainer = 'logreg', async = TRUE)")).job_id as string;
    await started.promise;
    await d.close({ abortJobs: true });

    const reopened = resources.track(await open({
      path: dir,
      trainers: { logreg: () => ({ weights: weights(2), metrics: { run: 'requeued' } }) },
    }));
    const done = await waitForJob(reopened, id);
    expect(done).toMatchObject({ status: 'completed', version: 1, metrics: { run: 'requeued' } });
    expect(await versionNumbers(reopened, 'm')).toEqual([1]);
    expect(Buffer.from(await reopened.registry.readWeights('m', 1))).toEqual(weights(2));
  });

  it('terminal jobs are never run again after reopening', async () => {
    const dir = await resources.dir();
    const d = await open({ path: dir, onError: () => undefined, trainers: { ok: () => ({ weights: weights(1) }), bad: () => { throw new Error('x'); } } });
    const ok = one(await d.query("CREATE MODEL m WITH (trainer = 'ok', async = TRUE)")).job_id as string;
    const bad = one(await d.query("CREATE MODEL m WITH (trainer = 'bad', async = TRUE)")).job_id as string;
    await waitForJob(d, ok);
    await waitForJob(d, bad);
    const before = await snapshot(d);
    await d.close();
    const calls: string[] = [];
    const trainer = (c: TrainerContext): TrainerResult => {
      calls.push(c.jobId);
      return { weights: weights(9) };
    };
    const reopened = resources.track(await open({ path: dir, trainers: { ok: trainer, bad: trainer } }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(calls).toEqual([]);
    expect(await snapshot(reopened)).toEqual(before);
  });
});
