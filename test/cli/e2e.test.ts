import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open } from '../../src/database.js';
import { modelKey, stageKey } from '../../src/store/keys.js';
import { openLevel } from '../../src/store/level.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const bin = join(root, 'dist/cli/main.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], options: { input?: string; cwd?: string } = {}): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: options.cwd ?? tmp, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

function jsonLines(stdout: string): Array<{ command: string; columns: string[]; rows: Record<string, unknown>[]; rowCount: number }> {
  return stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

let tmp = '';
let n = 0;
const registry = (): string => join(tmp, `reg${++n}`);

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'modelsql-cli-'));
  if (!existsSync(bin) || statSync(bin).mtimeMs < newestSource(join(root, 'src'))) {
    try {
      execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'pipe' });
    } catch (error) {
      // tsc still emits on type errors; only a missing binary is fatal.
      if (!existsSync(bin)) throw error;
    }
  }
}, 60_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('modelsql CLI', () => {
  it('prints --version from package.json and --help', async () => {
    const version = await cli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: modelsql');
    expect(help.stdout).toContain('--json');
  });

  it('exits 2 with a usage line on bad usage', async () => {
    for (const args of [['--bogus'], ['-e', 'SELECT * FROM ML_JOBS', '-f', 'x.sql'], ['--json', '--csv', '--memory'], ['a', 'b'], ['--memory', 'dir']]) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toContain('usage: modelsql');
      expect(run.stdout).toBe('');
    }
  });

  it('runs -e on a folder registry, persists, and prints JSON lines', async () => {
    const dir = registry();
    const created = await cli([dir, '--json', '-e', "CREATE MODEL spam WITH (weights = X'0102', metrics = '{\"f1\":0.9}'); CREATE MODEL spam WITH (weights = X'03')"]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const [first, second] = jsonLines(created.stdout);
    expect(first).toMatchObject({ command: 'CREATE MODEL', rowCount: 1, rows: [{ model: 'spam', version: 1 }] });
    expect(second).toMatchObject({ rows: [{ model: 'spam', version: 2, active: true }] });

    const selected = await cli([dir, '--json', '-e', 'SELECT model, version, metrics, created_at, created_by FROM ML_MODEL_VERSIONS ORDER BY version']);
    expect(selected.code).toBe(0);
    const [result] = jsonLines(selected.stdout);
    expect(result!.columns).toEqual(['model', 'version', 'metrics', 'created_at', 'created_by']);
    expect(result!.rows.map((row) => row.version)).toEqual([1, 2]);
    expect(result!.rows[0]!.metrics).toEqual({ f1: 0.9 });
    expect(new Date(result!.rows[0]!.created_at as string).toISOString()).toBe(result!.rows[0]!.created_at);
    expect(typeof result!.rows[0]!.created_by).toBe('string');
  });

  it('runs piped stdin as a script and prints tables', async () => {
    const run = await cli(['--memory'], { input: "CREATE MODEL a WITH (weights = X'01');\nSELECT model, version FROM ML_MODEL_VERSIONS;\n" });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(' model | version');
    expect(run.stdout).toContain(' a     |       1');
    expect(run.stdout).toContain('(1 row)');
  });

  it('runs -f and prints CSV', async () => {
    const file = join(tmp, 'script.sql');
    await writeFile(file, "-- a comment\nCREATE MODEL \"a,b\" WITH (weights = X'01', metrics = '{\"x\":1,\"y\":2}');\nSELECT model, version, metrics, description FROM ML_MODEL_VERSIONS;\n");
    const run = await cli(['--memory', '--csv', '-f', file]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const select = run.stdout.trim().split('\n\n')[1]!;
    expect(select).toBe('model,version,metrics,description\n"a,b",1,"{""x"":1,""y"":2}",');
  });

  it('stops at the first failing statement with exit code 1', async () => {
    const dir = registry();
    const run = await cli([dir, '--json'], {
      input: "CREATE MODEL a WITH (weights = X'01');\nALTER MODEL nope USE VERSION 1;\nCREATE MODEL b WITH (weights = X'02');\n",
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: unknown model 'nope'/);
    expect(jsonLines(run.stdout)).toHaveLength(1);
    const after = await cli([dir, '--json', '-e', 'SELECT model FROM ML_MODEL_VERSIONS']);
    expect(jsonLines(after.stdout)[0]!.rows).toEqual([{ model: 'a' }]);
  });

  it('a script\'s transaction is all or nothing: a failure inside rolls it back, and so does a missing COMMIT', async () => {
    const dir = registry();
    const failing = await cli([dir, '--json'], {
      input: "CREATE MODEL a WITH (weights = X'01');\nBEGIN;\nCREATE MODEL b WITH (weights = X'02');\nALTER MODEL nope USE VERSION 1;\nCOMMIT;\n",
    });
    expect(failing.code).toBe(1);
    expect(failing.stderr).toContain("error: unknown model 'nope'");
    expect(failing.stderr).toContain('the transaction the script began was rolled back');
    const unfinished = await cli([dir, '--json'], { input: "BEGIN;\nCREATE MODEL c WITH (weights = X'03');\n" });
    expect(unfinished.code).toBe(1);
    expect(unfinished.stderr).toContain('warning: the script ended inside a transaction (no COMMIT); it was rolled back');
    const committed = await cli([dir, '--json'], { input: "BEGIN;\nCREATE MODEL d WITH (weights = X'04');\nALTER MODEL d SET ALIAS champion TO VERSION 1;\nCOMMIT;\n" });
    expect(committed.code).toBe(0);
    expect(jsonLines(committed.stdout).map((r) => r.command)).toEqual(['BEGIN', 'CREATE MODEL', 'ALTER MODEL', 'COMMIT']);
    expect(jsonLines(committed.stdout)[3]!.rows).toEqual([{ events: 3, first_seq: 3, last_seq: 5 }]);
    const after = await cli([dir, '--json', '-e', 'SELECT model, aliases FROM ML_MODEL_VERSIONS ORDER BY model']);
    expect(jsonLines(after.stdout)[0]!.rows).toEqual([{ model: 'a', aliases: [] }, { model: 'd', aliases: ['champion'] }]);
  });

  it('reports a syntax error at its line and column in the whole script, after running earlier statements', async () => {
    const dir = registry();
    const script = "CREATE MODEL a WITH (weights = X'01');\nSELECT model FROM ML_MODEL_VERSIONS;\n  ALTER MODEL a USE VERISON 1;\nCREATE MODEL b WITH (weights = X'02');\n";
    const run = await cli([dir, '--json'], { input: script });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('error: line 3 column 21: expected VERSION, PREVIOUS or BEST after USE');
    expect(run.stderr).toContain('3 |   ALTER MODEL a USE VERISON 1;');
    const caretLine = run.stderr.split('\n').find((line) => line.trim() === '^')!;
    expect(caretLine.indexOf('^')).toBe('3 | '.length + 20);
    expect(jsonLines(run.stdout)).toHaveLength(2);
    const after = await cli([dir, '--json', '-e', 'SELECT model FROM ML_MODEL_VERSIONS']);
    expect(jsonLines(after.stdout)[0]!.rows).toEqual([{ model: 'a' }]);
  });

  it('reports a lexer error at its position and runs the statements before it', async () => {
    const run = await cli(['--memory', '--json'], { input: "CREATE MODEL a WITH (weights = X'01');\nSELECT @ FROM ML_JOBS;\n" });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/error: line 2 column 8/);
    expect(jsonLines(run.stdout)).toHaveLength(1);
  });

  it('refuses a folder another process holds, naming it, without a stack trace', async () => {
    const dir = registry();
    const db = await open({ path: dir });
    try {
      const run = await cli([dir, '-e', 'SELECT * FROM ML_JOBS']);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(dir);
      expect(run.stderr).toContain('in use');
      expect(run.stderr).toMatch(/^error: /);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(run.stdout).toBe('');
    } finally {
      await db.close();
    }
  });

  it('loads trainers from --trainers (named and default exports) and trains inline', async () => {
    const module = join(tmp, 'trainers.mjs');
    await writeFile(
      module,
      [
        'export async function echo({ hyperparams, reportProgress }) {',
        '  reportProgress(50);',
        '  return { weights: new Uint8Array([7, 8]), metrics: { seen: hyperparams } };',
        '}',
        'export default { other: () => ({ weights: new Uint8Array([9]) }) };',
      ].join('\n'),
    );
    const run = await cli(['--memory', '--json', '--trainers', './trainers.mjs', '-e',
      "CREATE MODEL t WITH (trainer = 'echo', hyperparams = '{\"a\":1}'); CREATE MODEL u WITH (trainer = 'other'); SELECT model, version, metrics, size_bytes FROM ML_MODEL_VERSIONS ORDER BY model"]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const results = jsonLines(run.stdout);
    expect(results[0]!.rows[0]).toMatchObject({ model: 't', version: 1 });
    expect(typeof results[0]!.rows[0]!.job_id).toBe('string');
    expect(results[2]!.rows).toEqual([
      { model: 't', version: 1, metrics: { seen: { a: 1 } }, size_bytes: 2 },
      { model: 'u', version: 1, metrics: null, size_bytes: 1 },
    ]);

    const missing = await cli(['--memory', '--trainers', './nope.mjs', '-e', 'SELECT * FROM ML_JOBS']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: cannot load trainers/);
  });

  it("reads FILE 'path' weights relative to the working directory", async () => {
    await writeFile(join(tmp, 'w.bin'), 'abc');
    const run = await cli(['--memory', '--json', '-e', "CREATE MODEL f WITH (weights = FILE './w.bin'); SELECT size_bytes FROM ML_MODEL_VERSIONS"]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const [created, selected] = jsonLines(run.stdout);
    expect(created!.rows[0]!.sha256).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(selected!.rows).toEqual([{ size_bytes: 3 }]);
  });

  it('imports a multi-megabyte FILE into an on-disk registry with its SHA-256, and the bytes read back', async () => {
    const content = randomBytes(8 * 1024 * 1024 + 5);
    const file = join(tmp, 'big.onnx');
    await writeFile(file, content);
    const folder = registry();
    const run = await cli([folder, '--json', '-e', `CREATE MODEL big WITH (weights = FILE '${file}')`]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const expected = createHash('sha256').update(content).digest('hex');
    expect(jsonLines(run.stdout)[0]!.rows[0]).toMatchObject({ model: 'big', version: 1, sha256: expected });
    const db = await open({ path: folder });
    try {
      expect(Buffer.from(await db.registry.readWeights('big', 1)).equals(content)).toBe(true);
    } finally {
      await db.close();
    }
  });

  it('exits 1 when -f names a missing file', async () => {
    const run = await cli(['--memory', '-f', join(tmp, 'missing.sql')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: cannot read/);
  });

  it('--tenant acts as that tenant: its models stay out of the global view, and SQL cannot switch it', async () => {
    const folder = registry();
    const asAcme = await cli([folder, '--tenant', 'acme', '--json', '-e', "CREATE MODEL spam WITH (weights = x'01'); SELECT name, tenant FROM ML_MODELS_DASHBOARD"]);
    expect(asAcme.stderr).toBe('');
    expect(asAcme.code).toBe(0);
    expect(jsonLines(asAcme.stdout)[1]!.rows).toEqual([{ name: 'spam', tenant: 'acme' }]);

    const global = await cli([folder, '--json', '-e', "SELECT name FROM ML_MODELS_DASHBOARD; SET TENANT 'acme'; SELECT name, tenant FROM ML_MODELS_DASHBOARD"]);
    expect(global.code).toBe(0);
    const [before, , after] = jsonLines(global.stdout);
    expect(before!.rows).toEqual([]);
    expect(after!.rows).toEqual([{ name: 'spam', tenant: 'acme' }]);

    const pinned = await cli([folder, '--tenant', 'acme', '-e', 'RESET TENANT']);
    expect(pinned.code).toBe(1);
    expect(pinned.stderr).toMatch(/PERMISSION_DENIED|bound to a tenant/);
  });

  it('drives stages, retire and schema lookup through a script, and the answers persist', async () => {
    const folder = registry();
    const script = [
      "CREATE MODEL churn WITH (weights = x'01', task = 'classification', backend = 'onnx') SCHEMA (email email, age number NULL_RATE 0.1 CARDINALITY 90) RECORD_COUNT 5000",
      "CREATE MODEL churn WITH (weights = x'02', base_model = 'churn', base_version = 1) SCHEMA (email email, age number, plan categorical)",
      'ALTER MODEL churn VERSION 1 PROMOTE TO STAGING',
      'ALTER MODEL churn VERSION 1 PROMOTE TO PRODUCTION',
      'RETIRE MODEL churn VERSION 2',
      'LOOKUP MODEL FOR SCHEMA (age NUMBER, email EMAIL)',
      'LOOKUP MODEL FOR SCHEMA (email email, age number, plan categorical)',
    ].join(';\n');
    const run = await cli([folder, '--json'], { input: script });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const results = jsonLines(run.stdout);
    expect(results.map((r) => r.command)).toEqual(['CREATE MODEL', 'CREATE MODEL', 'ALTER MODEL', 'ALTER MODEL', 'RETIRE MODEL', 'LOOKUP MODEL', 'LOOKUP MODEL']);
    expect(results[3]!.rows[0]).toMatchObject({ model: 'churn', version: 1, from_stage: 'staging', stage: 'production' });
    expect(results[5]!.rows).toEqual([{ mode: 'warm_load', model: 'churn', version: 1, distance: 0 }]);
    // version 2 (the exact match) is retired, so the nearest live one answers
    expect(results[6]!.rows[0]).toMatchObject({ mode: 'warm_start', model: 'churn', version: 1 });

    const again = await cli([folder, '--json', '-e', 'SELECT name, production_version FROM ML_MODELS_DASHBOARD; ALTER MODEL churn VERSION 1 PROMOTE TO DEV']);
    expect(again.code).toBe(1);
    expect(jsonLines(again.stdout)[0]!.rows).toEqual([{ name: 'churn', production_version: 1 }]);
    expect(again.stderr).toMatch(/INVALID_TRANSITION|invalid transition for model 'churn' version 1 from production to dev/);
  });
});


describe('modelsql check and modelsql backup', () => {
  it('check says ok for a clean folder, backup copies it, and check lists damage with exit code 1', async () => {
    const folder = registry();
    const made = await cli([folder, '-e', "CREATE MODEL m WITH (weights = x'0102'); ALTER MODEL m VERSION 1 PROMOTE TO STAGING"]);
    expect(made.code).toBe(0);
    const clean = await cli(['check', folder]);
    expect({ code: clean.code, stdout: clean.stdout }).toEqual({ code: 0, stdout: 'ok\n' });

    const copy = join(tmp, `copy${++n}`);
    const backup = await cli(['backup', folder, copy]);
    expect(backup.stderr).toBe('');
    expect(backup.code).toBe(0);
    expect(backup.stdout).toMatch(/backed up 1 models, 1 versions, 0 jobs and 2 bytes of weights/);
    expect((await cli(['check', copy])).code).toBe(0);
    expect((await cli(['backup', folder, copy])).stderr).toMatch(/not empty/);

    const level = await openLevel({ path: copy });
    await level.stages.del(stageKey(modelKey('m'), 'staging', 1));
    await level.root.close();
    const damaged = await cli(['check', copy]);
    expect(damaged.code).toBe(1);
    expect(damaged.stdout).toBe(`version_stages\t${stageKey(modelKey('m'), 'staging', 1)}\tversion 1 is at staging but the stage index has no entry for it\n`);
    expect(damaged.stderr).toMatch(/1 problem found/);
  });

  it('refuses a folder that does not exist, and bad usage', async () => {
    const missing = await cli(['check', join(tmp, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not a registry folder/);
    expect(existsSync(join(tmp, 'nope'))).toBe(false);
    expect((await cli(['check'])).code).toBe(2);
    expect((await cli(['backup', 'a'])).code).toBe(2);
    expect((await cli(['check', 'a', '--json'])).code).toBe(2);
  });
});
