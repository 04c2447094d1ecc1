/**
 * The virtual tables SELECT can read: rows are produced from the registry and the
 * job store on demand, using WHERE hints to avoid scanning what cannot match.
 */

import { isModelSqlError } from '../errors.js';
import type { Job, Jobs } from '../store/jobs.js';
import { isJobId } from '../store/keys.js';
import type { Registry } from '../store/registry.js';
import type { ModelSummary, ModelVersion } from '../store/types.js';
import { ALIAS_COLUMNS, aliasTable } from './alias-table.js';
import { EVENT_COLUMNS, eventTable } from './event-table.js';
import type { ColumnDef, Row, ScanHints, VirtualTable } from './virtual-table.js';

/** Table names, as `SELECT ... FROM` spells them. */
export const TABLE_NAMES = ['ML_MODELS_DASHBOARD', 'ML_MODEL_VERSIONS', 'ML_JOBS', 'ML_MODEL_EVENTS', 'ML_MODEL_ALIASES'] as const;

const DASHBOARD_COLUMNS: readonly ColumnDef[] = [
  { name: 'name', type: 'text' },
  { name: 'active_version', type: 'integer' },
  { name: 'total_versions', type: 'integer' },
  { name: 'archived_versions', type: 'integer' },
  { name: 'latest_version', type: 'integer' },
  { name: 'created_at', type: 'timestamp' },
  { name: 'updated_at', type: 'timestamp' },
  { name: 'production_version', type: 'integer' },
  { name: 'retired', type: 'boolean' },
  // name → version, names sorted
  { name: 'aliases', type: 'json' },
  { name: 'tags', type: 'json' },
  { name: 'tenant', type: 'text' },
];

const VERSION_COLUMNS: readonly ColumnDef[] = [
  { name: 'model', type: 'text' },
  { name: 'version', type: 'integer' },
  { name: 'active', type: 'boolean' },
  { name: 'archived', type: 'boolean' },
  { name: 'sha256', type: 'text' },
  { name: 'size_bytes', type: 'integer' },
  { name: 'artifact', type: 'text' },
  { name: 'hyperparams', type: 'json' },
  { name: 'metrics', type: 'json' },
  { name: 'training_sql', type: 'text' },
  { name: 'training_data_hash', type: 'text' },
  { name: 'parent_version', type: 'integer' },
  { name: 'created_at', type: 'timestamp' },
  { name: 'created_by', type: 'text' },
  { name: 'description', type: 'text' },
  { name: 'stage', type: 'text' },
  { name: 'promoted_at', type: 'timestamp' },
  { name: 'retired', type: 'boolean' },
  { name: 'model_type', type: 'text' },
  { name: 'task', type: 'text' },
  { name: 'backend', type: 'text' },
  { name: 'base_model', type: 'text' },
  { name: 'base_version', type: 'integer' },
  { name: 'base_tenant', type: 'text' },
  { name: 'config', type: 'json' },
  { name: 'schema_hash', type: 'text' },
  { name: 'schema', type: 'json' },
  // the names of the aliases pointing here, sorted
  { name: 'aliases', type: 'json' },
  { name: 'tags', type: 'json' },
  { name: 'tenant', type: 'text' },
  { name: 'copied_from_model', type: 'text' },
  { name: 'copied_from_version', type: 'integer' },
  { name: 'copied_from_tenant', type: 'text' },
];

const JOB_COLUMNS: readonly ColumnDef[] = [
  { name: 'id', type: 'text' },
  { name: 'kind', type: 'text' },
  { name: 'target', type: 'text' },
  { name: 'status', type: 'text' },
  { name: 'progress', type: 'integer' },
  { name: 'created_at', type: 'timestamp' },
  { name: 'started_at', type: 'timestamp' },
  { name: 'finished_at', type: 'timestamp' },
  { name: 'duration_ms', type: 'integer' },
  { name: 'error', type: 'text' },
  { name: 'spec', type: 'json' },
  { name: 'metrics', type: 'json' },
  { name: 'version', type: 'integer' },
  { name: 'tenant', type: 'text' },
];

/** Each table's columns in `SELECT *` order, for tools (REPL completion, `.tables`). */
export const TABLE_COLUMNS: ReadonlyMap<string, readonly ColumnDef[]> = new Map([
  ['ML_MODELS_DASHBOARD', DASHBOARD_COLUMNS],
  ['ML_MODEL_VERSIONS', VERSION_COLUMNS],
  ['ML_JOBS', JOB_COLUMNS],
  ['ML_MODEL_EVENTS', EVENT_COLUMNS],
  ['ML_MODEL_ALIASES', ALIAS_COLUMNS],
]);

function summaryRow(s: ModelSummary): Row {
  return {
    name: s.name,
    active_version: s.activeVersion,
    total_versions: s.totalVersions,
    archived_versions: s.archivedVersions,
    latest_version: s.latestVersion,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
    production_version: s.productionVersion,
    retired: s.retired,
    aliases: s.aliases,
    tags: s.tags,
    tenant: s.tenant,
  };
}

