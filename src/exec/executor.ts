/**
 * Runs one parsed statement against the registry and job store. Each mutating
 * statement maps to exactly one registry/job operation, which commits as one unit.
 */

import { ModelSqlError, invalidArgument, notAllowedInTransaction } from '../errors.js';
import type { StatementNode } from '../parser/ast.js';
import type { Jobs } from '../store/jobs.js';
import type { Registry } from '../store/registry.js';
import { executeCopy } from './copy-version.js';
import { planCreateModel } from './create-model.js';
import { fileAccessDenied, fileChunks } from './files.js';
import { bindValue, bindVersionRef, describeValue, type Params } from './params.js';
import { bindSchema } from './schema.js';
import { runSelect } from './select.js';
import { TABLE_NAMES } from './tables.js';
import { useBestVersion } from './use-best-version.js';
import type { Row, VirtualTable } from './virtual-table.js';

/** What every statement resolves to. */
export interface QueryResult {
  /** The statement kind, e.g. `CREATE MODEL`, `SELECT`. */
  readonly command: string;
  /** Column names, in order. */
  readonly columns: readonly string[];
  /** Rows as plain objects keyed by column name. */
  readonly rows: readonly Row[];
  /** Number of rows. */
  readonly rowCount: number;
}

/** What the executor works against. */
export interface ExecutionContext {
  /** The registry as the session's tenant sees it. */
  readonly registry: Registry;
  readonly jobs: Jobs;
  /** The session's tenant (null: global); jobs are scoped by it. */
  readonly tenant: string | null;
  /** `SET TENANT` / `RESET TENANT`: switches the session (refused for pinned sessions). */
  readonly setTenant: (tenant: string | null) => void;
  readonly tables: ReadonlyMap<string, VirtualTable>;
  /** Whether `FILE 'path'` may read files (the CLI allows it; the library only when asked). */
  readonly allowFileAccess: boolean;
  /** Progress of an inline train job (the CLI draws a bar from it). */
  readonly onProgress?: (percent: number) => void;
  /** Whether the session has a transaction open (its statements join it). */
  readonly inTransaction: boolean;
  /** `BEGIN` / `COMMIT` / `ROLLBACK` on the session; resolves to the statement's rows. */
  readonly transaction: (action: 'BEGIN' | 'COMMIT' | 'ROLLBACK') => Promise<Row[]>;
}

/** NOT_ALLOWED_IN_TRANSACTION for `what`, which commits on its own (`why`). */
function refusedInTransaction(context: ExecutionContext, what: string, why: string): void {
  if (context.inTransaction) throw notAllowedInTransaction(`${what} cannot run inside a transaction: ${why}; run it after COMMIT or ROLLBACK`);
}

function result(command: string, rows: Row[]): QueryResult {
  return { command, columns: rows.length > 0 ? Object.keys(rows[0]!) : [], rows, rowCount: rows.length };
}

