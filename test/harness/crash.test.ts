import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runCrashTest } from './crash.js';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 }))));

// A fresh seed each run (printed, so a failure reproduces with `npm run crash-test -- 20 --seed N`).
const seed = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

it(`20 SIGKILLs in the middle of concurrent writes lose nothing acknowledged (seed ${seed})`, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'modelsql-crash-'));
  dirs.push(dir);
  console.log(`crash test seed=${seed}`);
  const summary = await runCrashTest({ dir, cycles: 20, seed, maxAcks: 40 });
  expect(summary.cycles).toBe(20);
  // The test must have had something to lose.
  expect(summary.acknowledged).toBeGreaterThan(20);
  expect(summary.versions).toBeGreaterThan(10);
}, 180_000);
