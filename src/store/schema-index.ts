/**
 * The index behind `LOOKUP MODEL FOR SCHEMA`: which stored version was trained on the
 * same schema (warm load) or the nearest one within the threshold (warm start).
 *
 * Two sublevels, keys built from escaped segments (never a raw `:` inside one), both
 * partitioned by tenant scope (`<scope>` = the escaped tenant, '' for global models):
 *
 *   schema_entries   <scope>:<hash>:<createdAt, 15>:<name>:<version, 10>
 *                    → {"r": recordCount|null, "s": {field: [nullRate|null, cardinality|null]}}
 *                      (sealed with a checksum, see checksum.ts)
 *   schema_postings  <scope>:<field name>:<kind>:<field count, 4>:<hash> → ''
 *
 * A lookup reads only the scopes its session may see (own tenant, then global), so what
 * it reads, and how long that takes, does not depend on other tenants' schemas
 * (issue 8: a shared posting list told tenant B which field names tenant A uses).
 * Everything below happens per scope, "very common token" detection included.
 *
 * An exact match is a reverse range scan of `<scope>:<hash>:` (newest first). For a
 * near match, a distance ≤ 0.25 needs J ≥ 1 − 0.25/0.7 (stats can only add to the
 * distance), and J ≥ t needs the other schema's size in [t·|A|, |A|/t]; the size sits
 * in the posting key before the hash, so each query token reads only postings of
 * schemas that could qualify, and counting hits per hash gives the exact overlap
 * (ScanCount). A token so common in a scope that reading its postings would dominate
 * (say `id:id` in every schema) is not read at all when the prefix filter allows it;
 * it is checked with point reads for the few hashes that could still qualify (see
 * `scopeCandidates`).
 *
 * Postings are per scope and schema hash, not per version, and never deleted: they are
 * shared by every version of the scope with that schema, and one left behind by a
 * removed version only costs a candidate whose entry scan comes back empty.
 * schema-index-layout.ts moves folders from the earlier, unpartitioned layout.
 */

import { ModelSqlError, corruption, invalidArgument } from '../errors.js';
import { sealJson, unsealJson } from './checksum.js';
import type { AbstractSnapshot } from 'abstract-level';
import type { WriteOp } from './commit-queue.js';
import {
  FIELD_KINDS,
  JACCARD_WEIGHT,
  MAX_SCHEMA_FIELDS,
  WARM_START_THRESHOLD,
  combineDistance,
  jaccardFromCounts,
  statsSimilarity,
  type FieldStats,
  type Fingerprint,
} from './fingerprint.js';
import { MAX_VERSION, escapeSegment, pad } from './keys.js';
import type { Level, TextSublevel } from './level.js';
import type { KeyRange } from './write-overlay.js';
import { NS } from './records.js';

/** A version as the index knows it. */
export interface IndexedVersion {
  /** `modelKey(name, tenant)` from keys.ts: `<escaped tenant or ''>:<escaped name>`. */
  readonly modelKey: string;
  readonly version: number;
  /** Registration time in ms; orders entries so the newest match wins. */
  readonly createdAt: number;
}

/** A version found by a lookup, with its distance to the query. */
export interface LookupCandidate {
  readonly modelKey: string;
  readonly version: number;
  readonly distance: number;
}

/** What {@link SchemaIndex.lookup} decided. */
export type LookupOutcome =
  | { readonly mode: 'warm_load'; readonly modelKey: string; readonly version: number; readonly distance: 0 }
  | { readonly mode: 'warm_start'; readonly modelKey: string; readonly version: number; readonly distance: number }
  | { readonly mode: 'cold_start' };

/** Smallest Jaccard index that can still give a distance ≤ the warm-start threshold. */
const MIN_JACCARD = 1 - WARM_START_THRESHOLD / JACCARD_WEIGHT;
/** Float noise allowance: a candidate is never lost to rounding; the final test uses the exact distance. */
const JACCARD_EPSILON = 1e-12;
/** Sizes are whole numbers, so a looser allowance costs nothing and covers |A|/t near 1,500. */
const SIZE_EPSILON = 1e-9;
/** Postings a token may have before it is skipped if the prefix filter allows (a few ms of reading). */
const DEFAULT_SCAN_LIMIT = 1000;
const HASH_LENGTH = 64;
const SIZE_DIGITS = 4;

