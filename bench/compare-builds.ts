/**
 * `npm run bench:compare -- <other dist folder>`: what this build's statements cost
 * against another build's (e.g. the previous release), measured side by side in one
 * process. Prints one JSON line.
 *
 * Each build gets its own on-disk LevelDB folder. After a warm-up, every figure is
 * measured in rounds that alternate between the builds (and which goes first), so
 * JIT state, LevelDB growth (memtable flushes, compactions) and whatever else the
 * shared machine runs weigh on both alike.
 * Every figure is the median over the rounds of µs per statement; `*_new_vs_old` is
 * new / old (1.10 = this build costs 10 % more).
 *
 *   git worktree add --detach /work/wt-old 6552e10      # the other build (6552e10: before events)
 *   ln -s "$PWD/node_modules" /work/wt-old/node_modules
 *   (cd /work/wt-old && npx tsc -p tsconfig.build.json)
 *   npm run bench:compare -- /work/wt-old/dist [--rounds 21] [--per-round 200] [--quick]
 *
 * (`npm run bench:compare` builds this one into ./dist first.)
 *
 * Many short rounds make the median robust to the bursts of a shared machine: run
 * against the same build twice (`-- ./dist`), the ratios stay within about 15 % of 1.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** What this bench needs of a build's API (every release since 0.1 has it). */
interface Build {
  readonly name: 'new' | 'old';
  readonly open: (options: { path: string }) => Promise<BuildDatabase>;
}
interface BuildDatabase {
  query(sql: string, params?: readonly unknown[]): Promise<unknown>;
  close(): Promise<void>;
}

/** One build opened on its own folder. */
interface Subject {
  readonly build: Build;
  readonly db: BuildDatabase;
  readonly dir: string;
  /** Versions registered so far in each model this bench writes. */
  readonly versions: Map<string, number>;
}

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string', default: '21' }, 'per-round': { type: 'string', default: '200' }, quick: { type: 'boolean', default: false } },
});
const otherDist = positionals[0];
if (otherDist === undefined) {
  console.error('usage: npm run bench:compare -- <path of the other build\'s dist folder> [--rounds N] [--per-round N] [--quick]');
  process.exit(2);
}
const rounds = args.quick ? 3 : Number(args.rounds);
const perRound = args.quick ? 50 : Number(args['per-round']);
const weights = randomBytes(1024);

async function loadBuild(name: Build['name'], dist: string): Promise<Build> {
  const module = (await import(pathToFileURL(join(resolve(dist), 'index.js')).href)) as { open: Build['open'] };
  return { name, open: module.open };
}

async function openSubject(build: Build): Promise<Subject> {
  const dir = await mkdtemp(join(tmpdir(), `modelsql-compare-${build.name}-`));
  return { build, db: await build.open({ path: dir }), dir, versions: new Map() };
}

/** Runs `work(i)` for i in [0, count) with at most `inFlight` pending; returns µs per call. */
async function microsPerOp(count: number, inFlight: number, work: (i: number) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < count) await work(next++);
  }));
  return ((performance.now() - start) * 1000) / count;
}

async function create(subject: Subject, model: string): Promise<void> {
  await subject.db.query(`CREATE MODEL ${model} WITH (weights = $1)`, [weights]);
  subject.versions.set(model, (subject.versions.get(model) ?? 0) + 1);
}

/** One figure's work for one build, in µs per statement. */
const WORK: Record<Figure, (subject: Subject) => Promise<number>> = {
  create_one_at_a_time: (subject) => microsPerOp(perRound, 1, () => create(subject, 'seq')),
  create_64_in_flight: (subject) => microsPerOp(perRound * 2, 64, () => create(subject, 'conc')),
  use_version: (subject) => {
    const latest = subject.versions.get('seq')!;
    // Every call moves the pointer (the one before it set another version).
    return microsPerOp(perRound, 1, (i) => subject.db.query('ALTER MODEL seq USE VERSION $1', [1 + (i % (latest - 1))]));
  },
};

const FIGURES = ['create_one_at_a_time', 'create_64_in_flight', 'use_version'] as const;
type Figure = (typeof FIGURES)[number];

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  const builds = [await loadBuild('new', new URL('../dist', import.meta.url).pathname), await loadBuild('old', otherDist!)];
  const subjects = await Promise.all(builds.map(openSubject));
  try {
    for (const subject of subjects) {
      await microsPerOp(Math.max(50, perRound / 2), 1, () => create(subject, 'warm'));
      await microsPerOp(Math.max(50, perRound / 2), 1, () => create(subject, 'seq'));
    }
    const samples = new Map<string, Record<Figure, number[]>>(subjects.map((s) => [s.build.name, { create_one_at_a_time: [], create_64_in_flight: [], use_version: [] }]));
    // Each figure alternates between the builds, and so does who goes first.
    for (let r = 0; r < rounds; r++) {
      for (const [f, figure] of FIGURES.entries()) {
        const order = (r + f) % 2 === 0 ? subjects : [...subjects].reverse();
        for (const subject of order) samples.get(subject.build.name)![figure].push(await WORK[figure](subject));
      }
    }
    const out: Record<string, unknown> = { rounds, per_round: perRound, other_dist: resolve(otherDist!) };
    for (const figure of FIGURES) {
      const fresh = median(samples.get('new')![figure]);
      const old = median(samples.get('old')![figure]);
      out[`${figure}_us_new`] = Number(fresh.toFixed(1));
      out[`${figure}_us_old`] = Number(old.toFixed(1));
      out[`${figure}_new_vs_old`] = Number((fresh / old).toFixed(3));
    }
    console.log(JSON.stringify(out));
  } finally {
    for (const subject of subjects) {
      await subject.db.close();
      await rm(subject.dir, { recursive: true, force: true });
    }
  }
}

await main();
