/**
 * The storage format marker. A folder records the format it was last opened with;
 * older formats are read through record defaults (see records.ts) and then marked
 * current, and a folder from a newer modelsql is refused instead of misread.
 */

import { ModelSqlError } from '../errors.js';
import type { Level } from './level.js';
import { NS, STORE_FORMAT } from './records.js';

const FORMAT_KEY = 'format';

/** Checks (and, for an older or new folder, records) the storage format at open. */
export async function checkStoreFormat(level: Level): Promise<void> {
  if ((await readStoreFormat(level)) < STORE_FORMAT) await level.meta.put(FORMAT_KEY, String(STORE_FORMAT));
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
