import { CommitQueue } from '../../src/store/commit-queue.js';
import { openLevel, type Level } from '../../src/store/level.js';
import { Registry } from '../../src/store/registry.js';

/** A registry over a fresh in-memory store, for store-level tests. */
export async function memoryRegistry(): Promise<{ level: Level; queue: CommitQueue; registry: Registry }> {
  const level = await openLevel({ memory: true });
  const queue = new CommitQueue(level.root, [level.models], false);
  return { level, queue, registry: new Registry(level, queue, 'tester') };
}
