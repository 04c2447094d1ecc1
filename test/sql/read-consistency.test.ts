/**
 * Readers see one consistent state: whatever a reader sees of one committed batch, it
 * sees all of it, through every read path. A train job's completion and its version are
 * one batch, so a job seen `completed` with `version = N` means version N is readable
 * everywhere, at once, and a version seen with its job id means the job is completed.
 */
import { AbstractSnapshot } from 'abstract-level';
import { afterEach, describe, expect, it } from 'vitest';
import { open, type Database } from '../../src/index.js';
import type { Level } from '../../src/store/level.js';
import { Resources, waitFor, weights } from '../helpers/sql.js';

const resources = new Resources();
afterEach(() => resources.cleanup());

const JOBS = 200;

/** One event-loop turn: as tight as polling gets without starving the job worker (in memory every read resolves in microtasks). */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Polls every job as tightly as the event loop allows and checks each read path once a job is seen completed. */
async function pollJobs(db: Database): Promise<{ mismatches: string[]; completed: number }> {
  db.registerTrainer('t', async ({ jobId }) => {
    // Finish on different turns so completions interleave with the readers.
    await new Promise((resolve) => setImmediate(resolve));
    return { weights: weights(jobId.charCodeAt(0)), metrics: { f1: 0.5 } };
  });
  const ids: string[] = [];
  for (let i = 0; i < JOBS; i++) {
    const { rows } = await db.query(`CREATE MODEL m${i % 20} WITH (trainer = 't', async = TRUE)`);
    ids.push(rows[0]!.job_id as string);
  }
  const mismatches: string[] = [];
  const pending = new Set(ids);
  let completed = 0;

  const checkVersionVisible = async (id: string, model: string, version: number, via: string): Promise<void> => {
    const problems: string[] = [];
    const meta = await db.registry.getVersion(model, version).catch((error: Error) => error);
    if (meta instanceof Error) problems.push(`getVersion: ${meta.message}`);
    else if (meta.jobId !== id) problems.push(`getVersion: job id ${meta.jobId}`);
    const { rows } = await db.query('SELECT version FROM ML_MODEL_VERSIONS WHERE model = $1 AND version = $2', [model, version]);
    if (rows.length !== 1) problems.push(`SELECT WHERE version: ${rows.length} rows`);
    const dash = await db.query('SELECT latest_version FROM ML_MODELS_DASHBOARD WHERE name = $1', [model]);
    if (dash.rows.length !== 1 || (dash.rows[0]!.latest_version as number) < version) problems.push(`dashboard: ${JSON.stringify(dash.rows)}`);
    const listed = await db.registry.listVersions(model);
    if (!listed.some((v) => v.version === version)) problems.push('listVersions lacks it');
    if (problems.length > 0) mismatches.push(`job ${id} completed (seen via ${via}) as ${model} v${version}: ${problems.join('; ')}`);
  };

  const pollers = [
    // By id through SQL, as the README's polling example does.
    async () => {
      while (pending.size > 0) {
        await turn();
        for (const id of [...pending]) {
          const { rows } = await db.query('SELECT status, target, version FROM ML_JOBS WHERE id = $1', [id]);
          const row = rows[0]!;
          if (row.status !== 'completed') continue;
          pending.delete(id);
          completed++;
          await checkVersionVisible(id, row.target as string, row.version as number, 'ML_JOBS by id');
        }
      }
    },
    // The typed API.
    async () => {
      while (pending.size > 0) {
        await turn();
        for (const id of [...pending].slice(0, 10)) {
          const job = await db.jobs.get(id);
          if (job.status === 'completed') await checkVersionVisible(id, job.target, job.version!, 'db.jobs.get');
        }
      }
    },
    // ML_JOBS listed as a table agrees with the by-id lookup, and every version a job made is there.
    async () => {
      while (pending.size > 0) {
        await turn();
        const { rows } = await db.query("SELECT id, target, version FROM ML_JOBS WHERE status = 'completed'");
        for (const row of rows.slice(-5)) await checkVersionVisible(row.id as string, row.target as string, row.version as number, 'ML_JOBS listing');
      }
    },
    // The other direction: a version that names its job means the job reads completed.
    async () => {
      while (pending.size > 0) {
        await turn();
        const model = `m${Math.floor(Math.random() * 20)}`;
        const versions = await db.registry.listVersions(model).catch(() => []);
        for (const version of versions.slice(-3)) {
          const job = await db.jobs.get(version.jobId!);
          if (job.status !== 'completed' || job.version !== version.version) {
            mismatches.push(`version ${model} v${version.version} is visible but job ${version.jobId!} reads ${job.status} (version ${job.version})`);
          }
        }
      }
    },
  ];
  await Promise.all(pollers.map((poll) => poll()));
  return { mismatches, completed };
}

