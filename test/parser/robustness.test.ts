import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ModelSqlError } from '../../src/errors.js';
import { parseScript, printStatement } from '../../src/parser/index.js';
import { statement } from './arbitraries.js';

function onlyModelSqlErrors(sql: string): void {
  try {
    parseScript(sql);
  } catch (error) {
    if (!(error instanceof ModelSqlError)) throw error;
    expect(['SYNTAX_ERROR', 'INVALID_ARGUMENT']).toContain(error.code);
    if (error.code === 'SYNTAX_ERROR') {
      expect(error.line).toBeGreaterThanOrEqual(1);
      expect(error.column).toBeGreaterThanOrEqual(1);
      expect(Array.isArray(error.expected)).toBe(true);
      expect(typeof error.found).toBe('string');
    }
  }
}

const sqlAlphabet = fc.constantFrom(
  ...'SELECT FROM WHERE AND OR NOT IS NULL IN LIKE ( ) , ; * = <> != < <= > >= - $1 $0 \' " x\'0f\' -- /* */ \n 12 3.5e2 model version'.split(' '),
  ...'ALTER MODEL VERSION PROMOTE DEMOTE TO STAGING RETIRE SET RESET TENANT LOOKUP FOR SCHEMA NULL_RATE CARDINALITY RECORD_COUNT'.split(' '),
  ' ',
);

type Edit = { at: number; kind: 'delete' | 'insert' | 'replace'; text: string };
const edit: fc.Arbitrary<Edit> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('delete', 'insert', 'replace'),
  text: fc.oneof(fc.string({ maxLength: 3 }), sqlAlphabet, fc.string({ unit: 'binary', maxLength: 2 })),
});

function mutate(sql: string, edits: readonly Edit[], cut: number | null): string {
  let out = sql;
  for (const { at, kind, text } of edits) {
    const i = out.length === 0 ? 0 : at % (out.length + 1);
    if (kind === 'delete') out = out.slice(0, i) + out.slice(i + 1);
    else if (kind === 'insert') out = out.slice(0, i) + text + out.slice(i);
    else out = out.slice(0, i) + text + out.slice(i + 1);
  }
  return cut === null ? out : out.slice(0, cut % (out.length + 1));
}

describe('robustness: nothing but ModelSqlError escapes', () => {
  it('random strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 80 }), onlyModelSqlErrors), { numRuns: 2000 });
  });

  it('random token soup', () => {
    fc.assert(
      fc.property(fc.array(sqlAlphabet, { maxLength: 30 }), (parts) => onlyModelSqlErrors(parts.join(' '))),
      { numRuns: 2000 },
    );
  });

  it('valid statements with random deletions, insertions, replacements and truncation', () => {
    fc.assert(
      fc.property(
        fc.array(statement, { minLength: 1, maxLength: 3 }),
        fc.array(edit, { maxLength: 4 }),
        fc.option(fc.nat(), { nil: null }),
        (asts, edits, cut) => onlyModelSqlErrors(mutate(asts.map(printStatement).join(';\n'), edits, cut)),
      ),
      { numRuns: 2000 },
    );
  });
});
