/**
 * Weight storage figure: N versions registered with the same 1 MiB of weights take
 * about 1 MiB of weight storage on disk, since weights are stored once per content.
 * Measured after the store is closed, by compacting the `weights` namespace and asking
 * LevelDB for the on-disk size of its key range (the rest of the folder, records and
 * indexes, is reported apart).
 */

import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { open } from '../dist/index.js';

const MIB = 1 << 20;

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size;
  return total;
}

/** Registers `versions` versions (over 10 models) with the same 1 MiB of weights; reports MiB on disk. */
export async function sharedWeightsBench(versions: number): Promise<Record<string, number>> {
  const dir = await mkdtemp(join(tmpdir(), 'modelsql-bench-weights-'));
  try {
    const weights = randomBytes(MIB);
    const db = await open({ path: dir });
    for (let i = 0; i < versions; i++) await db.query(`CREATE MODEL shared${i % 10} WITH (weights = $1)`, [weights]);
    await db.close();
    const raw = new ClassicLevel<string, string>(dir);
    await raw.open();
    // Sublevel keys are prefixed `!weights!`; '"' follows '!' and bounds the namespace.
    await raw.compactRange('!weights!', '!weights"');
    const weightBytes = await raw.approximateSize('!weights!', '!weights"');
    await raw.compactRange('!', '~');
    await raw.close();
    const mib = (bytes: number): number => Number((bytes / MIB).toFixed(3));
    return {
      shared_weights_versions: versions,
      shared_weights_logical_mib: versions,
      shared_weights_storage_mib_on_disk: mib(weightBytes),
      shared_weights_folder_mib_on_disk: mib(await folderBytes(dir)),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
