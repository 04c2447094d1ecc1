/** open({ path }) with a path that cannot hold a registry: INVALID_ARGUMENT naming it, and nothing created. */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
