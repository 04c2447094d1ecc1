/**
 * The crash test: a child process (crash-child.ts) writes at random into a registry
 * folder and is killed with SIGKILL at a random moment; the parent reopens the folder
 * in process and checks every promise; the next cycle continues on the same folder.
 *
 * Checked after every kill:
 * - open never fails; jobs the crash left running are requeued and complete;
 * - every acknowledged version is present with the SHA-256 of the bytes written
 *   (readWeights verifies them), versions are 1..latest with no gap or duplicate, and
 *   the head's counts (total, archived, production) match the versions;
 * - the active version is never archived or retired;
 * - each owned model is exactly what its acknowledged operations made of it, plus or
 *   minus the one operation in flight at the kill (acknowledged pointer moves hold
 *   unless a later acknowledged operation superseded them);
 * - every acknowledged job exists and completes with a version that exists, holds
 *   its job id and the weights its trainer produced; no two jobs share a version;
 * - transactions are all or nothing: the two pair models, which one transaction gives
 *   a version each (same weights) and an alias `last` at a time, always have the same
 *   versions with the same weights, `last` on the newest, and at least every
 *   acknowledged one.
 *
 * Used by crash.test.ts (CI: 20 cycles) and crash-main.ts (`npm run crash-test -- 500`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { open, type Database, type ModelVersion } from '../../src/index.js';
import {
  EMPTY_MODEL,
  JOB_MODELS,
  PAIR_MODELS,
  SHARED_MODEL,
  applyOp,
  crashTrainer,
  rng,
  sha256,
  weightBytes,
  type ChildLine,
  type JobOp,
  type PairOp,
  type ModelState,
  type OwnedOp,
  type SharedOp,
} from './crash-model.js';

const here = dirname(fileURLToPath(import.meta.url));
const CHILD = join(here, 'crash-child.ts');
const REPO = resolve(here, '..', '..');

export interface CrashTestOptions {
  /** Folder for the registry (and FILE weights); created if missing. */
  readonly dir: string;
  readonly cycles: number;
  readonly seed: number;
  /** Share of registrations with multi-MB weights (default 0.03). */
  readonly bigShare?: number;
  /** Largest number of acknowledgements before the kill (default 60). */
  readonly maxAcks?: number;
  /** Start a fresh registry folder every this many cycles (bounds disk use of long runs). */
  readonly cyclesPerFolder?: number;
  readonly log?: (line: string) => void;
}

/** Totals of a run. */
export interface CrashTestSummary {
  readonly cycles: number;
  readonly acknowledged: number;
  readonly versions: number;
  readonly jobs: number;
  /** Cycles killed before the child reported the registry open. */
  readonly killedDuringOpen: number;
}

/** A child still running this long after `go` is killed (and its cycle checked like any other). */
export const CHILD_STALL_MS = 30_000;

/** A broken promise; the message names seed and cycle. */
export class CrashTestFailure extends Error {}

interface Acked {
  readonly op: OwnedOp | SharedOp | JobOp | PairOp;
  readonly version?: number;
  readonly jobId?: string;
}

/** Everything acknowledged so far in one folder, across cycles. */
interface Ledger {
  /** Expected state of each owned model, from the last check plus this cycle's acks. */
  owned: Map<string, ModelState>;
  /** (model, version) → expected SHA-256, of every acknowledged registration. */
  readonly versions: Map<string, string>;
  /** job id → expected SHA-256 of its weights. */
  readonly jobs: Map<string, { model: string; sha: string }>;
  /** Highest version of each model already verified byte for byte. */
  readonly verifiedUpTo: Map<string, number>;
}

const versionId = (model: string, version: number): string => `${model}@${version}`;