/** A schema hash that shares enough tokens with the query to be worth reading. */
interface Candidate {
  readonly hash: string;
  /** Indexes (into the lookup's scopes) of the scopes whose postings have this hash, in order. */
  readonly scopes: number[];
  readonly size: number;
  /** Indexes of the query's fields whose name and kind this schema has too. */
  readonly matched: readonly number[];
  readonly jaccard: number;
  /** Distance if the stats were identical; no entry of this hash can do better. */
  readonly bound: number;
}

/** The best warm-start entry so far, with what breaks ties (earlier scope, then newer). */
interface Best extends LookupCandidate {
  readonly scope: number;
  /** `<createdAt>:<name>:<version>`: larger is newer (key order). */
  readonly tail: string;
}

function tokenPrefix(scope: string, name: string, kind: string): string {
  return `${scope}:${escapeSegment(name)}:${kind}`;
}

function postingKey(scope: string, name: string, kind: string, size: number, hash: string): string {
  return `${tokenPrefix(scope, name, kind)}:${pad(size, SIZE_DIGITS)}:${hash}`;
}

/** Range of one scope's entries for one hash. */
function entryRange(scope: string, hash: string): { gt: string; lt: string } {
  // ':' + 1 = ';' bounds exactly the keys `${scope}:${hash}:...`.
  return { gt: `${scope}:${hash}:`, lt: `${scope}:${hash};` };
}

/** Scope and escaped name of a model key, checked. */
function splitModelKey(modelKey: string): { scope: string; name: string } {
  const segments = modelKey.split(':');
  if (segments.length !== 2 || segments[1] === '') throw invalidArgument(`'${modelKey}' is not a model key`);
  return { scope: segments[0]!, name: segments[1]! };
}

/** Key of one version's entry: `<scope>:<hash>:<createdAt>:<name>:<version>`. */
export function schemaEntryKey(entry: IndexedVersion, hash: string): string {
  const { scope, name } = splitModelKey(entry.modelKey);
  if (!Number.isInteger(entry.version) || entry.version < 0 || entry.version > MAX_VERSION) {
    throw invalidArgument(`version ${entry.version} is out of range`);
  }
  // More than 15 digits would break the key order that makes "newest first" a reverse scan.
  if (!Number.isInteger(entry.createdAt) || entry.createdAt < 0 || entry.createdAt >= 1e15) {
    throw invalidArgument(`creation time ${entry.createdAt} is out of range`);
  }
  return `${scope}:${hash}:${pad(entry.createdAt, 15)}:${name}:${pad(entry.version, 10)}`;
}

/** Only fields with stats are stored; the rest count as "no stats" when compared. */
function encodeEntry(fp: Fingerprint): string {
  const stats = fp.fields
    .filter((f) => f.nullRate !== null || f.cardinality !== null)
    .map((f) => [f.name, [f.nullRate, f.cardinality]] as const);
  // fromEntries defines own properties, so a field called `__proto__` is stored like any other.
  return sealJson(JSON.stringify({ r: fp.recordCount, s: Object.fromEntries(stats) }));
}

function isCount(value: unknown): value is number | null {
  return value === null || (Number.isSafeInteger(value) && (value as number) >= 0);
}

