/**
 * Fault injection, SQLite's I/O-error loop for modelsql: for N = 1, 2, ... the Nth read
 * (or write, iterator step, snapshot) of a fixed workload fails. For each N the failing
 * statement must reject with a typed error, the registry must be in the state before it
 * or the state after it (never in between), and closing and opening again must work and
 * show the same state. The loop for a kind ends at the first N the workload no longer
 * reaches.
 *
 * Two more outcomes are what the product defines, and nothing else is accepted: a
 * refused snapshot nobody heard of (absorbed: the next read retook it; the run goes on
 * and must end in the reference's final state), and, when the job worker's write of an
 * async job's result fails, that job `failed` with the injected error and everything
 * else as before the step.
 *
 * Counts must not depend on timing, or N would name a different step from run to run:
 * the harness's own reads are not counted (FaultInjector.unobserved), and after open
 * and after every step it waits for the job worker to go idle, so background work
 * never overlaps the next step. Background work is still counted and failed.
 *
 * Used by fault.test.ts (CI) and fault-main.ts (`npm run fault-test`).
 */
import { createHash } from 'node:crypto';
import { ModelSqlError, open, type Database, type Trainer } from '../../src/index.js';
import { setRootFactoryForTests, type RootLevel } from '../../src/store/level.js';
import { workerSettled } from '../helpers/worker.js';
import { FaultInjector, InjectedFault, faultyRootFactory, type FaultKind, type FaultMode, type FaultPlan } from './faulty-level.js';

/** The trainer of the workload's train statements: deterministic, reports progress. */
const trainer: Trainer = async ({ hyperparams, reportProgress }) => {
  reportProgress(50);
  const seed = (hyperparams as { seed?: number } | null)?.seed ?? 0;
  return { weights: bytes(seed, 64), metrics: { f1: 0.5 + seed / 100 } };
};
const TRAINERS = { fault: trainer };

function bytes(seed: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (seed * 131 + i * 7 + (i >> 8)) & 0xff;
  return out;
}

/** One step of the workload: a statement (or API call), or queueing a job and waiting for it. */
interface Step {
  readonly name: string;
  readonly run: (db: Database) => Promise<unknown>;
  /**
   * The step queues a train job that the worker runs after the statement returned. When
   * the worker's part fails, the product's defined outcome may also be that job failed
   * with the store's error and nothing else changed (see Jobs).
   */
  readonly queuesJob?: boolean;
}

const sql = (text: string, params: unknown[] = []): Step => ({ name: text, run: (db) => db.query(text, params as never) });

