import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { columnsOf, compileCondition, hintValue, likeRegex, type ColumnResolver } from '../../src/exec/expression.js';
import type { ColumnType, Row } from '../../src/exec/virtual-table.js';
import type { ExpressionNode } from '../../src/parser/ast.js';
import { and, cmp, col, inList, isNull, like, lit, not, or, param } from './helpers.js';

const TYPES: Record<string, ColumnType> = { a: 'boolean', b: 'boolean', c: 'boolean', n: 'integer', s: 'text', j: 'json' };
const resolve: ColumnResolver = (name) => {
  const type = TYPES[name];
  if (type === undefined) throw new Error(`no column ${name}`);
  return type;
};
const evaluate = (expr: ExpressionNode, row: Row, params: unknown[] = []) => compileCondition(expr, resolve, params)(row);

describe('LIKE', () => {
  const matches = (text: string | null, pattern: string | null) => evaluate(like(col('s'), lit(pattern)), { s: text });

  it('treats % as any run and _ as exactly one character', () => {
    expect(matches('model-v1', 'model%')).toBe(true);
    expect(matches('model', 'model%')).toBe(true);
    expect(matches('a model', 'model%')).toBe(false);
    expect(matches('abc', 'a_c')).toBe(true);
    expect(matches('ac', 'a_c')).toBe(false);
    expect(matches('a\nc', 'a_c')).toBe(true);
    expect(matches('line1\nline2', '%line2')).toBe(true);
  });

  it('is case-sensitive', () => {
    expect(matches('Spam', 'spam')).toBe(false);
    expect(matches('Spam', 'S%')).toBe(true);
  });

  it('matches _ against a whole multi-byte code point', () => {
    expect(matches('a😀c', 'a_c')).toBe(true);
    expect(matches('a😀c', 'a__c')).toBe(false);
    expect(matches('日本語', '___')).toBe(true);
    expect(matches('日本語', '日_語')).toBe(true);
    expect(matches('é', '_')).toBe(true);
  });

  it('takes regex metacharacters literally', () => {
    expect(matches('a.c', 'a.c')).toBe(true);
    expect(matches('abc', 'a.c')).toBe(false);
    expect(matches('a*', 'a*')).toBe(true);
    expect(matches('aaa', 'a*')).toBe(false);
    expect(matches('f(x)', 'f(%)')).toBe(true);
    expect(matches('[a]+?{1}|^$/-', '[a]+?{1}|^$/-')).toBe(true);
  });

  it('escapes % and _ with a backslash', () => {
    expect(matches('100%', '100\\%')).toBe(true);
    expect(matches('1000', '100\\%')).toBe(false);
    expect(matches('a_b', 'a\\_b')).toBe(true);
    expect(matches('axb', 'a\\_b')).toBe(false);
    expect(matches('a\\b', 'a\\\\b')).toBe(true);
    expect(matches('a\\', 'a\\')).toBe(true);
  });

  it('is unknown for NULL operand or pattern, and NOT LIKE keeps it unknown', () => {
    expect(matches(null, '%')).toBe(null);
    expect(matches('x', null)).toBe(null);
    expect(evaluate(like(col('s'), lit('x'), true), { s: 'x' })).toBe(false);
    expect(evaluate(like(col('s'), lit('x'), true), { s: null })).toBe(null);
  });

  it('accepts a pattern from a column or parameter', () => {
    const typesWithP: ColumnResolver = (name) => (name === 'p' ? 'text' : resolve(name));
    const test = compileCondition(like(col('s'), col('p')), typesWithP, []);
    expect(test({ s: 'abc', p: 'a%' })).toBe(true);
    expect(test({ s: 'abc', p: 'b%' })).toBe(false);
    expect(test({ s: 'abc', p: null })).toBe(null);
    expect(evaluate(like(col('s'), param(1)), { s: 'x.y' }, ['x_y'])).toBe(true);
  });

  it('rejects non-text operands', () => {
    expect(() => evaluate(like(col('n'), lit('1%')), {})).toThrow(/LIKE needs text, got n \(integer\)/);
    expect(() => evaluate(like(col('s'), lit(1)), {})).toThrow(/LIKE needs text/);
    expect(() => evaluate(like(col('j'), lit('%')), {})).toThrow(/LIKE needs text/);
  });

  it('agrees with a naive matcher on random inputs', () => {
    const naive = (text: string[], pattern: string[]): boolean => {
      if (pattern.length === 0) return text.length === 0;
      const [p, ...rest] = pattern;
      if (p === '%') return naive(text, rest) || (text.length > 0 && naive(text.slice(1), pattern));
      return text.length > 0 && (p === '_' || p === text[0]) && naive(text.slice(1), rest);
    };
    const alphabet = fc.constantFrom('a', 'b', '.', '*', '😀', '(');
    fc.assert(fc.property(fc.array(alphabet, { maxLength: 6 }), fc.array(fc.oneof(alphabet, fc.constant('%'), fc.constant('_')), { maxLength: 6 }),
      (text, pattern) => likeRegex(pattern.join('')).test(text.join('')) === naive(text, pattern)));
  });
});

