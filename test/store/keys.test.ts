import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { modelKey, parseModelKey, parseVersionKey, validateModelName, versionKey, versionRange } from '../../src/store/keys.js';

/** Names as an app may write them: any well-formed Unicode, with the separator and escape characters over-represented. */
const modelName = fc
  .array(fc.oneof(fc.constantFrom(':', '%', '%3A', '%25', ';', '@v', '\u0000', 'é', '😀'), fc.string({ minLength: 1, maxLength: 4, unit: 'grapheme' })), { minLength: 1, maxLength: 6 })
  .map((parts) => parts.join(''))
  .filter((name) => name.length <= 256);

const inRange = (key: string, range: { gt: string; lt: string }): boolean => key > range.gt && key < range.lt;

describe('key layout', () => {
  it('maps different (tenant, name) pairs to different model keys and parses back', () => {
    fc.assert(
      fc.property(fc.option(modelName, { nil: null }), modelName, fc.option(modelName, { nil: null }), modelName, (t1, n1, t2, n2) => {
        const k1 = modelKey(n1, t1);
        const k2 = modelKey(n2, t2);
        expect(k1 === k2).toBe(t1 === t2 && n1 === n2);
        expect(parseModelKey(k1)).toEqual({ tenant: t1, name: n1 });
      }),
    );
  });

  it("puts a model's versions inside its own range and nobody else's", () => {
    fc.assert(
      fc.property(modelName, modelName, fc.integer({ min: 1, max: 0xffffffff }), (a, b, version) => {
        const key = versionKey(modelKey(a), version);
        expect(inRange(key, versionRange(modelKey(a)))).toBe(true);
        if (a !== b) expect(inRange(key, versionRange(modelKey(b)))).toBe(false);
        expect(parseVersionKey(key)).toEqual({ model: modelKey(a), version });
      }),
    );
  });

  it('orders versions numerically (2 before 10)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0xffffffff }), fc.integer({ min: 1, max: 0xffffffff }), (x, y) => {
        const m = modelKey('m');
        expect(versionKey(m, x) < versionKey(m, y)).toBe(x < y);
      }),
    );
  });

  it('rejects names that cannot be stored faithfully', () => {
    expect(() => validateModelName('')).toThrow(/non-empty/);
    expect(() => validateModelName('x'.repeat(257))).toThrow(/limit is 256/);
    expect(() => validateModelName('bad\uD800name')).toThrow(/lone surrogate/);
    expect(validateModelName('team.spam-v2 😀')).toBe('team.spam-v2 😀');
  });
});
