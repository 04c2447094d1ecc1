/**
 * Stable error codes. Apps switch on `error.code`; the message is for people and may
 * be reworded, the code never is.
 */
export type ErrorCode =
  | 'SYNTAX_ERROR'
  | 'UNKNOWN_MODEL'
  | 'UNKNOWN_VERSION'
  | 'UNKNOWN_ALIAS'
  | 'NO_MATCHING_VERSION'
  | 'VERSION_ARCHIVED'
  | 'INVALID_TRANSITION'
  | 'MODEL_RETIRED'
  | 'VERSION_RETIRED'
  | 'PERMISSION_DENIED'
  | 'INVALID_ARGUMENT'
  | 'UNKNOWN_TABLE'
  | 'UNKNOWN_COLUMN'
  | 'UNKNOWN_FUNCTION'
  | 'UNKNOWN_JOB'
  | 'INVALID_TRANSACTION_STATE'
  | 'NOT_ALLOWED_IN_TRANSACTION'
  | 'DEADLOCK_DETECTED'
  | 'LOCK_TIMEOUT'
  | 'TRANSACTION_ABORTED'
  | 'JOB_FAILED'
  | 'FILE_ACCESS_DENIED'
  | 'DATABASE_LOCKED'
  | 'UNSUPPORTED_FORMAT'
  | 'CORRUPTION'
  | 'IO_ERROR'
  | 'INTERNAL'
  | 'CLOSED';

/** Extra facts an error carries beside its message, depending on its code. */
export interface ErrorDetails {
  /** SYNTAX_ERROR: 1-based line of the offending token. */
  readonly line?: number;
  /** SYNTAX_ERROR: 1-based column of the offending token. */
  readonly column?: number;
  /** SYNTAX_ERROR: what the parser would have accepted at that point, e.g. `['VERSION']`. */
  readonly expected?: readonly string[];
  /** SYNTAX_ERROR: the text found instead (empty at end of input). */
  readonly found?: string;
  /** Model the error is about. */
  readonly model?: string;
  /** Version the error is about. */
  readonly version?: number;
  /** UNKNOWN_ALIAS: the alias that does not exist. */
  readonly alias?: string;
  /** Job the error is about. */
  readonly jobId?: string;
  /** INVALID_TRANSITION: the stage the version is at. */
  readonly from?: string;
  /** INVALID_TRANSITION: the stage that was asked for. */
  readonly to?: string;
  /** CORRUPTION: storage namespace (sublevel) of the bad record. */
  readonly namespace?: string;
  /** CORRUPTION: key of the bad record. */
  readonly key?: string;
  /** DATABASE_LOCKED: the registry folder; FILE_ACCESS_DENIED and file errors: the file. */
  readonly path?: string;
}

/** The one error type modelsql throws. Every failure carries a stable {@link ErrorCode}. */
export class ModelSqlError extends Error implements ErrorDetails {
  readonly code: ErrorCode;
  readonly line?: number;
  readonly column?: number;
  readonly expected?: readonly string[];
  readonly found?: string;
  readonly model?: string;
  readonly version?: number;
  readonly jobId?: string;
  readonly from?: string;
  readonly to?: string;
  readonly namespace?: string;
  readonly key?: string;
  readonly path?: string;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelSqlError';
    this.code = code;
    Object.assign(this, details);
  }
}

/** True when `error` is a {@link ModelSqlError}, optionally with the given code. */
export function isModelSqlError(error: unknown, code?: ErrorCode): error is ModelSqlError {
  return error instanceof ModelSqlError && (code === undefined || error.code === code);
}

/** BEGIN inside a transaction, COMMIT or ROLLBACK outside one, a transaction handle used after it ended. */
export function invalidTransactionState(message: string): ModelSqlError {
  return new ModelSqlError('INVALID_TRANSACTION_STATE', message);
}

/** A statement or call that cannot be part of a transaction (train jobs, BACKUP, ...). */
export function notAllowedInTransaction(message: string, details: ErrorDetails = {}): ModelSqlError {
  return new ModelSqlError('NOT_ALLOWED_IN_TRANSACTION', message, details);
}

/** `unknown model 'spam'` */
export function unknownModel(model: string): ModelSqlError {
  return new ModelSqlError('UNKNOWN_MODEL', `unknown model '${model}'`, { model });
}

/** `unknown version 99 for model 'spam'` */
export function unknownVersion(model: string, version: number): ModelSqlError {
  return new ModelSqlError('UNKNOWN_VERSION', `unknown version ${version} for model '${model}'`, { model, version });
}

