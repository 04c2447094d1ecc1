/**
 * `npm run fault-test -- [--disk]`: the fault-injection loop for every kind of store step
 * and both write modes, printing each N's outcome. `--disk` runs every kind on
 * classic-level (a fresh folder per N) instead of memory-level.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FaultHarnessFailure, faultLoop, referenceRun } from './fault.js';
import { FAULT_KINDS } from './faulty-level.js';

const { values } = parseArgs({ options: { disk: { type: 'boolean' } } });
const root = await mkdtemp(join(tmpdir(), 'modelsql-fault-'));
let folders = 0;
const location = async () => (values.disk ? { path: join(root, String(++folders)) } : { memory: true as const });
try {
  const reference = await referenceRun(await location());
  console.log(`workload steps per kind: ${JSON.stringify(reference.counts)}`);
  for (const kind of FAULT_KINDS) {
    for (const mode of kind === 'write' ? (['before', 'after'] as const) : (['before'] as const)) {
      const results = await faultLoop(location, kind, mode, reference.dumps, {
        onRun: (r) => {
          if (!r.fired) return;
          const outcome = r.absorbedAt !== undefined ? `absorbed during '${r.absorbedAt}', final state as the reference` : `${r.failedStep} -> ${r.side}`;
          console.log(`${kind} #${r.plan.nth} (${mode}): ${outcome}`);
        },
      });
      console.log(`${kind} (${mode}): ${results.filter((r) => r.fired).length} faults, all left the old or the new state (or were absorbed)`);
    }
  }
} catch (error) {
  console.error(error instanceof FaultHarnessFailure ? error.message : error);
  process.exitCode = 1;
} finally {
  await rm(root, { recursive: true, force: true });
}
