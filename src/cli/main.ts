#!/usr/bin/env node
/**
 * `modelsql [PATH]`: the command-line interface. An interactive shell on a terminal;
 * otherwise runs the script it is given (-e, -f or piped stdin) and exits.
 * `modelsql check PATH` and `modelsql backup PATH DEST` maintain a folder instead.
 * Exit codes: 0 success, 1 a statement (or opening the registry) failed or the check
 * found problems, 2 bad usage.
 */

import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { open, type Database, type OpenOptions } from '../database.js';
import type { Trainer } from '../store/jobs.js';
import { DEFAULT_PATH, HELP, USAGE, UsageError, parseCliArgs, type CliOptions } from './args.js';
import { describeError, runScript } from './run-script.js';

async function readVersion(): Promise<string> {
  const text = await readFile(new URL('../../package.json', import.meta.url), 'utf8');
  return String((JSON.parse(text) as { version?: unknown }).version ?? 'unknown');
}

function currentUser(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

/** Trainers are the module's function exports, and the function members of its default export object. */
export async function loadTrainers(specifier: string, cwd: string = process.cwd()): Promise<Record<string, Trainer>> {
  const module = (await import(pathToFileURL(resolve(cwd, specifier)).href)) as Record<string, unknown>;
  const trainers: Record<string, Trainer> = {};
  const fallback = module.default;
  if (fallback !== null && typeof fallback === 'object') {
    for (const [name, value] of Object.entries(fallback)) if (typeof value === 'function') trainers[name] = value as Trainer;
  }
  for (const [name, value] of Object.entries(module)) {
    if (name !== 'default' && typeof value === 'function') trainers[name] = value as Trainer;
  }
  return trainers;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

async function run(options: CliOptions): Promise<number> {
  const { stdout, stderr } = process;
  if (options.help) {
    stdout.write(`${HELP}\n`);
    return 0;
  }
  if (options.version) {
    stdout.write(`${await readVersion()}\n`);
    return 0;
  }

  if (options.command !== null) {
    const { runCommand } = await import('./maintenance.js');
    try {
      return await runCommand(options.command, stdout, stderr);
    } catch (error) {
      stderr.write(`${describeError(error)}\n`);
      return 1;
    }
  }

  let script: string | null = options.execute;
  if (options.file !== null) {
    try {
      script = await readFile(options.file, 'utf8');
    } catch (error) {
      stderr.write(`error: cannot read '${options.file}': ${(error as Error).message}\n`);
      return 1;
    }
  }
  const interactive = script === null && process.stdin.isTTY === true && stdout.isTTY === true;

  let trainers: Record<string, Trainer> = {};
  if (options.trainers !== null) {
    try {
      trainers = await loadTrainers(options.trainers);
    } catch (error) {
      stderr.write(`error: cannot load trainers from '${options.trainers}': ${(error as Error).message ?? String(error)}\n`);
      return 1;
    }
  }

  const openOptions: OpenOptions = {
    ...(options.memory ? { memory: true } : { path: options.path ?? DEFAULT_PATH }),
    createdBy: currentUser(),
    ...(options.tenant === null ? {} : { tenant: options.tenant }),
    trainers,
    allowFileAccess: true,
  };
  let db: Database;
  try {
    db = await open(openOptions);
  } catch (error) {
    stderr.write(`${describeError(error)}\n`);
    return 1;
  }

  try {
    if (interactive) {
      const { startRepl } = await import('./repl.js');
      await startRepl(db, { mode: options.mode });
      return 0;
    }
    return await runScript(db, script ?? (await readStdin()), { mode: options.mode, stdout, stderr, timing: options.timing });
  } finally {
    await db.close();
  }
}

async function main(): Promise<void> {
  let options: CliOptions;
  try {
    options = parseCliArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`modelsql: ${error.message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  process.exitCode = await run(options);
}

main().catch((error: unknown) => {
  process.stderr.write(`${describeError(error)}\n`);
  process.exitCode = 1;
});
