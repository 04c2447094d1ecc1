import fc from 'fast-check';
import { expect, it } from 'vitest';
import { fuzzProperty } from './fuzz.js';

// A fixed seed, so the suite checks the same cases on every run (FUZZ_SEED overrides it);
// `npm run fuzz` picks a fresh seed and prints it for new ground.
const seed = Number(process.env.FUZZ_SEED ?? 1_337_421);

it(`fuzzed statements and parameters only ever fail with ModelSqlError, within budget (seed ${seed})`, async () => {
  console.log(`fuzz seed=${seed}`);
  await fc.assert(fuzzProperty(), { numRuns: 300, seed, endOnFailure: true });
  expect(true).toBe(true);
}, 120_000);
