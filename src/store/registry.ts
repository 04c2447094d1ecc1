/**
 * The model registry: immutable, monotonically numbered versions per model, one
 * movable active pointer, lifecycle stages, soft retire, and schema fingerprints.
 * SQL and the typed API both land here.
 *
 * Identity is (tenant, name). A `Registry` is a session view bound to one tenant (or
 * to none: global). It sees its own models and the global ones, its own shadowing a
 * global one of the same name, and it changes only its own; other tenants' models do
 * not exist for it. Views made by {@link Registry.withTenant} share one store, one set
 * of locks and one commit queue.
 *
 * Writes to one model run under that model's lock and commit as one unit through the
 * {@link CommitQueue}; the per-model head record makes allocation O(1) and the
 * dashboard O(models). Each read operation sees committed state only, all of it through
 * one {@link ReadView}, so it never mixes two commits.
 */

import { createHash } from 'node:crypto';
import { backupStore, type BackupResult } from './backup.js';
import { Blobs, weightsMismatch, type StoredBlob } from './blobs.js';
import { ModelSqlError, corruption, invalidArgument, permissionDenied, retired, unknownModel, unknownVersion, versionArchived } from '../errors.js';
import { CommitQueue, type ReadView, type WriteOp } from './commit-queue.js';
import { decodeFingerprint, normalizeSchema, type SchemaInput } from './fingerprint.js';
import { KeyedMutex } from './keyed-mutex.js';
import {
  MAX_VERSION,
  escapeSegment,
  modelKey,
  parseModelKey,
  parseVersionKey,
  scopeRange,
  stageKey,
  stageRange,
  validateModelName,
  validateTenantName,
  versionKey,
  versionRange,
} from './keys.js';
import type { Level, TextSublevel } from './level.js';
import { NS, decodeHead, decodeJsonText, decodeVersion, encodeRecord, type HeadRecord, type Stage, type VersionRecord } from './records.js';
import { checkIntegrity, type IntegrityProblem } from './integrity.js';
import { SchemaIndex, schemaEntryKey } from './schema-index.js';
import { checkTransition, type StageDirection } from './stages.js';
import type { ModelSummary, ModelVersion, RegisterVersionInput, RegisteredVersion, SchemaLookup } from './types.js';
import { checkVersionNumber, prepareVersion, versionRecord } from './version-input.js';

/**
 * What a read sees: one consistent view of committed state (readers), or the latest
 * state including unflushed writes (writers holding the model's lock).
 */
type View = ReadView | 'latest';

/** Extra work a caller (the job worker) commits in the same unit as a new version. */
export interface RegistrationHooks {
  /** Weights already streamed in with {@link Registry.uploadWeights}; used instead of `input.weights`. */
  readonly weights?: StoredBlob;
  /** The train job the version comes from. */
  readonly jobId?: string;
  /** More writes for the same atomic unit, e.g. marking the job completed. */
  readonly extraOps?: (version: number) => readonly WriteOp[];
  /** Lineage resolved earlier (when a train statement ran), used instead of resolving `input.baseModel` again. */
  readonly base?: ResolvedBase | null;
}

/** A base model as resolved for lineage: its head key (tenant-qualified) and version. */
export interface ResolvedBase {
  readonly key: string;
  readonly version: number;
}

/** Options of listings: retired models and versions are left out unless asked for. */
export interface ListOptions {
  readonly includeRetired?: boolean;
}

/** What every view of one store shares. */
interface Shared {
  readonly level: Level;
  readonly queue: CommitQueue;
  readonly locks: KeyedMutex;
  readonly blobs: Blobs;
  readonly index: SchemaIndex;
  readonly defaultActor: string | null;
}

/** A model as this session resolved it. */
interface Resolved {
  readonly key: string;
  readonly head: HeadRecord;
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function malformedKey(namespace: string, key: string): ModelSqlError {
  return new ModelSqlError('CORRUPTION', `malformed key '${key}' in namespace '${namespace}'`, { namespace, key });
}

/** The version number in a version key, or CORRUPTION. */
function versionOf(vKey: string): number {
  const parsed = parseVersionKey(vKey);
  if (!parsed) throw malformedKey(NS.versions, vKey);
  return parsed.version;
}

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The registry over one opened store, as one tenant (or the global session) sees it. */
export class Registry {
  private readonly shared: Shared;
  /** The tenant this view acts as; null for the global session. */
  readonly tenant: string | null;

  /**
   * @param level the opened store
   * @param queue group commit shared with the job store
   * @param defaultActor `created_by` when a registration names none
   */
  constructor(level: Level, queue: CommitQueue, defaultActor: string | null);
  /** @internal a view of an existing registry (see {@link withTenant}) */
  constructor(shared: Shared, tenant: string | null);
  constructor(levelOrShared: Level | Shared, queueOrTenant: CommitQueue | string | null, defaultActor?: string | null) {
    if (queueOrTenant instanceof CommitQueue) {
      const level = levelOrShared as Level;
      this.shared = {
        level,
        queue: queueOrTenant,
        locks: new KeyedMutex(),
        blobs: new Blobs(level, queueOrTenant),
        index: new SchemaIndex(level),
        defaultActor: defaultActor ?? null,
      };
      this.tenant = null;
    } else {
      this.shared = levelOrShared as Shared;
      this.tenant = queueOrTenant;
    }
  }

