/**
 * Lexical layer of modelsql SQL: the Chevrotain token types, one shared lexer
 * instance, and {@link tokenize}, which turns text into tokens or throws a
 * SYNTAX_ERROR. Malformed literals (unterminated strings, odd hex blobs, `$0`, ...)
 * are matched by dedicated "bad" tokens rather than left to Chevrotain's generic
 * "unexpected character" recovery, so the error can say what is actually wrong
 * and point at where the literal starts.
 */
import { createToken, EOF, Lexer, type IToken, type TokenType } from 'chevrotain';
import { ModelSqlError } from '../errors.js';

// ---------------------------------------------------------------------------
// Identifiers and keywords

/**
 * Category of every token that may be used as a plain name: real identifiers and
 * the non-reserved keywords. The grammar consumes this category wherever a name is
 * allowed, which is what lets `model`, `version` or `job` be columns or model names.
 */
export const Name = createToken({ name: 'Name', pattern: Lexer.NA });

// Unicode letters are welcome in plain identifiers; a sticky regex in a custom
// pattern is the simplest way to use `\p{...}` with Chevrotain.
const identifierRe = /[\p{L}_][\p{L}\p{M}\p{N}_]*/uy;

/** A plain (unquoted) identifier. */
export const Identifier = createToken({
  name: 'Identifier',
  pattern: {
    exec: (text: string, offset: number) => {
      identifierRe.lastIndex = offset;
      return identifierRe.exec(text);
    },
  },
  line_breaks: false,
  categories: [Name],
});

function keyword(word: string, reserved: boolean): TokenType {
  return createToken({
    name: word,
    pattern: new RegExp(word, 'i'),
    longer_alt: Identifier,
    categories: reserved ? [] : [Name],
  });
}

/** Words that can never be names unless double-quoted. */
export const RESERVED_WORDS = [
  'SELECT', 'FROM', 'WHERE', 'AND', 'OR', 'NOT', 'IS', 'NULL', 'TRUE', 'FALSE',
  'LIKE', 'IN', 'ORDER', 'BY', 'LIMIT', 'OFFSET', 'ASC', 'DESC', 'WITH', 'AS', 'DISTINCT', 'GROUP',
] as const;

/** Keywords that still work as plain names (model, column, table and option names). */
export const NON_RESERVED_KEYWORDS = [
  'CREATE', 'ALTER', 'MODEL', 'VERSION', 'USE', 'ARCHIVE', 'UNARCHIVE', 'CANCEL', 'JOB', 'FILE',
  'PROMOTE', 'DEMOTE', 'TO', 'DEV', 'STAGING', 'PRODUCTION', 'RETIRE', 'SET', 'RESET', 'TENANT',
  'LOOKUP', 'FOR', 'SCHEMA', 'NULL_RATE', 'CARDINALITY', 'RECORD_COUNT', 'CHECK', 'REGISTRY', 'BACKUP',
  'ALIAS', 'DROP', 'TAG', 'UNSET', 'PREVIOUS', 'BEST', 'BEGIN', 'COMMIT', 'ROLLBACK', 'TRANSACTION',
] as const;

export const Select = keyword('SELECT', true);
export const From = keyword('FROM', true);
export const Where = keyword('WHERE', true);
export const And = keyword('AND', true);
export const Or = keyword('OR', true);
export const Not = keyword('NOT', true);
export const Is = keyword('IS', true);
export const Null = keyword('NULL', true);
export const True = keyword('TRUE', true);
export const False = keyword('FALSE', true);
export const Like = keyword('LIKE', true);
export const In = keyword('IN', true);
export const Order = keyword('ORDER', true);
export const By = keyword('BY', true);
export const Limit = keyword('LIMIT', true);
export const Offset = keyword('OFFSET', true);
export const Asc = keyword('ASC', true);
export const Desc = keyword('DESC', true);
export const With = keyword('WITH', true);
export const As = keyword('AS', true);
export const Distinct = keyword('DISTINCT', true);
export const Group = keyword('GROUP', true);

