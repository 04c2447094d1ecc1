/**
 * Aliases: names (`champion`, `challenger`) that point at exactly one version of a
 * model, several of them possibly at the same one. They live in the model's head
 * record, so resolving one is a single point read, and every move is recorded in the
 * event log (`alias_set`, `alias_moved`, `alias_dropped`). Archived and retired
 * versions cannot hold an alias: archiving or retiring a version drops its aliases,
 * as events in the same unit.
 */

import { describeValue, invalidArgument, retired, unknownAlias, versionArchived } from '../../errors.js';
import type { EventInput } from '../events.js';
import type { AliasRecord, HeadRecord } from '../records.js';
import type { ModelAlias, VersionRef } from '../types.js';
import { checkVersionNumber } from '../version-input.js';
import { touched, type RegistryContext } from './context.js';

/** Longest alias name. */
export const MAX_ALIAS_LENGTH = 64;
/** Most aliases one model may have: they live in its head, which every statement on it reads. */
export const MAX_ALIASES = 100;
const ALIAS_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** An alias name as written (without `@`), or INVALID_ARGUMENT. */
export function checkAliasName(name: unknown): string {
  if (typeof name !== 'string' || !ALIAS_NAME.test(name) || name.length > MAX_ALIAS_LENGTH) {
    throw invalidArgument(`an alias name is a letter or _ followed by letters, digits or _ (at most ${MAX_ALIAS_LENGTH}), got ${describeValue(name)}`);
  }
  return name;
}

/** True for `'@name'`: the form the typed API takes for an alias where it takes a version. */
export function isAliasRef(ref: unknown): ref is `@${string}` {
  return typeof ref === 'string' && ref.startsWith('@');
}

/** Checks a reference's form before any read, so a malformed one fails the same whether or not the model exists. */
export function checkVersionRef(ref: unknown): VersionRef {
  if (isAliasRef(ref)) {
    checkAliasName(ref.slice(1));
    return ref;
  }
  if (typeof ref === 'string') throw invalidArgument(`a version is a number or an alias written '@name', got ${describeValue(ref)}`);
  return checkVersionNumber(ref);
}

/**
 * The version number `ref` names in a model whose head is `head`: a number is checked
 * and taken as is; `'@name'` is looked up (UNKNOWN_ALIAS when the model has none).
 */
export function resolveVersionRef(model: string, head: HeadRecord, ref: unknown): number {
  const checked = checkVersionRef(ref);
  if (typeof checked === 'number') return checked;
  const name = checked.slice(1);
  const target = Object.hasOwn(head.aliases, name) ? head.aliases[name] : undefined;
  if (target === undefined) throw unknownAlias(model, name);
  return target.version;
}

/**
 * The version `ref` names, which must be servable: the model not retired, the version
 * neither retired nor archived (MODEL_RETIRED, VERSION_RETIRED, VERSION_ARCHIVED). What
 * the active pointer and an alias may point at. Reads the latest state (under the lock).
 */
export function servableVersion(ctx: RegistryContext, model: string, key: string, head: HeadRecord, ref: VersionRef): number {
  if (head.retired) throw retired(model);
  const version = resolveVersionRef(model, head, ref);
  const record = ctx.readRecord(model, key, head, version, 'latest');
  if (record.retired) throw retired(model, version);
  if (record.archived) throw versionArchived(model, version);
  return version;
}

/** The names of the aliases pointing at `version`, sorted. */
export function aliasesOf(head: HeadRecord, version: number): string[] {
  const names: string[] = [];
  for (const name in head.aliases) if (head.aliases[name]!.version === version) names.push(name);
  return names.sort();
}

/** The aliases of a head as `name → version`, names sorted. */
export function aliasTargets(head: HeadRecord): Record<string, number> {
  // fromEntries defines own properties: an alias named `__proto__` is kept like any other.
  return Object.fromEntries(Object.keys(head.aliases).sort().map((name) => [name, head.aliases[name]!.version]));
}

