/**
 * Entry points from SQL text to AST. Scripts are split on `;` at the token level
 * (a `;` inside a string is part of the string token) and each statement is parsed
 * on its own, which keeps error positions and `expected` lists local to the
 * statement being written. Every failure surfaces as a ModelSqlError.
 */
import { EOF, type IRecognitionException, type IToken } from 'chevrotain';
import { ModelSqlError } from '../errors.js';
import type { StatementNode } from './ast.js';
import { parser } from './grammar.js';
import {
  endPosition,
  humanTokenName,
  isKeywordType,
  LParen,
  quoteFound,
  RParen,
  Semicolon,
  syntaxError,
  tokenize,
  type SourcePosition,
} from './tokens.js';

/** Parentheses deeper than this are refused before they can exhaust the stack. */
const MAX_NESTING = 100;

interface StatementTokens {
  readonly tokens: IToken[];
  /** The `;` that ended the statement, or null for the last one. */
  readonly terminator: IToken | null;
}

function splitStatements(tokens: readonly IToken[]): StatementTokens[] {
  const statements: StatementTokens[] = [];
  let current: IToken[] = [];
  for (const token of tokens) {
    if (token.tokenType === Semicolon) {
      if (current.length > 0) statements.push({ tokens: current, terminator: token });
      current = [];
    } else {
      current.push(token);
    }
  }
  if (current.length > 0) statements.push({ tokens: current, terminator: null });
  return statements;
}

function positionOf(token: IToken): SourcePosition {
  return { line: token.startLine ?? 1, column: token.startColumn ?? 1 };
}

function checkNesting(tokens: readonly IToken[]): void {
  let depth = 0;
  for (const token of tokens) {
    if (token.tokenType === LParen && ++depth > MAX_NESTING) {
      throw syntaxError(positionOf(token), `parentheses nested deeper than ${MAX_NESTING} levels`, [], token.image);
    }
    if (token.tokenType === RParen) depth--;
  }
}

function describeToken(token: IToken): string {
  if (isKeywordType(token.tokenType)) return token.image.toUpperCase();
  const image = token.image.length > 40 ? `${token.image.slice(0, 40)}…` : token.image;
  // Punctuation reads better quoted; names and literals already look like themselves.
  return /^[()*,;=<>!-]+$/.test(image) ? `'${image}'` : image;
}

function describeExpected(name: string): string {
  // Keywords such as NULL_RATE read as words, not as punctuation to be quoted.
  return /^[A-Za-z_ ]+$/.test(name) ? name : `'${name}'`;
}

function listWords(words: readonly string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
}

/** What the grammar would accept after `preceding`, in human token names. */
function expectedAfter(preceding: IToken[], statementComplete: boolean): string[] {
  const names = new Set<string>();
  for (const path of parser.computeContentAssist('statement', preceding)) {
    names.add(humanTokenName(path.nextTokenType));
  }
  if (statementComplete) names.add(';');
  return [...names];
}

function toSyntaxError(error: IRecognitionException, statement: StatementTokens, text: string): ModelSqlError {
  const { tokens, terminator } = statement;
  const atEnd = error.token.tokenType === EOF;
  const index = atEnd ? tokens.length : Math.max(0, tokens.indexOf(error.token));
  const preceding = tokens.slice(0, index);
  const expected = expectedAfter(preceding, error.name === 'NotAllInputParsedException');

  let position: SourcePosition;
  let found: string;
  let foundText: string;
  if (!atEnd) {
    position = positionOf(error.token);
    found = error.token.image;
    foundText = quoteFound(found);
  } else if (terminator) {
    position = positionOf(terminator);
    found = terminator.image;
    foundText = quoteFound(found);
  } else {
    position = endPosition(text);
    found = '';
    foundText = 'end of input';
  }

  const previous = preceding[preceding.length - 1];
  const after = previous ? ` after ${describeToken(previous)}` : '';
  const problem = expected.length > 0
    ? `expected ${listWords(expected.map(describeExpected))}${after}, found ${foundText}`
    : `unexpected ${foundText}${after}`;
  return syntaxError(position, problem, expected, found);
}

function parseOne(statement: StatementTokens, text: string): StatementNode {
  checkNesting(statement.tokens);
  parser.input = statement.tokens;
  const node = parser.statement();
  const error = parser.errors[0];
  if (error) throw toSyntaxError(error, statement, text);
  return node;
}

function guard<T>(text: unknown, run: (text: string) => T): T {
  if (typeof text !== 'string') {
    throw new ModelSqlError('INVALID_ARGUMENT', `SQL must be a string, got ${text === null ? 'null' : typeof text}`);
  }
  try {
    return run(text);
  } catch (error) {
    if (error instanceof ModelSqlError) throw error;
    // Only a parser bug gets here; callers are promised nothing but ModelSqlError.
    throw new ModelSqlError('SYNTAX_ERROR', `could not parse statement: ${String(error)}`, {}, { cause: error });
  }
}

/**
 * Parse a script: statements separated by `;`. Empty statements (`;;`, a trailing
 * `;`) are ignored, so an empty or comment-only script yields `[]`.
 *
 * @throws ModelSqlError SYNTAX_ERROR with `line`, `column`, `expected` and `found`.
 */
export function parseScript(text: string): StatementNode[] {
  return guard(text, (sql) => splitStatements(tokenize(sql)).map((statement) => parseOne(statement, sql)));
}

/**
 * Parse exactly one statement, as `db.query()` runs; a trailing `;` is fine.
 *
 * @throws ModelSqlError SYNTAX_ERROR for bad SQL; INVALID_ARGUMENT when the text
 * holds no statement or more than one.
 */
export function parseStatement(text: string): StatementNode {
  const statements = parseScript(text);
  const [first] = statements;
  if (statements.length !== 1 || !first) {
    throw new ModelSqlError(
      'INVALID_ARGUMENT',
      `query() runs exactly one statement, found ${statements.length}; use exec() for scripts`,
    );
  }
  return first;
}
