import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storedJson } from '../helpers/store.js';
import { open, type Database } from '../../src/index.js';
import { blobChunkKey, modelKey, versionKey } from '../../src/store/keys.js';

let dir: string;
const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelsql-files-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function dashboard(db: Database): Promise<unknown[]> {
  return [...(await db.query('SELECT * FROM ML_MODELS_DASHBOARD')).rows];
}

describe("weights = FILE 'path'", () => {
  it('is refused with FILE_ACCESS_DENIED unless the session allows file access, and changes nothing', async () => {
    const file = join(dir, 'model.bin');
    await writeFile(file, randomBytes(100));
    const db = await open({ memory: true });
    await expect(db.query(`CREATE MODEL m WITH (weights = FILE '${file}')`)).rejects.toMatchObject({ code: 'FILE_ACCESS_DENIED', path: file });
    expect(await dashboard(db)).toEqual([]);
    await expect(db.registry.exportWeights('m', 1, join(dir, 'out.bin'))).rejects.toMatchObject({ code: 'FILE_ACCESS_DENIED' });
    await db.close();
  });

  it('imports a multi-megabyte file with its SHA-256, reporting progress, and exports it back verified', async () => {
    const file = join(dir, 'model.onnx');
    const content = randomBytes(5 * 1024 * 1024 + 123);
    await writeFile(file, content);
    const db = await open({ path: join(dir, 'registry'), allowFileAccess: true });
    const progress: number[] = [];
    const { rows } = await db.query('CREATE MODEL m WITH (weights = FILE $1)', [file], { onProgress: (p) => progress.push(p) });
    expect(rows[0]).toMatchObject({ model: 'm', version: 1, sha256: sha(content) });
    expect(progress.at(-1)).toBe(100);
    expect(progress.length).toBeGreaterThan(2);
    const version = (await db.query("SELECT size_bytes, sha256 FROM ML_MODEL_VERSIONS WHERE model = 'm'")).rows[0];
    expect(version).toEqual({ size_bytes: content.length, sha256: sha(content) });
    expect(Buffer.from(await db.registry.readWeights('m', 1)).equals(content)).toBe(true);

    const out = join(dir, 'exported.onnx');
    await expect(db.registry.exportWeights('m', 1, out)).resolves.toEqual({ sha256: sha(content), sizeBytes: content.length });
    expect((await readFile(out)).equals(content)).toBe(true);
    await db.close();
  });

  it('rejects FILE for anything but weights, and a missing file, changing nothing', async () => {
    const db = await open({ memory: true, allowFileAccess: true });
    await expect(db.query("CREATE MODEL m WITH (metrics = FILE 'x.json', artifact = 's3://a')")).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('only allowed for weights') });
    const missing = join(dir, 'nope.bin');
    await expect(db.query(`CREATE MODEL m WITH (weights = FILE '${missing}')`)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('no such file') });
    expect(await dashboard(db)).toEqual([]);
    await db.close();
  });

  it('does not export weights that fail their SHA-256 check, and leaves no file behind', async () => {
    const path = join(dir, 'registry');
    let db = await open({ path, allowFileAccess: true });
    await db.query('CREATE MODEL m WITH (weights = $1)', [Buffer.from('original weights')]);
    await db.close();
    // Damage the stored chunk behind the registry's back.
    const { ClassicLevel } = await import('classic-level');
    const raw = new ClassicLevel<string, Uint8Array>(path, { valueEncoding: 'view' });
    const { blob } = storedJson(await raw.sublevel<string, string>('model_versions', { valueEncoding: 'utf8' }).get(versionKey(modelKey('m'), 1))) as { blob: string };
    await raw.sublevel<string, Uint8Array>('weights', { valueEncoding: 'view' }).put(blobChunkKey(blob, 0), Buffer.from('tampered weights'));
    await raw.close();
    db = await open({ path, allowFileAccess: true });
    const out = join(dir, 'out.bin');
    await expect(db.registry.exportWeights('m', 1, out)).rejects.toMatchObject({ code: 'CORRUPTION' });
    expect(existsSync(out)).toBe(false);
    expect((await readdir(dir)).filter((name) => name.includes('partial'))).toEqual([]);
    await db.close();
  });

  it('leaves no stored chunks behind when the statement fails after the file was streamed in', async () => {
    const file = join(dir, 'w.bin');
    await writeFile(file, randomBytes(3 * 1024 * 1024));
    const path = join(dir, 'registry');
    const db = await open({ path, allowFileAccess: true });
    await db.query("CREATE MODEL m WITH (artifact = 's3://a')");
    await expect(db.query(`CREATE MODEL m FROM VERSION 9 WITH (weights = FILE '${file}')`)).rejects.toMatchObject({ code: 'UNKNOWN_VERSION' });
    await db.close();
    const { ClassicLevel } = await import('classic-level');
    const raw = new ClassicLevel<string, string>(path);
    const count = async (name: string): Promise<number> => (await raw.sublevel(name).keys().all()).length;
    expect([await count('weights'), await count('uploads')]).toEqual([0, 0]);
    await raw.close();
  });

  it('deletes an upload a crash left unreferenced when the registry is opened', async () => {
    const path = join(dir, 'registry');
    await (await open({ path })).close();
    const { ClassicLevel } = await import('classic-level');
    let raw = new ClassicLevel<string, string>(path);
    // What a crash between streaming a file in and registering its version leaves.
    await raw.sublevel('uploads').put('0123456789abcdef0123456789abcdef', '1');
    await raw.sublevel<string, Uint8Array>('weights', { valueEncoding: 'view' }).put(blobChunkKey('0123456789abcdef0123456789abcdef', 0), new Uint8Array(10));
    await raw.close();
    await (await open({ path })).close();
    raw = new ClassicLevel<string, string>(path);
    expect(await raw.sublevel('weights').keys().all()).toEqual([]);
    expect(await raw.sublevel('uploads').keys().all()).toEqual([]);
    await raw.close();
  });

  it('round-trips FILE through the printer and parser', async () => {
    const { parseStatement, printStatement } = await import('../../src/index.js');
    const node = parseStatement("CREATE MODEL m WITH (weights = file './w.bin', active = FALSE)");
    expect(node).toMatchObject({ options: [{ name: 'weights', value: { kind: 'File', path: { kind: 'Literal', value: './w.bin' } } }, { name: 'active' }] });
    expect(parseStatement(printStatement(node))).toEqual(node);
  });
});
