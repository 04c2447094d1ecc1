/**
 * The event log as one session sees it: one model's history, every visible event, and
 * watching them live. A session sees the events of the models it can see: its own,
 * and global ones its own do not shadow (judged against the current state, so a
 * tenant that later creates its own `spam` stops seeing the global `spam`'s events).
 */

import { invalidArgument } from '../../errors.js';
import type { ReadView } from '../commit-queue.js';
import { mergeBySeq, type ModelEvent } from '../events.js';
import { modelKey, validateModelName } from '../keys.js';
import type { RegistryContext } from './context.js';

/** Options of a history read or a watch. */
export interface HistoryOptions {
  /** Only events with a seq greater than this (default: all). */
  readonly since?: number;
  /** At most this many events. */
  readonly limit?: number;
}

/** Options of {@link watchEvents}. */
export interface WatchOptions {
  /** Only this model's events (by name, as this session resolves names). */
  readonly model?: string;
  /** Replay what came after this seq first; default: only what commits from now on. */
  readonly since?: number;
  /** Ends the watch when aborted, even while it waits for the next event. */
  readonly signal?: AbortSignal;
}

function checkOptions(options: unknown): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw invalidArgument('history options are an object: { since?, limit? }');
}

function checkSeq(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw invalidArgument(`${what} must be a whole number of at least 0`);
  return value;
}

/**
 * The events of the model `model` names for this session after `since`, oldest first:
 * its own model's and, for a tenant, the global model's from before its own existed
 * (see {@link visibility}), so the answer is the same as the whole log's rows of that
 * name. O(events read), from the per-model index.
 */
export async function* modelHistory(ctx: RegistryContext, view: ReadView, model: string, options: HistoryOptions = {}): AsyncGenerator<ModelEvent> {
  checkOptions(options);
  const since = checkSeq(options.since, 'since');
  let left = checkSeq(options.limit, 'limit') ?? Infinity;
  if (left === 0) return;
  validateModelName(model);
  const keys = ctx.tenant === null ? [modelKey(model, null)] : [modelKey(model, ctx.tenant), modelKey(model, null)];
  const streams = keys.filter((key) => ctx.readHead(key, view) !== undefined).map((key) => ctx.events.history(view, key, { since }));
  const visible = visibility(ctx, view);
  for await (const event of mergeBySeq(streams)) {
    if (!(await visible(event))) continue;
    yield event;
    if (--left === 0) return;
  }
}

/** {@link modelHistory} as an array, from one view; UNKNOWN_MODEL for a name this session cannot see. */
export async function history(ctx: RegistryContext, model: string, options: HistoryOptions = {}): Promise<ModelEvent[]> {
  checkOptions(options);
  return ctx.queue.read(async (view) => {
    ctx.resolve(model, view);
    const out: ModelEvent[] = [];
    for await (const event of modelHistory(ctx, view, model, options)) out.push(event);
    return out;
  });
}

/** Every event this session can see after `since`, in seq order. */
export async function* visibleEvents(ctx: RegistryContext, view: ReadView, since = 0): AsyncGenerator<ModelEvent> {
  const visible = visibility(ctx, view);
  for await (const event of ctx.events.scan(view, since, ctx.scopes())) if (await visible(event)) yield event;
}

/**
 * Committed events in seq order, none skipped, none twice: with `since`, first what
 * came after it (from disk, across restarts), then live. Breaking out of the loop
 * releases it; closing the registry ends it.
 */
export function watchEvents(ctx: RegistryContext, options: WatchOptions = {}): AsyncGenerator<ModelEvent> {
  if (typeof options !== 'object' || options === null) throw invalidArgument('watch() takes an options object: { model?, since?, signal? }');
  const since = checkSeq(options.since, 'since');
  const { model } = options;
  if (model !== undefined && typeof model !== 'string') throw invalidArgument('model must be a string');
  const { signal } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidArgument('signal must be an AbortSignal');
  const visible = visibility(ctx, null);
  return ctx.events.watch((event) => (model === undefined || event.model === model) && visible(event), since, ctx.scopes(), signal);
}

/**
 * Whether this session sees an event: its own model's, or a global model's event from
 * before the session's own model of that name existed (its first event; from the
 * start for an own model older than the log). The rule depends only on seqs, never on
 * when the question is asked, so the table and a watcher always agree, and history
 * is never rewritten: a tenant that later shadows a global model keeps seeing that
 * model's earlier events. Events are judged in seq order; `view` null asks the
 * committed state as of each question (a watcher).
 */
function visibility(ctx: RegistryContext, view: ReadView | null): (event: ModelEvent) => boolean | Promise<boolean> {
  const { tenant } = ctx;
  if (tenant === null) return (event) => event.tenant === null;
  /** Name → seq from which the session's own model of that name shadows the global one. */
  const shadowFrom = new Map<string, number>();
  return async (event) => {
    if (event.tenant === tenant) {
      if (!(event.seq >= (shadowFrom.get(event.model) ?? Infinity))) shadowFrom.set(event.model, event.seq);
      return true;
    }
    if (event.tenant !== null) return false;
    let from = shadowFrom.get(event.model);
    if (from === undefined) shadowFrom.set(event.model, (from = await ownFirstSeq(ctx, event.model, view)));
    return event.seq < from;
  };
}

/** Seq of the first event of this session's own model `name` (0: it predates the log; Infinity: none yet). */
async function ownFirstSeq(ctx: RegistryContext, name: string, view: ReadView | null): Promise<number> {
  const key = modelKey(name, ctx.tenant);
  const read = view ?? ctx.queue.view();
  try {
    if (ctx.readHead(key, read) === undefined) return Infinity;
    for await (const event of ctx.events.history(read, key, { limit: 1 })) return event.seq;
    return 0;
  } finally {
    if (read !== view) read.release();
  }
}
