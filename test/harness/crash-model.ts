/**
 * What the crash test's child and parent share: the model of one model's state, the
 * operations the child runs, their SQL, how each changes the state, the deterministic
 * weights and the trainer. The parent replays the child's acknowledged operations on
 * this model and compares the result with what the reopened registry holds.
 */
import { createHash } from 'node:crypto';
import type { Stage, Trainer } from '../../src/index.js';

/** A small seeded PRNG (mulberry32): the same seed gives the same decisions. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
export const between = (random: () => number, min: number, max: number): number => min + Math.floor(random() * (max - min + 1));

/** Deterministic weights: `size` bytes repeating the SHA-256 of the seed (cheap even for megabytes). */
export function weightBytes(seed: number, size: number): Buffer {
  const out = Buffer.alloc(size);
  if (size > 0) out.fill(createHash('sha256').update(`weights:${seed}`).digest());
  return out;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The trainer of the crash test's async jobs: its weights follow from its hyperparams. */
export const crashTrainer: Trainer = async ({ hyperparams, reportProgress }) => {
  const { seed, size } = hyperparams as { seed: number; size: number };
  await new Promise((resolve) => setTimeout(resolve, seed % 7));
  reportProgress(50);
  return { weights: weightBytes(seed, size), metrics: { seed } };
};

export interface VersionState {
  readonly archived: boolean;
  readonly retired: boolean;
  readonly stage: Stage;
}

/** One model as the test expects it; `versions[i]` is version i + 1. */
export interface ModelState {
  readonly active: number | null;
  readonly retired: boolean;
  readonly versions: readonly VersionState[];
}

export const EMPTY_MODEL: ModelState = { active: null, retired: false, versions: [] };

/** Operations on a model one child worker owns (nobody else writes it). */
export type OwnedOp =
  | { readonly op: 'create'; readonly model: string; readonly seed: number; readonly size: number; readonly active: boolean; readonly via: 'param' | 'file' }
  | { readonly op: 'use' | 'archive' | 'unarchive' | 'retireVersion'; readonly model: string; readonly version: number }
  | { readonly op: 'promote' | 'demote'; readonly model: string; readonly version: number; readonly to: Stage }
  | { readonly op: 'retireModel' | 'archiveModel'; readonly model: string };

/** The state after `op` succeeded, as the registry's documented semantics say. */
export function applyOp(state: ModelState, op: OwnedOp): ModelState {
  const versions = [...state.versions];
  const set = (version: number, change: Partial<VersionState>): void => {
    versions[version - 1] = { ...versions[version - 1]!, ...change };
  };
  switch (op.op) {
    case 'create':
      versions.push({ archived: false, retired: false, stage: 'dev' });
      return { ...state, versions, active: op.active ? versions.length : state.active };
    case 'use':
      return { ...state, active: op.version };
    case 'archive':
      set(op.version, { archived: true });
      return { ...state, versions, active: state.active === op.version ? null : state.active };
    case 'unarchive':
      set(op.version, { archived: false });
      return { ...state, versions };
    case 'retireVersion':
      set(op.version, { retired: true });
      return { ...state, versions, active: state.active === op.version ? null : state.active };
    case 'promote':
    case 'demote':
      set(op.version, { stage: op.to });
      return { ...state, versions };
    case 'retireModel':
      return { ...state, retired: true };
    case 'archiveModel':
      return { ...state, versions: versions.map((v) => ({ ...v, archived: true })), active: null };
  }
}

const UP: Partial<Record<Stage, Stage>> = { dev: 'staging', staging: 'production' };
const DOWN: Partial<Record<Stage, Stage>> = { production: 'staging', staging: 'dev' };

/** Sizes: mostly small, some tens of kilobytes, a few of several megabytes. */
export function weightSize(random: () => number, bigShare: number): number {
  const r = random();
  if (r < bigShare) return between(random, 1_000_000, 3_500_000);
  if (r < bigShare + 0.1) return between(random, 10_000, 200_000);
  return between(random, 1, 4_000);
}

/** A valid next operation on a live (not retired) model, chosen at random. */
export function chooseOp(random: () => number, model: string, state: ModelState, bigShare: number): OwnedOp {
  const numbered = state.versions.map((v, i) => ({ ...v, version: i + 1 }));
  const usable = numbered.filter((v) => !v.archived && !v.retired);
  const create = (): OwnedOp => {
    const size = weightSize(random, bigShare);
    return { op: 'create', model, seed: between(random, 1, 2 ** 31), size, active: random() < 0.7, via: size > 500_000 && random() < 0.5 ? 'file' : 'param' };
  };
  const r = random();
  if (state.versions.length === 0 || r < 0.3) return create();
  if (r < 0.45 && usable.length > 0) return { op: 'use', model, version: pick(random, usable).version };
  if (r < 0.55) return { op: 'archive', model, version: pick(random, numbered).version };
  const archived = numbered.filter((v) => v.archived);
  if (r < 0.63 && archived.length > 0) return { op: 'unarchive', model, version: pick(random, archived).version };
  const promotable = usable.filter((v) => UP[v.stage] !== undefined);
  if (r < 0.75 && promotable.length > 0) {
    const v = pick(random, promotable);
    return { op: 'promote', model, version: v.version, to: UP[v.stage]! };
  }
  const demotable = numbered.filter((v) => DOWN[v.stage] !== undefined);
  if (r < 0.83 && demotable.length > 0) {
    const v = pick(random, demotable);
    return { op: 'demote', model, version: v.version, to: DOWN[v.stage]! };
  }
  if (r < 0.93) return { op: 'retireVersion', model, version: pick(random, numbered).version };
  if (r < 0.96) return { op: 'archiveModel', model };
  if (r < 0.98) return { op: 'retireModel', model };
  return create();
}

/** The SQL of an operation (FILE weights are read from `filePath`). */
export function opSql(op: OwnedOp, filePath?: string): { sql: string; params: unknown[] } {
  const m = `"${op.model}"`;
  switch (op.op) {
    case 'create': {
      const active = op.active ? 'TRUE' : 'FALSE';
      return op.via === 'file'
        ? { sql: `CREATE MODEL ${m} WITH (weights = FILE $1, active = ${active}, metrics = $2)`, params: [filePath, { seed: op.seed }] }
        : { sql: `CREATE MODEL ${m} WITH (weights = $1, active = ${active}, metrics = $2)`, params: [weightBytes(op.seed, op.size), { seed: op.seed }] };
    }
    case 'use':
      return { sql: `ALTER MODEL ${m} USE VERSION ${op.version}`, params: [] };
    case 'archive':
      return { sql: `ARCHIVE MODEL ${m} VERSION ${op.version}`, params: [] };
    case 'unarchive':
      return { sql: `UNARCHIVE MODEL ${m} VERSION ${op.version}`, params: [] };
    case 'retireVersion':
      return { sql: `RETIRE MODEL ${m} VERSION ${op.version}`, params: [] };
    case 'promote':
      return { sql: `ALTER MODEL ${m} VERSION ${op.version} PROMOTE TO ${op.to.toUpperCase()}`, params: [] };
    case 'demote':
      return { sql: `ALTER MODEL ${m} VERSION ${op.version} DEMOTE TO ${op.to.toUpperCase()}`, params: [] };
    case 'retireModel':
      return { sql: `RETIRE MODEL ${m}`, params: [] };
    case 'archiveModel':
      return { sql: `ARCHIVE MODEL ${m}`, params: [] };
  }
}

/** Lines the child prints, one JSON object each; a line counts once its newline arrived. */
export type ChildLine =
  | { readonly t: 'ready' }
  /** Worker `w` starts operation `seq`. */
  | { readonly t: 'begin'; readonly w: string; readonly seq: number; readonly op: OwnedOp | SharedOp | JobOp | PairOp }
  /** Operation `seq` of worker `w` was acknowledged (its promise resolved); `version`: what a create returned. */
  | { readonly t: 'ack'; readonly w: string; readonly seq: number; readonly version?: number; readonly jobId?: string; readonly previous?: number | null }
  /** Something the child did not expect: the test fails. */
  | { readonly t: 'error'; readonly message: string };

/** A registration on the model every shared worker writes at once. */
export interface SharedOp {
  readonly op: 'sharedCreate';
  readonly model: string;
  readonly seed: number;
  readonly size: number;
}

/** Queueing an async train job. */
export interface JobOp {
  readonly op: 'job';
  readonly model: string;
  readonly seed: number;
  readonly size: number;
}

/**
 * One transaction over the two pair models: a version of each with the same weights,
 * and alias `last` on both moved to it. All or nothing, so after any kill the two
 * models have the same versions; `model` is the first one (for the line log).
 */
export interface PairOp {
  readonly op: 'pairTx';
  readonly model: string;
  readonly seed: number;
  readonly size: number;
}

/** The models the transaction worker changes together. */
export const PAIR_MODELS = ['pair_a', 'pair_b'] as const;

/** Owned models are `own_<worker>_<generation>`; a retired one is followed by the next generation. */
export const ownedName = (worker: number, generation: number): string => `own_${worker}_${generation}`;
export const OWNED_WORKERS = 3;
export const SHARED_WORKERS = 2;
export const SHARED_MODEL = 'shared';
export const JOB_MODELS = ['job_a', 'job_b'] as const;
