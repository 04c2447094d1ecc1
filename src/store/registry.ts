/**
 * The model registry: immutable, monotonically numbered versions per model and one
 * movable active pointer. SQL and the typed API both land here.
 *
 * Writes to one model run under that model's lock and commit as one unit through the
 * {@link CommitQueue}; the per-model head record makes allocation O(1) and the
 * dashboard O(models). Reads see committed state only.
 */

import { createHash } from 'node:crypto';
import { Blobs, type StoredBlob } from './blobs.js';
import { ModelSqlError, invalidArgument, unknownModel, unknownVersion, versionArchived } from '../errors.js';
import { CommitQueue, type WriteOp } from './commit-queue.js';
import { KeyedMutex } from './keyed-mutex.js';
import {
  MAX_VERSION,
  modelKey,
  parseModelKey,
  parseVersionKey,
  validateModelName,
  versionKey,
  versionRange,
} from './keys.js';
import type { Level, TextSublevel } from './level.js';
import { toJsonText } from './json.js';
import { NS, decodeHead, decodeJsonText, decodeVersion, encodeRecord, type HeadRecord, type VersionRecord } from './records.js';
import type { ModelSummary, ModelVersion, RegisterVersionInput, RegisteredVersion } from './types.js';

/** What a read sees: committed state, or also the unflushed writes (writers holding the model's lock). */
type View = 'committed' | 'latest';

/** Extra work a caller (the job worker) commits in the same unit as a new version. */
export interface RegistrationHooks {
  /** Weights already streamed in with {@link Registry.uploadWeights}; used instead of `input.weights`. */
  readonly weights?: StoredBlob;
  /** The train job the version comes from. */
  readonly jobId?: string;
  /** More writes for the same atomic unit, e.g. marking the job completed. */
  readonly extraOps?: (version: number) => readonly WriteOp[];
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function optionalString(value: unknown, what: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw invalidArgument(`${what} must be text`);
  return value;
}

function checkVersionNumber(version: unknown): number {
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1 || version > MAX_VERSION) {
    throw invalidArgument(`version must be a whole number from 1 to ${MAX_VERSION}, got ${String(version)}`);
  }
  return version;
}

/** The registry over one opened store. */
export class Registry {
  private readonly locks = new KeyedMutex();
  private readonly blobs: Blobs;

  /**
   * @param level the opened store
   * @param queue group commit shared with the job store
   * @param defaultActor `created_by` when a registration names none
   */
  constructor(
    private readonly level: Level,
    readonly queue: CommitQueue,
    private readonly defaultActor: string | null,
  ) {
    this.blobs = new Blobs(level, queue);
  }

  /**
   * Streams weights into the store ahead of registering them (pass the result as
   * `hooks.weights`), so a large file is never held in memory whole.
   */
  uploadWeights(source: AsyncIterable<Uint8Array>): Promise<StoredBlob> {
    return this.blobs.upload(source);
  }

  /** Deletes uploads a crash left unreferenced; run once at open. Returns how many. */
  recoverUploads(): Promise<number> {
    return this.blobs.recover();
  }

  // ---- writes ---------------------------------------------------------------------

  /**
   * Registers the next version of `model` (highest so far + 1; the model is created by
   * its first version). It becomes active unless `input.active === false`.
   */
  async registerVersion(model: string, input: RegisterVersionInput, hooks: RegistrationHooks = {}): Promise<RegisteredVersion> {
    try {
      return await this.register(model, input, hooks);
    } catch (error) {
      // An uploaded blob this registration would have referenced is now garbage.
      if (hooks.weights) await this.blobs.discard(hooks.weights.blob).catch(() => undefined);
      throw error;
    }
  }

