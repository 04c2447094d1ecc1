import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ModelSqlError } from '../../src/errors.js';
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

  it('prints the lifecycle, tenant and schema statements canonically', () => {
    const canonical = (sql: string) => printStatement(parseStatement(sql));
    expect(canonical('alter model "Spam" version $1 promote to staging')).toBe('ALTER MODEL Spam VERSION $1 PROMOTE TO STAGING');
    expect(canonical('alter model "a b" version 2 demote to dev')).toBe('ALTER MODEL "a b" VERSION 2 DEMOTE TO DEV');
    expect(canonical('retire model spam')).toBe('RETIRE MODEL spam');
    expect(canonical('retire model "order" version 3')).toBe('RETIRE MODEL "order" VERSION 3');
    expect(canonical("set tenant 'it''s'")).toBe("SET TENANT 'it''s'");
    expect(canonical('reset tenant')).toBe('RESET TENANT');
    expect(canonical('create model m with (a = 1) schema ("Age" INT cardinality 3 null_rate .5, "where" "Odd Kind") record_count $2')).toBe(
      'CREATE MODEL m WITH (a = 1) SCHEMA (Age int NULL_RATE 0.5 CARDINALITY 3, "where" "odd kind") RECORD_COUNT $2',
    );
    expect(canonical('lookup model for schema (schema "SELECT")')).toBe('LOOKUP MODEL FOR SCHEMA (schema "select")');
  });

  it('prints the maintenance statements canonically', () => {
    const canonical = (sql: string) => printStatement(parseStatement(sql));
    expect(canonical('check registry')).toBe('CHECK REGISTRY');
    expect(canonical("backup to '/backups/it''s'")).toBe("BACKUP TO '/backups/it''s'");
    expect(canonical('Backup To $1')).toBe('BACKUP TO $1');
  });

  it('refuses ASTs that no SQL text expresses', () => {
    const code = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return (error as ModelSqlError).code;
      }
      return 'no error';
    };
    expect(code(() => printStatement({ kind: 'SetTenant', tenant: { kind: 'Literal', value: 7 } }))).toBe('INVALID_ARGUMENT');
    expect(code(() => printStatement({ kind: 'LookupModel', schema: { kind: 'Schema', fields: [], recordCount: null } }))).toBe(
      'INVALID_ARGUMENT',
    );
  });
});
