/**
 * The interactive shell: `modelsql>` prompt, statements ending in `;` that may span
 * lines (`      ->` continues), tab completion, history kept across sessions, meta
 * commands (`.help`), Ctrl-C to abandon the current input and Ctrl-D to leave.
 */

import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface, type Interface } from 'node:readline';
import type { Database } from '../database.js';
import { isModelSqlError } from '../errors.js';
import { Semicolon, tokenize } from '../parser/tokens.js';
import { complete } from './complete.js';
import { formatResult, type OutputMode } from './format.js';
import { isMetaCommand, runMeta, type ReplSettings } from './meta.js';
import { createProgress } from './progress.js';
import { describeError, splitScript } from './run-script.js';

/** Options of {@link startRepl}. */
export interface ReplOptions {
  mode: OutputMode;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
  /** Default `~/.modelsql_history`. */
  historyFile?: string;
  /** Default: whether `output` is a TTY. */
  terminal?: boolean;
}

export const PROMPT = 'modelsql> ';
export const CONTINUATION_PROMPT = '      -> ';
/** History entries kept (in memory and in the file). */
export const HISTORY_SIZE = 1000;

// ---------------------------------------------------------------------------
// History file: one entry per line, oldest first; `\` and newlines escaped.

function encodeEntry(entry: string): string {
  return entry.replace(/\\/g, '\\\\').replace(/\r?\n|\r/g, '\\n');
}

function decodeEntry(line: string): string {
  return line.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}

/** Entries of the history file, newest first (readline's order). */
export function loadHistory(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const lines = text.split('\n').filter((line) => line.length > 0);
  if (lines.length > HISTORY_SIZE * 2) {
    try {
      writeFileSync(file, lines.slice(-HISTORY_SIZE).join('\n') + '\n');
    } catch {
      // a read-only history file is not worth an error
    }
  }
  return lines.slice(-HISTORY_SIZE).map(decodeEntry).reverse();
}

function appendHistory(file: string, entry: string): void {
  try {
    appendFileSync(file, `${encodeEntry(entry)}\n`);
  } catch {
    // ignore: history is a convenience
  }
}

/**
 * How a multi-line statement is kept in history: on one line when joining its
 * lines with spaces means the same tokens (no `--` comment or string spans a line
 * break), otherwise with its line breaks.
 */
export function historyEntry(lines: readonly string[]): string {
  const withBreaks = lines.join('\n').trim();
  const flat = lines.map((line) => line.trim()).filter((line) => line.length > 0).join(' ');
  try {
    const a = tokenize(withBreaks).map((t) => t.image);
    const b = tokenize(flat).map((t) => t.image);
    if (a.length === b.length && a.every((image, i) => image === b[i])) return flat;
  } catch {
    // fall through
  }
  return withBreaks;
}

// ---------------------------------------------------------------------------
// Statement boundaries

/**
 * Where the runnable part of the input ends: the offset just past its last `;`
 * (outside strings and comments), or -1 when the input must continue. An
 * unterminated string, quoted identifier or comment continues; any other lexical
 * error runs at a line ending in `;`, so it is reported.
 */
export function runnableEnd(text: string): number {
  try {
    const tokens = tokenize(text);
    for (let i = tokens.length - 1; i >= 0; i--) {
      const token = tokens[i]!;
      if (token.tokenType === Semicolon) return token.startOffset + 1;
    }
    return -1;
  } catch (error) {
    if (isModelSqlError(error, 'SYNTAX_ERROR') && /unterminated/.test(error.message)) return -1;
    return /;\s*$/.test(text) ? text.length : -1;
  }
}

// ---------------------------------------------------------------------------

interface HistoryHolder {
  history: string[];
  line: string;
  cursor: number;
}

