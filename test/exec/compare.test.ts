/** The one comparison rule (src/exec/compare.ts) and JSON path walking (src/exec/json-path.ts). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareForCondition, compareValues, equalityKey } from '../../src/exec/compare.js';
import { walkPath } from '../../src/exec/json-path.js';

const anyValue = fc.oneof(
  fc.double({ noNaN: true }), fc.integer(), fc.string({ maxLength: 4 }), fc.boolean(),
  fc.date({ noInvalidDate: true }), fc.uint8Array({ maxLength: 3 }),
  fc.array(fc.integer(), { maxLength: 2 }), fc.dictionary(fc.string({ maxLength: 2 }), fc.integer(), { maxKeys: 2 }),
);

describe('compareValues: one total order', () => {
  it('orders kinds: numbers < text < booleans < timestamps < blobs < arrays < objects', () => {
    const ascending = [-1, 2.5, '', 'a', false, true, new Date(0), new Uint8Array([1]), [1], { a: 1 }];
    const shuffled = [...ascending].reverse();
    expect(shuffled.sort(compareValues)).toEqual(ascending);
  });

  it('is a total order: antisymmetric and transitive', () => {
    fc.assert(fc.property(anyValue, anyValue, anyValue, (a, b, c) => {
      expect(Math.sign(compareValues(a, b))).toBe(-Math.sign(compareValues(b, a)) || 0);
      if (compareValues(a, b) <= 0 && compareValues(b, c) <= 0) expect(compareValues(a, c)).toBeLessThanOrEqual(0);
    }));
  });

  it('objects compare by content, key order ignored; equal keys exactly for equal values', () => {
    expect(compareValues({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(0);
    expect(equalityKey({ a: 1, b: 2 })).toBe(equalityKey({ b: 2, a: 1 }));
    expect(equalityKey(1)).toBe(equalityKey(1.0));
    expect(equalityKey(-0)).toBe(equalityKey(0));
    expect(equalityKey(1)).not.toBe(equalityKey('1'));
    expect(equalityKey(true)).not.toBe(equalityKey('b1'));
    fc.assert(fc.property(anyValue, anyValue, (a, b) => {
      expect(equalityKey(a) === equalityKey(b)).toBe(compareValues(a, b) === 0);
    }));
  });
});

describe('compareForCondition: the WHERE rule', () => {
  it('different kinds: = and orderings FALSE, <> TRUE; NULL UNKNOWN', () => {
    for (const op of ['=', '<', '<=', '>', '>='] as const) expect(compareForCondition(op, 1, '1')).toBe(false);
    expect(compareForCondition('<>', 1, '1')).toBe(true);
    expect(compareForCondition('>', 'high', 0.9)).toBe(false);
    expect(compareForCondition('=', null, 1)).toBe(null);
    expect(compareForCondition('<>', 1, null)).toBe(null);
  });

  it('one kind: natural comparison', () => {
    expect(compareForCondition('>', 0.95, 0.9)).toBe(true);
    expect(compareForCondition('<', 'B', 'a')).toBe(true); // code units: case-sensitive
    expect(compareForCondition('=', [1, 2], [1, 2])).toBe(true);
    expect(compareForCondition('<', false, true)).toBe(true);
  });
});

describe('walkPath', () => {
  const doc = { a: { b: [10, { c: 'x' }] }, n: null, 'odd key': 1 };

  it('walks objects and arrays (canonical whole-number keys index arrays)', () => {
    expect(walkPath(doc, ['a', 'b', '0'])).toBe(10);
    expect(walkPath(doc, ['a', 'b', '1', 'c'])).toBe('x');
    expect(walkPath(doc, ['odd key'])).toBe(1);
  });

  it('anything missing is null: absent keys, steps into scalars, JSON null, bad indexes, prototype names', () => {
    for (const keys of [['zz'], ['a', 'b', '2'], ['a', 'b', '01'], ['a', 'b', '-1'], ['a', 'b', 'length'], ['n', 'x'], ['a', 'b', '0', 'x'], ['constructor'], ['__proto__'], ['toString']]) {
      expect(walkPath(doc, keys), keys.join('.')).toBe(null);
    }
    expect(walkPath(null, ['a'])).toBe(null);
    expect(walkPath('text', ['length'])).toBe(null);
  });
});
