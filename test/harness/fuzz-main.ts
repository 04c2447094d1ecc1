/**
 * `npm run fuzz -- [--runs N] [--seed N]`: a long fuzz run (default 20,000 cases).
 * Prints the seed first; a failure prints the shrunk case and the seed.
 */
import fc from 'fast-check';
import { parseArgs } from 'node:util';
import { fuzzProperty } from './fuzz.js';

const { values } = parseArgs({ options: { runs: { type: 'string' }, seed: { type: 'string' } } });
const runs = Number(values.runs ?? 20_000);
const seed = Number(values.seed ?? Math.floor(Math.random() * 2 ** 31));
console.log(`fuzz: ${runs} cases, seed=${seed}`);
process.on('unhandledRejection', (error) => {
  console.error(`unhandled rejection (seed=${seed}):`, error);
  process.exit(1);
});
const started = Date.now();
const result = await fc.check(fuzzProperty(), { numRuns: runs, seed });
if (result.failed) {
  // The shrunk case, shortened (a chain of 6,000 NOTs is not worth printing whole).
  const error = result.errorInstance as Error | undefined;
  console.error(`failed after ${result.numRuns} cases, shrunk ${result.numShrinks} times: ${error?.message ?? String(result.errorInstance)}`);
  console.error(`replay: npm run fuzz -- --runs ${runs} --seed ${seed} (fast-check path ${result.counterexamplePath})`);
  console.error(`FAILED (seed=${seed})`);
  process.exit(1);
}
console.log(`ok: ${result.numRuns} cases in ${((Date.now() - started) / 1000).toFixed(1)} s (seed=${seed})`);
