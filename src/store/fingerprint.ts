/**
 * Schema fingerprints (issue 4, after the zer schema registry): the canonical form of
 * the input schema a version was trained on, its hash, and the distance between two
 * schemas that decides warm load / warm start / cold start. Pure: no storage here
 * (see schema-index.ts for the index over stored fingerprints).
 */

import { createHash } from 'node:crypto';
import { corruption, describeValue, invalidArgument, isModelSqlError } from '../errors.js';
import { isWellFormed } from './keys.js';

/** The field kinds a schema may use (the zer seed's `FieldKind`, lower case). */
export const FIELD_KINDS = ['name', 'date', 'categorical', 'id', 'phone', 'email', 'address', 'text', 'number', 'boolean'] as const;
/** One of {@link FIELD_KINDS}. */
export type FieldKind = (typeof FIELD_KINDS)[number];

/** Most fields one schema may have; also keeps the 4-digit size segment of the token keys valid. */
export const MAX_SCHEMA_FIELDS = 1000;
/** Longest field name accepted, in UTF-16 code units (the same limit as model names). */
export const MAX_FIELD_NAME_LENGTH = 256;

/** Distance at or below which a similar schema is a warm start (the seed's threshold). */
export const WARM_START_THRESHOLD = 0.25;
/** Weight of the name/kind overlap in the distance. */
export const JACCARD_WEIGHT = 0.7;
/** Weight of the per-field statistics in the distance. */
export const STATS_WEIGHT = 0.3;

/** A schema as the executor or the typed API hands it in; checked by {@link normalizeSchema}. */
export interface SchemaInput {
  readonly fields: readonly {
    readonly name: string;
    readonly kind: string;
    readonly nullRate?: number | null;
    readonly cardinality?: number | null;
  }[];
  readonly recordCount?: number | null;
}

/** The statistics of one field that the distance looks at; `null` = not given. */
export interface FieldStats {
  readonly name: string;
  readonly nullRate: number | null;
  readonly cardinality: number | null;
}

/** One canonical field. */
export interface FingerprintField extends FieldStats {
  readonly kind: FieldKind;
}

/** The side of a comparison {@link statsSimilarity} needs: a record count and some fields' stats. */
export interface StatsView {
  readonly recordCount: number | null;
  readonly fields: readonly FieldStats[];
}

/** A validated, canonical schema. */
export interface Fingerprint extends StatsView {
  /** Sorted by name in code-unit order; names are unique. */
  readonly fields: readonly FingerprintField[];
  /** Hex SHA-256 over the sorted `[name, kind]` pairs only: stats never change it. */
  readonly hash: string;
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** `null`/`undefined` = absent; otherwise a whole number in [0, MAX_SAFE_INTEGER]. */
function wholeNumber(value: unknown, what: string): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidArgument(`${what} must be a whole number between 0 and ${Number.MAX_SAFE_INTEGER}, got ${describeValue(value)}`);
  }
  return value + 0; // -0 → 0, so a decoded copy is Object.is-equal to the original
}

function checkField(raw: unknown, index: number): FingerprintField {
  if (typeof raw !== 'object' || raw === null) throw invalidArgument(`schema field ${index + 1} must be an object`);
  const { name, kind, nullRate, cardinality } = raw as Record<string, unknown>;
  if (typeof name !== 'string' || name.length === 0) throw invalidArgument(`schema field ${index + 1}: name must be a non-empty string`);
  if (name.length > MAX_FIELD_NAME_LENGTH) {
    throw invalidArgument(`schema field name is ${name.length} characters long; the limit is ${MAX_FIELD_NAME_LENGTH}`);
  }
  // A lone surrogate becomes U+FFFD in a UTF-8 key, so two names could share a posting.
  if (!isWellFormed(name)) throw invalidArgument(`schema field name '${name}' is not well-formed Unicode (lone surrogate)`);
  const folded = typeof kind === 'string' ? kind.toLowerCase() : kind;
  if (!(FIELD_KINDS as readonly unknown[]).includes(folded)) {
    throw invalidArgument(`schema field '${name}': unknown kind ${describeValue(kind)}; allowed kinds are ${FIELD_KINDS.join(', ')}`);
  }
  let rate: number | null = null;
  if (nullRate !== null && nullRate !== undefined) {
    if (typeof nullRate !== 'number' || !Number.isFinite(nullRate) || nullRate < 0 || nullRate > 1) {
      throw invalidArgument(`schema field '${name}': null_rate must be a number between 0 and 1, got ${describeValue(nullRate)}`);
    }
    rate = nullRate + 0;
  }
  return { name, kind: folded as FieldKind, nullRate: rate, cardinality: wholeNumber(cardinality, `schema field '${name}': cardinality`) };
}

/** Hex SHA-256 of the canonical JSON `[[name, kind], ...]` of fields already sorted by name. */
function schemaHash(fields: readonly FingerprintField[]): string {
  return createHash('sha256')
    .update(JSON.stringify(fields.map((f) => [f.name, f.kind])))
    .digest('hex');
}

/**
 * Validates a schema and puts it in canonical form: fields sorted by name, kinds in
 * lower case, absent stats as `null`, plus the hash. Every problem is INVALID_ARGUMENT
 * naming the field at fault.
 */
