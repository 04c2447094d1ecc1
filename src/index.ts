/**
 * modelsql: an embedded, versioned ML model registry driven with SQL and persisted
 * in LevelDB.
 *
 * ```ts
 * import { open } from 'modelsql';
 * const db = await open({ path: './registry' });
 * await db.query("CREATE MODEL spam WITH (weights = $1, metrics = '{\"f1\":0.93}')", [weights]);
 * const { rows } = await db.query('SELECT * FROM ML_MODELS_DASHBOARD');
 * await db.close();
 * ```
 * @packageDocumentation
 */

export { open, Database } from './database.js';
export type { OpenOptions, CloseOptions, RegistryApi, JobsApi } from './database.js';
export type { QueryResult } from './exec/executor.js';
export type { Row, ColumnType } from './exec/virtual-table.js';
export { ModelSqlError, isModelSqlError } from './errors.js';
export type { ErrorCode, ErrorDetails } from './errors.js';
export type { RegisterVersionInput, RegisteredVersion, ModelVersion, ModelSummary, ModelAlias, SchemaInput, SchemaLookup, Stage, VersionRef } from './store/types.js';
export type { AliasOutcome, ArchiveOutcome, CopiedVersion, CopyOptions, CopySource, HistoryOptions, ListOptions, RollbackOutcome, StageMove, TagOutcome, WatchOptions } from './store/registry.js';
export type { ModelEvent } from './store/events.js';
export { EVENT_KINDS, type EventKind } from './store/records.js';
export { TASKS, type Task } from './store/catalog.js';
export { FIELD_KINDS, type FieldKind } from './store/fingerprint.js';
export type { Trainer, TrainerContext, TrainerResult, Job } from './store/jobs.js';
export { parseScript, parseStatement } from './parser/parse.js';
export { printStatement } from './parser/print.js';
export type * from './parser/ast.js';