describe('a train job and its version become visible together', () => {
  it('in memory: 200 async jobs polled tightly, 0 mismatches', async () => {
    const db = resources.track(await open({ memory: true, onError: () => undefined }));
    const { mismatches, completed } = await pollJobs(db);
    expect(completed).toBe(JOBS);
    expect(mismatches).toEqual([]);
  });

  it('on disk: 200 async jobs polled tightly, 0 mismatches', async () => {
    const db = resources.track(await open({ path: await resources.dir(), onError: () => undefined }));
    const { mismatches, completed } = await pollJobs(db);
    expect(completed).toBe(JOBS);
    expect(mismatches).toEqual([]);
  });
});

describe('superseded read snapshots are closed', () => {
  /**
   * Counts the LevelDB snapshots open on the registry's root, through the hooks every
   * snapshot registers itself with (abstract-level's attach/detachResource), and runs
   * rounds of writes, abandoned LIMIT scans, failing reads, LOOKUP and CHECK REGISTRY.
   */
  async function liveSnapshotsAfterMixedWork(db: Database): Promise<{ live: number; taken: number }> {
    const root = (db as unknown as { core: { level: Level } }).core.level.root;
    const live = new Set<object>();
    let taken = 0;
    const attach = root.attachResource.bind(root);
    const detach = root.detachResource.bind(root);
    root.attachResource = (resource) => {
      if (resource instanceof AbstractSnapshot) {
        live.add(resource);
        taken++;
      }
      attach(resource);
    };
    root.detachResource = (resource) => {
      live.delete(resource);
      detach(resource);
    };
    for (let i = 0; i < 50; i++) {
      await Promise.all([
        db.query("CREATE MODEL m WITH (artifact = 'a') SCHEMA (a name)"),
        db.query('SELECT version FROM ML_MODEL_VERSIONS LIMIT 1'),
        db.query("SELECT version FROM ML_MODEL_VERSIONS WHERE model = 'm' AND stage = 'production' LIMIT 1"),
        db.query('LOOKUP MODEL FOR SCHEMA (a name)'),
        db.registry.getVersion('nope', 1).catch(() => undefined),
        db.query('SELECT * FROM ML_MODEL_VERSIONS WHERE metrics > 3').catch(() => undefined),
        db.query('CHECK REGISTRY'),
      ]);
    }
    // A snapshot closes asynchronously; the one the next read will use stays open.
    await waitFor(() => live.size <= 1, { what: 'superseded snapshots to close' });
    return { live: live.size, taken };
  }

  it.each(['memory', 'disk'] as const)('%s: after many mixed statements exactly one snapshot is open', async (where) => {
    const db = resources.track(where === 'memory' ? await open({ memory: true }) : await open({ path: await resources.dir() }));
    const { live, taken } = await liveSnapshotsAfterMixedWork(db);
    expect(taken).toBeGreaterThan(50); // the hook saw snapshots being taken and superseded
    expect(live).toBe(1);
  });
});

/**
 * LOOKUP reads the schema index and the version records: both through one snapshot, or
 * a version registered, archived or unarchived meanwhile looks like damage or an
 * unknown version. (In memory every read resolves at once and the window never opens;
 * on disk it did, hundreds of times in this run.)
 */
describe('LOOKUP reads the index and the records from one snapshot', () => {
  it('on disk: registrations and archive toggles under three LOOKUP loops, no error', async () => {
    const db = resources.track(await open({ path: await resources.dir() }));
    const errors: string[] = [];
    const schema = 'SCHEMA (a name, b name, c name, d name)';
    await db.query(`CREATE MODEL m WITH (artifact = 'a') ${schema}`);
    await db.query(`CREATE MODEL x WITH (artifact = 'a') ${schema}`);
    let stop = false;
    const writer = (async () => {
      for (let i = 0; i < 300; i++) await db.query(`CREATE MODEL m WITH (artifact = 'a') ${schema}`);
    })();
    const toggler = (async () => {
      for (let n = 0; n < 300; n++) await db.query(n % 2 ? 'UNARCHIVE MODEL x VERSION 1' : 'ARCHIVE MODEL x VERSION 1');
    })();
    const readers = ['(a name, b name, c name, d name)', '(a name, b name, c name, d name, e name)', '(a name, b name, c name, e name)'].map(async (fields) => {
      while (!stop) {
        await turn();
        await db.query(`LOOKUP MODEL FOR SCHEMA ${fields}`).catch((error: Error & { code?: string }) => errors.push(`${error.code}: ${error.message}`));
      }
    });
    await Promise.all([writer, toggler]);
    stop = true;
    await Promise.all(readers);
    expect([...new Set(errors)]).toEqual([]);
  });
});