  private async register(model: string, input: RegisterVersionInput, hooks: RegistrationHooks): Promise<RegisteredVersion> {
    validateModelName(model);
    const prepared = this.prepareVersion(input, hooks.jobId ?? null, hooks.weights);
    const key = modelKey(model);
    const { version, active, durable } = await this.locks.run(key, async () => {
      const epoch = this.queue.epoch;
      const head = await this.readHead(key, 'latest');
      const latest = head?.latest ?? 0;
      if (latest >= MAX_VERSION) throw invalidArgument(`model '${model}' has reached the last version number`);
      if (prepared.record.parentVersion !== null && prepared.record.parentVersion > latest) {
        if (!head) throw unknownModel(model);
        throw unknownVersion(model, prepared.record.parentVersion);
      }
      const version = latest + 1;
      const now = Date.now();
      const makeActive = input.active !== false;
      const newHead: HeadRecord = {
        active: makeActive ? version : (head?.active ?? null),
        latest: version,
        archived: head?.archived ?? 0,
        createdAt: head?.createdAt ?? now,
        updatedAt: now,
      };
      const vKey = versionKey(key, version);
      const ops: WriteOp[] = [
        { type: 'put', sublevel: this.level.versions, key: vKey, value: encodeRecord({ ...prepared.record, createdAt: now }) },
        { type: 'put', sublevel: this.level.models, key, value: encodeRecord(newHead) },
      ];
      ops.push(...prepared.weightOps);
      if (hooks.extraOps) ops.push(...hooks.extraOps(version));
      return { version, active: newHead.active === version, durable: this.queue.submit(ops, epoch) };
    });
    await durable;
    return { model, version, active, sha256: prepared.record.sha256 };
  }

  /** Points `model`'s active pointer at `version` (rollback is this). Returns the previous pointer. */
  async setActiveVersion(model: string, version: number): Promise<{ previous: number | null }> {
    checkVersionNumber(version);
    const key = modelKey(model);
    const { previous, durable } = await this.locks.run(key, async () => {
      const epoch = this.queue.epoch;
      const { head, record } = await this.readVersionRecord(model, version, 'latest');
      if (record.archived) throw versionArchived(model, version);
      const ops: WriteOp[] = [];
      if (head.active !== version) {
        ops.push(this.headOp(key, { ...head, active: version, updatedAt: Date.now() }));
      }
      return { previous: head.active, durable: ops.length > 0 ? this.queue.submit(ops, epoch) : undefined };
    });
    await durable;
    return { previous };
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
    const key = modelKey(model);
    const { archived, durable } = await this.locks.run(key, async () => {
      const epoch = this.queue.epoch;
      const head = await this.requireHead(model, key, 'latest');
      // Versions queued by earlier statements must be on disk before we iterate them.
      await this.queue.idle();
      const ops: WriteOp[] = [];
      for await (const [vKey, raw] of this.level.versions.iterator(versionRange(key))) {
        const record = decodeVersion(raw, vKey);
        if (!record.archived) {
          ops.push({ type: 'put', sublevel: this.level.versions, key: vKey, value: encodeRecord({ ...record, archived: true }) });
        }
      }
      if (ops.length === 0) return { archived: 0, durable: undefined };
      ops.push(this.headOp(key, { ...head, active: null, archived: head.archived + ops.length, updatedAt: Date.now() }));
      return { archived: ops.length - 1, durable: this.queue.submit(ops, epoch) };
    });
    await durable;
    return { archived, active: null };
  }

  // ---- reads ----------------------------------------------------------------------

  /** One version (without weights). */
  async getVersion(model: string, version: number): Promise<ModelVersion> {
    const { record, head, vKey } = await this.readVersionRecord(model, version);
    return this.toModelVersion(model, version, record, head, vKey);
  }

  /** The active version, or `null` when no version is active. */
  async getActive(model: string): Promise<ModelVersion | null> {
    const head = await this.requireHead(model, modelKey(model));
    return head.active === null ? null : this.getVersion(model, head.active);
  }

  /** Every version of `model`, oldest first. Cost is O(versions of this model). */
  async listVersions(model: string): Promise<ModelVersion[]> {
    const key = modelKey(model);
    await this.requireHead(model, key);
    const out: ModelVersion[] = [];
    for await (const version of this.scanVersions(model)) out.push(version);
    return out;
  }