  /** The commit queue (shared by every view and the job store). */
  get queue(): CommitQueue {
    return this.shared.queue;
  }

  /** A view of the same store acting as `tenant` (null: global). */
  withTenant(tenant: string | null): Registry {
    if (tenant !== null) validateTenantName(tenant);
    return tenant === this.tenant ? this : new Registry(this.shared, tenant);
  }

  /**
   * Streams weights into the store ahead of registering them (pass the result as
   * `hooks.weights`), so a large file is never held in memory whole.
   */
  uploadWeights(source: AsyncIterable<Uint8Array>): Promise<StoredBlob> {
    return this.shared.blobs.upload(source);
  }

  /** Deletes uploads a crash left unreferenced; run once at open. Returns how many. */
  recoverUploads(): Promise<number> {
    return this.shared.blobs.recover();
  }

  // ---- writes ---------------------------------------------------------------------

  /**
   * Registers the next version of `model` (highest so far + 1; the model is created by
   * its first version). It becomes active unless `input.active === false`. A tenant
   * session always writes its own model, which then shadows a global one of that name.
   */
  async registerVersion(model: string, input: RegisterVersionInput, hooks: RegistrationHooks = {}): Promise<RegisteredVersion> {
    try {
      return await this.register(model, input, hooks);
    } catch (error) {
      // An uploaded blob this registration would have referenced is now garbage.
      if (hooks.weights) await this.shared.blobs.discard(hooks.weights.blob).catch(() => undefined);
      throw error;
    }
  }

  private async register(model: string, input: RegisterVersionInput, hooks: RegistrationHooks): Promise<RegisteredVersion> {
    validateModelName(model);
    const { fields, fingerprint } = prepareVersion(input, { jobId: hooks.jobId ?? null, uploaded: hooks.weights, defaultActor: this.shared.defaultActor });
    const { level, queue, blobs } = this.shared;
    // Copied before the first await: the caller may reuse its buffer once query() returns.
    let blob: StoredBlob | null = hooks.weights ?? null;
    let weightOps: readonly WriteOp[] = [];
    if (hooks.weights) weightOps = blobs.commitOps(hooks.weights.blob);
    else if (input.weights) ({ blob, ops: weightOps } = blobs.inline(input.weights));
    const base = hooks.base !== undefined ? hooks.base : await this.resolveBase(input);
    const key = modelKey(model, this.tenant);
    const { version, active, durable } = await this.shared.locks.run(key, async () => {
      const epoch = queue.epoch;
      const head = await this.readHead(key, 'latest');
      await this.checkNewVersion(model, head, fields.parentVersion);
      const version = (head?.latest ?? 0) + 1;
      // Strictly increasing per model, and stored (head.updatedAt never goes back), so
      // the newest version by created_at is always the highest number, across restarts
      // and clock steps: the latest-at-stage query relies on it.
      const now = Math.max(Date.now(), (head?.updatedAt ?? 0) + 1);
      const makeActive = input.active !== false;
      const newHead: HeadRecord = {
        active: makeActive ? version : (head?.active ?? null),
        latest: version,
        archived: head?.archived ?? 0,
        createdAt: head?.createdAt ?? now,
        updatedAt: now,
        retired: false,
        production: head?.production ?? null,
      };
      const record = versionRecord(fields, {
        sha256: blob?.sha256 ?? null,
        sizeBytes: blob?.sizeBytes ?? null,
        blob: blob?.blob ?? null,
        chunks: blob?.chunks ?? 0,
        baseModel: base?.key ?? null,
        baseVersion: base?.version ?? null,
        createdAt: now,
      });
      const ops: WriteOp[] = [
        { type: 'put', sublevel: level.versions, key: versionKey(key, version), value: encodeRecord(record) },
        this.headOp(key, newHead),
        ...weightOps,
      ];
      if (fingerprint) ops.push(...this.shared.index.addOps({ modelKey: key, version, createdAt: now }, fingerprint));
      if (hooks.extraOps) ops.push(...hooks.extraOps(version));
      return { version, active: newHead.active === version, durable: queue.submit(ops, epoch) };
    });
    await durable;
    return { model, version, active, sha256: blob?.sha256 ?? null };
  }

  /**
   * Checks now what a train job will register later (catalog fields, schema, lineage,
   * and that the model may take a new version), so a bad statement fails before a job
   * is queued. The weights come from the trainer, so they are not required here.
   * Returns the base the lineage resolves to now, for the job to pin.
   */
  async checkRegistration(model: string, input: RegisterVersionInput): Promise<{ base: ResolvedBase | null }> {
    validateModelName(model);
    const { fields } = prepareVersion({ ...input, artifact: input.artifact ?? 'checked-later' }, { jobId: null, uploaded: undefined, defaultActor: null });
    const base = await this.resolveBase(input);
    await this.checkNewVersion(model, await this.readHead(modelKey(model, this.tenant), 'latest'), fields.parentVersion);
    return { base };
  }

