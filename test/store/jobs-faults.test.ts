/**
 * Train jobs when the store fails under them (the fault injector of the harness): an
 * inline train is one atomic unit, and the worker never leaves a job in limbo, a
 * `running` record nobody runs, while the process lives.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { open, type Database, type Trainer } from '../../src/index.js';
import { setRootFactoryForTests } from '../../src/store/level.js';
import { FaultInjector, faultyRootFactory, type FaultPlan } from '../harness/faulty-level.js';
import { gatedTrainer, waitForJob, weights } from '../helpers/sql.js';
import { workerSettled } from '../helpers/worker.js';

const JOB_ID = /^[0-9a-f]{32}$/;

let opened: Database[] = [];
afterEach(async () => {
  await Promise.allSettled(opened.map((d) => d.close({ abortJobs: true })));
  opened = [];
  setRootFactoryForTests(null);
});

/** A memory registry whose store fails as planned; `reopen` opens the same store again. */
async function faultyDb(trainers: Record<string, Trainer>) {
  const injector = new FaultInjector(null);
  setRootFactoryForTests(faultyRootFactory(injector)); // in memory, every open gets the same root
  const errors: unknown[] = [];
  const openIt = async () => {
    const d = await open({ memory: true, trainers, onError: (error) => errors.push(error) });
    opened.push(d);
    return d;
  };
  return { db: await openIt(), injector, errors, reopen: openIt, arm: (plan: FaultPlan) => injector.arm(plan) };
}

/** What a reader can see of the registry. */
async function state(d: Database) {
  return {
    versions: (await d.query('SELECT model, version FROM ML_MODEL_VERSIONS ORDER BY version')).rows,
    jobs: (await d.query('SELECT id, status, version, error FROM ML_JOBS')).rows,
  };
}

const INJECTED = /injected I\/O error: write #\d+/;

describe('inline train under store faults: one atomic unit', () => {
  it('whichever of its writes fails, it leaves nothing, and nothing appears after reopening (no job is requeued)', async () => {
    const fired: number[] = [];
    for (let nth = 1; ; nth++) {
      const { db, injector, reopen, arm } = await faultyDb({ t: () => ({ weights: weights(5) }) });
      arm({ kind: 'write', nth, mode: 'before' });
      const outcome = await db.query("CREATE MODEL m WITH (trainer = 't')").then(() => null, (error: unknown) => error);
      if (injector.fired.length === 0) {
        expect(outcome).toBeNull();
        break;
      }
      fired.push(nth);
      expect(String(outcome)).toMatch(INJECTED);
      expect(await state(db)).toEqual({ versions: [], jobs: [] });
      await db.close();
      const again = await reopen();
      await waitForIdle(again);
      expect(await state(again), `after reopen, write #${nth} failed`).toEqual({ versions: [], jobs: [] });
      await again.close();
      setRootFactoryForTests(null);
    }
    // One unit: the job record and the version are a single write.
    expect(fired).toEqual([1]);
  });

  it('a write applied but reported failed leaves the job completed with its version: both or neither', async () => {
    const { db, reopen, arm } = await faultyDb({ t: () => ({ weights: weights(5) }) });
    arm({ kind: 'write', nth: 1, mode: 'after' });
    await expect(db.query("CREATE MODEL m WITH (trainer = 't')")).rejects.toThrow(INJECTED);
    const seen = await state(db);
    expect(seen.jobs).toEqual([{ id: expect.stringMatching(JOB_ID), status: 'completed', version: 1, error: null }]);
    expect(seen.versions).toEqual([{ model: 'm', version: 1 }]);
    expect((await db.registry.getVersion('m', 1)).jobId).toBe(seen.jobs[0]!.id);
    await db.close();
    expect(await state(await reopen())).toEqual(seen);
  });
});