/** Every statement kind, a multi-chunk blob, a tenant, a schema, inline and async training. */
export const WORKLOAD: readonly Step[] = [
  sql(`CREATE MODEL spam WITH (weights = $1, metrics = '{"f1":0.9}')`, [bytes(1, 100)]),
  // 2.5 MiB: three chunks in one batch.
  sql('CREATE MODEL spam WITH (weights = $1, active = FALSE)', [bytes(2, 2.5 * 1024 * 1024)]),
  sql('CREATE MODEL spam WITH (weights = $1) SCHEMA (customer_id ID, email EMAIL) RECORD_COUNT 10', [bytes(3, 50)]),
  sql('ALTER MODEL spam USE VERSION 2'),
  sql('ALTER MODEL spam VERSION 2 PROMOTE TO STAGING'),
  sql('ALTER MODEL spam VERSION 2 PROMOTE TO PRODUCTION'),
  sql('ARCHIVE MODEL spam VERSION 1'),
  sql('UNARCHIVE MODEL spam VERSION 1'),
  sql('LOOKUP MODEL FOR SCHEMA (customer_id ID, email EMAIL)'),
  sql(`SELECT * FROM ML_MODEL_VERSIONS WHERE model = 'spam' ORDER BY version DESC`),
  sql('SELECT * FROM ML_MODELS_DASHBOARD'),
  { name: 'readWeights spam 2', run: (db) => db.registry.readWeights('spam', 2) },
  sql(`CREATE MODEL ham WITH (artifact = 's3://ham/1', base_model = 'spam', task = 'classification')`),
  sql('ALTER MODEL spam VERSION 2 DEMOTE TO STAGING'),
  sql('RETIRE MODEL spam VERSION 3'),
  { name: 'acme: CREATE MODEL spam', run: (db) => db.withTenant('acme').query('CREATE MODEL spam WITH (weights = $1) SCHEMA (customer_id ID, plan CATEGORICAL)', [bytes(4, 30)]) },
  { name: 'acme: LOOKUP', run: (db) => db.withTenant('acme').query('LOOKUP MODEL FOR SCHEMA (customer_id ID, email EMAIL)') },
  sql('ARCHIVE MODEL ham'),
  sql(`CREATE MODEL trained WITH (trainer = 'fault', hyperparams = '{"seed":5}')`),
  {
    name: 'async train, waited for',
    queuesJob: true,
    run: (db) => db.query(`CREATE MODEL trained WITH (trainer = 'fault', async = TRUE, hyperparams = '{"seed":6}')`),
  },
  sql('SELECT id, status, version FROM ML_JOBS'),
  sql('RETIRE MODEL ham'),
  sql('SELECT * FROM ML_MODEL_VERSIONS WHERE retired'),
  // Aliases, tags, rollback, best version and a copy, with their events.
  sql('ALTER MODEL spam SET ALIAS champion TO VERSION 2'),
  sql("ALTER MODEL spam VERSION @champion SET TAG validated = 'yes'"),
  sql("ALTER MODEL spam SET TAG team = 'search'"),
  sql('ALTER MODEL spam USE VERSION 1'),
  sql('ALTER MODEL spam USE PREVIOUS VERSION'),
  sql('CREATE MODEL spam_prod FROM MODEL spam VERSION @champion'),
  sql('ALTER MODEL spam USE BEST VERSION BY version ASC'),
  sql('ALTER MODEL spam UNSET TAG team'),
  sql("SELECT * FROM ML_MODEL_EVENTS WHERE model = 'spam'"),
  // Transactions: all of one or none of it, whichever read or write fails.
  {
    name: 'db.transaction: a multi-chunk version, an alias, a rollback and a copy',
    run: (db) =>
      db.transaction(async (tx) => {
        await tx.query('CREATE MODEL spam WITH (weights = $1) SCHEMA (customer_id ID, email EMAIL)', [bytes(7, 1.5 * 1024 * 1024)]);
        await tx.query('ALTER MODEL spam SET ALIAS challenger TO VERSION 4');
        await tx.query('ALTER MODEL spam USE PREVIOUS VERSION');
        await tx.query('CREATE MODEL spam_prod FROM MODEL spam VERSION @challenger');
        return tx.registry.readWeights('spam_prod', 2);
      }),
  },
  {
    name: 'BEGIN; ... COMMIT script',
    run: (db) => db.exec("BEGIN; ALTER MODEL spam SET ALIAS champion TO VERSION @challenger; ALTER MODEL spam DROP ALIAS challenger; ALTER MODEL spam_prod SET TAG env = 'prod'; COMMIT"),
  },
];

/** Everything observable, with times dropped and job ids numbered, so two runs compare. */
export interface StateDump {
  readonly heads: unknown[];
  /** The event log as the global session sees it (times dropped). */
  readonly events: unknown[];
  readonly versions: unknown[];
  readonly jobs: unknown[];
  /** Entries per namespace, read from the raw store: catches orphans the API cannot see. */
  readonly namespaces: Record<string, number>;
}