  /** Whether `model` (this session's own; `head` undefined when it has none yet) may take a new version. */
  private async checkNewVersion(model: string, head: HeadRecord | undefined, parentVersion: number | null): Promise<void> {
    if (head?.retired) throw retired(model);
    const latest = head?.latest ?? 0;
    if (latest >= MAX_VERSION) throw invalidArgument(`model '${model}' has reached the last version number`);
    if (parentVersion === null || parentVersion <= latest) return;
    if (head) throw unknownVersion(model, parentVersion);
    if (this.tenant !== null && (await this.readHead(modelKey(model, null), 'latest'))) {
      throw invalidArgument(`FROM VERSION refers to tenant '${this.tenant}''s own model '${model}', which has no versions yet; to derive from the global '${model}', use base_model = '${model}'`, { model });
    }
    throw unknownModel(model);
  }

  /** Points `model`'s active pointer at `version` (rollback is this). Returns the previous pointer. */
  async setActiveVersion(model: string, version: number): Promise<{ previous: number | null }> {
    checkVersionNumber(version);
    return this.mutate(model, async (key, head) => {
      if (head.retired) throw retired(model);
      const record = await this.readRecord(model, key, head, version, 'latest');
      if (record.retired) throw retired(model, version);
      if (record.archived) throw versionArchived(model, version);
      const ops = head.active === version ? [] : [this.headOp(key, { ...head, active: version, updatedAt: touched(head) })];
      return { result: { previous: head.active }, ops };
    });
  }

  /**
   * Moves one version exactly one stage up (`promote`) or down (`demote`); anything
   * else is INVALID_TRANSITION. Records the time of the move. Stages never touch the
   * active pointer.
   */
  async changeStage(model: string, version: number, direction: StageDirection, to: Stage): Promise<{ from: Stage; to: Stage; promotedAt: Date }> {
    checkVersionNumber(version);
    return this.mutate(model, async (key, head) => {
      const record = await this.readRecord(model, key, head, version, 'latest');
      if (direction === 'promote') {
        if (head.retired) throw retired(model);
        if (record.retired) throw retired(model, version);
        if (record.archived) throw versionArchived(model, version);
      }
      const refused = checkTransition(model, version, record.stage, direction, to);
      if (refused) throw refused;
      const now = touched(head);
      const { level } = this.shared;
      const ops: WriteOp[] = [{ type: 'put', sublevel: level.versions, key: versionKey(key, version), value: encodeRecord({ ...record, stage: to, promotedAt: now }) }];
      // The stage index holds non-retired versions at staging and production only.
      if (record.stage !== 'dev') ops.push({ type: 'del', sublevel: level.stages, key: stageKey(key, record.stage, version) });
      if (to !== 'dev' && !record.retired) ops.push({ type: 'put', sublevel: level.stages, key: stageKey(key, to, version), value: '' });
      const production = await this.productionAfter(key, head, version, to);
      ops.push(this.headOp(key, { ...head, production, updatedAt: now }));
      return { result: { from: record.stage, to, promotedAt: new Date(now) }, ops };
    });
  }

  /**
   * Archives one version. It stays readable but cannot become active; archiving the
   * active version clears the pointer. Archiving an archived version changes nothing.
   */
  async archiveVersion(model: string, version: number): Promise<{ changed: boolean; active: number | null }> {
    return this.setArchived(model, version, true);
  }

  /** Makes an archived version eligible again (it does not become active). */
  async unarchiveVersion(model: string, version: number): Promise<{ changed: boolean; active: number | null }> {
    return this.setArchived(model, version, false);
  }

  /** Archives every version of `model` in one unit; returns how many were newly archived. */
  async archiveModel(model: string): Promise<{ archived: number; active: number | null }> {
    return this.mutate(model, async (key, head) => {
      const { level, queue } = this.shared;
      // Versions queued by earlier statements must be on disk before we iterate them.
      await queue.idle();
      const ops: WriteOp[] = [];
      let archived = 0;
      for await (const [vKey, raw] of level.versions.iterator(versionRange(key))) {
        const record = decodeVersion(raw, vKey);
        if (record.archived) continue;
        archived++;
        ops.push({ type: 'put', sublevel: level.versions, key: vKey, value: encodeRecord({ ...record, archived: true }) });
        ops.push(...this.indexOps(key, head, versionOf(vKey), record, 'remove'));
      }
      if (archived === 0) return { result: { archived: 0, active: null }, ops: [] };
      ops.push(this.headOp(key, { ...head, active: null, archived: head.archived + archived, updatedAt: touched(head) }));
      return { result: { archived, active: null }, ops };
    });
  }

