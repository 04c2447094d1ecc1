/**
 * What the integrity check reports, shared by its modules (integrity.ts walks the
 * records and indexes, integrity-events.ts the event log).
 */

import type { AbstractSnapshot } from 'abstract-level';
import { ModelSqlError } from '../errors.js';
import type { Level } from './level.js';

/** One problem found: where, and what is wrong. */
export interface IntegrityProblem {
  readonly namespace: string;
  readonly key: string;
  readonly problem: string;
}

/** Reads from one snapshot of the store (every part of a check reads the same one). */
export interface SnapshotReader {
  readonly level: Level;
  readonly at: { readonly snapshot?: AbstractSnapshot };
}

/** A problem at `key` of `namespace`. */
export const problem = (namespace: string, key: string, text: string): IntegrityProblem => ({ namespace, key, problem: text });

/** The CORRUPTION message of a record that does not decode, as a problem; any other error is rethrown. */
export function undecodable(namespace: string, key: string, error: unknown): IntegrityProblem {
  if (error instanceof ModelSqlError && error.code === 'CORRUPTION') return problem(namespace, key, error.message);
  throw error;
}