describe('three-valued logic', () => {
  it('matches the Kleene truth tables (a reference via min/max over 0, ½, 1)', () => {
    const truth = fc.constantFrom(true, false, null);
    const leaf = fc.oneof(
      fc.constantFrom('a', 'b', 'c').map((n) => col(n)),
      truth.map((v) => lit(v)),
      fc.constantFrom(true, false, null).map((v) => cmp('=', col('a'), lit(v))),
      fc.integer({ min: 0, max: 2 }).map((v) => cmp('<', col('n'), lit(v))),
      fc.constantFrom('a', 'b').map((n) => isNull(col(n))),
    );
    const { expr } = fc.letrec<{ expr: ExpressionNode }>((tie) => ({
      expr: fc.oneof({ depthSize: 'small', withCrossShrink: true },
        leaf,
        tie('expr').map((e) => not(e)),
        fc.tuple(tie('expr'), tie('expr')).map(([l, r]) => and(l, r)),
        fc.tuple(tie('expr'), tie('expr')).map(([l, r]) => or(l, r))),
    }));
    const num = (v: boolean | null) => (v === null ? 0.5 : v ? 1 : 0);
    const reference = (e: ExpressionNode, row: Row): number => {
      switch (e.kind) {
        case 'Column': return num(row[e.name] as boolean | null);
        case 'Literal': return num(e.value as boolean | null);
        case 'Not': return 1 - reference(e.operand, row);
        case 'Logical': return (e.op === 'AND' ? Math.min : Math.max)(reference(e.left, row), reference(e.right, row));
        case 'IsNull': return row[(e.operand as { name: string }).name] === null ? 1 : 0;
        case 'Comparison': {
          const l = row[(e.left as { name: string }).name] as number | boolean | null;
          const r = (e.right as { value: number | boolean | null }).value;
          if (l === null || r === null) return 0.5;
          return (e.op === '=' ? l === r : l < r) ? 1 : 0;
        }
        default: throw new Error('not generated');
      }
    };
    const row = fc.record({ a: truth, b: truth, c: truth, n: fc.constantFrom(0, 1, 2, null) });
    fc.assert(fc.property(expr, row, (e, r) => {
      expect(num(evaluate(e, r))).toBe(reference(e, r));
    }), { numRuns: 500 });
  });

  it('IN is TRUE on a match, else unknown if NULL is involved, else FALSE', () => {
    const cases: [number | null, (number | null)[], boolean | null][] = [
      [1, [1, 2], true], [1, [1, null], true], [3, [1, 2], false], [3, [1, null], null], [null, [1, 2], null],
    ];
    for (const [value, list, expected] of cases) {
      expect(evaluate(inList(col('n'), list.map((v) => lit(v))), { n: value })).toBe(expected);
      expect(evaluate(inList(col('n'), list.map((v) => lit(v)), true), { n: value })).toBe(expected === null ? null : !expected);
    }
  });
});

describe('type rules', () => {
  it('compares literals and parameters by their JS types', () => {
    expect(evaluate(cmp('<', lit(1), lit(2.5)), {})).toBe(true);
    expect(evaluate(cmp('=', param(1), lit('x')), {}, ['x'])).toBe(true);
    expect(evaluate(cmp('=', param(1), lit(3)), {}, [3n])).toBe(true);
    expect(evaluate(cmp('<', lit(false), lit(true)), {})).toBe(true);
    expect(evaluate(cmp('=', param(1), lit(1)), {}, [undefined])).toBe(null);
    expect(() => evaluate(cmp('=', lit(true), lit(1)), {})).toThrow(/cannot compare boolean true with integer 1/);
    expect(() => evaluate(cmp('=', lit(new Uint8Array(2)), lit(1)), {})).toThrow(/blob/);
    expect(() => evaluate(cmp('=', col('n'), param(1)), {}, [{ a: 1 }])).toThrow(/cannot compare n \(integer\) with unsupported/);
  });

  it('rejects json comparisons other than = / <> against JSON text', () => {
    expect(evaluate(cmp('=', col('j'), lit('{"b":[1,{"d":1,"c":2}],"a":null}')), { j: { a: null, b: [1, { c: 2, d: 1 }] } })).toBe(true);
    expect(evaluate(cmp('=', col('j'), lit('"x"')), { j: 'x' })).toBe(true);
    expect(evaluate(cmp('<>', col('j'), lit('1')), { j: null })).toBe(null);
    expect(() => evaluate(cmp('<=', col('j'), lit('1')), {})).toThrow(/json/);
    expect(() => evaluate(cmp('=', col('j'), col('s')), {})).toThrow(/cannot compare/);
    expect(() => evaluate(inList(col('j'), [lit('1'), lit(true)]), {})).toThrow(/cannot compare/);
  });

  it('parses ISO-8601 timestamps strictly, reading a missing offset as UTC', () => {
    const ts: ColumnResolver = () => 'timestamp';
    const at = (text: string) => compileCondition(cmp('=', col('t'), lit(text)), ts, []);
    const row = { t: new Date('2024-05-06T07:08:09.5Z') };
    expect(at('2024-05-06T07:08:09.500Z')(row)).toBe(true);
    expect(at('2024-05-06 07:08:09.5')(row)).toBe(true);
    expect(at('2024-05-06T09:08:09.5+0200')(row)).toBe(true);
    expect(at('2024-05-06')({ t: new Date('2024-05-06T00:00:00Z') })).toBe(true);
    for (const bad of ['May 6 2024', '2024-13-01', '', '2024-05-06T25:00']) {
      expect(() => at(bad), bad).toThrow(/not a valid timestamp/);
    }
    expect(hintValue('timestamp', 0)).toEqual(new Date(0));
    expect(hintValue('integer', 5n)).toBe(5);
    expect(hintValue('json', '{}')).toBeUndefined();
  });
});

describe('columnsOf', () => {
  it('lists every column reference in source order', () => {
    const e = and(or(cmp('=', col('a'), lit(1)), like(col('s'), col('p'))), not(inList(col('n'), [col('m'), param(1)])));
    expect(columnsOf(e)).toEqual(['a', 's', 'p', 'n', 'm']);
    expect(columnsOf(null)).toEqual([]);
  });
});