  /**
   * Soft-retires a whole model (`version` undefined) or one version. Retired things
   * vanish from the dashboard and default listings but still resolve by name and
   * version, so lineage keeps working; a retired model cannot be served, changed
   * (beyond archiving) or given new versions. Retiring twice changes nothing.
   * Retiring the active version clears the pointer.
   */
  async retire(model: string, version?: number): Promise<{ changed: boolean; active: number | null }> {
    if (version !== undefined) checkVersionNumber(version);
    return this.mutate<{ changed: boolean; active: number | null }>(model, async (key, head) => {
      const now = touched(head);
      if (version === undefined) {
        if (head.retired) return { result: { changed: false, active: head.active }, ops: [] };
        // Its versions leave the schema index (LOOKUP never offers them again). O(versions
        // of this model), like ARCHIVE MODEL; versions queued earlier must be on disk first.
        await this.shared.queue.idle();
        const ops: WriteOp[] = [];
        for await (const [vKey, raw] of this.shared.level.versions.iterator(versionRange(key))) {
          ops.push(...this.indexOps(key, head, versionOf(vKey), decodeVersion(raw, vKey), 'remove'));
        }
        ops.push(this.headOp(key, { ...head, retired: true, updatedAt: now }));
        return { result: { changed: true, active: head.active }, ops };
      }
      const record = await this.readRecord(model, key, head, version, 'latest');
      if (record.retired) return { result: { changed: false, active: head.active }, ops: [] };
      const { level } = this.shared;
      const ops: WriteOp[] = [
        { type: 'put', sublevel: level.versions, key: versionKey(key, version), value: encodeRecord({ ...record, retired: true }) },
        ...this.indexOps(key, head, version, record, 'remove'),
      ];
      if (record.stage !== 'dev') ops.push({ type: 'del', sublevel: level.stages, key: stageKey(key, record.stage, version) });
      const production = head.production === version ? await this.productionAfter(key, head, version, 'dev') : head.production;
      const active = head.active === version ? null : head.active;
      ops.push(this.headOp(key, { ...head, active, production, updatedAt: now }));
      return { result: { changed: true, active }, ops };
    });
  }

  // ---- reads ----------------------------------------------------------------------

  /** One version (without weights); retired ones resolve too. */
  async getVersion(model: string, version: number): Promise<ModelVersion> {
    checkVersionNumber(version);
    return this.shared.queue.read((view) => {
      const { key, head } = this.resolve(model, view);
      return this.toModelVersion(key, model, version, this.readRecord(model, key, head, version, view), head);
    });
  }

  /** The active version, or `null` when none is active. A retired model is MODEL_RETIRED. */
  async getActive(model: string): Promise<ModelVersion | null> {
    return this.shared.queue.read((view) => {
      const { key, head } = this.resolve(model, view);
      if (head.retired) throw retired(model);
      if (head.active === null) return null;
      return this.toModelVersion(key, model, head.active, this.readRecord(model, key, head, head.active, view), head);
    });
  }

  /** Every version of `model` (retired ones included: the model is named), oldest first. O(versions of this model). */
  async listVersions(model: string): Promise<ModelVersion[]> {
    return this.shared.queue.read(async (view) => {
      const { key, head } = this.resolve(model, view);
      const out: ModelVersion[] = [];
      for await (const version of this.modelVersions(key, model, head, { includeRetired: true }, view)) out.push(version);
      return out;
    });
  }

  /** One summary per visible model, ordered by name; retired models only when asked. Cost is O(models). */
  async summaries(options: ListOptions = {}): Promise<ModelSummary[]> {
    return this.shared.queue.read(async (view) => {
      const out: ModelSummary[] = [];
      for (const { key, head, name } of await this.visibleHeads(view)) {
        if (head.retired && !options.includeRetired) continue;
        out.push(toSummary(name, parseModelKey(key)!.tenant, head));
      }
      return out.sort(byName);
    });
  }

  /** Summary of one model (retired models resolve too). */
  async summary(model: string): Promise<ModelSummary> {
    return this.shared.queue.read((view) => {
      const { key, head } = this.resolve(model, view);
      return toSummary(model, parseModelKey(key)!.tenant, head);
    });
  }

  /**
   * Versions of one model (or of every visible model when `model` is undefined), in
   * model-key then version order; retired ones only when asked. Unknown model yields nothing.
   */
  async *scanVersions(model?: string, options: ListOptions = {}): AsyncGenerator<ModelVersion> {
    const view = this.shared.queue.view();
    try {
      yield* this.scanIn(view, model, options);
    } finally {
      view.release();
    }
  }

  private async *scanIn(view: ReadView, model: string | undefined, options: ListOptions): AsyncGenerator<ModelVersion> {
    if (model !== undefined) {
      const found = this.tryResolve(model, view);
      if (found && (!found.head.retired || options.includeRetired)) yield* this.modelVersions(found.key, model, found.head, options, view);
      return;
    }
    const visible = await this.visibleHeads(view);
    const heads = new Map(visible.map((v) => [v.key, v]));
    const ownNames = new Set(this.tenant === null ? [] : visible.filter((v) => !v.key.startsWith(':')).map((v) => v.name));
    for (const scope of this.scopes()) {
      // One pass over the scope's versions; rows of one model are contiguous.
      let lastKey: string | undefined;
      let skip = false;
      for await (const [vKey, raw] of this.shared.level.versions.iterator({ ...scopeRange(scope), snapshot: view.snapshot })) {
        const parsed = parseVersionKey(vKey);
        if (!parsed) throw malformedKey(NS.versions, vKey);
        if (parsed.model !== lastKey) {
          lastKey = parsed.model;
          const target = heads.get(parsed.model);
          if (target === undefined) this.checkUnlisted(parsed.model, vKey, ownNames, view);
          skip = target === undefined || (target.head.retired && !options.includeRetired);
        }
        if (skip) continue;
        const { head, name } = heads.get(parsed.model)!;
        // The head and the scan read one snapshot, which holds a version only with its head.
        if (parsed.version > head.latest) throw corruption(NS.versions, vKey, `version ${parsed.version} is beyond the model head's latest (${head.latest})`);
        const record = decodeVersion(raw, vKey);
        if (record.retired && !options.includeRetired) continue;
        yield this.toModelVersion(parsed.model, name, parsed.version, record, head);
      }
    }
  }

