/**
 * Runs a SQL script statement by statement, printing each result as it completes.
 * The first failing statement prints its error and stops the script.
 *
 * Each statement is sent to `db.query()` preceded by blank lines and spaces standing
 * in for the text before it, so the parser reports syntax errors at their line and
 * column in the whole script, and statements before a syntax error still run.
 */

import { ModelSqlError, isModelSqlError } from '../errors.js';
import type { Database } from '../database.js';
import { Semicolon, tokenize } from '../parser/tokens.js';
import { formatResult, type OutputMode } from './format.js';
import { createProgress } from './progress.js';

/** One statement of a script. */
export interface ScriptStatement {
  /** The statement text, with its `;` if it had one. */
  readonly text: string;
  /** 1-based line and column where it starts in the script. */
  readonly line: number;
  readonly column: number;
  /** `text` preceded by padding that puts it at its place in the script, for db.query(). */
  readonly positioned: string;
}

/** Statements that can run, and the syntax error (if any) that stops the script after them. */
export interface SplitScript {
  readonly statements: ScriptStatement[];
  readonly error: ModelSqlError | null;
}

/** Offset in `text` of a 1-based line/column (lines end at \n, \r\n or a lone \r). */
export function offsetOf(text: string, line: number, column: number): number {
  let current = 1;
  let i = 0;
  while (current < line && i < text.length) {
    const ch = text.charCodeAt(i);
    if (ch === 10 || (ch === 13 && text.charCodeAt(i + 1) !== 10)) current++;
    i++;
  }
  return Math.min(text.length, i + column - 1);
}

function splitTokens(text: string, tokens: ReturnType<typeof tokenize>, completeOnly: boolean): ScriptStatement[] {
  const statements: ScriptStatement[] = [];
  let first: (typeof tokens)[number] | null = null;
  const push = (endOffset: number): void => {
    if (!first) return;
    const line = first.startLine ?? 1;
    const column = first.startColumn ?? 1;
    const body = text.slice(first.startOffset, endOffset + 1);
    statements.push({ text: body, line, column, positioned: '\n'.repeat(line - 1) + ' '.repeat(column - 1) + body });
    first = null;
  };
  for (const token of tokens) {
    if (token.tokenType === Semicolon) push(token.endOffset ?? token.startOffset);
    else first ??= token;
  }
  if (!completeOnly && first) {
    const last = tokens[tokens.length - 1]!;
    push(last.endOffset ?? last.startOffset);
  }
  return statements;
}

/**
 * Splits a script on `;` (at the token level, so a `;` in a string stays put). A
 * token the lexer rejects ends the script there: statements finished before it run,
 * then its error is reported.
 */
export function splitScript(text: string): SplitScript {
  try {
    return { statements: splitTokens(text, tokenize(text), false), error: null };
  } catch (error) {
    if (!isModelSqlError(error) || error.line === undefined || error.column === undefined) throw error;
    const prefix = text.slice(0, offsetOf(text, error.line, error.column));
    try {
      return { statements: splitTokens(prefix, tokenize(prefix), true), error };
    } catch {
      return { statements: [], error };
    }
  }
}

/** `error: message`, plus for a syntax error the offending line with a caret under the column. */
export function describeError(error: unknown, script?: string): string {
  if (!(error instanceof ModelSqlError)) {
    const message = error instanceof Error ? error.message : String(error);
    return `error: unexpected failure: ${message}`;
  }
  const lines = [`error: ${error.message}`];
  if (error.code === 'SYNTAX_ERROR' && script !== undefined && error.line !== undefined && error.column !== undefined) {
    const sourceLine = script.split(/\r\n|\r|\n/)[error.line - 1];
    if (sourceLine !== undefined) {
      const prefix = `${error.line} | `;
      lines.push(`${prefix}${sourceLine.replace(/\t/g, ' ')}`);
      lines.push(`${' '.repeat(prefix.length + Math.max(0, error.column - 1))}^`);
    }
  }
  return lines.join('\n');
}

/** Where and how a script prints. */
export interface RunScriptOptions {
  readonly mode: OutputMode;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Print `Time: … ms` after each result. */
  readonly timing?: boolean;
}

/**
 * Runs `script`; resolves to the exit code: 0 when every statement succeeded, 1 otherwise.
 * A transaction the script began and did not end (it failed, or it has no COMMIT) is
 * rolled back, so `BEGIN; ...; COMMIT` scripts are all or nothing.
 */
export async function runScript(db: Database, script: string, options: RunScriptOptions): Promise<number> {
  const code = await runStatements(db, script, options);
  if (db.inTransaction && !db.closed) {
    await db.query('ROLLBACK');
    options.stderr.write(code === 0 ? 'warning: the script ended inside a transaction (no COMMIT); it was rolled back\n' : 'the transaction the script began was rolled back\n');
    return 1;
  }
  return code;
}

async function runStatements(db: Database, script: string, options: RunScriptOptions): Promise<number> {
  const { mode, stdout, stderr } = options;
  let split: SplitScript;
  try {
    split = splitScript(script);
  } catch (error) {
    stderr.write(`${describeError(error, script)}\n`);
    return 1;
  }
  let printed = 0;
  for (const statement of split.statements) {
    const progress = createProgress(stderr, 'working');
    const started = performance.now();
    try {
      const result = await db.query(statement.positioned, [], { onProgress: (percent) => progress.update(percent) });
      const elapsed = performance.now() - started;
      progress.done();
      // Blank line between results for people; json is one document per line.
      const separator = printed > 0 && mode !== 'json' ? '\n' : '';
      stdout.write(`${separator}${formatResult(result, mode, options.timing ? { timingMs: elapsed } : {})}\n`);
      printed++;
    } catch (error) {
      progress.done();
      stderr.write(`${describeError(error, script)}\n`);
      return 1;
    }
  }
  if (split.error) {
    stderr.write(`${describeError(split.error, script)}\n`);
    return 1;
  }
  return 0;
}
