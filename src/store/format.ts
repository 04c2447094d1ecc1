/**
 * The storage format marker. A folder records the format it was last opened with;
 * older formats are read through record defaults (see records.ts) and then marked
 * current, and a folder from a newer modelsql is refused instead of misread.
 */

import { ModelSqlError } from '../errors.js';
import type { Level } from './level.js';
import { weightRefKey } from './keys.js';
import { NS, STORE_FORMAT, decodeVersion } from './records.js';

const FORMAT_KEY = 'format';
/** Flush the reference index every this many entries while upgrading. */
const UPGRADE_BATCH = 1000;

/**
 * Checks (and, for an older or new folder, records) the storage format at open. A
 * folder before format 4 first gets its `weight_refs` index (one pass over the
 * versions, once; the format mark comes after it, so a crash midway redoes it).
 */
export async function checkStoreFormat(level: Level): Promise<void> {
  const format = await readStoreFormat(level);
  if (format >= STORE_FORMAT) return;
  if (format < 4) await indexWeightRefs(level);
  await level.meta.put(FORMAT_KEY, String(STORE_FORMAT));
}

/**
 * Writes the reference of every version that has a blob. Records that do not decode
 * are skipped: they are CHECK REGISTRY's to report, and must not make a folder unopenable.
 */
async function indexWeightRefs(level: Level): Promise<void> {
  let batch = level.weightRefs.batch();
  for await (const [vKey, raw] of level.versions.iterator()) {
    let blob: string | null;
    try {
      blob = decodeVersion(raw, vKey).blob;
    } catch {
      continue;
    }
    if (blob === null) continue;
    batch.put(weightRefKey(blob, vKey), '');
    if (batch.length >= UPGRADE_BATCH) {
      await batch.write();
      batch = level.weightRefs.batch();
    }
  }
  if (batch.length > 0) await batch.write();
  else await batch.close();
}

/** The folder's storage format, without changing anything; a newer format than this code reads is UNSUPPORTED_FORMAT. */
export async function readStoreFormat(level: Level): Promise<number> {
  const raw = await level.meta.get(FORMAT_KEY);
  const format = raw === undefined ? 1 : Number(raw);
  if (!Number.isInteger(format) || format < 1) {
    throw new ModelSqlError('CORRUPTION', `corrupt record in namespace '${NS.meta}' at key '${FORMAT_KEY}': not a format number`, { namespace: NS.meta, key: FORMAT_KEY });
  }
  if (format > STORE_FORMAT) {
    throw new ModelSqlError(
      'UNSUPPORTED_FORMAT',
      `this registry folder uses storage format ${format}, written by a newer modelsql; this version reads formats up to ${STORE_FORMAT}`,
      { path: level.path ?? undefined },
    );
  }
  return format;
}
