import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseScript, parseStatement, printExpression, printStatement } from '../../src/parser/index.js';
import type { SelectNode } from '../../src/parser/index.js';
import { expression, statement } from './arbitraries.js';

describe('print → parse round trip', () => {
  it('every statement re-parses to a deep-equal AST', () => {
    fc.assert(
      fc.property(statement, (ast) => {
        expect(parseStatement(printStatement(ast))).toStrictEqual(ast);
      }),
      { numRuns: 2000 },
    );
  });

  it('every expression re-parses to a deep-equal AST', () => {
    fc.assert(
      fc.property(expression, (where) => {
        const node = parseStatement(`SELECT * FROM t WHERE ${printExpression(where)}`) as SelectNode;
        expect(node.where).toStrictEqual(where);
      }),
      { numRuns: 2000 },
    );
  });

  it('scripts of printed statements joined by ; re-parse statement by statement', () => {
    fc.assert(
      fc.property(fc.array(statement, { maxLength: 6 }), fc.constantFrom(';', ';\n', ' ; ', ';;', ';\n-- note\n'), (asts, sep) => {
        expect(parseScript(asts.map(printStatement).join(sep))).toStrictEqual(asts);
      }),
      { numRuns: 500 },
    );
  });

  it('prints canonical SQL', () => {
    expect(printStatement(parseStatement("create model \"Spam\" from version 2 with (Weights = X'00FF', lr = -0.5, a = 'it''s')"))).toBe(
      "CREATE MODEL Spam FROM VERSION 2 WITH (weights = x'00ff', lr = -0.5, a = 'it''s')",
    );
    expect(
      printStatement(parseStatement('select "Model", version from ml_jobs where not (a or b) and c = 1 or d in (1, 2) order by "select" asc, x desc limit $1 offset 0')),
    ).toBe('SELECT "Model", version FROM ML_JOBS WHERE NOT (a OR b) AND c = 1 OR d IN (1, 2) ORDER BY "select", x DESC LIMIT $1 OFFSET 0');
    expect(printStatement(parseStatement('SELECT * FROM t WHERE a OR (b OR c)'))).toBe('SELECT * FROM T WHERE a OR (b OR c)');
    expect(printStatement(parseStatement('SELECT * FROM t WHERE (a = 1) = (NOT b)'))).toBe('SELECT * FROM T WHERE (a = 1) = (NOT b)');
  });
});
