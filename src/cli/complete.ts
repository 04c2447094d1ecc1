/**
 * Tab completion for the REPL, kept free of readline so it can be unit-tested:
 * keywords come from the grammar (Chevrotain content assist on the tokens before
 * the word being completed), table names after FROM, column names of the table the
 * statement names, model names where the grammar expects a model, and meta commands
 * (`.help`, ...) at the start of a statement.
 */

import type { IToken, TokenType } from 'chevrotain';
import { TABLE_COLUMNS, TABLE_NAMES } from '../exec/tables.js';
import { parser } from '../parser/grammar.js';
import { From, isKeywordType, Name, QuotedIdentifier, Semicolon, tokenize } from '../parser/tokens.js';

/** What completion may ask the open registry. */
export interface CompletionContext {
  /** Names of the models in the registry. */
  models(): Promise<string[]>;
  /**
   * The whole statement being written (earlier lines, and the current line including
   * text after the cursor), so a table named later (`SELECT na| FROM ML_JOBS`) is found.
   */
  readonly statement?: string;
  /** Text of earlier lines of the statement being written; `line` continues it. */
  readonly before?: string;
}

/** Meta commands, as typed. */
export const META_COMMANDS = ['.help', '.tables', '.models', '.describe', '.export', '.mode', '.timer', '.quit'] as const;

const MODES = ['table', 'json', 'csv'];

const COLUMN_NAMES: ReadonlyMap<string, readonly string[]> = new Map(
  [...TABLE_COLUMNS].map(([table, columns]) => [table, columns.map((c) => c.name)]),
);

/** Column names of a table (upper-case name), or [] when unknown. */
export function columnsOf(table: string): readonly string[] {
  return COLUMN_NAMES.get(table.toUpperCase()) ?? [];
}

const WORD_AT_END = /[\p{L}\p{M}\p{N}_]*$/u;

function matching(candidates: Iterable<string>, word: string, caseInsensitive = true): string[] {
  const lower = word.toLowerCase();
  const out = new Set<string>();
  for (const c of candidates) {
    if (caseInsensitive ? c.toLowerCase().startsWith(lower) : c.startsWith(word)) out.add(c);
  }
  return [...out].sort();
}

/** Keyword completions keep the user's case when they started typing in lower case. */
function keywordCase(keyword: string, word: string): string {
  return word.length > 0 && word === word.toLowerCase() ? keyword.toLowerCase() : keyword;
}

/** The table named after FROM in the statement text, if it can be found. */
function tableIn(text: string): string | null {
  let tokens: IToken[];
  try {
    tokens = tokenize(text);
  } catch {
    const m = /\bfrom\s+([\p{L}_][\p{L}\p{M}\p{N}_]*)/iu.exec(text);
    return m ? m[1]!.toUpperCase() : null;
  }
  for (let i = 0; i < tokens.length - 1; i++) {
    if (tokens[i]!.tokenType === From) {
      const next = tokens[i + 1]!;
      const name = next.tokenType === QuotedIdentifier ? next.image.slice(1, -1) : next.image.toUpperCase();
      if (COLUMN_NAMES.has(name)) return name;
    }
  }
  return null;
}

async function completeMeta(text: string, context: CompletionContext): Promise<[string[], string]> {
  const m = /^\s*(\.\S*)(\s+)?(.*)$/s.exec(text)!;
  const command = m[1]!;
  if (m[2] === undefined) return [matching(META_COMMANDS, command), command];
  const rest = m[3]!;
  if (/\s/.test(rest)) return [[], ''];
  switch (command.toLowerCase()) {
    case '.describe':
      return [matching(await safeModels(context), rest, false), rest];
    case '.mode':
      return [matching(MODES, rest), rest];
    case '.timer':
      return [matching(['on', 'off'], rest), rest];
    default:
      return [[], rest];
  }
}

async function safeModels(context: CompletionContext): Promise<string[]> {
  try {
    return await context.models();
  } catch {
    return [];
  }
}

/**
 * Completes the word that ends `line` (the text before the cursor). Returns the
 * candidates and the word they replace, the shape readline's completer wants.
 */
export async function complete(line: string, context: CompletionContext): Promise<[string[], string]> {
  const before = context.before ?? '';
  if (before.trim() === '' && /^\s*\./.test(line)) return completeMeta(line, context);

  const text = before === '' ? line : `${before}\n${line}`;
  const word = WORD_AT_END.exec(text)![0];
  const head = text.slice(0, text.length - word.length);
  // A number, or a word right after a quote or `$`: nothing to offer.
  if (/^\d/.test(word) || /["'$]$/.test(head)) return [[], word];

  let tokens: IToken[];
  try {
    tokens = tokenize(head);
  } catch {
    return [[], word]; // unterminated string or comment: the cursor is inside it
  }
  const lastSemicolon = tokens.map((t) => t.tokenType).lastIndexOf(Semicolon);
  const preceding = tokens.slice(lastSemicolon + 1);

  let paths: { nextTokenType: TokenType; ruleStack: string[] }[];
  try {
    paths = parser.computeContentAssist('statement', preceding);
  } catch {
    return [[], word];
  }

  const keywords = new Set<string>();
  let wantsModel = false;
  let wantsTable = false;
  let wantsColumn = false;
  for (const path of paths) {
    const type = path.nextTokenType;
    if (isKeywordType(type)) keywords.add(type.name);
    if (type === Name || type === QuotedIdentifier) {
      const rule = path.ruleStack[path.ruleStack.length - 2] ?? '';
      if (rule === 'modelName') wantsModel = true;
      else if (rule === 'tableName') wantsTable = true;
      else if (rule === 'column') wantsColumn = true;
    }
  }

  const candidates: string[] = [];
  for (const keyword of matching(keywords, word)) candidates.push(keywordCase(keyword, word));
  if (wantsTable) candidates.push(...matching(TABLE_NAMES, word));
  if (wantsColumn) {
    const table = tableIn(context.statement ?? text);
    const columns = table ? columnsOf(table) : [...new Set([...COLUMN_NAMES.values()].flat())];
    candidates.push(...matching(columns, word));
  }
  if (wantsModel) candidates.push(...matching(await safeModels(context), word, false));
  return [[...new Set(candidates)], word];
}