/** Reads the whole state through the typed API (and the raw root for entry counts), faults off. */
export async function dumpState(db: Database, root: RootLevel, injector: FaultInjector): Promise<StateDump> {
  return injector.unobserved(async () => {
    const jobIds = new Map<string, string>();
    const jobs: unknown[] = [];
    const heads: unknown[] = [];
    const versions: unknown[] = [];
    for (const handle of [db, db.withTenant('acme')]) {
      for (const job of await handle.jobs.list()) {
        jobIds.set(job.id, `job#${jobIds.size + 1}`);
        const { id, createdAt, startedAt, finishedAt, durationMs, ...rest } = job;
        jobs.push({ ...rest, id: jobIds.get(id) });
      }
    }
    for (const handle of [db, db.withTenant('acme')]) {
      for (const summary of await handle.registry.summaries({ includeRetired: true })) {
        const { createdAt, updatedAt, ...head } = summary;
        if (handle.tenant !== null && summary.tenant === null) continue; // the global ones were dumped already
        heads.push(head);
        for (const version of await handle.registry.listVersions(summary.name)) {
          const { createdAt: _c, promotedAt, jobId, ...rest } = version;
          let weights: string | null = null;
          if (version.sha256 !== null) weights = sha256(await handle.registry.readWeights(summary.name, version.version));
          versions.push({ ...rest, jobId: jobId === null ? null : (jobIds.get(jobId) ?? `unknown ${jobId}`), promoted: promotedAt !== null, weights });
        }
      }
    }
    const events: unknown[] = [];
    // Through the global handle only: a tenant's view asks about heads that do not exist,
    // and those answers are cached, which would make the reference run read less than the
    // faulted runs. The namespace counts below cover the tenant's events.
    for (const handle of [db]) {
      for (const { at, detail, ...event } of (await handle.query('SELECT * FROM ML_MODEL_EVENTS')).rows) {
        // A job id in a detail is numbered like the jobs are.
        const job = (detail as { job_id?: string } | null)?.job_id;
        events.push({ ...event, detail: job === undefined ? detail : { ...(detail as object), job_id: jobIds.get(job) ?? `unknown ${job}` } });
      }
    }
    const namespaces: Record<string, number> = {};
    for await (const key of root.keys()) {
      const namespace = key.slice(1, key.indexOf('!', 1));
      namespaces[namespace] = (namespaces[namespace] ?? 0) + 1;
    }
    return { heads, events, versions, jobs, namespaces };
  });
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Which side of the failed step the registry was on; `job-failed`: the old state plus
 * the step's train job, failed with the injected error (a job whose result could not be
 * recorded fails, see Jobs).
 */
export type Side = 'old' | 'new' | 'job-failed';

/** What one run of the loop saw. */
export interface FaultRunResult {
  readonly plan: FaultPlan;
  /** False once N is past the workload: the loop for this kind is done. */
  readonly fired: boolean;
  /** Step that failed (statement or background work), if any. */
  readonly failedStep?: string;
  /** Which side of the failed step the registry was on. */
  readonly side?: Side;
  /**
   * A refused snapshot nobody heard of: the next read retook it and every read served
   * the committed state (the run went on to the end and matched the reference). The
   * step during which the fault fired.
   */
  readonly absorbedAt?: string;
}

/** A broken promise, with everything needed to reproduce it. */
export class FaultHarnessFailure extends Error {}

interface Opened {
  db: Database;
  backgroundErrors: unknown[];
}

async function openWith(location: { path: string } | { memory: true }): Promise<Opened> {
  const backgroundErrors: unknown[] = [];
  const db = await open({ ...location, trainers: TRAINERS, onError: (error) => backgroundErrors.push(error) });
  return { db, backgroundErrors };
}

/** Waits (bounded) until background work is over: no worker pass, run or retry pending. */
async function settle(opened: Opened, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), 20_000)));
  try {
    if ((await Promise.race([workerSettled(opened.db), timeout])) === 'timeout') {
      throw new FaultHarnessFailure(`${what}: background work did not settle within 20 s`);
    }
  } finally {
    clearTimeout(timer);
  }
}

