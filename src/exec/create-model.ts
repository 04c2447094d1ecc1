/**
 * Turns `CREATE MODEL ... WITH (...)` options into a registration (or a train spec):
 * every option is checked by name and type before anything is written.
 */

import { invalidArgument } from '../errors.js';
import type { CreateModelNode, VersionRefNode } from '../parser/ast.js';
import { parseJsonText } from '../store/json.js';
import type { TrainSpec } from '../store/jobs.js';
import type { RegisterVersionInput } from '../store/types.js';
import { bindInteger, bindValue, describeValue, type Params } from './params.js';
import { bindSchema } from './schema.js';

/** Option names `CREATE MODEL ... WITH (...)` accepts. */
export const CREATE_MODEL_OPTIONS = [
  'weights',
  'artifact',
  'hyperparams',
  'metrics',
  'training_sql',
  'training_data_hash',
  'created_by',
  'description',
  'active',
  'trainer',
  'async',
  'model_type',
  'task',
  'backend',
  'base_model',
  'base_version',
  'config',
] as const;

type OptionName = (typeof CREATE_MODEL_OPTIONS)[number];

/** `weights = FILE 'path'`: read when the statement runs, if the session allows it. */
export class FileReference {
  constructor(readonly path: string) {}
}

/** What a CREATE MODEL statement asks for, once bound and checked. */
export type CreatePlan =
  | { readonly kind: 'register'; readonly input: RegisterVersionInput; readonly weightsFile: FileReference | null }
  | { readonly kind: 'train'; readonly async: boolean; readonly spec: TrainSpec };

function text(name: OptionName, value: unknown): string | null {
  if (value === null || typeof value === 'string') return value;
  throw invalidArgument(`${name} must be text, got ${describeValue(value)}`);
}

function bool(name: OptionName, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  throw invalidArgument(`${name} must be TRUE or FALSE, got ${describeValue(value)}`);
}

function integer(name: OptionName, value: unknown): number {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  throw invalidArgument(`${name} must be a whole number, got ${describeValue(value)}`);
}

function json(name: OptionName, value: unknown): unknown {
  if (typeof value === 'string') return parseJsonText(value, name);
  if (value instanceof Uint8Array) throw invalidArgument(`${name} must be JSON text or an object, got ${describeValue(value)}`);
  return value; // objects, numbers, booleans, null: validated as JSON by the registry
}

/**
 * Binds and checks the options of a CREATE MODEL statement. `parentVersion`: what `FROM VERSION` names, already resolved to a number when it
 * was written `@alias` (the executor asks the registry); default: bound here.
 */
export function planCreateModel(node: CreateModelNode, params: Params, parentVersion?: number | null): CreatePlan {
  const values = new Map<OptionName, unknown>();
  for (const option of node.options) {
    const name = option.name as OptionName;
    if (!CREATE_MODEL_OPTIONS.includes(name)) {
      throw invalidArgument(`unknown option '${option.name}' for CREATE MODEL; expected one of ${CREATE_MODEL_OPTIONS.join(', ')}`);
    }
    if (values.has(name)) throw invalidArgument(`option '${name}' is given twice`);
    if (option.value.kind === 'File') {
      if (name !== 'weights') throw invalidArgument(`FILE is only allowed for weights, not for ${name}`);
      const path = bindValue(option.value.path, params);
      if (typeof path !== 'string' || path.length === 0) throw invalidArgument(`FILE takes a file path, got ${describeValue(path)}`);
      values.set(name, new FileReference(path));
    } else {
      values.set(name, bindValue(option.value, params));
    }
  }
  /** An option converted by `convert`, or `fallback` when the statement does not give it. */
  const opt = <T>(name: OptionName, convert: (name: OptionName, value: unknown) => T, fallback: T): T =>
    values.has(name) ? convert(name, values.get(name)) : fallback;
  const weights = values.get('weights');
  if (weights !== undefined && weights !== null && !(weights instanceof Uint8Array) && !(weights instanceof FileReference)) {
    throw invalidArgument(`weights must be a blob (x'...') or a Buffer/Uint8Array parameter, got ${describeValue(weights)}`);
  }
  const hyperparams = opt('hyperparams', json, null);
  const metrics = opt('metrics', json, null);
  const isAsync = opt('async', bool, false);
  const trainer = opt('trainer', text, null);
  // One literal with every field (no spread of a built object: see versionRecord for why).
  const input = {
    weights: weights instanceof Uint8Array ? weights : null,
    hyperparams,
    metrics,
    artifact: opt('artifact', text, null),
    trainingSql: opt('training_sql', text, null),
    trainingDataHash: opt('training_data_hash', text, null),
    createdBy: opt('created_by', text, null),
    description: opt('description', text, null),
    active: opt('active', bool, true),
    parentVersion: parentVersion !== undefined ? parentVersion : node.fromVersion === null ? null : bindParentVersion(node.fromVersion, params),
    modelType: opt('model_type', text, null),
    task: opt('task', text, null),
    backend: opt('backend', text, null),
    baseModel: opt('base_model', text, null),
    baseVersion: opt('base_version', (name, value) => (value === null ? null : integer(name, value)), null),
    config: opt('config', json, null),
    schema: node.schema === null ? null : bindSchema(node.schema, params),
  };

  if (trainer === null) {
    if (isAsync) throw invalidArgument('async = TRUE needs a trainer (trainer = \'name\')');
    return { kind: 'register', input, weightsFile: weights instanceof FileReference ? weights : null };
  }
  if (weights !== undefined && weights !== null) throw invalidArgument('weights and trainer cannot be combined: the trainer produces the weights');
  if (metrics !== null) throw invalidArgument('metrics and trainer cannot be combined: the trainer reports the metrics');
  const { weights: _weights, hyperparams: _hyperparams, metrics: _metrics, ...registration } = input;
  return { kind: 'train', async: isAsync, spec: { trainer, hyperparams, registration } };
}

/** `FROM VERSION n` bound; an alias must have been resolved by the caller. */
function bindParentVersion(node: VersionRefNode, params: Params): number {
  if (node.kind === 'AliasRef') throw invalidArgument(`FROM VERSION @${node.name} must be resolved before planning`);
  return bindInteger(node, params, 'FROM VERSION');
}