function decodeEntry(key: string, text: string): { recordCount: number | null; stats: Map<string, FieldStats> } {
  let parsed: { r?: unknown; s?: unknown };
  try {
    parsed = JSON.parse(unsealJson(text, NS.fingerprints, key)) as typeof parsed;
  } catch (error) {
    if (error instanceof ModelSqlError) throw error;
    throw corruption(NS.fingerprints, key, 'entry is not valid JSON', error);
  }
  const stats = parsed?.s;
  if (!isCount(parsed?.r) || typeof stats !== 'object' || stats === null || Array.isArray(stats)) {
    throw corruption(NS.fingerprints, key, 'entry is not {"r": count, "s": {...}}');
  }
  const map = new Map<string, FieldStats>();
  for (const [name, pair] of Object.entries(stats)) {
    const [nullRate, cardinality] = Array.isArray(pair) && pair.length === 2 ? (pair as unknown[]) : [];
    const rateOk = nullRate === null || (typeof nullRate === 'number' && nullRate >= 0 && nullRate <= 1);
    if (!rateOk || !isCount(cardinality)) throw corruption(NS.fingerprints, key, `bad stats for field '${name}'`);
    map.set(name, { name, nullRate: nullRate as number | null, cardinality });
  }
  return { recordCount: parsed.r, stats: map };
}

/** Model key, version and tie-break tail of an entry key already known to be in `<scope>:<hash>:`. */
function parseEntryKey(key: string): { modelKey: string; version: number; tail: string } {
  const parts = key.split(':');
  const [scope, , createdAt, name, version] = parts;
  if (parts.length !== 5 || !/^\d{15}$/.test(createdAt!) || !name || !/^\d{10}$/.test(version!)) {
    throw corruption(NS.fingerprints, key, 'malformed schema entry key');
  }
  return { modelKey: `${scope}:${name}`, version: Number(version), tail: `${createdAt}:${name}:${version}` };
}

/**
 * How a lookup reads the index: the registry passes reads of its read view's snapshot
 * (with a transaction's own writes merged in); by default, the latest state.
 */
export interface IndexRead {
  /** The entries of `sublevel` in `range`, in its order (reverse and limit as iterators take them). */
  entries(sublevel: TextSublevel, range: KeyRange): AsyncIterable<readonly [string, string]>;
  /** Whether each of `keys` is in `sublevel`. */
  hasMany(sublevel: TextSublevel, keys: readonly string[]): Promise<boolean[]>;
}

/** Reads of the latest committed state, or of `snapshot`. */
export function snapshotRead(snapshot?: AbstractSnapshot): IndexRead {
  const at = snapshot === undefined ? {} : { snapshot };
  return {
    entries: (sublevel, range) => sublevel.iterator({ ...range, ...at }),
    hasMany: (sublevel, keys) => sublevel.hasMany([...keys], at),
  };
}

/** Maintains and queries the schema index of one store. */
export class SchemaIndex {
  private readonly scanLimit: number;

  /**
   * @param level the opened store; the index uses its `schemaTokens` and `fingerprints` sublevels
   * @param options.scanLimit postings a query token may have before it counts as heavy and
   *   is checked per candidate instead of read (tests lower it to exercise that path)
   */
  constructor(
    private readonly level: Level,
    options: { readonly scanLimit?: number } = {},
  ) {
    this.scanLimit = options.scanLimit ?? DEFAULT_SCAN_LIMIT;
  }

  /**
   * Ops that add a version to the index: its entry and the postings of its schema in
   * its scope (idempotent puts). The registry appends them to the unit that registers
   * or restores the version, so the index never disagrees with the versions.
   */
  addOps(entry: IndexedVersion, fp: Fingerprint): WriteOp[] {
    return [...this.postingOps(splitModelKey(entry.modelKey).scope, fp), this.entryOp(entry, fp)];
  }

  /** The entry half of {@link addOps}. */
  entryOp(entry: IndexedVersion, fp: Fingerprint): WriteOp {
    return { type: 'put', sublevel: this.level.fingerprints, key: schemaEntryKey(entry, fp.hash), value: encodeEntry(fp) };
  }

  /** The postings half of {@link addOps}: one per field, the same for every version of this schema in `scope`. */
  postingOps(scope: string, fp: Fingerprint): WriteOp[] {
    return fp.fields.map((f) => ({
      type: 'put',
      sublevel: this.level.schemaTokens,
      key: postingKey(scope, f.name, f.kind, fp.fields.length, fp.hash),
      value: '',
    }));
  }

