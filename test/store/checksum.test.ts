/**
 * Record checksums: a stored head, version or job record with any one byte damaged
 * (any position, any bit, or any other byte value) is CORRUPTION naming namespace and
 * key, never a wrong record and never another error; records written before format 3
 * (no checksum) still read.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isModelSqlError } from '../../src/errors.js';
import {
  NS,
  decodeHead,
  decodeJob,
  decodeVersion,
  encodeRecord,
  type HeadRecord,
  type JobRecord,
  type VersionRecord,
} from '../../src/store/records.js';

const text = fc.oneof(fc.string({ maxLength: 24 }), fc.string({ unit: 'grapheme', maxLength: 8 }), fc.constantFrom('é', '垃圾', '😀', '"\\', '{"a":1}', '#00000000{}'));
const maybeText = fc.option(text, { nil: null });
const num = fc.oneof(fc.integer({ min: 0, max: 2 ** 40 }), fc.double({ noNaN: true, noDefaultInfinity: true }));
const maybeNum = fc.option(num, { nil: null });
const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const record = <T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> => fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>;

const head: fc.Arbitrary<HeadRecord> = record<HeadRecord>({
  active: maybeNum, latest: num, archived: num, createdAt: num, updatedAt: num, retired: fc.boolean(), production: maybeNum,
  aliases: fc.dictionary(fc.string({ maxLength: 8 }), record({ version: fc.nat(), setAt: num, setBy: maybeText })), tags: fc.dictionary(fc.string({ maxLength: 8 }), text),
});

const version: fc.Arbitrary<VersionRecord> = record<VersionRecord>({
  archived: fc.boolean(), sha256: fc.option(hex64, { nil: null }), sizeBytes: maybeNum, blob: maybeText, chunks: num,
  artifact: maybeText, hyperparams: maybeText, metrics: maybeText, trainingSql: maybeText, trainingDataHash: maybeText,
  parentVersion: maybeNum, createdAt: num, createdBy: maybeText, description: maybeText, jobId: maybeText,
  stage: fc.constantFrom('dev', 'staging', 'production'), promotedAt: maybeNum, retired: fc.boolean(), modelType: maybeText,
  task: maybeText, backend: maybeText, baseModel: maybeText, baseVersion: maybeNum, config: maybeText, schema: maybeText,
  schemaHash: fc.option(hex64, { nil: null }), tags: fc.dictionary(fc.string({ maxLength: 8 }), text), copiedFromModel: maybeText, copiedFromVersion: maybeNum,
});

const job: fc.Arbitrary<JobRecord> = record<JobRecord>({
  id: fc.stringMatching(/^[0-9a-f]{32}$/), kind: fc.constantFrom('train', 'backfill', 'feature_refresh', 'drift_compute'),
  target: text, status: fc.constantFrom('queued', 'running', 'completed', 'failed', 'cancelled'), progress: num, createdAt: num,
  startedAt: maybeNum, finishedAt: maybeNum, error: maybeText, spec: text, metrics: maybeText, version: maybeNum, tenant: maybeText,
});

type Decoder = (raw: unknown, key: string) => unknown;
const kinds: readonly { name: string; namespace: string; arbitrary: fc.Arbitrary<HeadRecord | VersionRecord | JobRecord>; decode: Decoder }[] = [
  { name: 'head', namespace: NS.models, arbitrary: head, decode: decodeHead },
  { name: 'version', namespace: NS.versions, arbitrary: version, decode: decodeVersion },
  { name: 'job', namespace: NS.jobs, arbitrary: job, decode: decodeJob },
];

/** What LevelDB hands back for damaged bytes under the utf8 value encoding the registry uses. */
function damaged(stored: string, position: number, byte: (old: number) => number): string {
  const bytes = Buffer.from(stored, 'utf8');
  bytes[position] = byte(bytes[position]!);
  return bytes.toString('utf8');
}

/** The decoder's verdict on one damaged value: 'corruption' is the only acceptable one. */
function verdict(decode: Decoder, raw: string, namespace: string): string {
  try {
    decode(raw, 'the-key');
    return 'decoded';
  } catch (error) {
    if (isModelSqlError(error, 'CORRUPTION') && error.namespace === namespace && error.key === 'the-key') return 'corruption';
    return `other error: ${String(error)}`;
  }
}

describe('record checksums', () => {
  for (const { name, namespace, arbitrary, decode } of kinds) {
    it(`a ${name} record round-trips, including non-ASCII text`, () => {
      fc.assert(fc.property(arbitrary, (r) => {
        const stored = encodeRecord(r);
        expect(Buffer.byteLength(stored)).toBe(stored.length); // ASCII only
        expect(decode(stored, 'k')).toEqual(JSON.parse(JSON.stringify(r)));
      }));
    });

    it(`every single-bit flip of a stored ${name} record, at every position, is CORRUPTION`, () => {
      fc.assert(fc.property(arbitrary, (r) => {
        const stored = encodeRecord(r);
        for (let position = 0; position < Buffer.byteLength(stored); position++) {
          for (let bit = 0; bit < 8; bit++) {
            const outcome = verdict(decode, damaged(stored, position, (b) => b ^ (1 << bit)), namespace);
            if (outcome !== 'corruption') throw new Error(`byte ${position} bit ${bit}: ${outcome}`);
          }
        }
      }), { numRuns: 40 });
    });

    it(`a stored ${name} record with any one byte replaced by any other value is CORRUPTION`, () => {
      fc.assert(fc.property(arbitrary, fc.nat(), fc.integer({ min: 1, max: 255 }), (r, at, delta) => {
        const stored = encodeRecord(r);
        const position = at % Buffer.byteLength(stored);
        expect(verdict(decode, damaged(stored, position, (b) => (b + delta) % 256), namespace)).toBe('corruption');
      }), { numRuns: 2000 });
    });
  }

  it('the damage of the issue: a version whose sha256 or schema text changed but still parses', () => {
    const record = fc.sample(version, { numRuns: 1, seed: 7 })[0]!;
    const stored = encodeRecord({ ...record, sha256: 'a'.repeat(64), schema: '[["id","id"]]' });
    for (const [from, to] of [['a'.repeat(64), `b${'a'.repeat(63)}`], ['id\\"]]', 'ix\\"]]']] as const) {
      expect(stored.includes(from)).toBe(true);
      expect(verdict(decodeVersion, stored.replace(from, to), NS.versions)).toBe('corruption');
    }
  });

  it('records written before format 3 (bare JSON, no checksum) still read', () => {
    const legacy = { active: 1, latest: 2, archived: 0, createdAt: 1, updatedAt: 2 };
    expect(decodeHead(JSON.stringify(legacy), 'k')).toEqual({ ...legacy, retired: false, production: null, aliases: {}, tags: {} });
  });
});