  private async *modelVersions(key: string, name: string, head: HeadRecord, options: ListOptions, view: ReadView): AsyncGenerator<ModelVersion> {
    for await (const [vKey, raw] of this.shared.level.versions.iterator({ ...versionRange(key), snapshot: view.snapshot })) {
      const parsed = parseVersionKey(vKey);
      if (!parsed || parsed.model !== key) throw malformedKey(NS.versions, vKey);
      // The head and the scan read one snapshot, which holds a version only with its head.
      if (parsed.version > head.latest) throw corruption(NS.versions, vKey, `version ${parsed.version} is beyond the model head's latest (${head.latest})`);
      const record = decodeVersion(raw, vKey);
      if (record.retired && !options.includeRetired) continue;
      yield this.toModelVersion(key, name, parsed.version, record, head);
    }
  }

  /**
   * Versions met in a scan whose model was not among the heads read first are skipped:
   * a global model the session's own shadows. A version with no head at all is damage,
   * and is reported (heads and versions are read from one snapshot).
   */
  private checkUnlisted(model: string, vKey: string, ownNames: ReadonlySet<string>, view: ReadView): void {
    const id = parseModelKey(model);
    if (!id) throw malformedKey(NS.versions, vKey);
    if (id.tenant === null && ownNames.has(id.name)) return;
    if (this.readHead(model, view) === undefined) {
      throw new ModelSqlError('CORRUPTION', `version record '${vKey}' in namespace '${NS.versions}' has no model head in '${NS.models}'`, { namespace: NS.versions, key: vKey });
    }
  }

  /**
   * Versions of one model at `stage` (staging or production), in version order (or newest first), from the
   * stage index: O(versions at that stage), not O(versions). Retired versions are never
   * in the index, and a retired model yields nothing. `dev` is not indexed (every version starts there); it yields nothing.
   */
  async *versionsAtStage(model: string, stage: Stage, options: { newestFirst?: boolean } = {}): AsyncGenerator<ModelVersion> {
    const view = this.shared.queue.view();
    try {
      yield* this.stageVersions(view, model, stage, options.newestFirst === true);
    } finally {
      view.release();
    }
  }

  private async *stageVersions(view: ReadView, model: string, stage: Stage, newestFirst: boolean): AsyncGenerator<ModelVersion> {
    const found = this.tryResolve(model, view);
    // A retired model keeps its index entries (retiring is O(1)); it is hidden here instead.
    if (!found || found.head.retired || stage === 'dev') return;
    const { key, head } = found;
    for await (const sKey of this.shared.level.stages.keys({ ...stageRange(key, stage), reverse: newestFirst, snapshot: view.snapshot })) {
      const version = Number(sKey.slice(sKey.lastIndexOf(':') + 1));
      if (!Number.isInteger(version) || version < 1) throw malformedKey(NS.stages, sKey);
      if (version > head.latest) throw corruption(NS.stages, sKey, `the index names version ${version}, beyond the model head's latest (${head.latest})`);
      const record = this.readRecord(model, key, head, version, view);
      // The index and the records are read from one snapshot, where they always agree.
      if (record.stage !== stage || record.retired) {
        throw corruption(NS.stages, sKey, `the index puts version ${version} at ${stage} but its record says ${record.retired ? 'retired' : record.stage}`);
      }
      yield this.toModelVersion(key, model, version, record, head);
    }
  }

  /**
   * The most recently registered non-retired version at `stage`, or null. Staging and
   * production come from the stage index; dev (not indexed: every version starts
   * there) is a newest-first walk that stops at the first dev version.
   */
  async latestAtStage(model: string, stage: Stage): Promise<ModelVersion | null> {
    return this.shared.queue.read(async (view) => {
      const { key, head } = this.resolve(model, view);
      if (head.retired) return null;
      if (stage !== 'dev') {
        let found: ModelVersion | null = null;
        for await (const version of this.stageVersions(view, model, stage, true)) {
          found = version;
          break;
        }
        if (stage === 'production' && (found?.version ?? null) !== head.production) this.reportProductionIndex(key, head, found, view);
        return found;
      }
      for await (const [vKey, raw] of this.shared.level.versions.iterator({ ...versionRange(key), reverse: true, snapshot: view.snapshot })) {
        const parsed = parseVersionKey(vKey);
        if (!parsed || parsed.model !== key) throw malformedKey(NS.versions, vKey);
        const record = decodeVersion(raw, vKey);
        if (record.stage === 'dev' && !record.retired) return this.toModelVersion(key, model, parsed.version, record, head);
      }
      return null;
    });
  }