  /**
   * Ops that take a version out of lookups (archived, retired). Only its entry goes:
   * the postings belong to the schema, which other versions may still have.
   */
  removeOps(entry: IndexedVersion, fp: Fingerprint): WriteOp[] {
    return [{ type: 'del', sublevel: this.level.fingerprints, key: schemaEntryKey(entry, fp.hash) }];
  }

  /**
   * Warm load if an accepted version has exactly this schema (the first scope that has
   * one, newest first); else warm start with the accepted version nearest the query
   * if its distance is ≤ {@link WARM_START_THRESHOLD} (ties: earlier scope, then
   * newer); else cold start. Reads nothing outside `scopes`.
   *
   * @param scopes tenant segments to search, in preference order: `[escapeSegment(tenant), '']`
   *   for a tenant session, `['']` for a global one
   * @param accept decides whether a version may be returned (retired, shadowed, ...); it
   *   is only asked about versions that would otherwise win
   * @param read how to read the index: the registry reads its read view's snapshot,
   *   the one `accept` reads records from, so the index and the records always agree
   *   (index tests leave it out and read the latest state)
   */
  async lookup(
    fp: Fingerprint,
    scopes: readonly string[],
    accept: (modelKey: string, version: number) => boolean | Promise<boolean>,
    read: IndexRead = snapshotRead(),
  ): Promise<LookupOutcome> {
    for (const scope of scopes) {
      for await (const [key] of read.entries(this.level.fingerprints, { ...entryRange(scope, fp.hash), reverse: true })) {
        const { modelKey, version } = parseEntryKey(key);
        if (await accept(modelKey, version)) return { mode: 'warm_load', modelKey, version, distance: 0 };
      }
    }

    let best: Best | null = null;
    for (const candidate of await this.candidates(fp, scopes, read)) {
      // Sorted by bound: once a bound is worse than the best, so is everything after it.
      if (candidate.bound > (best?.distance ?? WARM_START_THRESHOLD)) break;
      let shared: Promise<readonly string[]> | undefined;
      candidateLoop: for (const s of candidate.scopes) {
        for await (const [key, value] of read.entries(this.level.fingerprints, { ...entryRange(scopes[s]!, candidate.hash), reverse: true })) {
          const { recordCount, stats } = decodeEntry(key, value);
          // Stats only count when both sides have records; only then are the shared names needed.
          const names = fp.recordCount && recordCount ? await (shared ??= this.sharedNames(fp, candidate, scopes, read)) : [];
          const fields = names.map((name): FieldStats => stats.get(name) ?? { name, nullRate: null, cardinality: null });
          const distance = combineDistance(candidate.jaccard, statsSimilarity(fp, { recordCount, fields }));
          const { modelKey, version, tail } = parseEntryKey(key);
          if (!improves(best, distance, s, tail)) continue;
          if (!(await accept(modelKey, version))) continue;
          best = { modelKey, version, distance, scope: s, tail };
          // At this schema's bound (stats agree fully, or the query has no record count)
          // nothing after it here can win: older entries and later scopes lose ties.
          // Stops reading the thousands of entries one much-retrained schema may have.
          if (distance === candidate.bound) break candidateLoop;
        }
      }
    }
    return best ? { mode: 'warm_start', modelKey: best.modelKey, version: best.version, distance: best.distance } : { mode: 'cold_start' };
  }

  /**
   * The schema hashes of any of `scopes` whose Jaccard index can reach the threshold,
   * best bound first. A hash's postings are the same in every scope that has it, so
   * each scope is searched on its own ({@link scopeCandidates}) and the answers merged.
   */
  private async candidates(fp: Fingerprint, scopes: readonly string[], read: IndexRead): Promise<Candidate[]> {
    const perScope = await Promise.all(scopes.map((scope) => this.scopeCandidates(fp, scope, read)));
    const byHash = new Map<string, Candidate>();
    perScope.forEach((found, s) => {
      for (const candidate of found) {
        const known = byHash.get(candidate.hash);
        if (known) known.scopes.push(s);
        else byHash.set(candidate.hash, { ...candidate, scopes: [s] });
      }
    });
    return [...byHash.values()].sort((a, b) => a.bound - b.bound || (a.hash < b.hash ? -1 : 1));
  }