export const Create = keyword('CREATE', false);
export const Alter = keyword('ALTER', false);
export const Model = keyword('MODEL', false);
export const Version = keyword('VERSION', false);
export const Use = keyword('USE', false);
export const Archive = keyword('ARCHIVE', false);
export const Unarchive = keyword('UNARCHIVE', false);
export const Cancel = keyword('CANCEL', false);
export const Job = keyword('JOB', false);
export const File = keyword('FILE', false);
export const Promote = keyword('PROMOTE', false);
export const Demote = keyword('DEMOTE', false);
export const To = keyword('TO', false);
export const Dev = keyword('DEV', false);
export const Staging = keyword('STAGING', false);
export const Production = keyword('PRODUCTION', false);
export const Retire = keyword('RETIRE', false);
// Not `Set`: an export of that name would shadow the global Set in this module.
export const SetKeyword = keyword('SET', false);
export const Reset = keyword('RESET', false);
export const Tenant = keyword('TENANT', false);
export const Lookup = keyword('LOOKUP', false);
export const For = keyword('FOR', false);
export const Schema = keyword('SCHEMA', false);
// NULL_RATE outranks the reserved NULL only because longer keywords are tried first (see allTokens).
export const NullRate = keyword('NULL_RATE', false);
export const Cardinality = keyword('CARDINALITY', false);
export const RecordCount = keyword('RECORD_COUNT', false);
export const Check = keyword('CHECK', false);
export const Registry = keyword('REGISTRY', false);
export const Backup = keyword('BACKUP', false);
export const Alias = keyword('ALIAS', false);
export const Drop = keyword('DROP', false);
export const Tag = keyword('TAG', false);
export const Unset = keyword('UNSET', false);
export const Previous = keyword('PREVIOUS', false);
export const Best = keyword('BEST', false);
export const Begin = keyword('BEGIN', false);
export const Commit = keyword('COMMIT', false);
export const Rollback = keyword('ROLLBACK', false);
export const TransactionKeyword = keyword('TRANSACTION', false);

const keywords: TokenType[] = [
  Select, From, Where, And, Or, Not, Is, Null, True, False, Like, In, Order, By, Limit, Offset, Asc, Desc,
  With, As, Distinct, Group, Create, Alter, Model, Version, Use, Archive, Unarchive, Cancel, Job, File,
  Promote, Demote, To, Dev, Staging, Production, Retire, SetKeyword, Reset, Tenant, Lookup, For, Schema, NullRate,
  Cardinality, RecordCount, Check, Registry, Backup, Alias, Drop, Tag, Unset, Previous, Best,
  Begin, Commit, Rollback, TransactionKeyword,
];

// ---------------------------------------------------------------------------
// Literals. The negative lookaheads make `'a''b'` one string rather than two.

