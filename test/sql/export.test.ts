/**
 * Exporting weights to a file: whatever goes wrong (a missing folder, a directory in
 * the way, weights that no longer hash right), the caller gets a typed error, no file
 * appears at the target or beside it, and the process lives on.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClassicLevel } from 'classic-level';
import { afterEach, describe, expect, it } from 'vitest';
import { open, type Database } from '../../src/index.js';
import { Resources, expectFailsUnchanged, sha256 } from '../helpers/sql.js';

const resources = new Resources();
afterEach(() => resources.cleanup());

/** Three chunks, so the writer waits on the store between writes (where a stream error used to escape). */
const WEIGHTS = randomBytes(3 * 1024 * 1024 + 5);

async function registryWithWeights(): Promise<{ db: Database; dir: string; path: string }> {
  const dir = await resources.dir();
  const path = join(dir, 'registry');
  const db = resources.track(await open({ path, allowFileAccess: true }));
  await db.query('CREATE MODEL m WITH (weights = $1)', [WEIGHTS]);
  return { db, dir, path };
}

/** Everything in `folder` except the registry itself. */
async function filesIn(folder: string): Promise<string[]> {
  return (await readdir(folder)).filter((name) => name !== 'registry').sort();
}

/**
 * Runs the exports in a child process, since the failure this guards against killed
 * the whole process (an unhandled stream 'error' event that no try/catch could catch).
 * Targets go in as JSON (an argv entry cannot hold a NUL byte); prints one JSON line with
 * each attempt's error, the REPL's answer, and that it is still alive.
 */
const CHILD = `
const [src, registry, targetsJson] = process.argv.slice(1);
const targets = JSON.parse(targetsJson);
const { open } = await import(src + '/index.ts');
const { runMeta } = await import(src + '/cli/meta.ts');
const { randomBytes } = await import('node:crypto');
const db = await open({ path: registry, allowFileAccess: true });
await db.query('CREATE MODEL m WITH (weights = $1)', [randomBytes(3 * 1024 * 1024 + 5)]);
const outcomes = [];
for (const target of targets) {
  try { await db.registry.exportWeights('m', 1, target); outcomes.push({ ok: true }); }
  catch (e) { outcomes.push({ name: e.name, code: e.code, message: e.message, path: e.path }); }
}
const repl = await runMeta(db, ".export m VERSION 1 TO '" + targets[0] + "'", { mode: 'table', timer: false });
await db.close();
console.log(JSON.stringify({ outcomes, repl: repl.output, alive: true }));
`;

