/**
 * The job worker must not run before start() has requeued the jobs a crash left
 * running: a pass that saw the first one still 'running' would skip it and start a
 * later one first, losing queue order.
 */
import { describe, expect, it, vi } from 'vitest';
import { Jobs, type TrainerContext } from '../../src/store/jobs.js';
import { jobKey, jobQueueKey } from '../../src/store/keys.js';
import { deferred } from '../helpers/sql.js';
import { openLevel } from '../../src/store/level.js';
import { registryOver } from '../helpers/store.js';

describe('job worker start-up', () => {
  it('runs crashed jobs in queue order even when a trainer is registered before start()', async () => {
    const level = await openLevel({ memory: true });
    const spec = JSON.stringify({ trainer: 't', hyperparams: null, registration: {} });
    const ids = ['a'.repeat(32), 'b'.repeat(32)];
    for (const [i, id] of ids.entries()) {
      const createdAt = 1_000 + i;
      await level.jobs.put(jobKey(id), JSON.stringify({
        id, kind: 'train', target: 'm', status: 'running', progress: 50, createdAt, startedAt: createdAt, finishedAt: null,
        error: null, spec, metrics: null, version: null, tenant: null,
      }));
      await level.jobQueue.put(jobQueueKey(createdAt, id), id);
    }
    // The first walk over the queue pauses after each job: if it is a worker pass that
    // began before start(), start()'s requeue lands in that pause.
    const real = level.jobQueue.values.bind(level.jobQueue);
    let walks = 0;
    vi.spyOn(level.jobQueue, 'values').mockImplementation(((...args: Parameters<typeof real>) => {
      if (walks++ > 0) return real(...args);
      return (async function* () {
        for await (const id of real(...args)) {
          yield id;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
    }) as never);
    const started = deferred<TrainerContext>();
    // Opened over the crashed state, as at the next start.
    const { queue, registry } = registryOver(level);
    const jobs = new Jobs(level, queue, registry, (error) => { throw error; }, 1);
    jobs.registerTrainer('t', async (ctx) => {
      started.resolve(ctx);
      return new Promise(() => undefined); // never finishes: only the first start matters
    });
    // Let a worker pass run now if registerTrainer scheduled one.
    await new Promise((resolve) => setImmediate(resolve));
    await jobs.start();
    expect((await started.promise).jobId).toBe(ids[0]);
    await jobs.stop(true);
    await level.root.close();
  });
});