  /**
   * The stage index and the head's `production` disagree. They are read from one
   * snapshot, where they always agree, so one of them is damaged: CORRUPTION rather
   * than a wrong answer (index keys carry no checksum; a damaged key would otherwise
   * hide the production version).
   */
  private reportProductionIndex(key: string, head: HeadRecord, found: ModelVersion | null, view: ReadView): never {
    const expected = head.production;
    if (expected !== null && view.get(this.shared.level.stages, stageKey(key, 'production', expected)) === undefined) {
      throw corruption(NS.stages, stageKey(key, 'production', expected), `the head of model '${parseModelKey(key)?.name ?? key}' says version ${expected} is at production, but the stage index has no entry for it`);
    }
    throw corruption(NS.models, key, `the head says the production version is ${expected ?? 'none'}, but the stage index says ${found?.version ?? 'none'}`);
  }

  /**
   * How a pipeline should start on data with this schema: `warm_load` on an exact
   * fingerprint match, `warm_start` when the nearest is within 0.25, else `cold_start`.
   * Archived and retired versions, retired models and models this session cannot see
   * are never candidates; an own model shadows a global one of the same name.
   */
  async lookupSchema(schema: SchemaInput): Promise<SchemaLookup> {
    const fingerprint = normalizeSchema(schema);
    return this.shared.queue.read((view) => this.lookupIn(view, fingerprint));
  }

  private async lookupIn(view: ReadView, fingerprint: ReturnType<typeof normalizeSchema>): Promise<SchemaLookup> {
    const index = this.shared.index;
    // Model-level answers repeat for every entry of a much-retrained model: ask once.
    const models = new Map<string, HeadRecord | undefined>();
    const eligibleModel = (key: string): HeadRecord | undefined => {
      const head = this.readHead(key, view);
      if (!head || head.retired) return undefined;
      const id = parseModelKey(key);
      if (!id) throw malformedKey(NS.fingerprints, key);
      const shadowed = id.tenant === null && this.tenant !== null && this.readHead(modelKey(id.name, this.tenant), view) !== undefined;
      return shadowed ? undefined : head;
    };
    const outcome = await index.lookup(fingerprint, this.scopes(), async (key: string, version: number) => {
      if (!models.has(key)) models.set(key, eligibleModel(key));
      const current = models.get(key);
      if (!current) return false;
      const name = parseModelKey(key)!.name;
      const record = this.readRecord(name, key, current, version, view);
      if (!record.archived && !record.retired && record.schemaHash !== null) return true;
      // The index and the records are read from one snapshot, where the index holds
      // exactly the eligible versions: an entry of any other is damage.
      const entry = { modelKey: key, version, createdAt: record.createdAt };
      throw corruption(NS.fingerprints, record.schemaHash === null ? `…:${key}:${version}` : schemaEntryKey(entry, record.schemaHash), `the schema index offers model '${name}' version ${version}, which is ${record.retired ? 'retired' : record.archived ? 'archived' : 'without a schema'}`);
    }, { snapshot: view.snapshot });
    if (outcome.mode === 'cold_start') return { mode: 'cold_start', model: null, version: null, distance: null };
    const name = parseModelKey(outcome.modelKey)!.name;
    return outcome.mode === 'warm_load'
      ? { mode: 'warm_load', model: name, version: outcome.version, distance: 0 }
      : { mode: 'warm_start', model: name, version: outcome.version, distance: outcome.distance };
  }

  /**
   * A version's stored weights, to stream: the blob, the SHA-256 and size they must
   * match, and its chunks in order as `content`, unchecked (the caller verifies while streaming).
   * A version without stored weights is INVALID_ARGUMENT.
   */
  async weightsSource(model: string, version: number): Promise<StoredBlob & { readonly content: AsyncIterable<Uint8Array> }> {
    const stored = await this.storedWeights(model, version);
    // Chunks of a referenced blob never change, so they need no snapshot.
    return { ...stored, content: this.shared.blobs.chunks(stored.blob) };
  }

  /** The weights of one version, checked against their stored SHA-256 and size. */
  async readWeights(model: string, version: number): Promise<Uint8Array> {
    const stored = await this.storedWeights(model, version);
    const chunks: Uint8Array[] = [];
    for await (const chunk of this.shared.blobs.chunks(stored.blob)) chunks.push(chunk);
    const bytes = Buffer.concat(chunks);
    if (bytes.length !== stored.sizeBytes || sha256Hex(bytes) !== stored.sha256) throw weightsMismatch(model, version, stored.blob);
    return bytes;
  }

  /** The blob, hash and size of a version's weights, read through one view. */
  private async storedWeights(model: string, version: number): Promise<StoredBlob> {
    checkVersionNumber(version);
    const record = await this.shared.queue.read((view) => {
      const { key, head } = this.resolve(model, view);
      return this.readRecord(model, key, head, version, view);
    });
    if (record.sha256 === null || record.blob === null || record.sizeBytes === null) {
      throw invalidArgument(`version ${version} of model '${model}' has no stored weights${record.artifact ? ` (artifact: ${record.artifact})` : ''}`, { model, version });
    }
    return { blob: record.blob, chunks: record.chunks, sha256: record.sha256, sizeBytes: record.sizeBytes };
  }