/** Executes one statement. */
export async function executeStatement(node: StatementNode, params: Params, context: ExecutionContext): Promise<QueryResult> {
  const { registry, jobs, tenant } = context;
  switch (node.kind) {
    case 'CreateModel': {
      // FROM VERSION @alias names the version the alias points at when the statement starts.
      const parentRef = node.fromVersion === null ? null : bindVersionRef(node.fromVersion, params, 'FROM VERSION');
      const plan = planCreateModel(node, params, typeof parentRef === 'string' ? await registry.resolveAlias(node.model, parentRef) : parentRef);
      if (plan.kind === 'register') {
        let weights;
        if (plan.weightsFile) {
          if (!context.allowFileAccess) throw fileAccessDenied(plan.weightsFile.path);
          weights = await registry.uploadWeights(fileChunks(plan.weightsFile.path, context.onProgress));
        }
        const created = await registry.registerVersion(node.model, plan.input, { weights });
        return result('CREATE MODEL', [{ model: created.model, version: created.version, active: created.active, sha256: created.sha256 }]);
      }
      refusedInTransaction(context, 'CREATE MODEL with a trainer', 'a train job and the version it registers commit on their own, not with the transaction');
      // Checked now so a bad lineage or schema fails the statement, not the job later.
      // The lineage is what the base was when the statement ran, not when the job finishes.
      const { base } = await registry.checkRegistration(node.model, plan.spec.registration);
      const spec = { ...plan.spec, base };
      if (plan.async) {
        const job = await jobs.enqueueTrain(node.model, spec, tenant);
        return result('CREATE MODEL', [{ model: node.model, job_id: job.id, status: job.status }]);
      }
      const { job, version } = await jobs.runInline(node.model, spec, tenant, context.onProgress);
      return result('CREATE MODEL', [{ model: version.model, version: version.version, active: version.active, sha256: version.sha256, job_id: job.id }]);
    }
    case 'CopyVersion':
      return result('CREATE MODEL', [await executeCopy(node, params, registry)]);
    case 'UseVersion': {
      const { previous, version } = await registry.setActiveVersion(node.model, bindVersionRef(node.version, params));
      return result('ALTER MODEL', [{ model: node.model, active_version: version, previous_version: previous }]);
    }
    case 'UsePreviousVersion': {
      const { previous, version } = await registry.usePreviousVersion(node.model);
      return result('ALTER MODEL', [{ model: node.model, active_version: version, previous_version: previous }]);
    }
    case 'SetAlias': {
      const { alias, previous, version } = await registry.setAlias(node.model, node.alias, bindVersionRef(node.version, params));
      return result('ALTER MODEL', [{ model: node.model, alias, version, previous_version: previous }]);
    }
    case 'DropAlias': {
      const { alias, version } = await registry.dropAlias(node.model, node.alias);
      return result('ALTER MODEL', [{ model: node.model, alias, version: null, previous_version: version }]);
    }
    case 'SetTag':
    case 'UnsetTag': {
      const version = node.version === null ? null : bindVersionRef(node.version, params);
      let value: string | null = null;
      if (node.kind === 'SetTag') {
        const bound = bindValue(node.value, params);
        if (typeof bound !== 'string') throw invalidArgument(`a tag value is a string, got ${describeValue(bound)}`);
        value = bound;
      }
      const { changed, previous } = await registry.changeTag(node.model, version, node.key, value);
      return result('ALTER MODEL', [{ model: node.model, tag: node.key, value, previous_value: previous, changed: changed ? 1 : 0 }]);
    }
    case 'UseBestVersion': {
      const moved = await useBestVersion(node, params, registry, context.tables.get('ML_MODEL_VERSIONS')!);
      return result('ALTER MODEL', [{ ...moved }]);
    }
    case 'ChangeStage': {
      const direction = node.direction === 'PROMOTE' ? 'promote' : 'demote';
      const moved = await registry.changeStage(node.model, bindVersionRef(node.version, params), direction, node.stage);
      return result('ALTER MODEL', [{ model: node.model, version: moved.version, from_stage: moved.from, stage: moved.to, promoted_at: moved.promotedAt }]);
    }
    case 'RetireModel': {
      const ref = node.version === null ? undefined : bindVersionRef(node.version, params);
      const { changed, active, version } = await registry.retire(node.model, ref);
      return result('RETIRE MODEL', [{ model: node.model, version, retired: changed ? 1 : 0, active_version: active }]);
    }
    case 'SetTenant': {
      refusedInTransaction(context, node.tenant === null ? 'RESET TENANT' : 'SET TENANT', 'a transaction acts as the tenant it began as');
      const value = node.tenant === null ? null : bindValue(node.tenant, params);
      if (node.tenant !== null && typeof value !== 'string') {
        throw invalidArgument(`SET TENANT takes a tenant name string (RESET TENANT goes back to global), got ${describeValue(value)}`);
      }
      context.setTenant(value as string | null);
      return result(node.tenant === null ? 'RESET TENANT' : 'SET TENANT', [{ tenant: value }]);
    }
    case 'LookupModel': {
      const found = await registry.lookupSchema(bindSchema(node.schema, params));
      return result('LOOKUP MODEL', [{ mode: found.mode, model: found.model, version: found.version, distance: found.distance }]);
    }
    case 'ArchiveModel': {
      if (node.version === null) {
        const { archived, active } = await registry.archiveModel(node.model);
        return result('ARCHIVE MODEL', [{ model: node.model, archived, active_version: active }]);
      }
      const { changed, active } = await registry.archiveVersion(node.model, bindVersionRef(node.version, params));
      return result('ARCHIVE MODEL', [{ model: node.model, archived: changed ? 1 : 0, active_version: active }]);
    }
    case 'UnarchiveModel': {
      const { changed, active } = await registry.unarchiveVersion(node.model, bindVersionRef(node.version, params));
      return result('UNARCHIVE MODEL', [{ model: node.model, unarchived: changed ? 1 : 0, active_version: active }]);
    }
    case 'CancelJob': {
      const id = bindValue(node.jobId, params);
      if (typeof id !== 'string') throw invalidArgument(`CANCEL JOB takes a job id string, got ${describeValue(id)}`);
      refusedInTransaction(context, 'CANCEL JOB', 'jobs change on their own, not with the transaction');
      const job = await jobs.cancel(id, tenant);
      return result('CANCEL JOB', [{ id: job.id, status: job.status }]);
    }
    case 'CheckRegistry': {
      const rows: Row[] = [];
      for await (const found of registry.checkIntegrity()) rows.push({ namespace: found.namespace, key: found.key, problem: found.problem });
      return { command: 'CHECK REGISTRY', columns: ['namespace', 'key', 'problem'], rows, rowCount: rows.length };
    }
    case 'Backup': {
      const path = bindValue(node.path, params);
      if (typeof path !== 'string' || path.length === 0) throw invalidArgument(`BACKUP TO takes a folder path string, got ${describeValue(path)}`);
      refusedInTransaction(context, 'BACKUP', 'it copies committed state, which would not include the transaction');
      if (!context.allowFileAccess) throw fileAccessDenied(path);
      const done = await registry.backupTo(path);
      return result('BACKUP', [{ path: done.path, models: done.models, versions: done.versions, jobs: done.jobs, weights_bytes: done.weightsBytes }]);
    }
    case 'Transaction': {
      const rows = await context.transaction(node.action);
      return { command: node.action, columns: rows.length > 0 ? Object.keys(rows[0]!) : [], rows, rowCount: rows.length };
    }
    case 'Select': {
      // The parser folds plain names to upper case; a quoted name is taken as written.
      const table = context.tables.get(node.table);
      if (!table) {
        throw new ModelSqlError('UNKNOWN_TABLE', `unknown table '${node.table}'; the tables are ${TABLE_NAMES.join(', ')}`);
      }
      const { columns, rows } = await runSelect(node, table, params);
      return { command: 'SELECT', columns, rows, rowCount: rows.length };
    }
  }
}
