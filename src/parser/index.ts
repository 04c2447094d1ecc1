/**
 * Public face of the SQL layer: text → AST ({@link parseScript}, {@link parseStatement})
 * and AST → text ({@link printStatement}, {@link printExpression}).
 */
export { parseScript, parseStatement } from './parse.js';
export { printExpression, printStatement, printValue } from './print.js';
export { ModelSqlParser, parser } from './grammar.js';
export { tokenize, RESERVED_WORDS, NON_RESERVED_KEYWORDS, humanTokenName } from './tokens.js';
export type * from './ast.js';
