/**
 * Lifecycle stages (entrenar staging seed): every version starts at `dev` and moves
 * one step at a time, dev → staging → production by promotion and back by demotion.
 * A stage is a label for people and pipelines; it never moves the active pointer.
 */

import { invalidTransition, type ModelSqlError } from '../errors.js';
import { STAGES, type Stage } from './records.js';

/** Which way a stage change goes. */
export type StageDirection = 'promote' | 'demote';

/** True for `dev`, `staging` and `production`. */
export function isStage(value: unknown): value is Stage {
  return typeof value === 'string' && (STAGES as readonly string[]).includes(value);
}

/**
 * Checks one stage change. Returns `undefined` when allowed, else the
 * INVALID_TRANSITION error to throw (it names model, version, from and to).
 */
export function checkTransition(model: string, version: number, from: Stage, direction: StageDirection, to: Stage): ModelSqlError | undefined {
  const step = STAGES.indexOf(to) - STAGES.indexOf(from);
  const wanted = direction === 'promote' ? 1 : -1;
  if (step === wanted) return undefined;
  let why: string;
  if (step === 0) why = `the version is already at ${to}`;
  else if (Math.sign(step) !== wanted) {
    why = direction === 'promote'
      ? 'PROMOTE moves up (dev → staging → production); use DEMOTE to move down'
      : 'DEMOTE moves down (production → staging → dev); use PROMOTE to move up';
  } else why = 'stages move one step at a time (dev → staging → production)';
  return invalidTransition(model, version, from, to, why);
}
