import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isModelSqlError } from '../../src/errors.js';
import {
  FIELD_KINDS,
  MAX_SCHEMA_FIELDS,
  WARM_START_THRESHOLD,
  decodeFingerprint,
  encodeFingerprint,
  fingerprintDistance,
  jaccard,
  jaccardFromCounts,
  normalizeSchema,
  statsSimilarity,
  type SchemaInput,
} from '../../src/store/fingerprint.js';
import { BRP, SIM, schema } from '../helpers/schemas.js';


function invalid(input: unknown): string {
  try {
    normalizeSchema(input as SchemaInput);
  } catch (error) {
    expect(isModelSqlError(error, 'INVALID_ARGUMENT')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('normalizeSchema', () => {
  it('sorts fields by name in code-unit order, folds kinds and fills absent stats with null', () => {
    const fp = schema([
      { name: 'b', kind: 'NAME', nullRate: 0.5 },
      { name: 'B', kind: 'Id', cardinality: 7 },
      { name: 'a', kind: 'date', nullRate: null, cardinality: undefined },
    ]);
    expect(fp.fields).toEqual([
      { name: 'B', kind: 'id', nullRate: null, cardinality: 7 },
      { name: 'a', kind: 'date', nullRate: null, cardinality: null },
      { name: 'b', kind: 'name', nullRate: 0.5, cardinality: null },
    ]);
    expect(fp.recordCount).toBeNull();
  });

  it('hashes the canonical JSON of sorted [name, kind] pairs with SHA-256', () => {
    const expected = createHash('sha256').update('[["a","id"],["b","name"]]').digest('hex');
    expect(schema([{ name: 'b', kind: 'name' }, { name: 'a', kind: 'ID' }]).hash).toBe(expected);
  });

  it('field order never changes the hash', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(BRP.concat(SIM.slice(0, 3)), { minLength: 8, maxLength: 8 }), (fields) => {
        expect(schema(fields).hash).toBe(schema(BRP.concat(SIM.slice(0, 3))).hash);
      }),
    );
  });

  it('stats and record count never change the hash; kinds and names do', () => {
    const plain = schema(BRP).hash;
    expect(schema(BRP.map((f, i) => ({ ...f, nullRate: i / 10, cardinality: i * 3 })), 1234).hash).toBe(plain);
    expect(schema(BRP.map((f) => ({ ...f, kind: f.kind.toUpperCase() }))).hash).toBe(plain);
    expect(schema(BRP.map((f) => (f.name === 'postcode' ? { ...f, kind: 'text' } : f))).hash).not.toBe(plain);
    expect(schema(BRP.map((f) => (f.name === 'postcode' ? { ...f, name: 'Postcode' } : f))).hash).not.toBe(plain);
  });

  it('rejects an unknown kind, listing the allowed kinds', () => {
    const message = invalid({ fields: [{ name: 'x', kind: 'float' }] });
    expect(message).toContain("'x'");
    expect(message).toContain("'float'");
    expect(message).toContain(FIELD_KINDS.join(', '));
  });

  it('rejects a duplicate field, naming it', () => {
    expect(invalid({ fields: [{ name: 'x', kind: 'id' }, { name: 'y', kind: 'id' }, { name: 'x', kind: 'name' }] })).toBe("duplicate schema field 'x'");
  });

  it.each([1.5, -0.1, Number.NaN, Number.POSITIVE_INFINITY, '0.5'])('rejects null_rate %s', (nullRate) => {
    expect(invalid({ fields: [{ name: 'x', kind: 'id', nullRate }] })).toMatch(/field 'x': null_rate must be a number between 0 and 1/);
  });

  it.each([2.5, -1, Number.MAX_SAFE_INTEGER + 1, '3'])('rejects cardinality %s', (cardinality) => {
    expect(invalid({ fields: [{ name: 'x', kind: 'id', cardinality }] })).toMatch(/field 'x': cardinality must be a whole number/);
  });

  it('accepts the edges of the ranges', () => {
    const fp = schema([{ name: 'x', kind: 'id', nullRate: 1, cardinality: Number.MAX_SAFE_INTEGER }, { name: 'y', kind: 'id', nullRate: 0, cardinality: 0 }], 0);
    expect(fp.fields.map((f) => [f.nullRate, f.cardinality])).toEqual([[1, Number.MAX_SAFE_INTEGER], [0, 0]]);
    expect(fp.recordCount).toBe(0);
  });

  it('rejects bad record counts, empty or oversized schemas and bad names', () => {
    expect(invalid({ fields: [{ name: 'x', kind: 'id' }], recordCount: 0.5 })).toMatch(/^record_count must be a whole number/);
    expect(invalid({ fields: [{ name: 'x', kind: 'id' }], recordCount: -3 })).toMatch(/^record_count/);
    expect(invalid({ fields: [] })).toBe('a schema needs at least one field');
    expect(invalid({})).toBe('a schema needs a list of fields');
    expect(invalid(null)).toBe('a schema needs a list of fields');
    const many = Array.from({ length: MAX_SCHEMA_FIELDS + 1 }, (_, i) => ({ name: `f${i}`, kind: 'id' }));
    expect(invalid({ fields: many })).toMatch(/at most 1000 fields, got 1001/);
    expect(schema(many.slice(0, MAX_SCHEMA_FIELDS)).fields).toHaveLength(MAX_SCHEMA_FIELDS);
    expect(invalid({ fields: [{ name: '', kind: 'id' }] })).toMatch(/name must be a non-empty string/);
    expect(invalid({ fields: [{ name: 7, kind: 'id' }] })).toMatch(/name must be a non-empty string/);
    expect(invalid({ fields: [{ name: 'x'.repeat(257), kind: 'id' }] })).toMatch(/257 characters long; the limit is 256/);
    expect(invalid({ fields: [{ name: 'a\uD800', kind: 'id' }] })).toMatch(/lone surrogate/);
    expect(invalid({ fields: ['x'] })).toBe('schema field 1 must be an object');
  });
});

