/**
 * `npm run bench`: prints one JSON line. Each modelsql figure stands beside the same
 * work done with raw classic-level batches in the same run, as a ratio (ours / raw,
 * for rates higher is better; for times lower is better).
 *
 * Options: `--quick` shrinks every workload (a smoke run, figures not comparable);
 * `--lookup` runs only the LOOKUP MODEL FOR SCHEMA figures (bench/lookup.ts);
 * `--history` only the event log figures (one model's history among 100,000 events).
 * `npm run bench:compare` (bench/compare-builds.ts) measures against another build.
 * `--weights` runs only the weight storage figure (bench/weights.ts).
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ClassicLevel } from 'classic-level';
// The shipped build, as apps run it (`npm run bench` builds it first).
import { open, parseStatement, type Database } from '../dist/index.js';
import { crossTenantBench, lookupBench } from './lookup.js';
import { sharedWeightsBench } from './weights.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    lookup: { type: 'boolean', default: false },
    history: { type: 'boolean', default: false },
    weights: { type: 'boolean', default: false },
  },
});
const scale = args.quick ? 0.05 : 1;
const n = (count: number): number => Math.max(1, Math.round(count * scale));

const weights = randomBytes(1024);

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'modelsql-bench-'));
}

/** Runs `work(i)` for i in [0, count) with at most `inFlight` pending; returns ops/s. */
async function rate(count: number, inFlight: number, work: (i: number) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  let next = 0;
  const lanes = Array.from({ length: inFlight }, async () => {
    while (next < count) await work(next++);
  });
  await Promise.all(lanes);
  return count / ((performance.now() - start) / 1000);
}

/** Median of `runs` timings of `work`, in ms. */
async function timeMs(runs: number, work: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await work();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return Number(times[Math.floor(times.length / 2)]!.toFixed(3));
}

/** The raw equivalent of a registration: one batch with version record, head and weights. */
class RawRegistry {
  private latest = new Map<string, number>();
  constructor(readonly db: ClassicLevel<string, string>) {}
  static async open(): Promise<RawRegistry> {
    const db = new ClassicLevel<string, string>(await tempDir());
    await db.open();
    return new RawRegistry(db);
  }
  async register(model: string): Promise<void> {
    const version = (this.latest.get(model) ?? 0) + 1;
    this.latest.set(model, version);
    const vKey = `${model}:${String(version).padStart(10, '0')}`;
    const sha256 = createHash('sha256').update(weights).digest('hex');
    await this.db.batch([
      { type: 'put', key: `v!${vKey}`, value: JSON.stringify({ archived: false, sha256, sizeBytes: weights.length, createdAt: Date.now() }) },
      { type: 'put', key: `m!${model}`, value: JSON.stringify({ active: version, latest: version, archived: 0, createdAt: 0, updatedAt: Date.now() }) },
      { type: 'put', key: `w!${vKey}:000000`, value: weights as unknown as string, valueEncoding: 'view' } as never,
    ]);
  }
  /** `count` registrations of `model` in one batch: the raw equivalent of a transaction of CREATEs. */
  async registerMany(model: string, count: number): Promise<void> {
    const ops: object[] = [];
    const sha256 = createHash('sha256').update(weights).digest('hex');
    for (let i = 0; i < count; i++) {
      const version = (this.latest.get(model) ?? 0) + 1;
      this.latest.set(model, version);
      const vKey = `${model}:${String(version).padStart(10, '0')}`;
      ops.push(
        { type: 'put', key: `v!${vKey}`, value: JSON.stringify({ archived: false, sha256, sizeBytes: weights.length, createdAt: Date.now() }) },
        { type: 'put', key: `w!${vKey}:000000`, value: weights, valueEncoding: 'view' },
      );
      if (i === count - 1) ops.push({ type: 'put', key: `m!${model}`, value: JSON.stringify({ active: version, latest: version, archived: 0, createdAt: 0, updatedAt: Date.now() }) });
    }
    await this.db.batch(ops as never);
  }
  async use(model: string, version: number): Promise<void> {
    const head = JSON.parse((await this.db.get(`m!${model}`))!) as Record<string, unknown>;
    const record = await this.db.get(`v!${model}:${String(version).padStart(10, '0')}`);
    if (record === undefined) throw new Error('missing');
    await this.db.batch([{ type: 'put', key: `m!${model}`, value: JSON.stringify({ ...head, active: version }) }]);
  }
  async dashboard(): Promise<number> {
    let count = 0;
    for await (const value of this.db.values({ gte: 'm!', lt: 'm"' })) if (JSON.parse(value)) count++;
    return count;
  }
  async listVersions(model: string): Promise<number> {
    let count = 0;
    for await (const value of this.db.values({ gt: `v!${model}:`, lt: `v!${model};` })) if (JSON.parse(value)) count++;
    return count;
  }
}

