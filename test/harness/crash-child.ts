/**
 * The crash test's child: `node --import tsx crash-child.ts <registry folder> <seed>`.
 * It loads, waits for `go` on stdin (so its start-up overlaps the parent's checks),
 * opens the registry and writes at random, concurrently, until it is killed: owned
 * models (every statement kind, one worker each), a shared model (concurrent
 * registrations) and async train jobs. Before each operation it prints a `begin` line
 * and after its promise resolved an `ack` line, each appended synchronously to a line
 * log (the fourth argument) before anything else runs, and echoed on stdout for the
 * parent to count. The log is the record: Node buffers pipe writes in the process when
 * the reader is slow (megabytes of them on a loaded machine), and a SIGKILL loses what
 * is buffered, while a `writeSync` to a file is in the kernel when it returns.
 */
import { openSync, writeSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { open, type Database } from '../../src/index.js';
import {
  EMPTY_MODEL,
  JOB_MODELS,
  OWNED_WORKERS,
  PAIR_MODELS,
  SHARED_MODEL,
  SHARED_WORKERS,
  applyOp,
  between,
  chooseOp,
  crashTrainer,
  ownedName,
  opSql,
  pick,
  rng,
  weightBytes,
  weightSize,
  type ChildLine,
  type ModelState,
} from './crash-model.js';

const [folder, seedText, bigShareText, lineLog] = process.argv.slice(2);
const lineLogFd = openSync(lineLog!, 'a');
if (!folder || !seedText) throw new Error('usage: crash-child.ts <registry folder> <seed> [share of multi-MB weights]');
const random = rng(Number(seedText));
const bigShare = Number(bigShareText ?? '0.03');
let seq = 0;

function say(line: ChildLine): void {
  const text = `${JSON.stringify(line)}\n`;
  writeSync(lineLogFd, text);
  process.stdout.write(text);
}

function fail(error: unknown): never {
  say({ t: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
}

/** The current state of one model as the registry reports it. */
async function readModel(db: Database, name: string): Promise<ModelState> {
  const summaries = await db.registry.summaries({ includeRetired: true });
  const summary = summaries.find((s) => s.name === name);
  if (!summary) return EMPTY_MODEL;
  const versions = (await db.registry.listVersions(name)).map((v) => ({ archived: v.archived, retired: v.retired && !summary.retired, stage: v.stage }));
  return { active: summary.activeVersion, retired: summary.retired, versions };
}

/** One worker owning `own_<w>_<generation>`: every statement kind, sequentially, so its acks are in commit order. */
async function ownedWorker(db: Database, worker: number): Promise<never> {
  const names = (await db.registry.summaries({ includeRetired: true })).map((s) => s.name);
  let generation = 0;
  while (names.includes(ownedName(worker, generation + 1))) generation++;
  let state = await readModel(db, ownedName(worker, generation));
  const files = join(folder!, '..', 'files');
  for (;;) {
    if (state.retired) state = await readModel(db, ownedName(worker, ++generation));
    const op = chooseOp(random, ownedName(worker, generation), state, bigShare);
    const mySeq = ++seq;
    let filePath: string | undefined;
    if (op.op === 'create' && op.via === 'file') {
      filePath = join(files, `${op.seed}-${op.size}.bin`);
      await writeFile(filePath, weightBytes(op.seed, op.size));
    }
    const { sql, params } = opSql(op, filePath);
    say({ t: 'begin', w: `own${worker}`, seq: mySeq, op });
    const result = await db.query(sql, params as never);
    const row = result.rows[0] ?? {};
    say({ t: 'ack', w: `own${worker}`, seq: mySeq, version: typeof row.version === 'number' ? row.version : undefined });
    state = applyOp(state, op);
  }
}

/** Registrations on one model from several workers at once: numbering under contention. */
async function sharedWorker(db: Database, worker: number): Promise<never> {
  for (;;) {
    const op = { op: 'sharedCreate' as const, model: SHARED_MODEL, seed: between(random, 1, 2 ** 31), size: weightSize(random, bigShare / 2) };
    const mySeq = ++seq;
    say({ t: 'begin', w: `shared${worker}`, seq: mySeq, op });
    const { rows } = await db.query(`CREATE MODEL ${SHARED_MODEL} WITH (weights = $1, active = $2)`, [weightBytes(op.seed, op.size), random() < 0.5]);
    say({ t: 'ack', w: `shared${worker}`, seq: mySeq, version: rows[0]!.version as number });
  }
}

/** Transactions that register a version on both pair models and alias both: all or nothing. */
async function pairWorker(db: Database): Promise<never> {
  for (;;) {
    const op = { op: 'pairTx' as const, model: PAIR_MODELS[0], seed: between(random, 1, 2 ** 31), size: weightSize(random, bigShare / 2) };
    const mySeq = ++seq;
    say({ t: 'begin', w: 'pairs', seq: mySeq, op });
    const bytes = weightBytes(op.seed, op.size);
    // Half through SQL, half through the typed API: one transaction either way.
    const version = random() < 0.5
      ? await db.transaction(async (tx) => {
          let made = 0;
          for (const model of PAIR_MODELS) {
            const { rows } = await tx.query(`CREATE MODEL ${model} WITH (weights = $1)`, [bytes]);
            made = rows[0]!.version as number;
            await tx.query(`ALTER MODEL ${model} SET ALIAS last TO VERSION ${made}`);
          }
          return made;
        })
      : await db.transaction(async (tx) => {
          let made = 0;
          for (const model of PAIR_MODELS) {
            made = (await tx.registry.registerVersion(model, { weights: bytes })).version;
            await tx.registry.setAlias(model, 'last', made);
          }
          return made;
        });
    say({ t: 'ack', w: 'pairs', seq: mySeq, version });
  }
}

/** Queues async train jobs, a few outstanding at a time. */
async function jobWorker(db: Database): Promise<never> {
  for (;;) {
    const { rows } = await db.query("SELECT id FROM ML_JOBS WHERE status = 'queued' OR status = 'running'");
    if (rows.length >= 3) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      continue;
    }
    const op = { op: 'job' as const, model: pick(random, JOB_MODELS), seed: between(random, 1, 2 ** 31), size: random() < bigShare ? 1_200_000 : between(random, 1, 3_000) };
    const mySeq = ++seq;
    say({ t: 'begin', w: 'jobs', seq: mySeq, op });
    const { rows: [job] } = await db.query(`CREATE MODEL ${op.model} WITH (trainer = 'crash', async = TRUE, hyperparams = $1)`, [{ seed: op.seed, size: op.size }]);
    say({ t: 'ack', w: 'jobs', seq: mySeq, jobId: job!.job_id as string });
  }
}

async function main(): Promise<void> {
  // Start-up (loading modules) happens before `go`; the kill clock starts at `go`.
  for await (const line of createInterface({ input: process.stdin })) if (line === 'go') break;
  await mkdir(join(folder!, '..', 'files'), { recursive: true });
  const db = await open({ path: folder!, trainers: { crash: crashTrainer }, allowFileAccess: true, onError: fail });
  say({ t: 'ready' });
  const workers: Promise<never>[] = [];
  for (let w = 0; w < OWNED_WORKERS; w++) workers.push(ownedWorker(db, w));
  for (let w = 0; w < SHARED_WORKERS; w++) workers.push(sharedWorker(db, w));
  workers.push(jobWorker(db));
  workers.push(pairWorker(db));
  await Promise.all(workers);
}

// A parent that went away must not leave us writing forever.
setTimeout(() => process.exit(3), 120_000).unref();
process.on('unhandledRejection', fail);
main().catch(fail);