/** Runs `cycles` kill cycles; throws a {@link CrashTestFailure} at the first broken promise. */
export async function runCrashTest(options: CrashTestOptions): Promise<CrashTestSummary> {
  const { cycles, seed, log = () => undefined } = options;
  const random = rng(seed);
  const perFolder = options.cyclesPerFolder ?? Infinity;
  let ledger: Ledger | null = null;
  let folder = '';
  let acknowledged = 0;
  let killedDuringOpen = 0;
  let next: Child | null = null;
  let last = { versions: 0, jobs: 0 };
  for (let cycle = 1; cycle <= cycles; cycle++) {
    if (ledger === null || (cycle - 1) % perFolder === 0) {
      folder = join(options.dir, `registry-${Math.floor((cycle - 1) / perFolder)}`);
      await mkdir(folder, { recursive: true });
      ledger = { owned: new Map(), versions: new Map(), jobs: new Map(), verifiedUpTo: new Map() };
      next?.process.kill('SIGKILL');
      next = null;
    }
    const fail = (message: string): never => {
      throw new CrashTestFailure(`crash test seed=${seed} cycle=${cycle}: ${message}`);
    };
    const child: Child = next ?? spawnChild(folder, Math.floor(random() * 2 ** 31), options.bigShare);
    // Start the next child now: its module loading overlaps this cycle's checks.
    next = cycle < cycles && cycle % perFolder !== 0 ? spawnChild(folder, Math.floor(random() * 2 ** 31), options.bigShare) : null;
    // Mostly after a random number of acknowledgements; one cycle in ten at a random time
    // after `go`, skewed early so some kills land while the registry is opening or recovering.
    const killAfter = random() < 0.1 ? { ms: Math.floor(random() ** 2 * 150) } : { acks: 1 + Math.floor(random() * (options.maxAcks ?? 60)) };
    const outcome = await runUntilKilled(child, killAfter, fail);
    if (!outcome.ready) killedDuringOpen++;
    acknowledged += outcome.acked.length;
    const checked = await checkFolder(folder, ledger, outcome, fail);
    last = checked;
    log(`cycle ${cycle}/${cycles}: ${outcome.acked.length} acks, kill ${'ms' in killAfter ? `at ${killAfter.ms} ms` : `after ${killAfter.acks} acks`}${outcome.ready ? '' : ' (during open)'}; ${checked.versions} versions, ${checked.jobs} jobs ok`);
  }
  next?.process.kill('SIGKILL');
  return { cycles, acknowledged, versions: last.versions, jobs: last.jobs, killedDuringOpen };
}

interface Child {
  readonly process: ChildProcess;
  /** Every line the child wrote, appended synchronously: the record once it is dead (stdout may lose its tail). */
  readonly lineLog: string;
  /** Lines received on stdout so far: for deciding when to kill. */
  readonly lines: ChildLine[];
  readonly stderr: string[];
  /** Resolves when the child is gone and its output fully read. */
  readonly closed: Promise<void>;
  onLine?: () => void;
}

function spawnChild(folder: string, seed: number, bigShare = 0.03): Child {
  const lineLog = `${folder}.lines-${seed}.log`;
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, folder, String(seed), String(bigShare), lineLog], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
  const state: Child = {
    process: child,
    lineLog,
    lines: [],
    stderr: [],
    closed: new Promise((resolve) => child.once('close', () => resolve())),
  };
  // readline yields only complete lines: a line cut by the kill never counts.
  createInterface({ input: child.stdout! }).on('line', (text) => {
    state.lines.push(JSON.parse(text) as ChildLine);
    state.onLine?.();
  });
  child.stderr!.on('data', (data: Buffer) => state.stderr.push(data.toString()));
  child.stdin!.on('error', () => undefined); // the child may be dead before it reads `go`
  return state;
}

interface CycleOutcome {
  readonly ready: boolean;
  readonly acked: Acked[];
  /** Per worker: the operation begun but not acknowledged when the kill came. */
  readonly inFlight: (OwnedOp | SharedOp | JobOp | PairOp)[];
}