async function populate(db: Database, raw: RawRegistry, models: number, versionsPerModel: number, prefix: string): Promise<void> {
  // Version-major order, many in flight: the fastest way to fill both stores.
  await rate(models * versionsPerModel, 64, (i) => db.query(`CREATE MODEL ${prefix}${i % models} WITH (weights = $1)`, [weights]));
  await rate(models * versionsPerModel, 64, (i) => raw.register(`${prefix}${i % models}`));
}

/** The LOOKUP figures: 100,000 fingerprinted versions, and what one tenant's lookup time says about another's schemas. */
async function lookupFigures(dirs: string[]): Promise<Record<string, number>> {
  const lookupDir = await tempDir();
  dirs.push(lookupDir);
  const lookupDb = await open({ path: lookupDir });
  const lookup = await lookupBench(lookupDb, { models: n(1000), versionsPerModel: 100, runs: 51, timeMs });
  await lookupDb.close();
  const tenantsDir = await tempDir();
  dirs.push(tenantsDir);
  const tenantsDb = await open({ path: tenantsDir });
  const crossTenant = await crossTenantBench(tenantsDb, { versions: 1500, runs: 401 });
  await tenantsDb.close();
  return { ...lookup, ...crossTenant };
}

/**
 * One model's history (50 events) in a log of 100,000 events on disk, per returned
 * row: through db.registry.history and through ML_MODEL_EVENTS WHERE model = 'x'. Both
 * read the model's index range, so the figure should not grow with the log.
 */
async function historyFigures(dirs: string[]): Promise<Record<string, number>> {
  const dir = await tempDir();
  dirs.push(dir);
  const db = await open({ path: dir });
  // Every CREATE of a new active version is two events (version_created, active_moved);
  // x gets one CREATE in every 2,000, spread through the log.
  const creates = n(50_000);
  const every = 2000 * scale;
  await rate(creates, 64, (i) =>
    i % every === 0 ? db.query("CREATE MODEL x WITH (artifact = 's3://x')") : db.query(`CREATE MODEL fill${i % 1000} WITH (artifact = 's3://f')`),
  );
  const rows = (await db.registry.history('x')).length;
  const total = (await db.query('SELECT seq FROM ML_MODEL_EVENTS ORDER BY seq DESC LIMIT 1')).rows[0]!.seq as number;
  await new Promise((resolve) => setTimeout(resolve, 2000)); // let compaction after the load calm down
  const api = await timeMs(51, () => db.registry.history('x'));
  const sql = await timeMs(51, () => db.query("SELECT * FROM ML_MODEL_EVENTS WHERE model = 'x'"));
  await db.close();
  const perRow = (ms: number): number => Number(((ms * 1000) / rows).toFixed(2));
  return {
    history_events_total: total,
    history_rows: rows,
    history_api_ms: api,
    history_api_us_per_row: perRow(api),
    history_sql_ms: sql,
    history_sql_us_per_row: perRow(sql),
  };
}