  /**
   * ScanCount with a prefix filter, within one scope. A schema with J ≥ t shares at
   * least ⌈t·|A|⌉ = `low` tokens with the query (o ≥ J·|A ∪ B| ≥ t·|A|), so it has at
   * least one of any |A| − low + 1 of them: up to `low − 1` tokens may be left unread
   * and every qualifying schema is still found through another. We skip the heavy ones
   * (more postings in this scope than the scan limit, e.g. an `id:id` every schema
   * has), count hits from the rest, and check the skipped tokens only for hashes that
   * could still qualify, with point reads. Keeps those whose Jaccard index can reach
   * the threshold (`scopes` is left empty for the caller to fill).
   */
  private async scopeCandidates(fp: Fingerprint, scope: string, reader: IndexRead): Promise<Candidate[]> {
    const size = fp.fields.length;
    const low = Math.max(1, Math.ceil(MIN_JACCARD * size - SIZE_EPSILON));
    const high = Math.min(MAX_SCHEMA_FIELDS, Math.floor(size / MIN_JACCARD + SIZE_EPSILON));
    const prefixes = fp.fields.map((f) => `${tokenPrefix(scope, f.name, f.kind)}:`);
    // The postings of one token in the size window, or null when there are more than `limit`.
    const read = async (index: number, limit: number): Promise<string[] | null> => {
      const prefix = prefixes[index]!;
      const range = { gte: `${prefix}${pad(low, SIZE_DIGITS)}:`, lt: `${prefix}${pad(high, SIZE_DIGITS)};` };
      const keys: string[] = [];
      for await (const [key] of reader.entries(this.level.schemaTokens, { ...range, limit: limit + 1 })) keys.push(key);
      return keys.length > limit ? null : keys;
    };
    let limit = this.scanLimit;
    const lists = await Promise.all(prefixes.map((_, i) => read(i, limit)));
    let heavy = lists.flatMap((list, i) => (list ? [] : [i]));
    // Too many heavy tokens to skip: raise the limit until few enough are left over,
    // so the lists read in full are the shortest ones.
    while (heavy.length >= low) {
      limit *= 4;
      await Promise.all(heavy.map(async (i) => (lists[i] = await read(i, limit))));
      heavy = heavy.filter((i) => !lists[i]);
    }

    const hits = new Map<string, { size: number; matched: number[] }>();
    lists.forEach((keys, index) => {
      const prefix = prefixes[index]!;
      for (const key of keys ?? []) {
        if (key.length !== prefix.length + SIZE_DIGITS + 1 + HASH_LENGTH) throw corruption(NS.schemaTokens, key, 'malformed schema posting key');
        const hash = key.slice(prefix.length + SIZE_DIGITS + 1);
        const hit = hits.get(hash);
        if (hit) hit.matched.push(index);
        else hits.set(hash, { size: Number(key.slice(prefix.length, prefix.length + SIZE_DIGITS)), matched: [index] });
      }
    });

    // The query's own hash has no accepted entry (else it was a warm load).
    hits.delete(fp.hash);
    if (heavy.length > 0) {
      // Only hashes that could qualify even if they have every skipped token are worth checking.
      const open = [...hits].filter(([, hit]) => {
        const overlap = Math.min(hit.matched.length + heavy.length, hit.size, size);
        return jaccardFromCounts(overlap, size, hit.size) >= MIN_JACCARD - JACCARD_EPSILON;
      });
      const found = await reader.hasMany(
        this.level.schemaTokens,
        open.flatMap(([hash, hit]) => heavy.map((i) => postingKey(scope, fp.fields[i]!.name, fp.fields[i]!.kind, hit.size, hash))),
      );
      open.forEach(([, hit], n) => heavy.forEach((i, h) => found[n * heavy.length + h] && hit.matched.push(i)));
    }

    const candidates: Candidate[] = [];
    for (const [hash, { size: other, matched }] of hits) {
      const jaccard = jaccardFromCounts(matched.length, size, other);
      if (jaccard >= MIN_JACCARD - JACCARD_EPSILON) candidates.push({ hash, scopes: [], size: other, matched, jaccard, bound: combineDistance(jaccard, 1) });
    }
    return candidates;
  }