  // ---- maintenance ----------------------------------------------------------------

  /**
   * Every problem of the whole store, from one snapshot (see integrity.ts). Global
   * sessions only: the report names every tenant's keys.
   */
  checkIntegrity(): AsyncGenerator<IntegrityProblem> {
    this.requireGlobal('CHECK REGISTRY');
    return checkIntegrity(this.shared.level);
  }

  /** Copies one snapshot of the whole store into the new folder `dest` (see backup.ts). Global sessions only. */
  async backupTo(dest: string): Promise<BackupResult> {
    this.requireGlobal('BACKUP');
    return backupStore(this.shared.level, dest);
  }

  private requireGlobal(what: string): void {
    if (this.tenant !== null) throw permissionDenied(`${what} covers every tenant's models; tenant '${this.tenant}' cannot run it (use a global session)`);
  }

  // ---- internals ------------------------------------------------------------------

  /**
   * Runs a change to one of this session's own models under its lock and commits the
   * ops `work` returns as one unit. A tenant naming a global model gets
   * PERMISSION_DENIED; a name it cannot see at all is UNKNOWN_MODEL.
   */
  private async mutate<T>(model: string, work: (key: string, head: HeadRecord) => Promise<{ result: T; ops: readonly WriteOp[] }>): Promise<T> {
    validateModelName(model);
    const key = modelKey(model, this.tenant);
    const { queue, locks } = this.shared;
    const { result, durable } = await locks.run(key, async () => {
      const epoch = queue.epoch;
      const head = await this.readHead(key, 'latest');
      if (!head) {
        if (this.tenant !== null && (await this.readHead(modelKey(model, null), 'latest'))) {
          throw permissionDenied(`model '${model}' is global; tenant '${this.tenant}' can change only its own models`, { model });
        }
        throw unknownModel(model);
      }
      const { result, ops } = await work(key, head);
      return { result, durable: ops.length > 0 ? queue.submit(ops, epoch) : undefined };
    });
    await durable;
    return result;
  }

  private async setArchived(model: string, version: number, archived: boolean): Promise<{ changed: boolean; active: number | null }> {
    checkVersionNumber(version);
    return this.mutate<{ changed: boolean; active: number | null }>(model, async (key, head) => {
      const record = await this.readRecord(model, key, head, version, 'latest');
      if (record.archived === archived) return { result: { changed: false, active: head.active }, ops: [] };
      const active = archived && head.active === version ? null : head.active;
      const ops: WriteOp[] = [
        { type: 'put', sublevel: this.shared.level.versions, key: versionKey(key, version), value: encodeRecord({ ...record, archived }) },
        ...this.indexOps(key, head, version, record, archived ? 'remove' : 'add'),
        this.headOp(key, { ...head, active, archived: head.archived + (archived ? 1 : -1), updatedAt: touched(head) }),
      ];
      return { result: { changed: true, active }, ops };
    });
  }

  /**
   * Schema index upkeep: the index holds exactly the versions with a schema that are
   * neither archived nor retired, of models that are not retired, so lookups never
   * wade through ineligible entries.
   */
  private indexOps(key: string, head: HeadRecord, version: number, record: VersionRecord, change: 'add' | 'remove'): WriteOp[] {
    if (record.schema === null || record.retired || head.retired || (change === 'remove' && record.archived)) return [];
    const fingerprint = decodeFingerprint(record.schema, NS.versions, versionKey(key, version));
    const entry = { modelKey: key, version, createdAt: record.createdAt };
    return change === 'add' ? this.shared.index.addOps(entry, fingerprint) : this.shared.index.removeOps(entry, fingerprint);
  }

  /**
   * The head's `production` after `version` moves to `to`: the newest non-retired
   * version at production. Only a move away from the current one needs the index
   * (after pending writes are flushed, so it is up to date).
   */
  private async productionAfter(key: string, head: HeadRecord, version: number, to: Stage): Promise<number | null> {
    if (to === 'production') return Math.max(head.production ?? 0, version);
    if (head.production !== version) return head.production;
    await this.shared.queue.idle();
    for await (const sKey of this.shared.level.stages.keys({ ...stageRange(key, 'production'), lt: stageKey(key, 'production', version), reverse: true, limit: 1 })) {
      return Number(sKey.slice(sKey.lastIndexOf(':') + 1));
    }
    return null;
  }

  /** The lineage target of a registration: resolved now, so a bad base fails the statement. */
  private async resolveBase(input: RegisterVersionInput): Promise<{ key: string; version: number } | null> {
    if (input.baseModel === undefined || input.baseModel === null) return null;
    if (typeof input.baseModel !== 'string') throw invalidArgument('base_model must be text');
    const { key, head } = await this.shared.queue.read((view) => this.resolve(input.baseModel as string, view));
    const version = input.baseVersion ?? head.active ?? head.latest;
    if (version > head.latest) throw unknownVersion(input.baseModel, version);
    return { key, version };
  }

  /** Key scopes this session sees, its own first: `[tenant, global]`, or `[global]`. */
  private scopes(): string[] {
    return this.tenant === null ? [''] : [escapeSegment(this.tenant), ''];
  }