function runChild(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

describe('exportWeights into a path that cannot be written', () => {
  it('a missing folder, a path under a regular file or with a NUL byte are INVALID_ARGUMENT with the path; the process (and the REPL) lives on', async () => {
    const dir = await resources.dir();
    await writeFile(join(dir, 'file.txt'), 'x');
    const missing = join(dir, 'missing', 'out.bin');
    const underFile = join(dir, 'file.txt', 'out.bin');
    const withNul = join(dir, 'nul\0.bin');
    const { code, stdout, stderr } = await runChild([SRC, join(dir, 'registry'), JSON.stringify([missing, underFile, withNul])]);
    expect(stderr).not.toContain("Unhandled 'error' event");
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { outcomes: Array<Record<string, unknown>>; repl: string; alive: boolean };
    expect(result.outcomes).toEqual([
      { name: 'ModelSqlError', code: 'INVALID_ARGUMENT', message: `cannot write weights to '${missing}': no such file or folder`, path: missing },
      { name: 'ModelSqlError', code: 'INVALID_ARGUMENT', message: `cannot write weights to '${underFile}': a part of the path is not a folder`, path: underFile },
      { name: 'ModelSqlError', code: 'INVALID_ARGUMENT', message: expect.stringContaining('NUL byte'), path: withNul },
    ]);
    expect(result.alive).toBe(true);
    expect(result.repl).toBe(`error: cannot write weights to '${missing}': no such file or folder`);
    expect(await filesIn(dir)).toEqual(['file.txt']);
  });
});

describe('exportWeights failures in the registry are typed and leave nothing behind', () => {
  it('a target that is a directory is INVALID_ARGUMENT with the path; the directory is untouched', async () => {
    const { db, dir } = await registryWithWeights();
    const folder = join(dir, 'a-folder');
    await mkdir(folder);
    await writeFile(join(folder, 'keep.txt'), 'keep');
    const error = await expectFailsUnchanged(db, () => db.registry.exportWeights('m', 1, folder), 'INVALID_ARGUMENT', /is a directory/);
    expect(error.path).toBe(folder);
    expect(await readdir(folder)).toEqual(['keep.txt']);
    expect(await filesIn(dir)).toEqual(['a-folder']);
    // Still exporting.
    const good = join(dir, 'good.bin');
    await expect(db.registry.exportWeights('m', 1, good)).resolves.toEqual({ sha256: sha256(WEIGHTS), sizeBytes: WEIGHTS.length });
    expect((await readFile(good)).equals(WEIGHTS)).toBe(true);
  });

  it('weights whose stored chunk was damaged are CORRUPTION; neither the target nor a temporary file remains, an old target is kept', async () => {
    const { db, dir, path } = await registryWithWeights();
    await db.close();
    // Damage the second chunk behind the registry's back (the only blob: its chunk keys in order).
    const raw = new ClassicLevel<string, Uint8Array>(path, { valueEncoding: 'view' });
    const chunks = raw.sublevel<string, Uint8Array>('weights', { valueEncoding: 'view' });
    const keys = await chunks.keys().all();
    expect(keys).toHaveLength(4);
    const damaged = Buffer.from((await chunks.get(keys[1]!))!);
    damaged[100]! ^= 0xff;
    await chunks.put(keys[1]!, damaged);
    await raw.close();

    const reopened = resources.track(await open({ path, allowFileAccess: true }));
    const target = join(dir, 'out.bin');
    await writeFile(target, 'previous export');
    const error = await expectFailsUnchanged(reopened, () => reopened.registry.exportWeights('m', 1, target), 'CORRUPTION', /do not match their stored SHA-256/);
    expect(error.path).toBe(target);
    // Like readWeights: the damaged data is named by namespace and key (the blob id).
    const blob = keys[1]!.slice(0, keys[1]!.indexOf(':'));
    expect(error).toMatchObject({ namespace: 'weights', key: blob, model: 'm', version: 1 });
    expect(error.message).toContain(`namespace 'weights', blob '${blob}'`);
    expect(await readFile(target, 'utf8')).toBe('previous export');
    expect(await filesIn(dir)).toEqual(['out.bin']);
  });
});

describe('fileError: what a filesystem failure on a path becomes', () => {
  it('a path the caller got wrong is INVALID_ARGUMENT, a failing disk IO_ERROR; both carry the path and the cause', async () => {
    const { fileError } = await import('../../src/errors.js');
    const errno = (code: string, message: string): Error => Object.assign(new Error(message), { code });
    const cases = [
      [errno('ENOENT', 'ENOENT: no such file or directory'), 'INVALID_ARGUMENT', "cannot write weights to '/x/w.bin': no such file or folder"],
      [errno('EACCES', 'EACCES: permission denied'), 'INVALID_ARGUMENT', "cannot write weights to '/x/w.bin': permission denied"],
      [errno('ENOSPC', 'ENOSPC: no space left on device, write'), 'IO_ERROR', "cannot write weights to '/x/w.bin': ENOSPC: no space left on device, write"],
      [errno('EIO', 'EIO: i/o error, write'), 'IO_ERROR', "cannot write weights to '/x/w.bin': EIO: i/o error, write"],
    ] as const;
    for (const [cause, code, message] of cases) {
      expect(fileError('write weights to', '/x/w.bin', cause)).toMatchObject({ code, message, path: '/x/w.bin', cause });
    }
  });
});