/** Runs the shell until `.quit`, Ctrl-D or the end of input. */
export async function startRepl(db: Database, options: ReplOptions): Promise<void> {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const terminal = options.terminal ?? (output as { isTTY?: boolean }).isTTY === true;
  const historyFile = options.historyFile ?? join(homedir(), '.modelsql_history');
  const settings: ReplSettings = { mode: options.mode, timer: false };

  let buffer: string[] = [];
  const print = (text: string): void => {
    if (text.length > 0) output.write(text.endsWith('\n') ? text : `${text}\n`);
  };

  const rl: Interface = createInterface({
    input,
    output,
    terminal,
    history: loadHistory(historyFile),
    historySize: HISTORY_SIZE,
    prompt: PROMPT,
    tabSize: 4,
    completer: (line: string, callback: (error: Error | null, result?: [string[], string]) => void) => {
      const current = (rl as unknown as HistoryHolder).line ?? line;
      complete(line, {
        models: async () => (await db.registry.summaries()).map((s) => s.name),
        before: buffer.join('\n'),
        statement: [...buffer, current].join('\n'),
      }).then(
        (result) => callback(null, result),
        () => callback(null, [[], '']),
      );
    },
  });
  const internals = rl as unknown as HistoryHolder;
  // What history looked like before the statement being written; readline adds every
  // line it reads, and a multi-line statement should be one entry.
  let historyBase: string[] = [...(internals.history ?? [])];
  const setHistory = (entries: string[]): void => {
    if (!Array.isArray(internals.history)) return;
    internals.history.length = 0;
    internals.history.push(...entries.slice(0, HISTORY_SIZE));
    historyBase = [...internals.history];
  };
  const remember = (entry: string): void => {
    if (entry.length === 0) return;
    if (historyBase[0] !== entry) appendHistory(historyFile, entry);
    setHistory([entry, ...historyBase.filter((e, i) => !(i === 0 && e === entry))]);
  };

  let closed = false; // input ended: lines already read still run, without prompts
  let quitting = false; // .quit: nothing more runs
  let interruptedEmpty = false;
  const prompt = (): void => {
    if (closed || quitting) return;
    // The prompt names the tenant, so nobody types into the wrong one after SET TENANT,
    // and shows `*` inside a transaction (as psql does), so nobody forgets to COMMIT.
    const mark = db.inTransaction ? '*' : '';
    const main = db.tenant === null ? `modelsql${mark}> ` : `modelsql[${db.tenant}]${mark}> `;
    rl.setPrompt(buffer.length > 0 ? CONTINUATION_PROMPT.padStart(main.length) : main);
    rl.prompt();
  };

  const runStatements = async (text: string): Promise<void> => {
    const { statements, error } = splitScript(text);
    for (const statement of statements) {
      const started = performance.now();
      // Reading a large FILE or an inline train reports progress; drawn only on a terminal.
      const progress = createProgress(output, 'working');
      try {
        const result = await db.query(statement.positioned, [], { onProgress: (percent) => progress.update(percent) });
        progress.done();
        const timingMs = settings.timer ? performance.now() - started : undefined;
        print(formatResult(result, settings.mode, timingMs === undefined ? {} : { timingMs }));
      } catch (failure) {
        progress.done();
        print(describeError(failure, text));
        return;
      }
    }
    if (error) print(describeError(error, text));
  };

  const handleLine = async (line: string): Promise<void> => {
    if (quitting) return;
    interruptedEmpty = false;
    if (buffer.length === 0 && isMetaCommand(line)) {
      remember(line.trim());
      try {
        const outcome = await runMeta(db, line, settings, output);
        print(outcome.output);
        if (outcome.quit) {
          quitting = true;
          rl.close();
          return;
        }
      } catch (failure) {
        print(describeError(failure));
      }
      prompt();
      return;
    }
    if (buffer.length === 0 && line.trim() === '') {
      setHistory(historyBase);
      prompt();
      return;
    }
    buffer.push(line);
    const text = buffer.join('\n');
    const end = runnableEnd(text);
    if (end < 0) {
      prompt();
      return;
    }
    const runnable = text.slice(0, end);
    const rest = text.slice(end);
    remember(historyEntry(runnable.split('\n')));
    buffer = [];
    await runStatements(runnable);
    // Text after the last `;` starts the next statement (unless it is only a comment).
    try {
      if (tokenize(rest).length > 0) buffer = [rest.replace(/^[ \t]+/, '')];
    } catch {
      buffer = [rest];
    }
    prompt();
  };

  let chain: Promise<void> = Promise.resolve();
  rl.on('line', (line: string) => {
    chain = chain.then(() => handleLine(line)).catch((failure: unknown) => print(describeError(failure)));
  });
  rl.on('SIGINT', () => {
    const hadInput = buffer.length > 0 || internals.line.length > 0;
    buffer = [];
    internals.line = '';
    internals.cursor = 0;
    setHistory(historyBase);
    if (!hadInput && interruptedEmpty) {
      output.write('\n(to leave, type .quit or press Ctrl-D)\n');
    } else {
      output.write('^C\n');
    }
    interruptedEmpty = !hadInput;
    prompt();
  });

  const done = new Promise<void>((resolve) => {
    rl.on('close', () => {
      closed = true;
      void chain.then(() => resolve());
    });
  });
  if (terminal) print('modelsql: type .help for help, .quit or Ctrl-D to leave');
  prompt();
  await done;
  if (terminal) output.write('\n');
  // Never committed behind the user's back: leaving rolls an open transaction back.
  if (db.inTransaction && !db.closed) {
    await db.query('ROLLBACK').catch(() => undefined);
    print('the open transaction was rolled back (no COMMIT)');
  }
}
