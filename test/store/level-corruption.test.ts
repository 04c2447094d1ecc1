/**
 * Damage LevelDB itself reports (a garbled table file, a broken MANIFEST) reaches the
 * app as CORRUPTION with LevelDB's own message, from open() and from every read,
 * never as a raw Error with code LEVEL_CORRUPTION or as INVALID_ARGUMENT. The files
 * are really damaged on disk.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelSqlError, open } from '../../src/index.js';
import { translateLevelError } from '../../src/store/level-errors.js';
import { Resources, expectError, sha256 } from '../helpers/sql.js';

const resources = new Resources();
afterEach(() => resources.cleanup());

const MiB = 1024 * 1024;
/** Random, so LevelDB stores it uncompressed and it can be found verbatim in the table file. */
const WEIGHTS = randomBytes(3 * MiB + 5);

/**
 * A registry whose records all sit in one table file (.ldb): written, closed, and
 * reopened once, which makes LevelDB turn its log into a level-0 table.
 */
async function registryInTable(): Promise<{ path: string; table: string }> {
  const path = join(await resources.dir(), 'registry');
  const db = await open({ path });
  await db.query("CREATE MODEL small WITH (artifact = 's3://small/1')");
  await db.query('CREATE MODEL m WITH (weights = $1)', [WEIGHTS]);
  await db.close();
  await (await open({ path })).close();
  const tables = (await readdir(path)).filter((name) => name.endsWith('.ldb'));
  expect(tables).toHaveLength(1);
  return { path, table: join(path, tables[0]!) };
}

/**
 * Offset of the type byte of the table block that ends with `value`. A LevelDB block
 * is its entries, an array of n u32 restart offsets, the u32 n, then a trailer of a
 * type byte (0 = raw, 1 = snappy) and a CRC. A type LevelDB does not know is a
 * corruption it reports on every read of the block.
 */
function blockTypeOffset(file: Buffer, value: Buffer): number {
  const start = file.indexOf(value.subarray(0, 4096));
  expect(start, 'chunk found verbatim in the table').toBeGreaterThan(0);
  expect(file.subarray(start, start + value.length).equals(value)).toBe(true);
  const end = start + value.length;
  for (let restarts = 1; restarts <= 64; restarts++) {
    if (file.readUInt32LE(end + 4 * restarts) === restarts) return end + 4 * restarts + 4;
  }
  throw new Error('no block trailer after the chunk');
}

describe('LevelDB corruption reports are CORRUPTION', () => {
  it('a damaged table block surfaces from readWeights, exportWeights and SELECT as CORRUPTION with LevelDB\'s message; other data stays readable', async () => {
    const { path, table } = await registryInTable();
    const file = await readFile(table);
    const chunk1 = WEIGHTS.subarray(MiB, 2 * MiB);
    const offset = blockTypeOffset(file, chunk1);
    expect(file[offset]).toBe(0); // stored raw
    file[offset] = 0x7f;
    await writeFile(table, file);

    const db = resources.track(await open({ path, allowFileAccess: true }));
    const error = await expectError(db.registry.readWeights('m', 1), 'CORRUPTION', /^LevelDB reports damaged storage in '.*': Corruption: bad block type$/);
    expect(error.path).toBe(path);
    expect(error.cause).toMatchObject({ code: 'LEVEL_CORRUPTION', message: 'Corruption: bad block type' });
    const out = join(path, '..', 'out.bin');
    await expectError(db.registry.exportWeights('m', 1, out), 'CORRUPTION', /bad block type/);
    expect(await readdir(join(path, '..'))).toEqual(['registry']);
    // Records outside the damaged block are still served.
    expect((await db.query('SELECT model, version, sha256 FROM ML_MODEL_VERSIONS ORDER BY model')).rows).toEqual([
      { model: 'm', version: 1, sha256: sha256(WEIGHTS) },
      { model: 'small', version: 1, sha256: null },
    ]);
    // And the handle still works after the failures.
    await db.query("CREATE MODEL small WITH (artifact = 's3://small/2')");
    expect((await db.registry.getVersion('small', 2)).artifact).toBe('s3://small/2');
  });

  it('a table file whose footer is destroyed makes open() fail with CORRUPTION, every time', async () => {
    const { path, table } = await registryInTable();
    const file = await readFile(table);
    file.fill(0x55, file.length - 48); // the footer: index handle and magic number
    await writeFile(table, file);
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await expectError(open({ path }), 'CORRUPTION', /^LevelDB reports damaged storage in '.*': Corruption: /);
      expect(error.cause).toBeInstanceOf(Error);
      expect((error.cause as { code?: string }).code).toBe('LEVEL_CORRUPTION');
    }
  });

  it('a garbled MANIFEST is CORRUPTION (not INVALID_ARGUMENT), keeping LevelDB\'s message in message and cause', async () => {
    const { path } = await registryInTable();
    const manifest = join(path, (await readdir(path)).find((name) => name.startsWith('MANIFEST-'))!);
    const bytes = await readFile(manifest);
    bytes[bytes.length >> 1]! ^= 0xff;
    await writeFile(manifest, bytes);
    const error = await expectError(open({ path }), 'CORRUPTION', /^LevelDB reports damaged storage in '.*': Corruption: checksum mismatch$/);
    expect(error.cause).toMatchObject({ code: 'LEVEL_DATABASE_NOT_OPEN', cause: { code: 'LEVEL_CORRUPTION', message: 'Corruption: checksum mismatch' } });
  });

  it('a truncated MANIFEST is CORRUPTION too', async () => {
    const { path } = await registryInTable();
    const manifest = join(path, (await readdir(path)).find((name) => name.startsWith('MANIFEST-'))!);
    await truncate(manifest, 10);
    await expectError(open({ path }), 'CORRUPTION', /Corruption: /);
  });
});