export function normalizeSchema(input: SchemaInput): Fingerprint {
  if (typeof input !== 'object' || input === null || !Array.isArray(input.fields)) {
    throw invalidArgument('a schema needs a list of fields');
  }
  const count = input.fields.length;
  if (count === 0) throw invalidArgument('a schema needs at least one field');
  if (count > MAX_SCHEMA_FIELDS) throw invalidArgument(`a schema has at most ${MAX_SCHEMA_FIELDS} fields, got ${count}`);
  const fields = input.fields.map(checkField).sort(byName);
  for (let i = 1; i < fields.length; i++) {
    if (fields[i]!.name === fields[i - 1]!.name) throw invalidArgument(`duplicate schema field '${fields[i]!.name}'`);
  }
  const recordCount = wholeNumber(input.recordCount, 'record_count');
  return { fields, recordCount, hash: schemaHash(fields) };
}

/**
 * Canonical JSON text of a fingerprint, for storage in a version record. It is itself
 * a valid {@link SchemaInput} (every key always present, fields in canonical order), so
 * equal fingerprints always encode to equal text. The hash is left out: decoding
 * recomputes it, so a stored hash can never disagree with the stored fields.
 */
export function encodeFingerprint(fp: Fingerprint): string {
  return JSON.stringify({
    fields: fp.fields.map((f) => ({ name: f.name, kind: f.kind, nullRate: f.nullRate, cardinality: f.cardinality })),
    recordCount: fp.recordCount,
  });
}

/** Inverse of {@link encodeFingerprint}; anything that does not decode is CORRUPTION at `namespace`/`key`. */
export function decodeFingerprint(text: string, namespace: string, key: string): Fingerprint {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw corruption(namespace, key, 'schema is not valid JSON', error);
  }
  try {
    return normalizeSchema(parsed as SchemaInput);
  } catch (error) {
    if (isModelSqlError(error, 'INVALID_ARGUMENT')) throw corruption(namespace, key, `invalid schema: ${error.message}`, error);
    throw error;
  }
}

/** Jaccard index from counts: `overlap / |A ∪ B|`, 1 when both sets are empty. */
export function jaccardFromCounts(overlap: number, sizeA: number, sizeB: number): number {
  const union = sizeA + sizeB - overlap;
  return union === 0 ? 1 : overlap / union;
}

/**
 * Jaccard index over the sets of `name:kind` pairs. Names are unique within a
 * fingerprint and both lists are sorted by name, so one merge pass counts the overlap.
 */
export function jaccard(a: Fingerprint, b: Fingerprint): number {
  let overlap = 0;
  for (let i = 0, j = 0; i < a.fields.length && j < b.fields.length; ) {
    const order = byName(a.fields[i]!, b.fields[j]!);
    if (order === 0 && a.fields[i]!.kind === b.fields[j]!.kind) overlap++;
    if (order <= 0) i++;
    if (order >= 0) j++;
  }
  return jaccardFromCounts(overlap, a.fields.length, b.fields.length);
}

/**
 * Similarity of the statistics, in [0, 1] (the seed README's S):
 * - 1 when either side has no record count or a record count of 0 (nothing to compare);
 * - else the mean, over field names present on both sides (whatever their kinds), of the
 *   mean of `1 − min(|Δnull_rate|, 1)` and `1 − |Δcardinality| / max cardinality`;
 * - 0 when no name is shared.
 *
 * Our extension (the seed always has stats): a field without a null rate or
 * cardinality counts as 0 for it, and when both cardinalities are 0 that term is 1
 * (equal, and it avoids 0/0).
 *
 * The sum runs in `a`'s field order; callers pass the query as `a` with its fields
 * sorted by name, so the index and a brute-force scan add the same numbers in the same
 * order and get bit-identical results.
 */
export function statsSimilarity(a: StatsView, b: StatsView): number {
  if (!a.recordCount || !b.recordCount) return 1;
  const other = new Map(b.fields.map((f) => [f.name, f]));
  let sum = 0;
  let shared = 0;
  for (const fa of a.fields) {
    const fb = other.get(fa.name);
    if (!fb) continue;
    shared++;
    const nullTerm = 1 - Math.min(Math.abs((fa.nullRate ?? 0) - (fb.nullRate ?? 0)), 1);
    const ca = fa.cardinality ?? 0;
    const cb = fb.cardinality ?? 0;
    const maxCardinality = Math.max(ca, cb);
    const cardinalityTerm = maxCardinality === 0 ? 1 : 1 - Math.abs(ca - cb) / maxCardinality;
    sum += (nullTerm + cardinalityTerm) / 2;
  }
  return shared === 0 ? 0 : sum / shared;
}

/**
 * `(1 − J)·0.7 + (1 − S)·0.3`. Since S ≤ 1, `combineDistance(J, 1)` is a lower bound
 * on the distance of any schema with that J (float addition of a non-negative term
 * never decreases the sum), which the index uses to prune.
 */
export function combineDistance(jaccardIndex: number, stats: number): number {
  return (1 - jaccardIndex) * JACCARD_WEIGHT + (1 - stats) * STATS_WEIGHT;
}

/** Distance between two schemas: 0 for equal hashes, else {@link combineDistance} of J and S. */
export function fingerprintDistance(a: Fingerprint, b: Fingerprint): number {
  if (a.hash === b.hash) return 0;
  return combineDistance(jaccard(a, b), statsSimilarity(a, b));
}