/** `model 'spam' has no alias 'champion'` */
export function unknownAlias(model: string, alias: string): ModelSqlError {
  return new ModelSqlError('UNKNOWN_ALIAS', `model '${model}' has no alias '${alias}'`, { model, alias });
}

/** `version 1 of model 'spam' is archived; unarchive before use` */
export function versionArchived(model: string, version: number): ModelSqlError {
  return new ModelSqlError(
    'VERSION_ARCHIVED',
    `version ${version} of model '${model}' is archived; unarchive before use`,
    { model, version },
  );
}

/** `model 'spam' version 1 cannot move from dev to production: ...` */
export function invalidTransition(model: string, version: number, from: string, to: string, why: string): ModelSqlError {
  return new ModelSqlError(
    'INVALID_TRANSITION',
    `invalid transition for model '${model}' version ${version} from ${from} to ${to}: ${why}`,
    { model, version, from, to },
  );
}

/** `model 'spam' is retired` (or one of its versions). */
export function retired(model: string, version?: number): ModelSqlError {
  return version === undefined
    ? new ModelSqlError('MODEL_RETIRED', `model '${model}' is retired`, { model })
    : new ModelSqlError('VERSION_RETIRED', `version ${version} of model '${model}' is retired`, { model, version });
}

/** A tenant session asked to change a model it does not own (a global one). */
export function permissionDenied(message: string, details: ErrorDetails = {}): ModelSqlError {
  return new ModelSqlError('PERMISSION_DENIED', message, details);
}

/** A bad argument: wrong type, out of range, unknown option. */
export function invalidArgument(message: string, details: ErrorDetails = {}): ModelSqlError {
  return new ModelSqlError('INVALID_ARGUMENT', message, details);
}

/** A stored record that cannot be decoded. Never skipped silently. */
export function corruption(namespace: string, key: string, problem: string, cause?: unknown): ModelSqlError {
  return new ModelSqlError(
    'CORRUPTION',
    `corrupt record in namespace '${namespace}' at key '${key}': ${problem}`,
    { namespace, key },
    { cause },
  );
}

/**
 * Short description of any value for an error message, e.g. `'abc'`, `42`, `10n`,
 * `an object`. Never throws: `String()` of a null-prototype object, and a template
 * literal of a symbol, would throw a TypeError while reporting the real problem.
 */
export function describeValue(value: unknown): string {
  try {
    if (value === null || value === undefined) return 'NULL';
    switch (typeof value) {
      case 'string': return `'${value.length > 40 ? value.slice(0, 40) + '…' : value}'`;
      case 'bigint': return `${value}n`;
      case 'number': case 'boolean': return String(value);
      case 'symbol': return `a symbol (${value.description ?? ''})`;
      case 'function': return 'a function';
    }
    if (value instanceof Uint8Array) return `a ${value.length}-byte blob`;
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid Date' : value.toISOString();
    return Array.isArray(value) ? 'an array' : 'an object';
  } catch {
    return 'a value'; // e.g. a revoked Proxy, which throws on any inspection
  }
}

/** Why a path cannot be used, by errno: the caller's path is wrong. Anything else is the disk failing. */
const PATH_PROBLEMS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'it is a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'it already exists',
  ENAMETOOLONG: 'the name is too long',
  EROFS: 'the file system is read-only',
  ERR_INVALID_ARG_VALUE: 'the path is not valid (does it contain a NUL byte?)',
  ERR_INVALID_ARG_TYPE: 'the path is not valid',
};

/** A filesystem failure on `path` as a ModelSqlError: INVALID_ARGUMENT for a bad path, IO_ERROR otherwise. */
export function fileError(action: string, path: string, error: unknown): ModelSqlError {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const problem = code === undefined ? undefined : PATH_PROBLEMS[code];
  const where = `cannot ${action} '${printablePath(path)}'`;
  if (problem !== undefined) return new ModelSqlError('INVALID_ARGUMENT', `${where}: ${problem}`, { path }, { cause: error });
  return new ModelSqlError('IO_ERROR', `${where}: ${(error as Error | null)?.message ?? describeValue(error)}`, { path }, { cause: error });
}

/** A path as a message shows it: a NUL byte (which no file system accepts) written as `\0`. */
export function printablePath(path: string): string {
  return path.replace(/\0/g, '\\0');
}
