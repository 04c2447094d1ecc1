/**
 * The level layer's failures as ModelSqlErrors. abstract-level and classic-level
 * report them as plain Errors with a `LEVEL_*` code, on the error itself or on its
 * `cause` (LevelDB's "Corruption: ..." under "Database failed to open"); callers are
 * promised nothing but ModelSqlErrors with stable codes.
 */

import { ModelSqlError, describeValue } from '../errors.js';

/** The `LEVEL_*` codes on an error and its causes, outermost first (abstract-level wraps LevelDB's in `cause`). */
function levelCodes(error: unknown): string[] {
  const codes: string[] = [];
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('LEVEL_')) codes.push(code);
  }
  return codes;
}

/** The innermost message of the cause chain: LevelDB's own words, e.g. `Corruption: bad block type`. */
export function levelMessage(error: unknown): string {
  let message = error instanceof Error ? error.message : describeValue(error);
  for (let e = (error as { cause?: unknown } | null)?.cause, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) message = e.message;
  return message;
}

const NOT_OPEN = new Set(['LEVEL_DATABASE_NOT_OPEN', 'LEVEL_ITERATOR_NOT_OPEN', 'LEVEL_BATCH_NOT_OPEN', 'LEVEL_SNAPSHOT_NOT_OPEN']);

/**
 * A failure of the level layer (an error carrying a `LEVEL_*` code, on it or on a
 * cause) as a typed ModelSqlError, keeping LevelDB's message and the original as
 * `cause`: LEVEL_CORRUPTION → CORRUPTION, LEVEL_IO_ERROR → IO_ERROR, LEVEL_LOCKED →
 * DATABASE_LOCKED, "not open" → CLOSED. Any other `LEVEL_*` code (an invalid key, a
 * busy iterator, an encoding failure) means modelsql misused its store: INTERNAL,
 * labelled as a bug. Errors without a `LEVEL_*` code are returned unchanged: they are
 * ModelSqlErrors already, an app's own exception from a callback it gave us, or a bug
 * in modelsql, and wrapping those would hide the bug's stack and type from whoever
 * (a test, the fuzzer) is looking for it.
 */
export function translateLevelError(error: unknown, path: string | null = null): unknown {
  if (error instanceof ModelSqlError) return error;
  const codes = levelCodes(error);
  if (codes.length === 0) return error;
  const message = levelMessage(error);
  const where = path === null ? '' : ` in '${path}'`;
  const details = path === null ? {} : { path };
  if (codes.includes('LEVEL_CORRUPTION')) {
    return new ModelSqlError('CORRUPTION', `LevelDB reports damaged storage${where}: ${message}`, details, { cause: error });
  }
  if (codes.includes('LEVEL_LOCKED')) {
    return new ModelSqlError(
      'DATABASE_LOCKED',
      `registry folder '${path}' is in use (another process or open handle holds its LevelDB lock); close it there first`,
      details,
      { cause: error },
    );
  }
  if (codes.includes('LEVEL_IO_ERROR')) return new ModelSqlError('IO_ERROR', `LevelDB I/O error${where}: ${message}`, details, { cause: error });
  if (NOT_OPEN.has(codes[0]!)) return new ModelSqlError('CLOSED', `the registry is closed (${message})`, details, { cause: error });
  return new ModelSqlError('INTERNAL', `internal error in modelsql's storage layer (a bug, please report it): ${codes[0]}: ${message}`, details, { cause: error });
}
