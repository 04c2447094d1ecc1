/**
 * open({ path }) with a path that cannot hold a registry: INVALID_ARGUMENT naming it, and
 * nothing created; a folder LevelDB may not use is IO_ERROR.
 */
import { spawn } from 'node:child_process';
import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { open } from '../../src/index.js';
import { Resources, expectError } from '../helpers/sql.js';

const resources = new Resources();
afterEach(() => resources.cleanup());

describe('open({ path }) with a path that is not a usable folder', () => {
  it('a NUL byte in the path is INVALID_ARGUMENT with the path', async () => {
    const dir = await resources.dir();
    const path = join(dir, 'reg\0istry');
    const error = await expectError(open({ path }), 'INVALID_ARGUMENT', `cannot open registry folder '${join(dir, 'reg\\0istry')}': the path contains a NUL byte`);
    expect(error.path).toBe(path);
    expect(await readdir(dir)).toEqual([]);
  });

  it('an existing regular file is INVALID_ARGUMENT with the path, and the file is untouched', async () => {
    const dir = await resources.dir();
    const path = join(dir, 'file.txt');
    await writeFile(path, 'not a registry');
    const error = await expectError(open({ path }), 'INVALID_ARGUMENT', `cannot open registry folder '${path}': it is a file, not a folder`);
    expect(error.path).toBe(path);
    expect(await readFile(path, 'utf8')).toBe('not a registry');
  });

  it('a path under a regular file is INVALID_ARGUMENT with the path', async () => {
    const dir = await resources.dir();
    await writeFile(join(dir, 'file.txt'), 'x');
    const path = join(dir, 'file.txt', 'sub');
    const error = await expectError(open({ path }), 'INVALID_ARGUMENT', `cannot open registry folder '${path}': a part of the path is not a folder`);
    expect(error.path).toBe(path);
  });

  it('a new folder, nested, is still created on first use', async () => {
    const dir = await resources.dir();
    const path = join(dir, 'a', 'b', 'registry');
    const db = await open({ path });
    await db.query("CREATE MODEL m WITH (artifact = 's3://m')");
    await db.close();
    expect(await readdir(path)).toContain('CURRENT');
  });
});

describe('open({ path }) of a folder LevelDB is not allowed to use', () => {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

  /** Opens `path` in a child process and reports the error's code and message (or 'opened'). */
  function openInChild(path: string, as: { uid?: number; gid?: number }): Promise<string> {
    const script = `
      const { open } = await import(${JSON.stringify(join(root, 'src/index.ts'))});
      try { const db = await open({ path: process.argv[1] }); await db.close(); console.log(JSON.stringify('opened')); }
      catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, path: e.path })); }`;
    return new Promise((done, fail) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, path], { cwd: root, ...as, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
      child.on('error', fail);
      child.on('close', (code) => (code === 0 ? done(JSON.parse(out.trim().split('\n').at(-1)!)) : fail(new Error(`child exited ${code}: ${err}`))));
    });
  }

  it('a registry folder without read and write permission is IO_ERROR with the path, not INVALID_ARGUMENT', async () => {
    const dir = await resources.dir();
    const path = join(dir, 'registry');
    const db = await open({ path });
    await db.query("CREATE MODEL m WITH (artifact = 's3://m')");
    await db.close();
    // Permission bits do not stop root, so as root the child runs as `nobody` against
    // root's folder (the parent stays passable, the folder itself is the owner's only).
    const asRoot = process.getuid?.() === 0;
    await chmod(dir, 0o755);
    await chmod(path, asRoot ? 0o700 : 0o000);
    try {
      const outcome = await openInChild(path, asRoot ? { uid: 65534, gid: 65534 } : {});
      expect(outcome).toEqual({ code: 'IO_ERROR', message: expect.stringMatching(/Permission denied/), path });
    } finally {
      await chmod(path, 0o700);
    }
  }, 30_000);
});
