/**
 * Reaching the job worker behind a Database, for tests and harnesses that must not race
 * background work (the worker's passes over the queue, runs, retries).
 */
import type { Database } from '../../src/index.js';
import type { Jobs } from '../../src/store/jobs.js';

/** Resolves once the worker is idle (Jobs.settled, an internal hook): no pass, run or retry pending. */
export function workerSettled(db: Database): Promise<void> {
  // The worker is private to the Database; tests reach it here only, so a rename fails loudly in one place.
  const jobs = (db as unknown as { core?: { jobs?: Jobs } }).core?.jobs;
  if (typeof jobs?.settled !== 'function') throw new Error('cannot reach the job worker of a Database (internals renamed?)');
  return jobs.settled();
}