describe('translateLevelError: the one mapping of level-layer failures', () => {
  const levelError = (code: string, message: string, cause?: unknown): Error => Object.assign(new Error(message, { cause }), { code });

  it('maps LEVEL_* codes, on the error or on a cause, to typed errors keeping message and cause', () => {
    const cases: ReadonlyArray<readonly [Error, string, RegExp]> = [
      [levelError('LEVEL_CORRUPTION', 'Corruption: block checksum mismatch'), 'CORRUPTION', /damaged storage in '\/r': Corruption: block checksum mismatch$/],
      [levelError('LEVEL_DATABASE_NOT_OPEN', 'Database failed to open', levelError('LEVEL_CORRUPTION', 'Corruption: bad magic')), 'CORRUPTION', /Corruption: bad magic$/],
      [levelError('LEVEL_IO_ERROR', 'IO error: /r/000005.ldb: No space left on device'), 'IO_ERROR', /^LevelDB I\/O error in '\/r': IO error: .*No space left/],
      [levelError('LEVEL_DATABASE_NOT_OPEN', 'Database is not open'), 'CLOSED', /^the registry is closed/],
      [levelError('LEVEL_ITERATOR_NOT_OPEN', 'Iterator is not open'), 'CLOSED', /^the registry is closed/],
      [levelError('LEVEL_INVALID_KEY', 'Key cannot be null or undefined'), 'INTERNAL', /a bug, please report it\): LEVEL_INVALID_KEY: Key cannot be null/],
      [levelError('LEVEL_ITERATOR_BUSY', 'Iterator is busy'), 'INTERNAL', /LEVEL_ITERATOR_BUSY/],
    ];
    for (const [error, code, message] of cases) {
      const typed = translateLevelError(error, '/r');
      expect(typed, error.message).toBeInstanceOf(ModelSqlError);
      expect(typed).toMatchObject({ code, path: '/r', cause: error });
      expect((typed as Error).message).toMatch(message);
    }
  });

  it('leaves ModelSqlErrors and errors that are not the level layer\'s (bugs, an app\'s own exceptions) as they are', () => {
    const typed = new ModelSqlError('UNKNOWN_MODEL', "unknown model 'm'");
    const bug = new TypeError("Cannot read properties of undefined (reading 'x')");
    const apps = new Error('the app callback failed');
    for (const error of [typed, bug, apps, 'a string', null]) expect(translateLevelError(error, '/r')).toBe(error);
  });
});
