import fc from 'fast-check';
import { expect, it } from 'vitest';
import { fuzzProperty } from './fuzz.js';

// A fresh seed each run, printed; reproduce with `npm run fuzz -- --runs 300 --seed N`.
const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

it(`fuzzed statements and parameters only ever fail with ModelSqlError, within budget (seed ${seed})`, async () => {
  console.log(`fuzz seed=${seed}`);
  await fc.assert(fuzzProperty(), { numRuns: 300, seed, endOnFailure: true });
  expect(true).toBe(true);
}, 120_000);