/**
 * The head's aliases without those pointing at versions `dropped` selects, and the
 * `alias_dropped` events recording it (`reason`: why, e.g. `archived`).
 */
export function dropAliasesWhere(key: string, head: HeadRecord, dropped: (version: number) => boolean, reason: string): { aliases: Record<string, AliasRecord>; events: EventInput[] } {
  const aliases: Record<string, AliasRecord> = {};
  const events: EventInput[] = [];
  for (const name of Object.keys(head.aliases).sort()) {
    const alias = head.aliases[name]!;
    if (dropped(alias.version)) events.push({ kind: 'alias_dropped', model: key, version: alias.version, oldValue: alias.version, newValue: null, detail: { alias: name, reason } });
    else Object.defineProperty(aliases, name, { value: alias, enumerable: true, writable: true, configurable: true });
  }
  return { aliases, events };
}

/** What setting an alias answers. */
export interface AliasOutcome {
  readonly alias: string;
  /** Where it pointed before; null when it is new. */
  readonly previous: number | null;
  readonly version: number;
}

/**
 * Points `alias` of `model` at version `ref` (a number or another alias), creating or
 * moving it. The target must be neither archived nor retired. Pointing it where it
 * already points changes nothing.
 */
export async function setAlias(ctx: RegistryContext, model: string, alias: string, ref: VersionRef): Promise<AliasOutcome> {
  checkAliasName(alias);
  checkVersionRef(ref);
  return ctx.mutate(model, async (key, head) => {
    const version = servableVersion(ctx, model, key, head, ref);
    const existing = Object.hasOwn(head.aliases, alias) ? head.aliases[alias]! : null;
    const previous = existing?.version ?? null;
    if (previous === version) return { result: { alias, previous, version }, ops: [] };
    if (existing === null && Object.keys(head.aliases).length >= MAX_ALIASES) throw invalidArgument(`model '${model}' already has ${MAX_ALIASES} aliases, the most it may have`);
    const aliases = { ...head.aliases, [alias]: { version, setAt: Date.now(), setBy: ctx.defaultActor } };
    const event: EventInput = { kind: existing ? 'alias_moved' : 'alias_set', model: key, version, oldValue: previous, newValue: version, detail: { alias } };
    return { result: { alias, previous, version }, ops: [ctx.headOp(key, { ...head, aliases, updatedAt: touched(head) })], events: [event] };
  });
}

/** Drops `alias` of `model`; UNKNOWN_ALIAS when it has none of that name. Returns where it pointed. */
export async function dropAlias(ctx: RegistryContext, model: string, alias: string): Promise<{ alias: string; version: number }> {
  checkAliasName(alias);
  return ctx.mutate(model, async (key, head) => {
    if (!Object.hasOwn(head.aliases, alias)) throw unknownAlias(model, alias);
    const { [alias]: dropped, ...aliases } = head.aliases;
    const version = dropped!.version;
    const event: EventInput = { kind: 'alias_dropped', model: key, version, oldValue: version, newValue: null, detail: { alias } };
    return { result: { alias, version }, ops: [ctx.headOp(key, { ...head, aliases, updatedAt: touched(head) })], events: [event] };
  });
}

/** The version `alias` of `model` points at (one point read of the model's head). */
export async function resolveAlias(ctx: RegistryContext, model: string, alias: string): Promise<number> {
  const name = checkAliasName(isAliasRef(alias) ? alias.slice(1) : alias);
  return ctx.queue.read((view) => resolveVersionRef(model, ctx.resolve(model, view).head, `@${name}`));
}

/** One model's aliases as rows, names sorted. */
export function aliasRows(ctx: RegistryContext, model: string, key: string, head: HeadRecord): ModelAlias[] {
  const tenant = ctx.tenantOf(key);
  return Object.keys(head.aliases)
    .sort()
    .map((alias) => {
      const record = head.aliases[alias]!;
      return { model, tenant, alias, version: record.version, setAt: new Date(record.setAt), setBy: record.setBy };
    });
}