async function runUntilKilled(child: Child, killAfter: { ms: number } | { acks: number }, fail: (message: string) => never): Promise<CycleOutcome> {
  let acks = 0;
  let killed = false;
  const kill = (): void => {
    if (killed) return;
    killed = true;
    child.process.kill('SIGKILL');
  };
  const deadline = setTimeout(kill, CHILD_STALL_MS); // a child that stalls is killed; the checks below report it
  const onLine = (): void => {
    const line = child.lines.at(-1)!;
    if (line.t === 'ack' && 'acks' in killAfter && ++acks >= killAfter.acks) {
      // A random sliver later, so the kill lands anywhere in the commit pipeline.
      const delay = Math.random() < 0.5 ? 0 : Math.floor(Math.random() * 4);
      setTimeout(kill, delay);
    }
    if (line.t === 'error') kill();
  };
  child.onLine = onLine;
  for (let i = 0; i < child.lines.length; i++) if (child.lines[i]!.t === 'error') kill();
  child.process.stdin!.write('go\n');
  if ('ms' in killAfter) setTimeout(kill, killAfter.ms);
  await child.closed;
  clearTimeout(deadline);
  const error = child.lines.find((l) => l.t === 'error');
  if (error && error.t === 'error') fail(`the child failed: ${error.message}`);
  if (!killed) fail(`the child exited by itself (code ${child.process.exitCode}): ${child.stderr.join('')}`);
  const lines = await readLineLog(child.lineLog);
  const begun = new Map<string, { seq: number; op: OwnedOp | SharedOp | JobOp | PairOp }>();
  const acked: Acked[] = [];
  for (const line of lines) {
    if (line.t === 'begin') begun.set(line.w, { seq: line.seq, op: line.op });
    if (line.t === 'ack') {
      const started = begun.get(line.w);
      if (started?.seq !== line.seq) fail(`ack ${line.seq} of ${line.w} without its begin line`);
      begun.delete(line.w);
      acked.push({ op: started.op, version: line.version, jobId: line.jobId });
    }
  }
  if ('acks' in killAfter && acks < killAfter.acks && child.lines.some((l) => l.t === 'ready')) {
    fail(`the child stalled: ${acks} of ${killAfter.acks} acknowledgements in 30 s; stderr: ${child.stderr.join('')}`);
  }
  return { ready: lines.some((l) => l.t === 'ready'), acked, inFlight: [...begun.values()].map((b) => b.op) };
}

/** The child's line log; a last line cut by the kill is not a line. */
async function readLineLog(path: string): Promise<ChildLine[]> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? '' : Promise.reject(error)));
  await rm(path, { force: true });
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete.split('\n').filter((line) => line.length > 0).map((line) => JSON.parse(line) as ChildLine);
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** The owned-model state as the registry holds it, in the shape of {@link ModelState}. */
function stateOf(active: number | null, retired: boolean, versions: readonly ModelVersion[]): ModelState {
  return { active, retired, versions: versions.map((v) => ({ archived: v.archived, retired: v.retired, stage: v.stage })) };
}

/** An expected state as listVersions reports it: a retired model's versions all read as retired. */
function asListed(state: ModelState): ModelState {
  return state.retired ? { ...state, versions: state.versions.map((v) => ({ ...v, retired: true })) } : state;
}