/** The reference: every step without faults, the state dump after each (index 0: before the first). */
export async function referenceRun(location: { path: string } | { memory: true }): Promise<{ dumps: StateDump[]; counts: Record<FaultKind, number> }> {
  const injector = new FaultInjector(null);
  setRootFactoryForTests(captureRoot(faultyRootFactory(injector)));
  try {
    const opened = await openWith(location);
    await settle(opened, 'open');
    const counts0 = { ...injector.counts };
    const dumps = [await dumpState(opened.db, lastRoot!, injector)];
    for (const step of WORKLOAD) {
      await step.run(opened.db);
      await settle(opened, step.name);
      if (opened.backgroundErrors.length > 0) throw new FaultHarnessFailure(`reference run: background error ${String(opened.backgroundErrors[0])}`);
      dumps.push(await dumpState(opened.db, lastRoot!, injector));
    }
    await opened.db.close();
    const counts = { ...injector.counts };
    for (const kind of Object.keys(counts) as FaultKind[]) counts[kind] -= counts0[kind];
    return { dumps, counts };
  } finally {
    setRootFactoryForTests(null);
  }
}

let lastRoot: RootLevel | null = null;
function captureRoot(factory: ReturnType<typeof faultyRootFactory>): typeof factory {
  return (location) => (lastRoot = factory(location));
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * One run: opens a fresh registry (a new folder for `path` locations: pass a fresh one),
 * arms the fault, runs the workload up to the step that fails, then checks the state and
 * reopens. `reference` is from {@link referenceRun} on the same kind of location.
 */
export async function faultRun(location: { path: string } | { memory: true }, plan: FaultPlan, reference: readonly StateDump[]): Promise<FaultRunResult> {
  const injector = new FaultInjector(null);
  setRootFactoryForTests(captureRoot(faultyRootFactory(injector)));
  const describe = `fault ${plan.kind} #${plan.nth} (${plan.mode})`;
  const check = (condition: boolean, message: string): void => {
    if (!condition) throw new FaultHarnessFailure(`${describe}: ${message}`);
  };
  const classify = (error: unknown, where: string): void => {
    check(error instanceof ModelSqlError, `${where} failed with a ${(error as Error)?.constructor?.name} that is not a ModelSqlError: ${String((error as Error)?.stack ?? error)}`);
  };
  try {
    let opened = await openWith(location);
    const root = lastRoot!;
    await settle(opened, 'open');
    injector.arm(plan); // armed after open: opening under faults is the open loop's job
    let failure: { at: number; error: unknown; background: boolean } | null = null;
    let absorbedAt: string | undefined;
    for (let at = 0; at < WORKLOAD.length && failure === null; at++) {
      const step = WORKLOAD[at]!;
      let statementError: { error: unknown } | null = null;
      try {
        await step.run(opened.db);
      } catch (error) {
        statementError = { error };
      }
      await settle(opened, step.name);
      if (statementError) failure = { at, error: statementError.error, background: false };
      // Background work (the job worker, advisory progress writes) reports to onError.
      else if (opened.backgroundErrors.length > 0) failure = { at, error: opened.backgroundErrors[0], background: true };
      else if (injector.fired.length > 0 && absorbedAt === undefined) {
        // Nobody heard of the fault. Only a refused snapshot may be absorbed (the next
        // read retakes it); the rest of the workload and the final state must show that
        // nothing was lost and nothing wrong was served.
        check(plan.kind === 'snapshot', `a fault fired (${injector.fired[0]!.message}) during '${step.name}' but no statement and no background work reported it`);
        absorbedAt = step.name;
      }
    }
    if (failure === null) {
      check(same(await dumpState(opened.db, root, injector), reference[WORKLOAD.length]), `the final state differs from the reference run${absorbedAt ? ` after a snapshot fault absorbed during '${absorbedAt}'` : ''}`);
      await opened.db.close();
      return { plan, fired: absorbedAt !== undefined, absorbedAt };
    }
    const step = WORKLOAD[failure.at]!;
    check(injector.fired.length === 1, `'${step.name}' failed with ${String(failure.error)} but no fault was injected`);
    const where = failure.background ? `background work of '${step.name}'` : `'${step.name}'`;
    for (const error of new Set([failure.error, ...opened.backgroundErrors])) classify(error, where);
    const before = reference[failure.at]!;
    const after = reference[failure.at + 1]!;
    const fault = injector.fired[0]!;
    const sideOf = (dump: StateDump): Side | null => {
      if (same(dump, before)) return 'old';
      if (same(dump, after)) return 'new';
      if (step.queuesJob && jobFailedWith(dump, before, after, fault)) return 'job-failed';
      return null;
    };
    const state = await dumpState(opened.db, root, injector);
    const side = sideOf(state);
    check(side !== null, `after ${where} failed the registry is neither in the old nor the new state:\n${diff(state, before, after)}`);
    await opened.db.close();
    // The next open works and shows the same state (a failed job stays failed).
    opened = await openWith(location);
    await settle(opened, 'reopen');
    for (const error of opened.backgroundErrors) check(false, `background work after reopen failed: ${String(error)}`);
    const reopened = await dumpState(opened.db, lastRoot!, injector);
    const settledSide = sideOf(reopened);
    check(settledSide === side, `reopen changed the state of ${where} from ${side} to ${settledSide}:\n${diff(reopened, before, after)}`);
    await opened.db.close();
    return { plan, fired: true, failedStep: where, side: side! };
  } finally {
    setRootFactoryForTests(null);
  }
}

/**
 * True when `dump` is the old state plus the step's new job, failed with the injected
 * error and without a version: what the worker records when the batch completing a
 * job fails. Everything else must be exactly as before the step.
 */
function jobFailedWith(dump: StateDump, before: StateDump, after: StateDump, fault: InjectedFault): boolean {
  type DumpedJob = { id: string; status: string; error: string | null; progress: number; [field: string]: unknown };
  const added = (after.jobs as DumpedJob[]).filter((job) => !before.jobs.some((old) => same(old, job)));
  const failed = (dump.jobs as DumpedJob[]).filter((job) => !before.jobs.some((old) => same(old, job)));
  if (added.length !== 1 || failed.length !== 1) return false;
  const [reference, actual] = [added[0]!, failed[0]!];
  // Progress is whatever the advisory progress write left; the error names the fault.
  const expected = { ...reference, status: 'failed', metrics: null, version: null, progress: actual.progress, error: actual.error };
  if (!same(actual, expected) || !actual.error?.includes(fault.message)) return false;
  const { jobs: dumpJobs = 0, ...dumpRest } = dump.namespaces;
  const { jobs: beforeJobs = 0, ...beforeRest } = before.namespaces;
  return same(dump.heads, before.heads) && same(dump.versions, before.versions) && same(dumpRest, beforeRest) && dumpJobs === beforeJobs + 1;
}

function diff(actual: StateDump, before: StateDump, after: StateDump): string {
  const lines: string[] = [];
  for (const part of ['heads', 'versions', 'jobs', 'namespaces'] as const) {
    if (!same(actual[part], before[part]) || !same(actual[part], after[part])) {
      lines.push(`${part}: actual ${JSON.stringify(actual[part])}`, `  old ${JSON.stringify(before[part])}`, `  new ${JSON.stringify(after[part])}`);
    }
  }
  return lines.join('\n');
}

/** Runs the loop for one kind and mode: N = 1, 2, ... until the workload no longer reaches N. */
export async function faultLoop(
  location: () => Promise<{ path: string } | { memory: true }>,
  kind: FaultKind,
  mode: FaultMode,
  reference: readonly StateDump[],
  options: { maxN?: number; onRun?: (result: FaultRunResult) => void } = {},
): Promise<FaultRunResult[]> {
  const results: FaultRunResult[] = [];
  for (let nth = 1; nth <= (options.maxN ?? 10_000); nth++) {
    const result = await faultRun(await location(), { kind, nth, mode }, reference);
    options.onRun?.(result);
    results.push(result);
    if (!result.fired) break;
  }
  return results;
}

export { FaultInjector, InjectedFault };
