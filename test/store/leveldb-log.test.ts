/**
 * What LevelDB does with a damaged `.log` (the write-ahead log of the last session)
 * when the folder is opened again, as the README documents it: a log cut short is
 * taken as its end (the torn last write is gone, silently: that is what a crash mid
 * write leaves, and the folder must still open); bytes that fail their checksum are
 * dropped too (LevelDB's paranoid checks are off and classic-level cannot turn them
 * on), but LevelDB notes it in its LOG file, and CHECK REGISTRY reports that.
 */
import { readFile, readdir, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { open } from '../../src/index.js';
import { Resources } from '../helpers/sql.js';

const resources = new Resources();
afterEach(() => resources.cleanup());

/** Two sessions of five versions each; returns the folder and the `.log` holding the second session. */
async function twoSessions(): Promise<{ dir: string; log: string }> {
  const dir = await resources.dir();
  for (let session = 0; session < 2; session++) {
    const db = await open({ path: dir });
    for (let i = 0; i < 5; i++) await db.query("CREATE MODEL m WITH (weights = x'01')");
    await db.close();
  }
  const log = (await readdir(dir)).filter((name) => name.endsWith('.log')).sort().pop()!;
  return { dir, log: join(dir, log) };
}

async function reopen(dir: string): Promise<{ latest: unknown; problems: readonly Record<string, unknown>[] }> {
  const db = resources.track(await open({ path: dir }));
  const latest = (await db.query('SELECT latest_version FROM ML_MODELS_DASHBOARD')).rows[0]?.latest_version;
  return { latest, problems: (await db.query('CHECK REGISTRY')).rows };
}

describe("a damaged .log of the last session", () => {
  it('intact: every write of the last session is there', async () => {
    const { dir } = await twoSessions();
    expect(await reopen(dir)).toEqual({ latest: 10, problems: [] });
  });

  it('cut short (a torn last write): the folder opens, the last write is gone, and nothing can tell', async () => {
    const { dir, log } = await twoSessions();
    await truncate(log, (await stat(log)).size - 10);
    expect(await reopen(dir)).toEqual({ latest: 9, problems: [] });
  });

  it('a damaged byte: the folder opens, the writes around it are gone, and CHECK REGISTRY reports what LevelDB dropped', async () => {
    const { dir, log } = await twoSessions();
    const bytes = await readFile(log);
    bytes[bytes.length - 20]! ^= 0xff;
    await writeFile(log, bytes);
    const { latest, problems } = await reopen(dir);
    expect(latest).toBe(9);
    expect(problems).toEqual([
      { namespace: 'leveldb', key: log.slice(dir.length + 1), problem: expect.stringMatching(/^LevelDB dropped \d+ bytes of its write-ahead log when the folder was opened \(Corruption: checksum mismatch\)/) },
    ]);
  });
});
