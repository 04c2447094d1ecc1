/**
 * The event log as one session sees it: one model's history, every visible event, and
 * watching them live. A session sees the events of the models it can see: its own,
 * and global ones its own do not shadow (judged against the current state, so a
 * tenant that later creates its own `spam` stops seeing the global `spam`'s events).
 */

import { invalidArgument } from '../../errors.js';
import type { ReadView } from '../commit-queue.js';
import type { ModelEvent } from '../events.js';
import { modelKey } from '../keys.js';
import type { RegistryContext, View } from './context.js';

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

function checkSeq(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw invalidArgument(`${what} must be a whole number of at least 0`);
  return value;
}

/** One model's events after `since`, oldest first: O(events returned), from the per-model index. */
export async function* modelHistory(ctx: RegistryContext, view: ReadView, model: string, options: HistoryOptions = {}): AsyncGenerator<ModelEvent> {
  const since = checkSeq(options.since, 'since');
  const limit = checkSeq(options.limit, 'limit');
  if (limit === 0) return;
  const found = ctx.tryResolve(model, view);
  if (!found) return;
  yield* ctx.events.history(view, found.key, { since, limit });
}

/** {@link modelHistory} as an array, from one view; UNKNOWN_MODEL for a name this session cannot see. */
export async function history(ctx: RegistryContext, model: string, options: HistoryOptions = {}): Promise<ModelEvent[]> {
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
  for await (const event of ctx.events.scan(view, since, ctx.scopes())) if (visible(event)) yield event;
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
  const visible = visibility(ctx, 'latest');
  return ctx.events.watch((event) => (model === undefined || event.model === model) && visible(event), since, ctx.scopes(), signal);
}

/** Whether this session sees an event: its own model's, or a global one's it does not shadow. */
function visibility(ctx: RegistryContext, view: View): (event: ModelEvent) => boolean {
  const { tenant } = ctx;
  if (tenant === null) return (event) => event.tenant === null;
  const shadowed = new Map<string, boolean>();
  return (event) => {
    if (event.tenant === tenant) return true;
    if (event.tenant !== null) return false;
    if (view === 'latest') return ctx.readHead(modelKey(event.model, tenant), view) === undefined;
    let own = shadowed.get(event.model);
    if (own === undefined) shadowed.set(event.model, (own = ctx.readHead(modelKey(event.model, tenant), view) !== undefined));
    return !own;
  };
}
