/**
 * Opens the LevelDB folder (or an in-memory level for tests) and its sublevels.
 */

import { mkdir } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import { MemoryLevel } from 'memory-level';
import type { AbstractLevel, AbstractSublevel } from 'abstract-level';
import { ModelSqlError, fileError, isModelSqlError, printablePath } from '../errors.js';
import { levelMessage, translateLevelError } from './level-errors.js';
import { NS } from './records.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- abstract-level's generics do not compose across backends */
/** The root database, whatever the backend. */
export type RootLevel = AbstractLevel<any, string, string>;
/** A namespace of text records. */
export type TextSublevel = AbstractSublevel<RootLevel, any, string, string>;
/** A namespace of raw bytes. */
export type BytesSublevel = AbstractSublevel<RootLevel, any, string, Uint8Array>;
/* eslint-enable @typescript-eslint/no-explicit-any */

/** The opened store: the root and one sublevel per namespace. */
export interface Level {
  readonly root: RootLevel;
  readonly models: TextSublevel;
  readonly versions: TextSublevel;
  readonly weights: BytesSublevel;
  readonly uploads: TextSublevel;
  readonly jobs: TextSublevel;
  readonly jobQueue: TextSublevel;
  /** Stage index: `<model key>:<stage>:<version>` → '' (latest version at a stage without a scan). */
  readonly stages: TextSublevel;
  /** Schema token postings, per tenant scope (see schema-index.ts). */
  readonly schemaTokens: TextSublevel;
  /** Schema fingerprint entries per version, per tenant scope (see schema-index.ts). */
  readonly fingerprints: TextSublevel;
  /** Store-wide facts, e.g. the storage format. */
  readonly meta: TextSublevel;
  /** The event log: `<seq>` → event record (see events.ts). */
  readonly events: TextSublevel;
  /** Each model's events: `<model key>:<seq>` → '' (one model's history without a full scan). */
  readonly modelEvents: TextSublevel;
  /** Each tenant scope's events: `<scope>:<seq>` → '' (a tenant's log without reading other tenants' events). */
  readonly scopeEvents: TextSublevel;
  // ---- content-addressed weights (see blobs.ts) ----
  /** Blob references: `<blob id>:<version key>` → '' ("is this blob referenced" is a prefix probe). */
  readonly weightRefs: TextSublevel;
  /** Blobs stored whole: `<blob id>` → chunk count (a synchronous "already stored?" read). */
  readonly blobs: TextSublevel;
  // ---- end content-addressed weights ----
  /** Folder on disk, or `null` in memory. */
  readonly path: string | null;
}

/** Where the store lives. */
export type LevelLocation = { readonly path: string } | { readonly memory: true };

/** Builds the (unopened) root database of a location. */
export type RootFactory = (location: LevelLocation) => RootLevel;

const defaultRoot: RootFactory = (location) =>
  'path' in location
    ? new ClassicLevel<string, string>(location.path, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    : new MemoryLevel<string, string>({ keyEncoding: 'utf8', valueEncoding: 'utf8' });

let createRoot: RootFactory = defaultRoot;

/**
 * @internal Test seam, not public API: the fault-injection harness
 * (test/harness/faulty-level.ts) builds a root whose Nth read, write or iterator step
 * fails. `null` restores the real backends.
 */
export function setRootFactoryForTests(factory: RootFactory | null): void {
  createRoot = factory ?? defaultRoot;
}

/**
 * Opens the store, creating its folder on first use. A path that cannot hold a
 * registry (a NUL byte, an existing regular file, a path under a file) is
 * INVALID_ARGUMENT naming it; a folder another process holds is DATABASE_LOCKED,
 * with the path in the message, rather than LevelDB's generic "failed to open"; a
 * damaged MANIFEST or CURRENT is CORRUPTION with LevelDB's own words; an I/O failure
 * LevelDB reports (a folder it may not read or write, a failing disk) is IO_ERROR.
 */
export async function openLevel(location: LevelLocation): Promise<Level> {
  const path = 'path' in location ? location.path : null;
  if (path !== null) await prepareFolder(path);
  const root = createRoot(location);
  try {
    await root.open();
  } catch (error) {
    const translated = translateLevelError(error, path);
    if (isModelSqlError(translated, 'CORRUPTION') || isModelSqlError(translated, 'DATABASE_LOCKED') || isModelSqlError(translated, 'IO_ERROR')) throw translated;
    throw new ModelSqlError('INVALID_ARGUMENT', `cannot open registry folder '${path}': ${levelMessage(error)}`, { path: path ?? undefined }, { cause: error });
  }
  const text = (name: string): TextSublevel => root.sublevel<string, string>(name, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  const level: Level = {
    root,
    models: text(NS.models),
    versions: text(NS.versions),
    weights: root.sublevel<string, Uint8Array>(NS.weights, { keyEncoding: 'utf8', valueEncoding: 'view' }),
    uploads: text(NS.uploads),
    jobs: text(NS.jobs),
    jobQueue: text(NS.jobQueue),
    stages: text(NS.stages),
    schemaTokens: text(NS.schemaTokens),
    fingerprints: text(NS.fingerprints),
    meta: text(NS.meta),
    events: text(NS.events),
    modelEvents: text(NS.modelEvents),
    scopeEvents: text(NS.scopeEvents),
    weightRefs: text(NS.weightRefs),
    blobs: text(NS.blobs),
    path,
  };
  // A new sublevel opens on a later tick; synchronous reads (getSync) refuse it until then.
  await Promise.all([level.models, level.versions, level.weights, level.uploads, level.jobs, level.jobQueue, level.stages, level.schemaTokens, level.fingerprints, level.meta, level.events, level.modelEvents, level.scopeEvents, level.weightRefs, level.blobs].map((sublevel) => sublevel.open()));
  return level;
}

async function prepareFolder(path: string): Promise<void> {
  if (path.includes('\0')) {
    throw new ModelSqlError('INVALID_ARGUMENT', `cannot open registry folder '${printablePath(path)}': the path contains a NUL byte`, { path });
  }
  try {
    await mkdir(path, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ModelSqlError('INVALID_ARGUMENT', `cannot open registry folder '${path}': it is a file, not a folder`, { path }, { cause: error });
    }
    throw fileError('open registry folder', path, error);
  }
}
