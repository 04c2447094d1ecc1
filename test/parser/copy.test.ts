/** The copy form of CREATE MODEL: its AST, its printed form, and its syntax errors. */
import { describe, expect, it } from 'vitest';
import { ModelSqlError } from '../../src/errors.js';
import { parseStatement, printStatement } from '../../src/parser/index.js';

function syntaxError(sql: string): ModelSqlError {
  try {
    parseStatement(sql);
  } catch (error) {
    expect(error).toBeInstanceOf(ModelSqlError);
    return error as ModelSqlError;
  }
  throw new Error(`expected a syntax error for ${sql}`);
}

describe('CREATE MODEL ... FROM MODEL ... VERSION', () => {
  it('parses to a CopyVersion node, options included, and prints back to the same AST', () => {
    const node = parseStatement("create model \"spam prod\" from model spam version $1 with (DESCRIPTION = 'x', active = false)");
    expect(node).toStrictEqual({
      kind: 'CopyVersion',
      model: 'spam prod',
      source: 'spam',
      version: { kind: 'Parameter', index: 1 },
      options: [
        { kind: 'Option', name: 'description', value: { kind: 'Literal', value: 'x' } },
        { kind: 'Option', name: 'active', value: { kind: 'Literal', value: false } },
      ],
    });
    const printed = printStatement(node);
    expect(printed).toBe(`CREATE MODEL "spam prod" FROM MODEL spam VERSION $1 WITH (description = 'x', active = FALSE)`);
    expect(parseStatement(printed)).toStrictEqual(node);
    expect(parseStatement('CREATE MODEL a FROM MODEL b VERSION 2')).toStrictEqual({ kind: 'CopyVersion', model: 'a', source: 'b', version: { kind: 'Literal', value: 2 }, options: [] });
  });

  it('leaves CREATE MODEL ... FROM VERSION as it was', () => {
    expect(parseStatement('CREATE MODEL a FROM VERSION 2')).toMatchObject({ kind: 'CreateModel', fromVersion: { kind: 'Literal', value: 2 } });
  });

  it('syntax errors carry line, column and what was expected', () => {
    const missingVersion = syntaxError('CREATE MODEL a FROM MODEL b\n  WITH (active = TRUE)');
    expect({ code: missingVersion.code, line: missingVersion.line, column: missingVersion.column, expected: missingVersion.expected }).toEqual({ code: 'SYNTAX_ERROR', line: 2, column: 3, expected: ['VERSION'] });
    const afterFrom = syntaxError('CREATE MODEL a FROM b VERSION 1');
    expect({ line: afterFrom.line, column: afterFrom.column, expected: afterFrom.expected }).toEqual({ line: 1, column: 21, expected: ['VERSION', 'MODEL'] });
    const schema = syntaxError('CREATE MODEL a FROM MODEL b VERSION 1 SCHEMA (x name)');
    expect({ line: schema.line, column: schema.column, found: schema.found }).toEqual({ line: 1, column: 39, found: 'SCHEMA' });
  });
});