  /** One summary per model, ordered by name. Cost is O(models). */
  async summaries(): Promise<ModelSummary[]> {
    const out: ModelSummary[] = [];
    for await (const [key, raw] of this.level.models.iterator()) {
      const id = parseModelKey(key);
      if (!id) throw new ModelSqlError('CORRUPTION', `malformed key '${key}' in namespace '${NS.models}'`, { namespace: NS.models, key });
      out.push(toSummary(id.name, decodeHead(raw, key)));
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Summary of one model. */
  async summary(model: string): Promise<ModelSummary> {
    return toSummary(model, await this.requireHead(model, modelKey(model)));
  }

  /**
   * Versions of one model (or of every model when `model` is undefined), in model-key
   * then version order. Unknown model yields nothing.
   */
  async *scanVersions(model?: string): AsyncGenerator<ModelVersion> {
    const heads = new Map<string, HeadRecord>();
    let range = {};
    if (model !== undefined) {
      const key = modelKey(model);
      const head = await this.readHead(key);
      if (!head) return;
      heads.set(key, head);
      range = versionRange(key);
    } else {
      for await (const [key, raw] of this.level.models.iterator()) heads.set(key, decodeHead(raw, key));
    }
    // Rows of one model are contiguous: parse its key once, not once per version.
    let lastKey: string | undefined;
    let lastName: string | undefined;
    for await (const [vKey, raw] of this.level.versions.iterator(range)) {
      const parsed = parseVersionKey(vKey);
      const head = parsed && heads.get(parsed.model);
      if (parsed && parsed.model !== lastKey) {
        lastKey = parsed.model;
        lastName = parseModelKey(parsed.model)?.name;
      }
      const id = parsed && lastName !== undefined ? { name: lastName } : undefined;
      if (!parsed || !id) throw new ModelSqlError('CORRUPTION', `malformed key '${vKey}' in namespace '${NS.versions}'`, { namespace: NS.versions, key: vKey });
      if (!head) {
        // A model created after we read the heads is not part of this scan; a version
        // with no head at all is damage, and is reported.
        if ((await this.readHead(parsed.model)) === undefined) {
          throw new ModelSqlError('CORRUPTION', `version record '${vKey}' in namespace '${NS.versions}' has no model head in '${NS.models}'`, { namespace: NS.versions, key: vKey });
        }
        continue;
      }
      if (parsed.version > head.latest) continue; // registered after we read the head
      yield this.toModelVersion(id.name, parsed.version, decodeVersion(raw, vKey), head, vKey);
    }
  }

  /** The stored weights chunks of one version, in order, unchecked (callers verify the hash). */
  async *weightsChunks(model: string, version: number): AsyncGenerator<Uint8Array> {
    const { record } = await this.readVersionRecord(model, version);
    if (record.blob !== null) yield* this.blobs.chunks(record.blob);
  }

  /** The weights of one version, checked against their stored SHA-256 and size. */
  async readWeights(model: string, version: number): Promise<Uint8Array> {
    const { record: meta, vKey } = await this.readVersionRecord(model, version);
    if (meta.sha256 === null || meta.blob === null) throw invalidArgument(`version ${version} of model '${model}' has no stored weights${meta.artifact ? ` (artifact: ${meta.artifact})` : ''}`, { model, version });
    const chunks: Uint8Array[] = [];
    for await (const chunk of this.blobs.chunks(meta.blob)) chunks.push(chunk);
    const bytes = Buffer.concat(chunks);
    if (bytes.length !== meta.sizeBytes || sha256Hex(bytes) !== meta.sha256) {
      throw new ModelSqlError(
        'CORRUPTION',
        `weights of model '${model}' version ${version} do not match their stored SHA-256 (namespace '${NS.weights}', blob '${meta.blob}', version record '${vKey}')`,
        { namespace: NS.weights, key: meta.blob, model, version },
      );
    }
    return bytes;
  }

  // ---- internals ------------------------------------------------------------------

  private prepareVersion(
    input: RegisterVersionInput,
    jobId: string | null,
    uploaded?: StoredBlob,
  ): { record: VersionRecord; weightOps: readonly WriteOp[] } {
    if (typeof input !== 'object' || input === null) throw invalidArgument('registration input must be an object');
    const weights = input.weights ?? null;
    if (weights !== null && !(weights instanceof Uint8Array)) throw invalidArgument('weights must be a Uint8Array or Buffer');
    const artifact = optionalString(input.artifact, 'artifact');
    if (weights === null && artifact === null && !uploaded) {
      throw invalidArgument('a model version needs weights or an artifact');
    }
    if (input.active !== undefined && typeof input.active !== 'boolean') throw invalidArgument('active must be TRUE or FALSE');
    const parentVersion = input.parentVersion === undefined || input.parentVersion === null ? null : checkVersionNumber(input.parentVersion);
    let blob: StoredBlob | null = null;
    let weightOps: WriteOp[] = [];
    if (uploaded) {
      blob = uploaded;
      weightOps = this.blobs.commitOps(uploaded.blob);
    } else if (weights !== null) {
      ({ blob, ops: weightOps } = this.blobs.inline(weights));
    }
    const record: VersionRecord = {
      archived: false,
      sha256: blob?.sha256 ?? null,
      sizeBytes: blob?.sizeBytes ?? null,
      blob: blob?.blob ?? null,
      chunks: blob?.chunks ?? 0,
      artifact,
      hyperparams: input.hyperparams === undefined || input.hyperparams === null ? null : toJsonText(input.hyperparams, 'hyperparams'),
      metrics: input.metrics === undefined || input.metrics === null ? null : toJsonText(input.metrics, 'metrics'),
      trainingSql: optionalString(input.trainingSql, 'training_sql'),
      trainingDataHash: optionalString(input.trainingDataHash, 'training_data_hash'),
      parentVersion,
      createdAt: 0,
      createdBy: optionalString(input.createdBy, 'created_by') ?? this.defaultActor,
      description: optionalString(input.description, 'description'),
      jobId,
    };
    return { record, weightOps };
  }

  private async setArchived(model: string, version: number, archived: boolean): Promise<{ changed: boolean; active: number | null }> {
    checkVersionNumber(version);
    const key = modelKey(model);
    const result = await this.locks.run(key, async () => {
      const epoch = this.queue.epoch;
      const { head, record } = await this.readVersionRecord(model, version, 'latest');
      if (record.archived === archived) return { changed: false, active: head.active, durable: undefined };
      const active = archived && head.active === version ? null : head.active;
      const ops: WriteOp[] = [
        { type: 'put', sublevel: this.level.versions, key: versionKey(key, version), value: encodeRecord({ ...record, archived }) },
        this.headOp(key, { ...head, active, archived: head.archived + (archived ? 1 : -1), updatedAt: Date.now() }),
      ];
      return { changed: true, active, durable: this.queue.submit(ops, epoch) };
    });
    await result.durable;
    return { changed: result.changed, active: result.active };
  }

  /** Reads for readers (committed state) or for a writer holding the model's lock (`latest`). */
  private async readVersionRecord(model: string, version: number, view: View = 'committed'): Promise<{ record: VersionRecord; head: HeadRecord; vKey: string }> {
    checkVersionNumber(version);
    const key = modelKey(model);
    const head = await this.requireHead(model, key, view);
    if (version > head.latest) throw unknownVersion(model, version);
    const vKey = versionKey(key, version);
    const raw = await this.read(this.level.versions, vKey, view);
    if (raw === undefined) throw new ModelSqlError('CORRUPTION', `version record missing for model '${model}' version ${version} (namespace '${NS.versions}', key '${vKey}')`, { namespace: NS.versions, key: vKey, model, version });
    return { record: decodeVersion(raw, vKey), head, vKey };
  }

  private headOp(key: string, head: HeadRecord): WriteOp {
    return { type: 'put', sublevel: this.level.models, key, value: encodeRecord(head) };
  }

  private read(sublevel: TextSublevel, key: string, view: View): string | undefined | Promise<string | undefined> {
    return view === 'latest' ? this.queue.readLatest(sublevel, key) : this.queue.readCommitted(sublevel, key);
  }

  private async readHead(key: string, view: View = 'committed'): Promise<HeadRecord | undefined> {
    const raw = await this.read(this.level.models, key, view);
    return raw === undefined ? undefined : decodeHead(raw, key);
  }

  private async requireHead(model: string, key: string, view: View = 'committed'): Promise<HeadRecord> {
    validateModelName(model);
    const head = await this.readHead(key, view);
    if (!head) throw unknownModel(model);
    return head;
  }

  private toModelVersion(model: string, version: number, record: VersionRecord, head: HeadRecord, vKey: string): ModelVersion {
    return {
      model,
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
    };
  }
}

function toSummary(name: string, head: HeadRecord): ModelSummary {
  return {
    name,
    activeVersion: head.active,
    // Versions are never deleted, so 1..latest all exist.
    totalVersions: head.latest,
    archivedVersions: head.archived,
    latestVersion: head.latest,
    createdAt: new Date(head.createdAt),
    updatedAt: new Date(head.updatedAt),
  };
}