describe('encodeFingerprint / decodeFingerprint', () => {
  const stored = schema([{ name: 'b', kind: 'name', nullRate: 0.25 }, { name: '__proto__', kind: 'id', cardinality: 3 }, { name: 'a:%', kind: 'text' }], 99);

  it('round-trips exactly, hash included, and encodes equal fingerprints to equal text', () => {
    const text = encodeFingerprint(stored);
    expect(decodeFingerprint(text, 'model_versions', 'k')).toEqual(stored);
    const reordered = schema([...stored.fields].reverse(), 99);
    expect(encodeFingerprint(reordered)).toBe(text);
    expect(JSON.parse(text)).toEqual({
      fields: [
        { name: '__proto__', kind: 'id', nullRate: null, cardinality: 3 },
        { name: 'a:%', kind: 'text', nullRate: null, cardinality: null },
        { name: 'b', kind: 'name', nullRate: 0.25, cardinality: null },
      ],
      recordCount: 99,
    });
  });

  it.each([
    ['not JSON', '{', /schema is not valid JSON/],
    ['no fields', '{"recordCount":1}', /invalid schema: a schema needs a list of fields/],
    ['unknown kind', '{"fields":[{"name":"x","kind":"blob"}]}', /invalid schema: .*unknown kind 'blob'/],
    ['a bad null rate', '{"fields":[{"name":"x","kind":"id","nullRate":2}]}', /invalid schema: .*null_rate/],
  ])('reports %s as CORRUPTION at the namespace and key', (_, text, problem) => {
    try {
      decodeFingerprint(text, 'model_versions', ':m:0000000001');
      expect.unreachable();
    } catch (error) {
      expect(isModelSqlError(error, 'CORRUPTION')).toBe(true);
      expect(error).toMatchObject({ namespace: 'model_versions', key: ':m:0000000001' });
      expect((error as Error).message).toMatch(problem);
    }
  });
});

