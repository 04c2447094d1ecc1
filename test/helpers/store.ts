import { unsealJson } from '../../src/store/checksum.js';
import { CommitQueue } from '../../src/store/commit-queue.js';
import { openLevel, type Level } from '../../src/store/level.js';
import { Registry } from '../../src/store/registry.js';

/** A registry over a fresh in-memory store, for store-level tests. */
export async function memoryRegistry(): Promise<{ level: Level; queue: CommitQueue; registry: Registry }> {
  return registryOver(await openLevel({ memory: true }));
}

/**
 * A new registry over `level`, as after a restart. Tests that write raw keys (damage,
 * old formats) do so before this: a registry reads the state its commit queue
 * published, and writes that bypass the queue are published only by a reopen.
 */
export function registryOver(level: Level): { level: Level; queue: CommitQueue; registry: Registry } {
  const queue = new CommitQueue(level.root, [level.models], false);
  return { level, queue, registry: new Registry(level, queue, 'tester') };
}

/** The JSON object in a stored record value (sealed with a checksum, or an older unsealed one). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function storedJson(raw: string | undefined): any {
  if (raw === undefined) throw new Error('no stored value');
  return JSON.parse(unsealJson(raw, 'test', 'test'));
}