async function main(): Promise<void> {
  const dirs: string[] = [];
  if (args.lookup || args.history) {
    const figures = args.lookup ? await lookupFigures(dirs) : await historyFigures(dirs);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
    console.log(JSON.stringify({ quick: args.quick, ...figures }));
    return;
  }
  if (args.weights) {
    console.log(JSON.stringify({ quick: args.quick, ...(await sharedWeightsBench(n(1000))) }));
    return;
  }
  const dir = await tempDir();
  dirs.push(dir);
  const db = await open({ path: dir });
  const raw = await RawRegistry.open();
  dirs.push(raw.db.location);

  // Warm both sides up, then alternate rounds so JIT state and LevelDB growth
  // (memtable flushes, compactions) weigh on both alike.
  await rate(n(500), 1, () => db.query('CREATE MODEL warm WITH (weights = $1)', [weights]));
  await rate(n(500), 1, () => raw.register('warm'));
  const rounds = 5;
  const perRound = n(1000);
  const totals = { createOne: 0, rawOne: 0, create64: 0, raw64: 0, use: 0, rawUse: 0, tx: 0, rawTx: 0 };
  // A transaction of TX_SIZE CREATEs, as statements per second; raw: one batch of as many registrations.
  const TX_SIZE = 20;
  for (let round = 0; round < rounds; round++) {
    totals.createOne += await rate(perRound, 1, () => db.query('CREATE MODEL seq WITH (weights = $1)', [weights]));
    totals.rawOne += await rate(perRound, 1, () => raw.register('seq'));
    totals.create64 += await rate(perRound * 2, 64, () => db.query('CREATE MODEL conc WITH (weights = $1)', [weights]));
    totals.raw64 += await rate(perRound * 2, 64, () => raw.register('conc'));
    totals.use += await rate(perRound, 1, (i) => db.query('ALTER MODEL seq USE VERSION $1', [1 + (i % perRound)]));
    totals.rawUse += await rate(perRound, 1, (i) => raw.use('seq', 1 + (i % perRound)));
    totals.tx += TX_SIZE * (await rate(perRound / TX_SIZE, 1, () =>
      db.transaction(async (tx) => {
        for (let i = 0; i < TX_SIZE; i++) await tx.query('CREATE MODEL txm WITH (weights = $1)', [weights]);
      }),
    ));
    totals.rawTx += TX_SIZE * (await rate(perRound / TX_SIZE, 1, () => raw.registerMany('txm', TX_SIZE)));
  }
  const createOne = totals.createOne / rounds;
  const rawOne = totals.rawOne / rounds;
  const create64 = totals.create64 / rounds;
  const raw64 = totals.raw64 / rounds;
  const useRate = totals.use / rounds;
  const rawUse = totals.rawUse / rounds;
  const txRate = totals.tx / rounds;
  const rawTx = totals.rawTx / rounds;

  const models = 200;
  await populate(db, raw, models, n(50), 'small');
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const dash50 = await timeMs(21, () => db.query('SELECT * FROM ML_MODELS_DASHBOARD'));
  const rawDash50 = await timeMs(21, () => raw.dashboard());
  await populate(db, raw, models, n(450), 'small'); // now 200 × 500
  // Let background compaction after the bulk load calm down for both stores alike.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const dash500 = await timeMs(21, () => db.query('SELECT * FROM ML_MODELS_DASHBOARD'));
  const rawDash500 = await timeMs(21, () => raw.dashboard());
  const list = await timeMs(21, () => db.query("SELECT * FROM ML_MODEL_VERSIONS WHERE model = 'small7'"));
  const rawList = await timeMs(21, () => raw.listVersions('small7'));

  const statements = [
    "CREATE MODEL spam FROM VERSION 3 WITH (weights = $1, hyperparams = '{\"lr\":0.01}', metrics = '{\"f1\":0.93}', active = FALSE)",
    'ALTER MODEL spam USE VERSION 3',
    "SELECT model, version, metrics FROM ML_MODEL_VERSIONS WHERE model = 'spam' AND archived = FALSE ORDER BY version DESC LIMIT 5",
  ];
  const parseCount = n(30_000);
  const parseStart = performance.now();
  for (let i = 0; i < parseCount; i++) parseStatement(statements[i % statements.length]!);
  const parsed = parseCount / ((performance.now() - parseStart) / 1000);

  await db.close();
  await raw.db.close();

  const lookup = await lookupFigures(dirs);
  const history = await historyFigures(dirs);
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  const sharedWeights = await sharedWeightsBench(n(1000));

  const r = (x: number): number => Math.round(x);
  const ratio = (a: number, b: number): number => Number((a / b).toFixed(3));
  console.log(
    JSON.stringify({
      quick: args.quick,
      create_model_per_s_one_at_a_time: r(createOne),
      raw_batch_per_s_one_at_a_time: r(rawOne),
      create_one_at_a_time_vs_raw: ratio(createOne, rawOne),
      create_model_per_s_64_in_flight: r(create64),
      raw_batch_per_s_64_in_flight: r(raw64),
      create_64_vs_raw_64: ratio(create64, raw64),
      create_64_vs_one_at_a_time: ratio(create64, createOne),
      use_version_per_s: r(useRate),
      raw_use_version_per_s: r(rawUse),
      use_version_vs_raw: ratio(useRate, rawUse),
      create_in_transactions_of_20_per_s: r(txRate),
      raw_registrations_in_batches_of_20_per_s: r(rawTx),
      transaction_of_20_vs_raw: ratio(txRate, rawTx),
      transaction_of_20_vs_one_at_a_time: ratio(txRate, createOne),
      dashboard_ms_200x50: dash50,
      raw_dashboard_ms_200x50: rawDash50,
      dashboard_ms_200x500: dash500,
      raw_dashboard_ms_200x500: rawDash500,
      dashboard_vs_raw_200x500: ratio(dash500, rawDash500),
      dashboard_growth_10x_versions: ratio(dash500, dash50),
      versions_listing_ms_500: list,
      raw_versions_listing_ms_500: rawList,
      versions_listing_vs_raw: ratio(list, rawList),
      statements_parsed_per_s: r(parsed),
      ...lookup,
      ...history,
      ...sharedWeights,
    }),
  );
}

await main();
