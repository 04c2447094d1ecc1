/**
 * Concurrent statements: fast-check's scheduler picks the order in which statements
 * start and in which their results are delivered; whatever it picks, versions are
 * 1..n with no duplicate and no gap, and the active pointer and counters stay
 * consistent.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelSqlError, open, type Database, type QueryResult } from '../../src/index.js';
import { Resources, dashboardRow, memoryDb, one, versionNumbers, weights } from '../helpers/sql.js';

const resources = new Resources();
afterEach(() => resources.cleanup());

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

/** A statement whose start and whose result delivery are both ordered by the scheduler. */
function scheduled(s: fc.Scheduler, db: Database, label: string, sql: string, params: unknown[] = []): Promise<QueryResult> {
  const query = s.scheduleFunction((text: string, values: unknown[]) => db.query(text, values));
  return s.schedule(Promise.resolve(), `start ${label}`).then(() => query(sql, params));
}

/** Settles a statement into its result or its error. */
function settle(p: Promise<QueryResult>): Promise<{ ok: true; result: QueryResult } | { ok: false; error: unknown }> {
  return p.then((result) => ({ ok: true as const, result }), (error: unknown) => ({ ok: false as const, error }));
}

describe('concurrent CREATE MODEL (scheduler-ordered)', () => {
  it('n concurrent CREATEs yield versions exactly 1..n, latest n, active the highest', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 1, max: 30 }), async (s, n) => {
        const db = await memoryDb();
        try {
          const tasks = range(n).map((i) => scheduled(s, db, `create #${i}`, 'CREATE MODEL m WITH (weights = $1)', [weights(i)]));
          const results = await s.waitFor(Promise.all(tasks));
          const versions = results.map((r) => one(r).version as number);
          expect([...versions].sort((a, b) => a - b)).toEqual(range(n));
          for (const r of results) expect(one(r).active).toBe(true);
          expect(await versionNumbers(db, 'm')).toEqual(range(n));
          expect(await dashboardRow(db, 'm')).toMatchObject({ latest_version: n, total_versions: n, active_version: n, archived_versions: 0 });
          // Each version holds the weights of the statement that got its number.
          for (const [i, r] of results.entries()) {
            const version = one(r).version as number;
            expect(Buffer.from(await db.registry.readWeights('m', version))).toEqual(weights(i + 1));
          }
        } finally {
          await db.close();
        }
      }),
      { numRuns: 60 },
    );
  });

  it('concurrent CREATEs on two models and USE VERSIONs keep each model\'s numbering and a valid active pointer', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('create' as const), model: fc.constantFrom('a', 'b') }),
      fc.record({ kind: fc.constant('use' as const), model: fc.constantFrom('a', 'b'), version: fc.integer({ min: 1, max: 6 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(op, { minLength: 1, maxLength: 25 }), async (s, ops) => {
        const db = await memoryDb();
        try {
          const tasks = ops.map((o, i) =>
            settle(
              o.kind === 'create'
                ? scheduled(s, db, `#${i} create ${o.model}`, `CREATE MODEL ${o.model} WITH (weights = $1)`, [weights(i)])
                : scheduled(s, db, `#${i} use ${o.model} v${o.version}`, `ALTER MODEL ${o.model} USE VERSION ${o.version}`),
            ),
          );
          const outcomes = await s.waitFor(Promise.all(tasks));
          for (const model of ['a', 'b']) {
            const creates = ops.filter((o) => o.kind === 'create' && o.model === model).length;
            const uses = ops.flatMap((o, i) => (o.kind === 'use' && o.model === model ? [{ o, outcome: outcomes[i]! }] : []));
            const created = ops.flatMap((o, i) => (o.kind === 'create' && o.model === model ? [outcomes[i]!] : []));
            for (const c of created) expect(c.ok).toBe(true);
            const versions = created.map((c) => (c.ok ? (one(c.result).version as number) : -1)).sort((x, y) => x - y);
            expect(versions).toEqual(range(creates));
            const succeeded: number[] = [];
            for (const { o, outcome } of uses) {
              if (o.kind !== 'use') continue;
              if (outcome.ok) {
                const row = one(outcome.result);
                expect(row.active_version).toBe(o.version);
                expect(o.version).toBeLessThanOrEqual(creates);
                // Every version is created active, so once a model exists a pointer is always set.
                expect(row.previous_version).toBeGreaterThanOrEqual(1);
                expect(row.previous_version).toBeLessThanOrEqual(creates);
                succeeded.push(o.version);
              } else {
                expect(outcome.error).toBeInstanceOf(ModelSqlError);
                const code = (outcome.error as ModelSqlError).code;
                expect(['UNKNOWN_MODEL', 'UNKNOWN_VERSION']).toContain(code);
              }
            }
            for (const { outcome } of uses) {
              // Without any CREATE the model never exists.
              if (!outcome.ok && creates === 0) expect((outcome.error as ModelSqlError).code).toBe('UNKNOWN_MODEL');
            }
            const row = await dashboardRow(db, model);
            if (creates === 0) {
              expect(row).toBeUndefined();
              continue;
            }
            expect(row).toMatchObject({ latest_version: creates, total_versions: creates });
            expect([creates, ...succeeded]).toContain(row!.active_version);
            if (succeeded.length === 0) expect(row!.active_version).toBe(creates);
            expect(await versionNumbers(db, model)).toEqual(range(creates));
            const active = (await db.query('SELECT version FROM ML_MODEL_VERSIONS WHERE model = $1 AND active', [model])).rows;
            expect(active).toEqual([{ version: row!.active_version }]);
          }
        } finally {
          await db.close();
        }
      }),
      { numRuns: 60 },
    );
  });

  it('concurrent CREATE / ARCHIVE / UNARCHIVE / ARCHIVE MODEL keep the counters equal to the versions', async () => {
    const op = fc.oneof(
      { weight: 3, arbitrary: fc.constant({ kind: 'create' as const }) },
      fc.record({ kind: fc.constant('archive' as const), version: fc.integer({ min: 1, max: 5 }) }),
      fc.record({ kind: fc.constant('unarchive' as const), version: fc.integer({ min: 1, max: 5 }) }),
      fc.record({ kind: fc.constant('use' as const), version: fc.integer({ min: 1, max: 5 }) }),
      fc.constant({ kind: 'archiveAll' as const }),
    );
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(op, { minLength: 1, maxLength: 20 }), async (s, ops) => {
        const db = await memoryDb();
        try {
          const sql = (o: (typeof ops)[number]): string => {
            switch (o.kind) {
              case 'create': return 'CREATE MODEL m WITH (weights = $1)';
              case 'archive': return `ARCHIVE MODEL m VERSION ${o.version}`;
              case 'unarchive': return `UNARCHIVE MODEL m VERSION ${o.version}`;
              case 'use': return `ALTER MODEL m USE VERSION ${o.version}`;
              case 'archiveAll': return 'ARCHIVE MODEL m';
            }
          };
          const tasks = ops.map((o, i) => settle(scheduled(s, db, `#${i} ${sql(o)}`, sql(o), o.kind === 'create' ? [weights(i)] : [])));
          const outcomes = await s.waitFor(Promise.all(tasks));
          for (const [i, outcome] of outcomes.entries()) {
            if (outcome.ok) continue;
            expect(outcome.error, `${sql(ops[i]!)}: ${String(outcome.error)}`).toBeInstanceOf(ModelSqlError);
            expect(['UNKNOWN_MODEL', 'UNKNOWN_VERSION', 'VERSION_ARCHIVED']).toContain((outcome.error as ModelSqlError).code);
            expect(ops[i]!.kind).not.toBe('create');
          }
          const creates = ops.filter((o) => o.kind === 'create').length;
          const row = await dashboardRow(db, 'm');
          if (creates === 0) {
            expect(row).toBeUndefined();
            return;
          }
          const { rows } = await db.query("SELECT version, active, archived FROM ML_MODEL_VERSIONS WHERE model = 'm'");
          expect(rows.map((r) => r.version)).toEqual(range(creates));
          expect(row).toMatchObject({ latest_version: creates, total_versions: creates });
          expect(row!.archived_versions).toBe(rows.filter((r) => r.archived === true).length);
          const active = rows.filter((r) => r.active === true);
          if (row!.active_version === null) {
            expect(active).toEqual([]);
          } else {
            expect(active).toEqual([{ version: row!.active_version, active: true, archived: false }]);
          }
        } finally {
          await db.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('concurrent CREATE MODEL on disk', () => {
  it('200 concurrent CREATEs on an on-disk registry yield versions exactly 1..200, also after reopening', async () => {
    const dir = await resources.dir();
    const db = await open({ path: dir });
    const results = await Promise.all(range(200).map((i) => db.query('CREATE MODEL m WITH (weights = $1)', [weights(i, 64)])));
    const versions = results.map((r) => one(r).version as number);
    expect(new Set(versions).size).toBe(200);
    expect([...versions].sort((a, b) => a - b)).toEqual(range(200));
    expect(await dashboardRow(db, 'm')).toMatchObject({ latest_version: 200, total_versions: 200, active_version: 200 });
    await db.close();
    const reopened = resources.track(await open({ path: dir }));
    expect(await versionNumbers(reopened, 'm')).toEqual(range(200));
    expect(await dashboardRow(reopened, 'm')).toMatchObject({ latest_version: 200, total_versions: 200, active_version: 200 });
    for (const [i, r] of results.entries()) {
      if (i % 20 !== 0) continue;
      expect(Buffer.from(await reopened.registry.readWeights('m', one(r).version as number))).toEqual(weights(i + 1, 64));
    }
  });
});

describe('concurrent transactions and single statements (scheduler-ordered)', () => {
  /** One transaction of CREATEs over models a and b; it throws at the end (rolls back) when `abort`. */
  interface TxPlan {
    readonly models: readonly ('a' | 'b')[];
    readonly abort: boolean;
  }
  const txPlan = fc.record({ models: fc.array(fc.constantFrom('a' as const, 'b' as const), { minLength: 1, maxLength: 4 }), abort: fc.boolean() });
  const single = fc.constantFrom('a' as const, 'b' as const);
  /**
   * A statement whose start the scheduler orders; its result is not scheduled: a
   * statement waiting for a transaction's model lock would hold the scheduler up (it
   * awaits a scheduled function's own promise), while the transaction's next step waits
   * for the scheduler.
   */
  const started = (s: fc.Scheduler, db: Database, label: string, sql: string, params: unknown[]): Promise<QueryResult> =>
    s.schedule(Promise.resolve(), `start ${label}`).then(() => db.query(sql, params));

  it('never hang: a deadlock fails one transaction with DEADLOCK_DETECTED; each committed transaction is one consecutive block of seqs and of version numbers per model; rolled back ones leave nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(txPlan, { minLength: 1, maxLength: 4 }), fc.array(single, { maxLength: 6 }), async (s, plans, singles) => {
        const db = await memoryDb();
        try {
          const aborted = new Error('abort on purpose');
          const txs = plans.map((plan, t) =>
            db
              .transaction(async (tx) => {
                const made: { model: string; version: number; bytes: number }[] = [];
                for (const [k, model] of plan.models.entries()) {
                  const bytes = 1000 + t * 10 + k;
                  const created = await started(s, tx, `tx${t} #${k} create ${model}`, `CREATE MODEL ${model} WITH (weights = $1, created_by = 'tx${t}')`, [weights(bytes)]);
                  made.push({ model, version: one(created).version as number, bytes });
                }
                if (plan.abort) throw aborted;
                return made;
              })
              .then((made) => ({ ok: true as const, made }), (error: unknown) => ({ ok: false as const, error })),
          );
          const outside = singles.map((model, j) => settle(started(s, db, `single #${j} create ${model}`, `CREATE MODEL ${model} WITH (weights = $1, created_by = 'single${j}')`, [weights(j)])));
          const [txOutcomes, singleOutcomes] = await s.waitFor(Promise.all([Promise.all(txs), Promise.all(outside)]));

          for (const outcome of singleOutcomes) expect(outcome.ok).toBe(true);
          const events = (await db.query('SELECT seq, actor, kind, model, version FROM ML_MODEL_EVENTS ORDER BY seq')).rows;
          expect(events.map((e) => e.seq)).toEqual(range(events.length));
          let committed = { a: 0, b: 0 };
          for (const [t, outcome] of txOutcomes.entries()) {
            const mine = events.filter((e) => e.actor === `tx${t}`);
            if (!outcome.ok) {
              // Rolled back on purpose, or the victim of a deadlock (it touched both models, in the other order than another).
              if (outcome.error !== aborted) expect(outcome.error).toMatchObject({ code: 'DEADLOCK_DETECTED' });
              expect(mine).toEqual([]);
              continue;
            }
            // Two events per CREATE (version_created, active_moved), in one unbroken run of seqs.
            expect(mine.length).toBe(2 * plans[t]!.models.length);
            expect((mine.at(-1)!.seq as number) - (mine[0]!.seq as number) + 1).toBe(mine.length);
            for (const model of ['a', 'b'] as const) {
              const versions = outcome.made.filter((m) => m.model === model).map((m) => m.version);
              committed = { ...committed, [model]: committed[model] + versions.length };
              // Nobody else registered on the model between the transaction's own versions.
              versions.forEach((v, i) => expect(v).toBe(versions[0]! + i));
            }
            for (const { model, version, bytes } of outcome.made) expect(Buffer.from(await db.registry.readWeights(model, version))).toEqual(weights(bytes));
          }
          for (const model of ['a', 'b'] as const) {
            const total = committed[model] + singles.filter((m) => m === model).length;
            expect(await versionNumbers(db, model)).toEqual(range(total));
          }
          expect((await db.query('CHECK REGISTRY')).rows).toEqual([]);
        } finally {
          await db.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});
