/**
 * `USE PREVIOUS VERSION`: one step back along the active pointer's history, as the
 * event log records it.
 *
 * The rule. Replaying a model's `active_moved` events gives a stack of the values the
 * pointer took: an ordinary move pushes its new value; a rollback, recorded with
 * `detail.rollback = k`, pops the k values it went back over. The bottom is the
 * pointer the first recorded move left (a model from before the log). Going back
 * means: from the top, walk down to the nearest value below the current one that is
 * a version still servable (not archived, not retired, not the current pointer),
 * skipping cleared pointers (null) on the way, and pop down to it. So repeating
 * `USE PREVIOUS VERSION` walks further back (3 → 2 → 1), and after an ordinary move
 * the previous version is again the one it moved from.
 */

import { ModelSqlError, retired } from '../../errors.js';
import { activeMoved } from '../events.js';
import { touched, type RegistryContext } from './context.js';

/** What going back answers: the pointer before, the version now active, and how many moves it undid. */
export interface RollbackOutcome {
  readonly previous: number | null;
  readonly version: number;
  readonly steps: number;
}

/** The stack of pointer values model key `key`'s log describes (see the module comment). */
async function pointerStack(ctx: RegistryContext, key: string): Promise<(number | null)[]> {
  const stack: (number | null)[] = [];
  const replay = (event: { kind: string; oldValue?: unknown; newValue?: unknown; detail?: Readonly<Record<string, unknown>> | null }): void => {
    if (event.kind !== 'active_moved') return;
    if (stack.length === 0 && event.oldValue !== null && event.oldValue !== undefined) stack.push(event.oldValue as number);
    const popped = typeof event.detail?.rollback === 'number' ? event.detail.rollback : 0;
    stack.length = Math.max(0, stack.length - popped);
    if (popped === 0 || stack.at(-1) !== event.newValue) stack.push((event.newValue ?? null) as number | null);
  };
  const view = ctx.queue.view();
  try {
    for await (const event of ctx.events.history(view, key)) replay(event);
  } finally {
    view.release();
  }
  // Moves made earlier in this session's transaction are not logged yet, but count.
  for (const event of ctx.tx?.pendingEvents(key) ?? []) replay(event);
  return stack;
}

/**
 * Moves `model`'s active pointer back to the version that was active before the
 * current one, per the event log, skipping versions since archived or retired.
 * NO_MATCHING_VERSION when there is none to go back to. O(the model's events).
 */
export async function usePreviousVersion(ctx: RegistryContext, model: string): Promise<RollbackOutcome> {
  return ctx.mutate(model, async (key, head) => {
    if (head.retired) throw retired(model);
    // This model's events are written under the lock we hold; once the queue is idle
    // the log on disk is complete for it.
    await ctx.queue.idle();
    const stack = await pointerStack(ctx, key);
    for (let i = stack.length - 2; i >= 0; i--) {
      const candidate = stack[i];
      if (candidate === null || candidate === undefined || candidate === head.active || candidate > head.latest) continue;
      const record = ctx.readRecord(model, key, head, candidate, 'latest');
      if (record.archived || record.retired) continue;
      const steps = stack.length - 1 - i;
      const ops = [ctx.headOp(key, { ...head, active: candidate, updatedAt: touched(head) })];
      return { result: { previous: head.active, version: candidate, steps }, ops, events: [activeMoved(key, head.active, candidate, { rollback: steps })] };
    }
    throw new ModelSqlError(
      'NO_MATCHING_VERSION',
      `model '${model}' has no previous version to go back to: the log records no earlier active version that is still servable (archived and retired versions are skipped)`,
      { model },
    );
  });
}