/** `"any text"`, `""` escapes a quote. */
export const QuotedIdentifier = createToken({ name: 'QuotedIdentifier', pattern: /"(?:[^"]|"")*"(?!")/, line_breaks: true });
/** `'text'`, `''` escapes a quote; may span lines. */
export const StringLiteral = createToken({ name: 'StringLiteral', pattern: /'(?:[^']|'')*'(?!')/, line_breaks: true });
/** `x'00ff'`; the hex digits are checked after lexing so a bad blob gets its own message. */
export const BlobLiteral = createToken({ name: 'BlobLiteral', pattern: /[xX]'[^']*'/, line_breaks: true });
/** Unsigned integer or decimal with optional exponent; the sign is a separate `-`. */
export const NumberLiteral = createToken({
  name: 'NumberLiteral',
  pattern: /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/,
});
/** `$1`, `$2`, ... */
export const Parameter = createToken({ name: 'Parameter', pattern: /\$\d+/ });
/** `@champion`: an alias standing for the version it points at. */
export const AliasRef = createToken({ name: 'AliasRef', pattern: /@[A-Za-z_][A-Za-z0-9_]*/ });

// Malformed input the lexer recognises only to report it well.
const UnterminatedQuotedIdentifier = createToken({ name: 'UnterminatedQuotedIdentifier', pattern: /"[^]*/, line_breaks: true });
const UnterminatedString = createToken({ name: 'UnterminatedString', pattern: /'[^]*/, line_breaks: true });
const UnterminatedBlob = createToken({ name: 'UnterminatedBlob', pattern: /[xX]'[^]*/, line_breaks: true });
const UnterminatedComment = createToken({ name: 'UnterminatedComment', pattern: /\/\*[^]*/, line_breaks: true });

// ---------------------------------------------------------------------------
// Punctuation

export const LParen = createToken({ name: 'LParen', pattern: '(' });
export const RParen = createToken({ name: 'RParen', pattern: ')' });
export const Comma = createToken({ name: 'Comma', pattern: ',' });
export const Semicolon = createToken({ name: 'Semicolon', pattern: ';' });
export const Star = createToken({ name: 'Star', pattern: '*' });
/** The step of a JSON path, `metrics.f1`; after NumberLiteral in priority, so `.5` stays a number. */
export const Dot = createToken({ name: 'Dot', pattern: '.' });
export const Minus = createToken({ name: 'Minus', pattern: '-' });
export const Equals = createToken({ name: 'Equals', pattern: '=' });
export const NotEquals = createToken({ name: 'NotEquals', pattern: '<>' });
export const BangEquals = createToken({ name: 'BangEquals', pattern: '!=' });
export const LessEquals = createToken({ name: 'LessEquals', pattern: '<=' });
export const GreaterEquals = createToken({ name: 'GreaterEquals', pattern: '>=' });
export const Less = createToken({ name: 'Less', pattern: '<' });
export const Greater = createToken({ name: 'Greater', pattern: '>' });

const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /\s+/, group: Lexer.SKIPPED, line_breaks: true });
const LineComment = createToken({ name: 'LineComment', pattern: /--[^\n\r]*/, group: Lexer.SKIPPED });
const BlockComment = createToken({ name: 'BlockComment', pattern: /\/\*[^]*?\*\//, group: Lexer.SKIPPED, line_breaks: true });

/** Every token type the parser knows, in lexer priority order. */
export const allTokens: TokenType[] = [
  WhiteSpace,
  LineComment, // before Minus
  BlockComment,
  UnterminatedComment,
  StringLiteral,
  UnterminatedString,
  QuotedIdentifier,
  UnterminatedQuotedIdentifier,
  BlobLiteral, // before Identifier: `x'..'` is not the name x
  UnterminatedBlob,
  NumberLiteral,
  Parameter,
  AliasRef,
  NotEquals,
  BangEquals,
  LessEquals,
  GreaterEquals,
  Less,
  Greater,
  Equals,
  LParen,
  RParen,
  Comma,
  Semicolon,
  Star,
  Dot,
  Minus,
  // Longest keywords first: a keyword that is a prefix of another (OR, ORDER) must not win.
  ...[...keywords].sort((a, b) => b.name.length - a.name.length),
  Identifier,
  Name,
];

const lexer = new Lexer(allTokens, { positionTracking: 'full', ensureOptimizations: false });

// ---------------------------------------------------------------------------
// Human names, used in `expected` lists of syntax errors.

const humanNames = new Map<TokenType, string>([
  [Name, 'identifier'],
  [Identifier, 'identifier'],
  [QuotedIdentifier, 'quoted identifier'],
  [StringLiteral, 'string'],
  [BlobLiteral, 'blob'],
  [NumberLiteral, 'number'],
  [Parameter, 'parameter'],
  [AliasRef, 'alias (@name)'],
  [LParen, '('],
  [RParen, ')'],
  [Comma, ','],
  [Semicolon, ';'],
  [Star, '*'],
  [Dot, '.'],
  [Minus, '-'],
  [Equals, '='],
  [NotEquals, '<>'],
  [BangEquals, '!='],
  [LessEquals, '<='],
  [GreaterEquals, '>='],
  [Less, '<'],
  [Greater, '>'],
  [EOF, 'end of input'],
  ...keywords.map((k): [TokenType, string] => [k, k.name]),
]);

/** How a token type is named to people: `VERSION`, `identifier`, `(`, `string`, ... */
export function humanTokenName(type: TokenType): string {
  return humanNames.get(type) ?? type.name;
}

/** True for keyword token types (reserved or not). */
export function isKeywordType(type: TokenType): boolean {
  return keywords.includes(type);
}

// ---------------------------------------------------------------------------

/** A position in the source text, 1-based like editors show it. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** Line and column just past the last character of `text`: where "end of input" is. */
export function endPosition(text: string): SourcePosition {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 10 || (ch === 13 && text.charCodeAt(i + 1) !== 10)) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: text.length - lineStart + 1 };
}

/** The SYNTAX_ERROR every lexical and grammatical problem becomes. */
export function syntaxError(
  position: SourcePosition,
  problem: string,
  expected: readonly string[],
  found: string,
): ModelSqlError {
  return new ModelSqlError('SYNTAX_ERROR', `line ${position.line} column ${position.column}: ${problem}`, {
    line: position.line,
    column: position.column,
    expected,
    found,
  });
}

/** Quote a piece of source text for an error message, shortening long ones. */
export function quoteFound(text: string): string {
  const short = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  return `'${short}'`;
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** What is wrong with a lexically suspicious token, or null when it is fine. */
function tokenProblem(token: IToken): { problem: string; expected: string[] } | null {
  switch (token.tokenType) {
    case UnterminatedString:
      return { problem: 'unterminated string', expected: ["'"] };
    case UnterminatedQuotedIdentifier:
      return { problem: 'unterminated quoted identifier', expected: ['"'] };
    case UnterminatedBlob:
      return { problem: 'unterminated blob', expected: ["'"] };
    case UnterminatedComment:
      return { problem: 'unterminated comment', expected: ['*/'] };
    case QuotedIdentifier:
      return token.image === '""' ? { problem: 'empty quoted identifier', expected: ['quoted identifier'] } : null;
    case BlobLiteral:
      return HEX.test(token.image.slice(2, -1))
        ? null
        : { problem: `bad hex blob ${token.image.length > 40 ? token.image.slice(0, 40) + '…' : token.image}: expected an even number of hex digits`, expected: ['blob'] };
    case Parameter: {
      const index = Number(token.image.slice(1));
      if (index < 1) return { problem: 'parameters are numbered from $1', expected: ['parameter'] };
      if (!Number.isSafeInteger(index)) return { problem: `parameter ${token.image} is out of range`, expected: ['parameter'] };
      return null;
    }
    case NumberLiteral:
      return Number.isFinite(Number(token.image)) ? null : { problem: `number ${quoteFound(token.image)} is out of range`, expected: ['number'] };
    default:
      return null;
  }
}

/**
 * Split `text` into tokens (whitespace and comments dropped). Throws a SYNTAX_ERROR
 * for the first lexical problem: an unexpected character, an unterminated string,
 * quoted identifier, blob or comment, a bad blob, `$0`, or a number too large for
 * a double.
 */
export function tokenize(text: string): IToken[] {
  const result = lexer.tokenize(text);
  let firstBad: { offset: number; error: ModelSqlError } | null = null;
  for (const token of result.tokens) {
    const bad = tokenProblem(token);
    if (bad) {
      const position = { line: token.startLine ?? 1, column: token.startColumn ?? 1 };
      firstBad = { offset: token.startOffset, error: syntaxError(position, bad.problem, bad.expected, token.image) };
      break;
    }
  }
  const lexError = result.errors[0];
  if (lexError && (!firstBad || lexError.offset < firstBad.offset)) {
    const cp = text.codePointAt(lexError.offset);
    const ch = cp === undefined ? '' : String.fromCodePoint(cp);
    const position = { line: lexError.line ?? 1, column: lexError.column ?? 1 };
    throw syntaxError(position, `unexpected character ${quoteFound(ch)}`, [], ch);
  }
  if (firstBad) throw firstBad.error;
  return result.tokens;
}
