/**
 * Opens the LevelDB folder (or an in-memory level for tests) and its sublevels.
 */

import { ClassicLevel } from 'classic-level';
import { MemoryLevel } from 'memory-level';
import type { AbstractLevel, AbstractSublevel } from 'abstract-level';
import { ModelSqlError } from '../errors.js';
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
 * Opens the store. A folder another process holds is DATABASE_LOCKED, with the path
 * in the message, rather than LevelDB's generic "failed to open".
 */
export async function openLevel(location: LevelLocation): Promise<Level> {
  const path = 'path' in location ? location.path : null;
  const root = createRoot(location);
  try {
    await root.open();
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    if (cause?.code === 'LEVEL_LOCKED') {
      throw new ModelSqlError(
        'DATABASE_LOCKED',
        `registry folder '${path}' is in use (another process or open handle holds its LevelDB lock); close it there first`,
        { path: path ?? undefined },
        { cause: error },
      );
    }
    throw new ModelSqlError('INVALID_ARGUMENT', `cannot open registry folder '${path}': ${(cause as Error | undefined)?.message ?? (error as Error).message}`, { path: path ?? undefined }, { cause: error });
  }
  const text = (name: string): TextSublevel => root.sublevel<string, string>(name, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  return {
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
    path,
  };
}
