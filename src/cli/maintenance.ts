/**
 * `modelsql check PATH` and `modelsql backup PATH DEST`: maintenance of a registry
 * folder no process holds. Both open the LevelDB folder themselves and skip what
 * open() does on top: no upload or job recovery, no format upgrade, no schema index
 * move (a folder still in layout 1 is checked and copied as it is), so modelsql writes
 * nothing into the folder. LevelDB's own open still changes files, as every open does:
 * it replays the previous session's `.log` into a table file (a damaged record it
 * skips is lost for good then, see README "A damaged write-ahead log") and starts a new
 * `LOG`, which `check` reads for what that replay dropped.
 */

import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { invalidArgument } from '../errors.js';
import { backupStore } from '../store/backup.js';
import { readStoreFormat } from '../store/format.js';
import { checkIntegrity } from '../store/integrity.js';
import { openLevel, type Level } from '../store/level.js';
import type { CliCommand } from './args.js';

interface Output {
  write(text: string): unknown;
}

async function openExisting(path: string): Promise<Level> {
  const folder = resolve(path);
  const info = await stat(folder).catch(() => undefined);
  if (!info?.isDirectory()) throw invalidArgument(`'${folder}' is not a registry folder`, { path: folder });
  const level = await openLevel({ path: folder });
  try {
    await readStoreFormat(level);
  } catch (error) {
    await level.root.close();
    throw error;
  }
  return level;
}

/** Runs a maintenance command; resolves to the exit code (1: problems found). */
export async function runCommand(command: CliCommand, stdout: Output, stderr: Output): Promise<number> {
  const level = await openExisting(command.path);
  try {
    if (command.kind === 'backup') {
      const done = await backupStore(level, command.dest);
      stdout.write(`backed up ${done.models} models, ${done.versions} versions, ${done.jobs} jobs and ${done.weightsBytes} bytes of weights to ${done.path} (verified)\n`);
      return 0;
    }
    let problems = 0;
    // Notes are not problems (a sound folder exits 0) and stay off stdout, which lists problems only.
    for await (const found of checkIntegrity(level, { onNote: (note) => stderr.write(`note: ${note}\n`) })) {
      problems++;
      stdout.write(`${found.namespace}\t${found.key}\t${found.problem}\n`);
    }
    if (problems === 0) stdout.write('ok\n');
    else stderr.write(`${problems} problem${problems === 1 ? '' : 's'} found in ${level.path}\n`);
    return problems === 0 ? 0 : 1;
  } finally {
    await level.root.close();
  }
}
