/**
 * REPL meta commands: `.help`, `.tables`, `.models`, `.describe MODEL`,
 * `.mode table|json|csv`, `.timer on|off`, `.quit`. They print through the same
 * formatter as statements, so `.mode json` applies to them too.
 */

import type { Database } from '../database.js';
import { isModelSqlError } from '../errors.js';
import type { QueryResult } from '../exec/executor.js';
import { TABLE_NAMES } from '../exec/tables.js';
import { columnsOf, META_COMMANDS } from './complete.js';
import { formatResult, type OutputMode } from './format.js';
import { createProgress } from './progress.js';

/** Settings meta commands change. */
export interface ReplSettings {
  mode: OutputMode;
  timer: boolean;
}

/** What a meta command did: text to print, and whether the REPL should end. */
export interface MetaOutcome {
  readonly output: string;
  readonly quit?: boolean;
}

export const META_HELP = [
  'Statements end with ";" and may span lines. Meta commands:',
  '  .help                  show this help',
  '  .tables                list the tables SELECT can read, with their columns',
  '  .models                list models: name, active and production versions, counts',
  '  .describe MODEL        versions of MODEL: active/archived/retired flags, stage, lineage',
  '  .mode table|json|csv   how results are printed',
  '  .timer on|off          print how long each statement took',
  "  .export MODEL VERSION N TO 'path'   write a version's weights to a file (SHA-256 checked)",
  '  .quit                  leave (Ctrl-D works too)',
  'Tab completes keywords, tables, columns and model names; Ctrl-C abandons the current input.',
].join('\n');

function table(command: string, columns: string[], rows: Record<string, unknown>[]): QueryResult {
  return { command, columns, rows, rowCount: rows.length };
}

function unquote(name: string): string {
  return /^".*"$/s.test(name) && name.length >= 2 ? name.slice(1, -1).replace(/""/g, '"') : name;
}

/** True when `line` is a meta command (starts with `.`). */
export function isMetaCommand(line: string): boolean {
  return /^\s*\./.test(line);
}

// `.export MODEL VERSION N TO 'path'`: names and paths may be quoted as in SQL.
const EXPORT_SYNTAX = /^("(?:[^"]|"")+"|\S+)\s+version\s+(\d+)\s+to\s+('(?:[^']|'')+'|\S+)$/is;

async function exportWeights(db: Database, arg: string, progressStream: NodeJS.WritableStream): Promise<string> {
  const match = EXPORT_SYNTAX.exec(arg);
  if (!match) return "usage: .export MODEL VERSION N TO 'path'";
  const model = unquote(match[1]!);
  const version = Number(match[2]);
  const rawPath = match[3]!;
  const path = /^'.*'$/s.test(rawPath) ? rawPath.slice(1, -1).replace(/''/g, "'") : rawPath;
  const progress = createProgress(progressStream, 'exporting');
  try {
    const { sha256, sizeBytes } = await db.registry.exportWeights(model, version, path, { onProgress: (p) => progress.update(p) });
    return `exported ${model} version ${version} to ${path}: ${sizeBytes} bytes, sha256 ${sha256} (verified)`;
  } catch (error) {
    if (isModelSqlError(error)) return `error: ${error.message}`;
    throw error;
  } finally {
    progress.done();
  }
}

/** Runs one meta command line; `progressStream` is where long work draws its bar (if a TTY). */
export async function runMeta(db: Database, line: string, settings: ReplSettings, progressStream: NodeJS.WritableStream = process.stderr): Promise<MetaOutcome> {
  const trimmed = line.trim().replace(/;$/, '').trim();
  const space = trimmed.search(/\s/);
  const command = (space < 0 ? trimmed : trimmed.slice(0, space)).toLowerCase();
  const arg = space < 0 ? '' : trimmed.slice(space).trim();
  const format = (result: QueryResult): string => formatResult(result, settings.mode);

  switch (command) {
    case '.help':
      return { output: META_HELP };
    case '.quit':
    case '.exit':
      return { output: '', quit: true };
    case '.tables': {
      const rows = TABLE_NAMES.map((name) => ({ table: name, columns: columnsOf(name).join(', ') }));
      // Column lists are too long for a table cell; people get plain lines.
      if (settings.mode === 'table') return { output: rows.map((r) => `${r.table}\n  ${r.columns}`).join('\n') };
      return { output: format(table('.tables', ['table', 'columns'], rows)) };
    }
    case '.models': {
      const summaries = await db.registry.summaries();
      return {
        output: format(
          table(
            '.models',
            ['name', 'active_version', 'production_version', 'total_versions', 'archived_versions'],
            summaries.map((s) => ({ name: s.name, active_version: s.activeVersion, production_version: s.productionVersion, total_versions: s.totalVersions, archived_versions: s.archivedVersions })),
          ),
        ),
      };
    }
    case '.describe': {
      if (arg === '') return { output: 'usage: .describe MODEL' };
      const model = unquote(arg);
      let versions;
      try {
        versions = await db.registry.listVersions(model);
      } catch (error) {
        if (isModelSqlError(error)) return { output: `error: ${error.message}` };
        throw error;
      }
      const active = versions.find((v) => v.active);
      const rows = versions.map((v) => ({
        version: v.version,
        active: v.active,
        stage: v.stage,
        archived: v.archived,
        retired: v.retired,
        parent_version: v.parentVersion,
        base: v.baseModel === null ? null : `${v.baseModel} v${v.baseVersion}`,
        sha256: v.sha256 === null ? null : v.sha256.slice(0, 12),
        artifact: v.artifact,
        metrics: v.metrics,
        created_at: v.createdAt,
        created_by: v.createdBy,
        description: v.description,
      }));
      const result = table(`.describe ${model}`, ['version', 'active', 'stage', 'archived', 'retired', 'parent_version', 'base', 'sha256', 'artifact', 'metrics', 'created_at', 'created_by', 'description'], rows);
      const header = `model ${model}: active version ${active ? active.version : 'none'}, ${versions.length} ${versions.length === 1 ? 'version' : 'versions'}`;
      return { output: settings.mode === 'table' ? `${header}\n${format(result)}` : format(result) };
    }
    case '.export':
      return { output: await exportWeights(db, arg, progressStream) };
    case '.mode': {
      if (arg === '') return { output: `mode: ${settings.mode} (choose table, json or csv)` };
      const mode = arg.toLowerCase();
      if (mode !== 'table' && mode !== 'json' && mode !== 'csv') return { output: `unknown mode '${arg}': choose table, json or csv` };
      settings.mode = mode;
      return { output: `mode: ${mode}` };
    }
    case '.timer': {
      const value = arg.toLowerCase();
      if (value !== 'on' && value !== 'off') return { output: `timer is ${settings.timer ? 'on' : 'off'}; use .timer on or .timer off` };
      settings.timer = value === 'on';
      return { output: `timer: ${value}` };
    }
    default: {
      const close = META_COMMANDS.filter((c) => c.startsWith(command.slice(0, 3)) && command.length > 1);
      const hint = close.length > 0 ? ` (did you mean ${close.join(' or ')}?)` : '';
      return { output: `unknown command '${command}'${hint}; type .help for the list of commands` };
    }
  }
}