describe('distance', () => {
  it('is 0 for equal hashes whatever the stats', () => {
    const a = schema(BRP.map((f) => ({ ...f, nullRate: 0, cardinality: 1 })), 10);
    const b = schema(BRP.map((f) => ({ ...f, nullRate: 1, cardinality: 1000 })), 5000);
    expect(fingerprintDistance(a, b)).toBe(0);
  });

  it('seed schemas: one added field is a warm start, BRP against SIM is not', () => {
    const brp = schema(BRP);
    const extended = schema([...BRP, { name: 'verblijfstitel', kind: 'categorical' }]);
    // J = 5/6, no record counts so S = 1.
    expect(fingerprintDistance(extended, brp)).toBeCloseTo((1 / 6) * 0.7, 15);
    expect(fingerprintDistance(extended, brp)).toBeLessThanOrEqual(WARM_START_THRESHOLD);
    // Shared: voornamen, achternaam, geboortedatum, nationaliteit. J = 4 / (5 + 7 − 4) = 0.5.
    expect(jaccard(brp, schema(SIM))).toBe(0.5);
    expect(fingerprintDistance(brp, schema(SIM))).toBeCloseTo(0.35, 15);
    expect(fingerprintDistance(extended, schema(SIM))).toBeGreaterThan(fingerprintDistance(extended, brp));
  });

  it('combines Jaccard and stats by hand', () => {
    const a = schema([
      { name: 'a', kind: 'id', nullRate: 0.1, cardinality: 100 },
      { name: 'b', kind: 'name', nullRate: 0, cardinality: 50 },
    ], 1000);
    const b = schema([
      { name: 'a', kind: 'id', nullRate: 0.3, cardinality: 80 },
      { name: 'b', kind: 'name' },
      { name: 'c', kind: 'date' },
    ], 500);
    // J = 2/3. a: mean(1 − 0.2, 1 − 20/100) = 0.8. b (no stats on b's side = 0, 0): mean(1 − 0, 1 − 50/50) = 0.5.
    // S = 0.65; distance = (1/3)·0.7 + 0.35·0.3.
    expect(jaccard(a, b)).toBeCloseTo(2 / 3, 15);
    expect(statsSimilarity(a, b)).toBeCloseTo(0.65, 15);
    expect(fingerprintDistance(a, b)).toBeCloseTo(0.7 / 3 + 0.105, 15);
    expect(fingerprintDistance(b, a)).toBe(fingerprintDistance(a, b));
  });

  it('compares stats of a shared name even when its kinds differ', () => {
    const a = schema([{ name: 'a', kind: 'id', nullRate: 0, cardinality: 10 }, { name: 'b', kind: 'name', nullRate: 0.5 }], 10);
    const b = schema([{ name: 'a', kind: 'id', nullRate: 0, cardinality: 10 }, { name: 'b', kind: 'text', nullRate: 0 }], 20);
    // J = 1/3. a: 1. b: mean(0.5, 1 (both cardinalities 0)) = 0.75. S = 0.875.
    expect(statsSimilarity(a, b)).toBe(0.875);
    expect(fingerprintDistance(a, b)).toBeCloseTo((2 / 3) * 0.7 + 0.125 * 0.3, 15);
  });

  it('treats a missing or zero record count as equal stats, and no shared name as S = 0', () => {
    const a = schema([{ name: 'a', kind: 'id', nullRate: 1 }], 10);
    const b = schema([{ name: 'b', kind: 'id', nullRate: 0 }], 10);
    expect(statsSimilarity(a, b)).toBe(0);
    expect(fingerprintDistance(a, b)).toBe(1);
    const shared = schema([{ name: 'a', kind: 'name', nullRate: 0 }], 10);
    expect(statsSimilarity(a, shared)).toBe(0.5);
    for (const count of [null, 0]) {
      const c = schema([{ name: 'a', kind: 'name', nullRate: 0 }], count);
      expect(statsSimilarity(a, c)).toBe(1);
      expect(statsSimilarity(c, a)).toBe(1);
      expect(fingerprintDistance(a, c)).toBeCloseTo(0.7, 15);
    }
  });

  it('Jaccard is 1 for two empty sets', () => {
    expect(jaccardFromCounts(0, 0, 0)).toBe(1);
    expect(jaccardFromCounts(2, 3, 4)).toBe(0.4);
  });

  it('is symmetric and within [0, 1]', () => {
    const field = fc.record({
      name: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
      kind: fc.constantFrom('id', 'name'),
      nullRate: fc.option(fc.double({ min: 0, max: 1, noNaN: true })),
      cardinality: fc.option(fc.nat(50)),
    });
    const arb = fc.record({ fields: fc.uniqueArray(field, { selector: (f) => f.name, minLength: 1, maxLength: 5 }), recordCount: fc.option(fc.nat(3)) });
    fc.assert(
      fc.property(arb, arb, (x, y) => {
        const [a, b] = [normalizeSchema(x), normalizeSchema(y)];
        const d = fingerprintDistance(a, b);
        expect(fingerprintDistance(b, a)).toBe(d);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(1);
      }),
    );
  });
});