  /**
   * Query field names the candidate schema also has, whatever the kind. The postings
   * gave the names with the same kind; a name the candidate has with another kind is
   * found by asking for its other possible postings (in a scope that has the schema).
   * Needed only when stats count.
   */
  private async sharedNames(fp: Fingerprint, candidate: Candidate, scopes: readonly string[], read: IndexRead): Promise<readonly string[]> {
    const matched = new Set(candidate.matched);
    const names = fp.fields.filter((_, i) => matched.has(i)).map((f) => f.name);
    const unmatched = fp.fields.filter((_, i) => !matched.has(i));
    // Every candidate field is matched already: no other name can be shared.
    if (unmatched.length === 0 || candidate.matched.length === candidate.size) return names;
    const scope = scopes[candidate.scopes[0]!]!;
    const probes = unmatched.flatMap((f) =>
      FIELD_KINDS.filter((kind) => kind !== f.kind).map((kind) => ({ name: f.name, key: postingKey(scope, f.name, kind, candidate.size, candidate.hash) })),
    );
    const found = await read.hasMany(this.level.schemaTokens, probes.map((p) => p.key));
    return names.concat(probes.filter((_, i) => found[i]).map((p) => p.name));
  }
}

/** Smaller distance wins; on a tie, the earlier scope, then the newer entry. */
function improves(best: Best | null, distance: number, scope: number, tail: string): boolean {
  if (!best) return distance <= WARM_START_THRESHOLD;
  if (distance !== best.distance) return distance < best.distance;
  return scope !== best.scope ? scope < best.scope : tail > best.tail;
}

/** One stored entry of the index as the integrity check sees it: what it claims, or why it cannot be read. */
export type StoredIndexEntry =
  | { readonly kind: 'entry'; readonly key: string; readonly hash: string; readonly modelKey: string; readonly version: number }
  | { readonly kind: 'damaged'; readonly namespace: string; readonly key: string; readonly problem: string };

const POSTING_KEY = new RegExp(`^[^:]*:[^:]+:[a-z]+:\\d{${SIZE_DIGITS}}:[0-9a-f]{${HASH_LENGTH}}$`);

/**
 * Every fingerprint entry and posting as stored in `snapshot`, for the integrity check:
 * entries with the version they claim (the caller compares that with the version
 * records), and any key or value that does not parse. Postings are only checked for
 * shape: they are shared and never deleted (see the module comment).
 */
export async function* storedIndexEntries(level: Level, options: { readonly snapshot?: unknown }): AsyncGenerator<StoredIndexEntry> {
  const read = options as { snapshot?: never };
  for await (const [key, value] of level.fingerprints.iterator(read)) {
    const hash = key.split(':')[1] ?? '';
    try {
      if (!/^[0-9a-f]{64}$/.test(hash)) throw corruption(NS.fingerprints, key, 'malformed schema fingerprint key');
      const { modelKey, version } = parseEntryKey(key);
      decodeEntry(key, value);
      yield { kind: 'entry', key, hash, modelKey, version };
    } catch (error) {
      if (!(error instanceof ModelSqlError)) throw error;
      yield { kind: 'damaged', namespace: NS.fingerprints, key, problem: error.message };
    }
  }
  for await (const key of level.schemaTokens.keys(read)) {
    if (!POSTING_KEY.test(key)) yield { kind: 'damaged', namespace: NS.schemaTokens, key, problem: 'malformed schema token key' };
  }
}
