/**
 * The entrenar staging rules (seed 003) as unit tests of `checkTransition` and
 * `isStage`: a version moves exactly one stage at a time, up by promotion
 * (dev → staging → production) and down by demotion (production → staging → dev).
 * Every other move (skip, stay, wrong direction) is INVALID_TRANSITION.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ModelSqlError } from '../../src/errors.js';
import type { Stage } from '../../src/store/records.js';
import { checkTransition, isStage, type StageDirection } from '../../src/store/stages.js';

const STAGES: readonly Stage[] = ['dev', 'staging', 'production'];
const DIRECTIONS: readonly StageDirection[] = ['promote', 'demote'];

/** The only legal moves, written out by hand (not derived from stage order). */
const LEGAL = new Set(['dev promote staging', 'staging promote production', 'production demote staging', 'staging demote dev']);

const ALL = STAGES.flatMap((from) => DIRECTIONS.flatMap((direction) => STAGES.map((to) => ({ from, direction, to }))));

/** Checks one refused move: a ModelSqlError INVALID_TRANSITION naming model, version, from and to. */
function expectRefused(error: ModelSqlError | undefined, model: string, version: number, from: Stage, to: Stage): void {
  expect(error, `${from} → ${to} should be refused`).toBeInstanceOf(ModelSqlError);
  expect(error!.code).toBe('INVALID_TRANSITION');
  expect(error).toMatchObject({ model, version, from, to });
  expect(error!.message.startsWith(`invalid transition for model '${model}' version ${version} from ${from} to ${to}: `), error!.message).toBe(true);
  // The reason after the colon is for people; it must say something.
  expect(error!.message.length).toBeGreaterThan(`invalid transition for model '${model}' version ${version} from ${from} to ${to}: `.length);
}

describe('checkTransition: every from / direction / to combination', () => {
  it('covers 18 combinations, 4 of them legal', () => {
    expect(ALL).toHaveLength(18);
    expect(ALL.filter((c) => LEGAL.has(`${c.from} ${c.direction} ${c.to}`))).toHaveLength(4);
  });

  for (const { from, direction, to } of ALL) {
    const legal = LEGAL.has(`${from} ${direction} ${to}`);
    it(`${direction} from ${from} to ${to} is ${legal ? 'allowed' : 'INVALID_TRANSITION'}`, () => {
      const outcome = checkTransition('spam', 3, from, direction, to);
      if (legal) expect(outcome).toBeUndefined();
      else expectRefused(outcome, 'spam', 3, from, to);
    });
  }
});

describe('checkTransition: the seed cases', () => {
  it('promotes dev → staging → production one step at a time', () => {
    expect(checkTransition('llama-7b', 1, 'dev', 'promote', 'staging')).toBeUndefined();
    expect(checkTransition('llama-7b', 1, 'staging', 'promote', 'production')).toBeUndefined();
  });

  it('refuses to skip staging on the way up (dev → production)', () => {
    expectRefused(checkTransition('llama-7b', 1, 'dev', 'promote', 'production'), 'llama-7b', 1, 'dev', 'production');
  });

  it('demotes production → staging → dev one step at a time', () => {
    expect(checkTransition('llama-7b', 1, 'production', 'demote', 'staging')).toBeUndefined();
    expect(checkTransition('llama-7b', 1, 'staging', 'demote', 'dev')).toBeUndefined();
  });

  it('refuses to skip staging on the way down (production → dev)', () => {
    expectRefused(checkTransition('llama-7b', 1, 'production', 'demote', 'dev'), 'llama-7b', 1, 'production', 'dev');
  });

  it('refuses to demote from dev (there is nothing below) and to promote from production (nothing above)', () => {
    for (const to of STAGES) {
      expectRefused(checkTransition('m', 2, 'dev', 'demote', to), 'm', 2, 'dev', to);
      expectRefused(checkTransition('m', 2, 'production', 'promote', to), 'm', 2, 'production', to);
    }
  });

  it('refuses to "move" to the stage the version is already at, in either direction', () => {
    for (const stage of STAGES) {
      for (const direction of DIRECTIONS) expectRefused(checkTransition('m', 1, stage, direction, stage), 'm', 1, stage, stage);
    }
  });

  it('refuses PROMOTE downwards and DEMOTE upwards even by one step', () => {
    expectRefused(checkTransition('m', 1, 'staging', 'promote', 'dev'), 'm', 1, 'staging', 'dev');
    expectRefused(checkTransition('m', 1, 'production', 'promote', 'staging'), 'm', 1, 'production', 'staging');
    expectRefused(checkTransition('m', 1, 'dev', 'demote', 'staging'), 'm', 1, 'dev', 'staging');
    expectRefused(checkTransition('m', 1, 'staging', 'demote', 'production'), 'm', 1, 'staging', 'production');
  });

  it('names any model and version it is given, verbatim (property)', () => {
    const stage = fc.constantFrom(...STAGES);
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 0xffff_ffff }), stage, fc.constantFrom(...DIRECTIONS), stage, (model, version, from, direction, to) => {
        const outcome = checkTransition(model, version, from, direction, to);
        if (LEGAL.has(`${from} ${direction} ${to}`)) expect(outcome).toBeUndefined();
        else expectRefused(outcome, model, version, from, to);
      }),
    );
  });

  it('is a pure check: the same question always gets the same answer', () => {
    for (const { from, direction, to } of ALL) {
      const a = checkTransition('m', 1, from, direction, to);
      const b = checkTransition('m', 1, from, direction, to);
      expect(a === undefined).toBe(b === undefined);
      if (a && b) expect(a.message).toBe(b.message);
    }
  });
});

describe('isStage', () => {
  it('accepts exactly dev, staging and production', () => {
    for (const stage of STAGES) expect(isStage(stage)).toBe(true);
  });

  it('rejects other spellings and other types', () => {
    const others: unknown[] = [
      'Dev', 'DEV', 'Staging', 'PRODUCTION', 'Production', ' dev', 'dev ', 'prod', 'stage', 'development', '', 'archived', 'retired',
      null, undefined, 0, 1, 2, true, {}, [], ['dev'], { stage: 'dev' }, Symbol('dev'), new String('dev'),
    ];
    for (const value of others) expect(isStage(value), String(typeof value === 'symbol' ? value.toString() : JSON.stringify(value))).toBe(false);
  });

  it('agrees with the list of stages for any string (property)', () => {
    fc.assert(fc.property(fc.string(), (s) => {
      expect(isStage(s)).toBe((STAGES as readonly string[]).includes(s));
    }));
  });
});
