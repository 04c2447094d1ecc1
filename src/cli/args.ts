/** Command-line argument parsing for `modelsql`. */

import { parseArgs } from 'node:util';
import type { OutputMode } from './format.js';

export const USAGE = `usage: modelsql [PATH | --memory] [-e SQL | -f FILE] [--json | --csv] [--trainers MODULE] [--tenant NAME] [--timing]
       modelsql check PATH
       modelsql backup PATH DEST`;

export const HELP = `${USAGE}

Opens the modelsql registry folder PATH (default ./modelsql-data, created on first
use) and runs SQL against it. On a terminal it starts an interactive shell; with
piped input it runs the statements it reads and exits.

Options:
  --memory              use a throwaway in-memory registry instead of a folder
  -e, --execute SQL     run the statements in SQL and exit
  -f, --file FILE       run the statements in FILE and exit
      --json            print each result as one JSON document per line
      --csv             print each result as CSV (header and rows)
      --trainers MODULE load trainer functions from the named exports of MODULE
      --tenant NAME     act as tenant NAME (sees its own and global models, changes
                        only its own); without it the session is global and may
                        switch with SET TENANT 'name' / RESET TENANT
      --timing          print how long each statement took
  -h, --help            show this help and exit
  -v, --version         show the version and exit

Commands (the folder must not be open in another process: they open it
themselves; to open a registry folder named 'check' or 'backup', write ./check):
  check PATH            check every record, index entry and blob of the folder
                        (like CHECK REGISTRY), print one line per problem, exit 1
                        if there is any; reads only, runs no recovery
  backup PATH DEST      copy the folder into the new folder DEST (weights
                        verified, the copy checked), written beside DEST and
                        renamed when complete; a running app can use
                        BACKUP TO 'DEST' instead

A failing statement stops the script: its error goes to stderr and the exit
code is 1. Bad usage exits with 2.`;

/** A maintenance command instead of a session. */
export type CliCommand =
  | { readonly kind: 'check'; readonly path: string }
  | { readonly kind: 'backup'; readonly path: string; readonly dest: string };

/** What the command line asked for. */
export interface CliOptions {
  /** `check` / `backup`, or null for a session. */
  readonly command: CliCommand | null;
  readonly help: boolean;
  readonly version: boolean;
  readonly path: string | null;
  readonly memory: boolean;
  readonly execute: string | null;
  readonly file: string | null;
  readonly mode: OutputMode;
  readonly trainers: string | null;
  readonly tenant: string | null;
  readonly timing: boolean;
}

/** Bad usage: printed with the usage line, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const DEFAULT_PATH = './modelsql-data';

/** Parses argv (without `node` and the script). @throws UsageError */
export function parseCliArgs(argv: readonly string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
        memory: { type: 'boolean' },
        execute: { type: 'string', short: 'e' },
        file: { type: 'string', short: 'f' },
        json: { type: 'boolean' },
        csv: { type: 'boolean' },
        trainers: { type: 'string' },
        tenant: { type: 'string' },
        timing: { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message.split(/\n|\. To specify/)[0]! : String(error));
  }
  const { values, positionals } = parsed;
  const command = parseCommand(positionals);
  if (command !== null) {
    const extra = Object.keys(values).filter((name) => name !== 'help');
    if (extra.length > 0) throw new UsageError(`'${command.kind}' takes no options (got --${extra[0]})`);
  }
  if (command === null && positionals.length > 1) throw new UsageError(`expected at most one registry PATH, got ${positionals.length}: ${positionals.join(' ')}`);
  const path = command === null ? (positionals[0] ?? null) : command.path;
  if (path !== null && values.memory) throw new UsageError('give either a PATH or --memory, not both');
  if (path === '') throw new UsageError('PATH must not be empty');
  if (values.execute !== undefined && values.file !== undefined) throw new UsageError('give either -e SQL or -f FILE, not both');
  if (values.tenant === '') throw new UsageError('--tenant needs a tenant name');
  if (values.json && values.csv) throw new UsageError('give either --json or --csv, not both');
  return {
    command,
    help: values.help ?? false,
    version: values.version ?? false,
    path,
    memory: values.memory ?? false,
    execute: values.execute ?? null,
    file: values.file ?? null,
    mode: values.json ? 'json' : values.csv ? 'csv' : 'table',
    trainers: values.trainers ?? null,
    tenant: values.tenant ?? null,
    timing: values.timing ?? false,
  };
}

/** `check PATH` or `backup PATH DEST`; null when the first word is not a command. */
function parseCommand(positionals: readonly string[]): CliCommand | null {
  const [word, ...rest] = positionals;
  if (word === 'check') {
    if (rest.length !== 1 || rest[0] === '') throw new UsageError('usage: modelsql check PATH');
    return { kind: 'check', path: rest[0]! };
  }
  if (word === 'backup') {
    if (rest.length !== 2 || rest.includes('')) throw new UsageError('usage: modelsql backup PATH DEST');
    return { kind: 'backup', path: rest[0]!, dest: rest[1]! };
  }
  return null;
}