describe('async train jobs under store faults: never in limbo', () => {
  it('a failed completion write fails the job with the I/O error, in process; the worker goes on', async () => {
    const gated = gatedTrainer();
    const { db, errors, reopen, arm } = await faultyDb({ gated: gated.trainer, quick: () => ({ weights: weights(6) }) });
    const id = (await db.query("CREATE MODEL m WITH (trainer = 'gated', async = TRUE)")).rows[0]!.job_id as string;
    await gated.started; // queued and marked running: the next write is the completion
    arm({ kind: 'write', nth: 1, mode: 'before' });
    gated.release();
    const failed = await waitForJob(db, id);
    expect(failed).toMatchObject({ status: 'failed', version: null });
    expect(failed.error).toMatch(/^result not recorded: injected I\/O error: write #1/);
    expect(errors.map(String)).toEqual([expect.stringMatching(INJECTED)]);
    expect(await state(db)).toMatchObject({ versions: [] });
    // The worker is not stuck: the next job runs.
    const next = (await db.query("CREATE MODEL m WITH (trainer = 'quick', async = TRUE)")).rows[0]!.job_id as string;
    expect(await waitForJob(db, next)).toMatchObject({ status: 'completed', version: 1 });
    // Failed is final: the next open does not run it again.
    const before = await state(db);
    await db.close();
    const again = await reopen();
    await waitForIdle(again);
    expect(await state(again)).toEqual(before);
  });

  it('a completion write applied but reported failed leaves the job completed with its version', async () => {
    const gated = gatedTrainer({ weights: weights(7) });
    const { db, errors, arm } = await faultyDb({ gated: gated.trainer });
    const id = (await db.query("CREATE MODEL m WITH (trainer = 'gated', async = TRUE)")).rows[0]!.job_id as string;
    await gated.started;
    arm({ kind: 'write', nth: 1, mode: 'after' });
    gated.release();
    expect(await waitForJob(db, id)).toMatchObject({ status: 'completed', version: 1, error: null });
    expect(errors.map(String)).toEqual([expect.stringMatching(INJECTED)]);
    expect((await state(db)).versions).toEqual([{ model: 'm', version: 1 }]);
    expect((await db.registry.getVersion('m', 1)).jobId).toBe(id);
  });

  it('an enqueue write applied but reported failed: the statement fails, and the job it queued runs now', async () => {
    const { db, errors, arm } = await faultyDb({ t: () => ({ weights: weights(4) }) });
    arm({ kind: 'write', nth: 1, mode: 'after' });
    await expect(db.query("CREATE MODEL m WITH (trainer = 't', async = TRUE)")).rejects.toThrow(INJECTED);
    const [job] = await waitForJobs(db, 1);
    expect(await waitForJob(db, job!.id)).toMatchObject({ status: 'completed', version: 1 });
    expect(errors).toEqual([]);
  });

  it('a failed read of the queue by the worker is retried: the queued job still runs in process', async () => {
    const { db, errors, injector, arm } = await faultyDb({ t: () => ({ weights: weights(3) }) });
    await workerSettled(db); // nothing in the background: the next iterator step is ours or the worker's
    arm({ kind: 'iterator', nth: 1, mode: 'before' });
    // The statement reads no ranges; the worker's pass over the queue is the first to,
    // and it fails. No other wake comes: only the worker's retry can start the job.
    const id = (await db.query("CREATE MODEL m WITH (trainer = 't', async = TRUE)")).rows[0]!.job_id as string;
    expect(await waitForJob(db, id)).toMatchObject({ status: 'completed', version: 1 });
    expect(injector.fired.map((fault) => fault.step)).toEqual(['iterator._next']);
    expect(errors.map(String)).toEqual([expect.stringMatching(/injected I\/O error: iterator #1/)]);
  });

  for (const mode of ['before', 'after'] as const) {
    it(`a failed write marking the job running (${mode}) is retried: the job still completes in process`, async () => {
      let runs = 0;
      const { db, errors, arm } = await faultyDb({
        t: () => {
          runs++;
          return { weights: weights(8) };
        },
      });
      // Write #1 queues the job (the statement's one batch); #2 marks it running.
      arm({ kind: 'write', nth: 2, mode });
      const id = (await db.query("CREATE MODEL m WITH (trainer = 't', async = TRUE)")).rows[0]!.job_id as string;
      expect(await waitForJob(db, id)).toMatchObject({ status: 'completed', version: 1 });
      expect(errors.map(String)).toEqual([expect.stringMatching(/injected I\/O error: write #2/)]);
      expect(runs).toBe(1);
    });
  }
});

/** Waits (bounded) until `count` jobs are listed; returns them. */
async function waitForJobs(d: Database, count: number) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const jobs = await d.jobs.list();
    if (jobs.length >= count) return jobs;
    if (Date.now() > deadline) throw new Error(`${jobs.length} jobs listed after 5 s, expected ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Waits until no job is queued or running (bounded): whatever the reopen requeued has run. */
async function waitForIdle(d: Database): Promise<void> {
  const deadline = Date.now() + 5_000;
  while ((await d.jobs.list()).some((job) => job.status === 'queued' || job.status === 'running')) {
    if (Date.now() > deadline) throw new Error('jobs still unfinished after 5 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
