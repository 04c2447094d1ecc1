import { describe, expect, it } from 'vitest';
import { storedJson } from '../helpers/store.js';
import { blobChunkKey, modelKey, stageKey, versionKey } from '../../src/store/keys.js';
import { memoryRegistry, registryOver } from '../helpers/store.js';
import { CommitQueue } from '../../src/store/commit-queue.js';
import { Registry } from '../../src/store/registry.js';

describe('corrupt stored data is reported, never skipped', () => {
  it('reports a damaged head record with namespace and key', async () => {
    const { level } = await memoryRegistry();
    await level.models.put(modelKey('m'), '{not json');
    const { registry } = registryOver(level);
    await expect(registry.summaries()).rejects.toMatchObject({ code: 'CORRUPTION', namespace: 'models', key: modelKey('m') });
  });

  it('reports a version record with a wrong field type', async () => {
    const { level, registry } = await memoryRegistry();
    await registry.registerVersion('m', { weights: new Uint8Array([1]) });
    const key = versionKey(modelKey('m'), 1);
    const record = storedJson(await level.versions.get(key));
    await level.versions.put(key, JSON.stringify({ ...record, archived: 'yes' }));
    const reopened = registryOver(level).registry;
    await expect(reopened.getVersion('m', 1)).rejects.toMatchObject({ code: 'CORRUPTION', namespace: 'model_versions', key });
    await expect(reopened.listVersions('m')).rejects.toMatchObject({ code: 'CORRUPTION' });
  });

  it('detects weights that no longer match their SHA-256', async () => {
    const { level, registry } = await memoryRegistry();
    await registry.registerVersion('m', { weights: new Uint8Array([1, 2, 3]) });
    const { blob } = storedJson(await level.versions.get(versionKey(modelKey('m'), 1))) as { blob: string };
    await level.weights.put(blobChunkKey(blob, 0), new Uint8Array([1, 2, 4]));
    await expect(registryOver(level).registry.readWeights('m', 1)).rejects.toMatchObject({ code: 'CORRUPTION', model: 'm', version: 1 });
  });

  it('reads back large weights split into chunks', async () => {
    const { registry } = await memoryRegistry();
    const big = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => i % 251);
    await registry.registerVersion('m', { weights: big });
    expect(Buffer.from(await registry.readWeights('m', 1)).equals(Buffer.from(big))).toBe(true);
  });
});

describe('records that disagree within one snapshot are damage, not a race', () => {
  // Heads, versions and the stage index are read through one snapshot, where a version
  // exists only with its head and an index entry only with its record.
  it('a version record beyond its head\'s latest is CORRUPTION in listings', async () => {
    const { level, registry } = await memoryRegistry();
    await registry.registerVersion('m', { weights: new Uint8Array([1]) });
    const stray = versionKey(modelKey('m'), 2);
    await level.versions.put(stray, (await level.versions.get(versionKey(modelKey('m'), 1)))!);
    const reopened = registryOver(level).registry;
    await expect(reopened.listVersions('m')).rejects.toMatchObject({ code: 'CORRUPTION', namespace: 'model_versions', key: stray });
    const scan = async (): Promise<void> => {
      for await (const _ of reopened.scanVersions()) void _;
    };
    await expect(scan()).rejects.toMatchObject({ code: 'CORRUPTION', namespace: 'model_versions', key: stray });
  });

  it('a stage index entry beyond the head or at another stage than its record is CORRUPTION', async () => {
    const { level, registry } = await memoryRegistry();
    await registry.registerVersion('m', { weights: new Uint8Array([1]) });
    const beyond = stageKey(modelKey('m'), 'staging', 7);
    await level.stages.put(beyond, '');
    await expect(registryOver(level).registry.latestAtStage('m', 'staging')).rejects.toMatchObject({ code: 'CORRUPTION', namespace: 'version_stages', key: beyond });
    await level.stages.del(beyond);
    const wrong = stageKey(modelKey('m'), 'staging', 1); // version 1 is at dev
    await level.stages.put(wrong, '');
    await expect(registryOver(level).registry.latestAtStage('m', 'staging')).rejects.toMatchObject({ code: 'CORRUPTION', namespace: 'version_stages', key: wrong });
  });
});

describe('orphaned records', () => {
  it('reports a version whose model head is missing instead of skipping it', async () => {
    const { level, registry } = await memoryRegistry();
    await registry.registerVersion('m', { weights: new Uint8Array([1]) });
    await registry.registerVersion('other', { weights: new Uint8Array([2]) });
    await level.models.del(modelKey('m'));
    // A fresh registry, as after a restart: nothing cached about 'm'.
    const reopened = new Registry(level, new CommitQueue(level.root, [level.models], false), null);
    const scan = async (): Promise<number> => {
      let n = 0;
      for await (const _ of reopened.scanVersions()) n++;
      return n;
    };
    await expect(scan()).rejects.toMatchObject({ code: 'CORRUPTION', namespace: 'model_versions', key: versionKey(modelKey('m'), 1) });
  });
});