function versionRow(v: ModelVersion): Row {
  return {
    model: v.model,
    version: v.version,
    active: v.active,
    archived: v.archived,
    sha256: v.sha256,
    size_bytes: v.sizeBytes,
    artifact: v.artifact,
    hyperparams: v.hyperparams,
    metrics: v.metrics,
    training_sql: v.trainingSql,
    training_data_hash: v.trainingDataHash,
    parent_version: v.parentVersion,
    created_at: v.createdAt,
    created_by: v.createdBy,
    description: v.description,
    stage: v.stage,
    promoted_at: v.promotedAt,
    retired: v.retired,
    model_type: v.modelType,
    task: v.task,
    backend: v.backend,
    base_model: v.baseModel,
    base_version: v.baseVersion,
    base_tenant: v.baseTenant,
    config: v.config,
    schema_hash: v.schemaHash,
    schema: v.schema,
    aliases: v.aliases,
    tags: v.tags,
    tenant: v.tenant,
    copied_from_model: v.copiedFromModel,
    copied_from_version: v.copiedFromVersion,
    copied_from_tenant: v.copiedFromTenant,
  };
}

function jobRow(j: Job): Row {
  return {
    id: j.id,
    kind: j.kind,
    target: j.target,
    status: j.status,
    progress: j.progress,
    created_at: j.createdAt,
    started_at: j.startedAt,
    finished_at: j.finishedAt,
    duration_ms: j.durationMs,
    error: j.error,
    spec: j.spec,
    metrics: j.metrics,
    version: j.version,
    tenant: j.tenant,
  };
}

/** A point lookup of something that does not exist (or cannot: an invalid name) is an empty result, not an error. */
async function orEmpty<T>(lookup: () => Promise<T>): Promise<T | undefined> {
  try {
    return await lookup();
  } catch (error) {
    if (isModelSqlError(error, 'UNKNOWN_MODEL') || isModelSqlError(error, 'UNKNOWN_VERSION') || isModelSqlError(error, 'UNKNOWN_JOB') || isModelSqlError(error, 'INVALID_ARGUMENT')) {
      return undefined;
    }
    throw error;
  }
}

/**
 * Retired models and versions are left out of listings unless the query asks about
 * them by naming the `retired` column; a point lookup (one model's one version) always
 * resolves, as lineage needs.
 */
function includeRetired(hints: ScanHints): boolean {
  return hints.mentioned.has('retired');
}

/** Builds the virtual tables over one session's registry view and the job store. */
export function createTables(registry: Registry, jobs: Jobs, tenant: string | null): ReadonlyMap<string, VirtualTable> {
  const dashboard: VirtualTable = {
    name: 'ML_MODELS_DASHBOARD',
    columns: DASHBOARD_COLUMNS,
    async *scan(hints: ScanHints) {
      const name = hints.equals.get('name');
      if (typeof name === 'string') {
        const one = await orEmpty(() => registry.summary(name));
        if (one && (!one.retired || includeRetired(hints))) yield summaryRow(one);
        return;
      }
      for (const summary of await registry.summaries({ includeRetired: includeRetired(hints) })) yield summaryRow(summary);
    },
  };
  const versions: VirtualTable = {
    name: 'ML_MODEL_VERSIONS',
    columns: VERSION_COLUMNS,
    async *scan(hints: ScanHints) {
      const model = hints.equals.get('model');
      const version = hints.equals.get('version');
      const stage = hints.equals.get('stage');
      if (typeof model === 'string' && typeof version === 'number') {
        const one = await orEmpty(() => registry.getVersion(model, version));
        if (one) yield versionRow(one);
        return;
      }
      if (model !== undefined && typeof model !== 'string') return;
      if (typeof model === 'string' && (stage === 'staging' || stage === 'production') && !includeRetired(hints)) {
        // Stage index: "latest version at a stage" without reading the model's other versions.
        for await (const v of registry.versionsAtStage(model, stage)) yield versionRow(v);
        return;
      }
      for await (const v of registry.scanVersions(model, { includeRetired: includeRetired(hints) })) yield versionRow(v);
    },
  };
  const jobTable: VirtualTable = {
    name: 'ML_JOBS',
    columns: JOB_COLUMNS,
    async *scan(hints: ScanHints) {
      const id = hints.equals.get('id');
      if (id !== undefined) {
        const one = isJobId(id) ? await orEmpty(() => jobs.get(id, tenant)) : undefined;
        if (one) yield jobRow(one);
        return;
      }
      for (const job of await jobs.list(tenant)) yield jobRow(job);
    },
  };
  return new Map([dashboard, versions, jobTable, eventTable(registry), aliasTable(registry)].map((table) => [table.name, table]));
}