async function checkFolder(folder: string, ledger: Ledger, outcome: CycleOutcome, fail: (message: string) => never): Promise<{ versions: number; jobs: number }> {
  // Replay this cycle's acknowledgements on the expected states.
  for (const { op, version, jobId } of outcome.acked) {
    if (op.op === 'job') {
      if (!jobId) fail(`job ack without an id`);
      ledger.jobs.set(jobId, { model: op.model, sha: sha256(weightBytes(op.seed, op.size)) });
      continue;
    }
    if (op.op === 'pairTx') {
      for (const model of PAIR_MODELS) {
        const id = versionId(model, version!);
        if (ledger.versions.has(id)) fail(`two acknowledged transactions got ${id}`);
        ledger.versions.set(id, sha256(weightBytes(op.seed, op.size)));
      }
      continue;
    }
    if (op.op === 'sharedCreate') {
      const id = versionId(op.model, version!);
      if (ledger.versions.has(id)) fail(`two acknowledged registrations got ${id}`);
      ledger.versions.set(id, sha256(weightBytes(op.seed, op.size)));
      continue;
    }
    const before = ledger.owned.get(op.model) ?? EMPTY_MODEL;
    if (op.op === 'create') {
      if (version !== before.versions.length + 1) fail(`${op.model}: registration acknowledged as version ${version}, expected ${before.versions.length + 1}`);
      ledger.versions.set(versionId(op.model, version), sha256(weightBytes(op.seed, op.size)));
    }
    ledger.owned.set(op.model, applyOp(before, op));
  }

  let db: Database;
  const backgroundErrors: unknown[] = [];
  try {
    db = await open({ path: folder, trainers: { crash: crashTrainer }, onError: (error) => backgroundErrors.push(error) });
  } catch (error) {
    return fail(`open failed after the kill: ${String((error as Error)?.stack ?? error)}`);
  }
  try {
    // Jobs left queued or running by the kill are requeued and must complete.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const jobs = await db.jobs.list();
      if (!jobs.some((j) => j.status === 'queued' || j.status === 'running')) break;
      if (backgroundErrors.length > 0) fail(`job worker failed after reopen: ${String(backgroundErrors[0])}`);
      if (Date.now() > deadline) fail(`jobs did not complete within 30 s after reopen: ${JSON.stringify(jobs.map((j) => [j.id, j.status]))}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    if (backgroundErrors.length > 0) fail(`background error after reopen: ${String(backgroundErrors[0])}`);
    // Every record, index and blob cross-checks (counts, index entries, hashes, no orphans).
    const problems = (await db.query('CHECK REGISTRY')).rows;
    if (problems.length > 0) fail(`CHECK REGISTRY after the kill: ${JSON.stringify(problems.slice(0, 5))}${problems.length > 5 ? ` and ${problems.length - 5} more` : ''}`);

    const summaries = await db.registry.summaries({ includeRetired: true });
    const listed = new Map<string, ModelVersion[]>();
    let versionCount = 0;
    for (const summary of summaries) {
      const versions = await db.registry.listVersions(summary.name);
      listed.set(summary.name, versions);
      versionCount += versions.length;
      const where = `model ${summary.name}`;
      if (!sameJson(versions.map((v) => v.version), Array.from({ length: summary.latestVersion }, (_, i) => i + 1))) {
        fail(`${where}: versions ${JSON.stringify(versions.map((v) => v.version))} are not 1..${summary.latestVersion}`);
      }
      if (summary.totalVersions !== versions.length) fail(`${where}: head counts ${summary.totalVersions} versions, ${versions.length} exist`);
      const archived = versions.filter((v) => v.archived).length;
      if (summary.archivedVersions !== archived) fail(`${where}: head counts ${summary.archivedVersions} archived, ${archived} are`);
      if (summary.activeVersion !== null) {
        const active = versions[summary.activeVersion - 1];
        if (!active || active.archived || (active.retired && !summary.retired)) fail(`${where}: active version ${summary.activeVersion} is ${active ? 'archived or retired' : 'missing'}`);
      }
      if (versions.filter((v) => v.active).length > 1) fail(`${where}: more than one version is active`);
      const production = versions.filter((v) => v.stage === 'production' && !(v.retired && !summary.retired)).at(-1)?.version ?? null;
      if (summary.productionVersion !== production) fail(`${where}: head says production version ${summary.productionVersion}, versions say ${production}`);
      // Weights not verified before (new since the last check) are read and hash-checked.
      const from = ledger.verifiedUpTo.get(summary.name) ?? 0;
      for (const version of versions.slice(from)) {
        if (version.sha256 !== null) {
          const bytes = await db.registry.readWeights(summary.name, version.version);
          if (sha256(bytes) !== version.sha256) fail(`${where} v${version.version}: weights do not hash to the stored SHA-256`);
        }
      }
      ledger.verifiedUpTo.set(summary.name, versions.length);
    }

    // Every acknowledged registration is there with the bytes written.
    for (const [id, sha] of ledger.versions) {
      const [model, number] = id.split('@') as [string, string];
      const version = listed.get(model)?.[Number(number) - 1];
      if (!version) fail(`acknowledged ${id} is missing`);
      if (version.sha256 !== sha) fail(`acknowledged ${id} has SHA-256 ${version.sha256}, ${sha} was written`);
    }

    // Owned models: exactly the acknowledged history, with or without the operation in flight.
    const inFlight = new Map(outcome.inFlight.filter((op): op is OwnedOp => op.op !== 'sharedCreate' && op.op !== 'job' && op.op !== 'pairTx').map((op) => [op.model, op]));
    for (const model of new Set([...ledger.owned.keys(), ...inFlight.keys()])) {
      const summary = summaries.find((s) => s.name === model);
      const actual = summary ? stateOf(summary.activeVersion, summary.retired, listed.get(model)!) : EMPTY_MODEL;
      const expected = ledger.owned.get(model) ?? EMPTY_MODEL;
      const pending = inFlight.get(model);
      const withPending = pending ? applyOp(expected, pending) : null;
      if (sameJson(actual, asListed(expected))) {
        ledger.owned.set(model, expected);
      } else if (withPending && sameJson(actual, asListed(withPending))) {
        ledger.owned.set(model, withPending); // the operation in flight committed before the kill
      } else {
        fail(
          `${model} is not what its acknowledged operations made of it${pending ? ` (in flight: ${JSON.stringify(pending)})` : ''}:\n` +
            `  actual   ${JSON.stringify(actual)}\n  expected ${JSON.stringify(asListed(expected))}` +
            (withPending ? `\n  or       ${JSON.stringify(asListed(withPending))}` : ''),
        );
      }
    }

    // Jobs: every acknowledged one completed with its own version and weights.
    const jobs = await db.jobs.list();
    const taken = new Set<string>();
    for (const job of jobs) {
      if (job.status !== 'completed') fail(`job ${job.id} ended ${job.status}: ${job.error}`);
      if (job.version === null) fail(`completed job ${job.id} has no version`);
      const id = versionId(job.target, job.version);
      if (taken.has(id)) fail(`two jobs claim ${id}`);
      taken.add(id);
      const version = listed.get(job.target)?.[job.version - 1];
      if (!version) fail(`completed job ${job.id} names ${id}, which does not exist`);
      if (version.jobId !== job.id) fail(`${id} records job ${version.jobId}, but job ${job.id} claims it`);
    }
    for (const [id, { model, sha }] of ledger.jobs) {
      const job = jobs.find((j) => j.id === id);
      if (!job) fail(`acknowledged job ${id} is missing`);
      const version = listed.get(model)![job.version! - 1]!;
      if (version.sha256 !== sha) fail(`job ${id}'s version ${model}@${version.version} has SHA-256 ${version.sha256}, its trainer produced ${sha}`);
    }
    for (const model of JOB_MODELS) {
      const versions = listed.get(model) ?? [];
      if (versions.some((v) => v.jobId === null)) fail(`${model} has a version no job produced`);
    }
    if ((listed.get(SHARED_MODEL) ?? []).some((v) => v.sha256 === null)) fail(`${SHARED_MODEL} has a version without weights`);

    // Transactions: both pair models got all of each one or none of it.
    const [first, second] = PAIR_MODELS.map((model) => listed.get(model) ?? []);
    const shape = (versions: readonly ModelVersion[]) => versions.map((v) => ({ version: v.version, sha256: v.sha256, aliases: v.aliases }));
    if (!sameJson(shape(first!), shape(second!))) fail(`a transaction was cut in half: ${PAIR_MODELS[0]} ${JSON.stringify(shape(first!))}, ${PAIR_MODELS[1]} ${JSON.stringify(shape(second!))}`);
    if (first!.length > 0 && !sameJson(first!.at(-1)!.aliases, ['last'])) fail(`alias 'last' of ${PAIR_MODELS[0]} is not on its newest version`);
    return { versions: versionCount, jobs: jobs.length };
  } finally {
    await db.close();
  }
}