  /** Resolves a name as this session sees it: its own model first, then a global one. */
  private tryResolve(model: string, view: View): Resolved | undefined {
    validateModelName(model);
    if (this.tenant !== null) {
      const key = modelKey(model, this.tenant);
      const head = this.readHead(key, view);
      if (head) return { key, head };
    }
    const key = modelKey(model, null);
    const head = this.readHead(key, view);
    return head ? { key, head } : undefined;
  }

  private resolve(model: string, view: View): Resolved {
    const found = this.tryResolve(model, view);
    if (!found) throw unknownModel(model);
    return found;
  }

  /** Heads of every model this session sees: its own, and global ones it does not shadow. O(visible models). */
  private async visibleHeads(view: ReadView): Promise<{ key: string; head: HeadRecord; name: string }[]> {
    const out: { key: string; head: HeadRecord; name: string }[] = [];
    const own = new Set<string>();
    for (const [i, scope] of this.scopes().entries()) {
      const shadowing = i > 0;
      for await (const [key, raw] of this.shared.level.models.iterator({ ...scopeRange(scope), snapshot: view.snapshot })) {
        const id = parseModelKey(key);
        if (!id) throw malformedKey(NS.models, key);
        if (shadowing && own.has(id.name)) continue;
        if (!shadowing) own.add(id.name);
        out.push({ key, head: decodeHead(raw, key), name: id.name });
      }
    }
    return out;
  }

  private readRecord(model: string, key: string, head: HeadRecord, version: number, view: View): VersionRecord {
    if (version > head.latest) throw unknownVersion(model, version);
    const vKey = versionKey(key, version);
    const raw = this.read(this.shared.level.versions, vKey, view);
    if (raw === undefined) throw new ModelSqlError('CORRUPTION', `version record missing for model '${model}' version ${version} (namespace '${NS.versions}', key '${vKey}')`, { namespace: NS.versions, key: vKey, model, version });
    return decodeVersion(raw, vKey);
  }

  private headOp(key: string, head: HeadRecord): WriteOp {
    return { type: 'put', sublevel: this.shared.level.models, key, value: encodeRecord(head) };
  }

  private read(sublevel: TextSublevel, key: string, view: View): string | undefined {
    return view === 'latest' ? this.shared.queue.readLatest(sublevel, key) : view.get(sublevel, key);
  }

  private readHead(key: string, view: View): HeadRecord | undefined {
    const raw = this.read(this.shared.level.models, key, view);
    return raw === undefined ? undefined : decodeHead(raw, key);
  }

  /** Tenant of a model key; scans ask once per row, so the last answer is kept. */
  private tenantOf(key: string): string | null {
    if (this.lastTenantOf?.key !== key) this.lastTenantOf = { key, tenant: parseModelKey(key)?.tenant ?? null };
    return this.lastTenantOf.tenant;
  }

  private lastTenantOf: { key: string; tenant: string | null } | undefined;

  private toModelVersion(key: string, model: string, version: number, record: VersionRecord, head: HeadRecord): ModelVersion {
    const vKey = versionKey(key, version);
    const base = record.baseModel === null ? null : parseModelKey(record.baseModel);
    if (base === undefined) throw corruption(NS.versions, vKey, `field 'baseModel' is not a model key`);
    return {
      model,
      tenant: this.tenantOf(key),
      version,
      active: head.active === version,
      archived: record.archived,
      sha256: record.sha256,
      sizeBytes: record.sizeBytes,
      artifact: record.artifact,
      hyperparams: decodeJsonText(record.hyperparams, NS.versions, vKey),
      metrics: decodeJsonText(record.metrics, NS.versions, vKey),
      trainingSql: record.trainingSql,
      trainingDataHash: record.trainingDataHash,
      parentVersion: record.parentVersion,
      createdAt: new Date(record.createdAt),
      createdBy: record.createdBy,
      description: record.description,
      jobId: record.jobId,
      stage: record.stage,
      promotedAt: record.promotedAt === null ? null : new Date(record.promotedAt),
      retired: record.retired || head.retired,
      modelType: record.modelType,
      task: record.task,
      backend: record.backend,
      baseModel: base?.name ?? null,
      baseTenant: base?.tenant ?? null,
      baseVersion: record.baseVersion,
      config: decodeJsonText(record.config, NS.versions, vKey),
      schemaHash: record.schemaHash,
      schema: decodeJsonText(record.schema, NS.versions, vKey),
    };
  }
}

/** A head's new `updatedAt`: now, but never before the last change (a registration may have run ahead of the clock). */
function touched(head: HeadRecord): number {
  return Math.max(Date.now(), head.updatedAt);
}

function toSummary(name: string, tenant: string | null, head: HeadRecord): ModelSummary {
  return {
    name,
    tenant,
    activeVersion: head.active,
    // Versions are never deleted, so 1..latest all exist.
    totalVersions: head.latest,
    archivedVersions: head.archived,
    latestVersion: head.latest,
    productionVersion: head.production,
    retired: head.retired,
    createdAt: new Date(head.createdAt),
    updatedAt: new Date(head.updatedAt),
  };
}
