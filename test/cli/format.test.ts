import { describe, expect, it } from 'vitest';
import { formatResult, MAX_CELL_WIDTH } from '../../src/cli/format.js';
import type { QueryResult } from '../../src/exec/executor.js';

function result(columns: string[], rows: Record<string, unknown>[], command = 'SELECT'): QueryResult {
  return { command, columns, rows, rowCount: rows.length };
}

describe('formatResult table', () => {
  it('aligns columns, right-aligns numbers and counts rows', () => {
    const text = formatResult(
      result(['model', 'version'], [
        { model: 'spam', version: 1 },
        { model: 'churn-model', version: 12 },
      ]),
      'table',
    );
    expect(text.split('\n')).toEqual([
      ' model       | version',
      '-------------+---------',
      ' spam        |       1',
      ' churn-model |      12',
      '(2 rows)',
    ]);
  });

  it('shows NULL, compact JSON, ISO dates, booleans and a singular row count', () => {
    const text = formatResult(
      result(['a', 'b', 'c', 'd'], [{ a: null, b: { f1: 0.9, tags: ['x'] }, c: new Date('2024-01-02T03:04:05.000Z'), d: false }]),
      'table',
    );
    const lines = text.split('\n');
    expect(lines[2]).toBe(' NULL | {"f1":0.9,"tags":["x"]} | 2024-01-02T03:04:05.000Z | false');
    expect(lines[3]).toBe('(1 row)');
  });

  it('truncates long cells and keeps a row on one line', () => {
    const long = 'x'.repeat(MAX_CELL_WIDTH + 50);
    const text = formatResult(result(['t', 'n'], [{ t: long, n: 'a\nb' }]), 'table');
    const row = text.split('\n')[2]!;
    expect(row).toContain(`${'x'.repeat(MAX_CELL_WIDTH - 1)}…`);
    expect(row).not.toContain(long);
    expect(row).toContain('a\\nb');
    expect(text.split('\n')).toHaveLength(4);
  });

  it('prints a zero row count for an empty result and appends timing', () => {
    expect(formatResult(result(['a'], []), 'table')).toBe(' a\n---\n(0 rows)');
    expect(formatResult(result([], []), 'table', { timingMs: 1.234 })).toBe('(0 rows)\nTime: 1.23 ms');
  });
});

describe('formatResult csv', () => {
  it('writes a header and RFC 4180 quoted fields, NULL as empty, JSON as text', () => {
    const text = formatResult(
      result(['a', 'b', 'c', 'd'], [
        { a: 'plain', b: 'with, comma', c: 'say "hi"', d: null },
        { a: 'line\nbreak', b: { k: 'v,w' }, c: 3, d: true },
      ]),
      'csv',
    );
    expect(text).toBe('a,b,c,d\nplain,"with, comma","say ""hi""",\n"line\nbreak","{""k"":""v,w""}",3,true');
  });

  it('writes bytes as hex and dates as ISO', () => {
    const text = formatResult(result(['w', 't'], [{ w: Buffer.from([0xde, 0xad]), t: new Date(0) }]), 'csv');
    expect(text).toBe('w,t\ndead,1970-01-01T00:00:00.000Z');
  });
});

describe('formatResult json', () => {
  it('is one line of JSON with hex bytes and ISO dates', () => {
    const text = formatResult(
      result(['w', 'u', 't', 'm', 'n'], [{ w: Buffer.from([1, 255]), u: new Uint8Array([0xab]), t: new Date('2024-05-06T07:08:09.010Z'), m: { nested: new Uint8Array([2]) }, n: null }], 'SELECT'),
      'json',
      { timingMs: 2 },
    );
    expect(text).not.toContain('\n');
    expect(JSON.parse(text)).toEqual({
      command: 'SELECT',
      columns: ['w', 'u', 't', 'm', 'n'],
      rows: [{ w: '01ff', u: 'ab', t: '2024-05-06T07:08:09.010Z', m: { nested: '02' }, n: null }],
      rowCount: 1,
      timeMs: 2,
    });
  });
});
