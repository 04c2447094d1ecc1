/**
 * `npm run crash-test -- [cycles] [--seed N] [--dir PATH] [--keep]`: the long crash test
 * (default 500 cycles). Prints the seed first; a failure names seed and cycle.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CrashTestFailure, runCrashTest } from './crash.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { seed: { type: 'string' }, dir: { type: 'string' }, keep: { type: 'boolean' }, 'big-share': { type: 'string' } },
});
const cycles = Number(positionals[0] ?? 500);
const seed = Number(values.seed ?? Math.floor(Math.random() * 2 ** 31));
if (!Number.isInteger(cycles) || cycles < 1 || !Number.isInteger(seed)) {
  console.error('usage: npm run crash-test -- [cycles] [--seed N] [--dir PATH] [--keep] [--big-share 0.03]');
  process.exit(2);
}
const dir = values.dir ?? (await mkdtemp(join(tmpdir(), 'modelsql-crash-')));
console.log(`crash test: ${cycles} cycles, seed=${seed}, folder ${dir}`);
const started = Date.now();
try {
  const summary = await runCrashTest({
    dir, cycles, seed, cyclesPerFolder: 100,
    bigShare: values['big-share'] === undefined ? undefined : Number(values['big-share']),
    log: (line) => console.log(line),
  });
  console.log(`ok: ${summary.cycles} cycles, ${summary.acknowledged} acknowledged operations, ${summary.killedDuringOpen} kills during open, ${((Date.now() - started) / 1000).toFixed(1)} s (seed=${seed})`);
  if (!values.keep && values.dir === undefined) await rm(dir, { recursive: true, force: true });
} catch (error) {
  console.error(error instanceof CrashTestFailure ? error.message : error);
  console.error(`FAILED (seed=${seed}); the folder is kept: ${dir}`);
  process.exit(1);
}
