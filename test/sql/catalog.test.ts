/**
 * Catalog metadata and soft retire (jammi catalog seed 004) through SQL and the typed
 * API: model_type / task / backend / base_model / base_version / config on CREATE MODEL,
 * the closed task list, lineage to a base model (retired ones included), and RETIRE
 * MODEL hiding models and versions from listings while point lookups and lineage keep
 * resolving them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { open, type Database, type Row } from '../../src/index.js';
import {
  Resources, dashboardRow, deferred, expectError, expectFailsUnchanged, ident, memoryDb, one, snapshot, versionNumbers, waitForJob, weights,
} from '../helpers/sql.js';

const resources = new Resources();
afterEach(() => resources.cleanup());

const TASKS = ['text_embedding', 'image_embedding', 'audio_embedding', 'classification', 'ner', 'regression'];

async function db(): Promise<Database> {
  return resources.track(await memoryDb({ onError: () => undefined }));
}

/** Registers the next version of `model`; returns its number. */
async function create(d: Database, model = 'm', extra = ''): Promise<number> {
  const row = one(await d.query(`CREATE MODEL ${ident(model)} WITH (weights = $1${extra ? `, ${extra}` : ''})`, [weights(3)]));
  return row.version as number;
}

/** Everything, retired rows included (the helpers' snapshot() sees only what listings show). */
async function everything(d: Database): Promise<{ dashboard: readonly Row[]; versions: readonly Row[]; jobs: readonly Row[] }> {
  const dashboard = (await d.query('SELECT * FROM ML_MODELS_DASHBOARD WHERE retired = TRUE OR retired = FALSE ORDER BY name')).rows;
  const versions = (await d.query('SELECT * FROM ML_MODEL_VERSIONS WHERE retired = TRUE OR retired = FALSE')).rows;
  const jobs = (await d.query('SELECT * FROM ML_JOBS')).rows;
  return { dashboard, versions, jobs };
}

/** Expects `run()` to fail with `code` and to change nothing at all, retired rows included. */
async function expectNothingChanges(d: Database, run: () => Promise<unknown>, code: Parameters<typeof expectError>[1], message?: string | RegExp) {
  const before = await everything(d);
  const error = await expectError(run(), code, message);
  expect(await everything(d), `state after ${code}`).toEqual(before);
  return error;
}

async function catalogOf(d: Database, model: string, version: number): Promise<Row> {
  return one(await d.query(
    'SELECT model_type, task, backend, base_model, base_version, config FROM ML_MODEL_VERSIONS WHERE model = $1 AND version = $2', [model, version],
  ));
}

describe('catalog options on CREATE MODEL', () => {
  it('stores model_type, task, backend, base_model, base_version and config as ML_MODEL_VERSIONS columns', async () => {
    const d = await db();
    await create(d, 'minilm');
    await create(d, 'minilm');
    const v = await create(d, 'spam-embed', `model_type = 'lora', task = 'text_embedding', backend = 'candle', base_model = 'minilm', base_version = 1, config = '{"dim":384,"pooling":"mean","normalize":true}'`);
    expect(v).toBe(1);
    expect(await catalogOf(d, 'spam-embed', 1)).toEqual({
      model_type: 'lora', task: 'text_embedding', backend: 'candle', base_model: 'minilm', base_version: 1,
      config: { dim: 384, pooling: 'mean', normalize: true },
    });
    // Also in a plain listing and under SELECT *.
    const row = one(await d.query("SELECT * FROM ML_MODEL_VERSIONS WHERE model = 'spam-embed'"));
    expect(row).toMatchObject({ model_type: 'lora', task: 'text_embedding', backend: 'candle', base_model: 'minilm', base_version: 1 });
  });

  it('shows the same metadata on the typed API', async () => {
    const d = await db();
    await create(d, 'minilm');
    await create(d, 'x', `model_type = 'classifier', task = 'Classification', backend = 'onnx', base_model = 'minilm', config = '[1,2,3]'`);
    expect(await d.registry.getVersion('x', 1)).toMatchObject({
      modelType: 'classifier', task: 'classification', backend: 'onnx', baseModel: 'minilm', baseVersion: 1, config: [1, 2, 3],
    });
    expect((await d.registry.getActive('x'))?.task).toBe('classification');
    expect((await d.registry.listVersions('x'))[0]).toMatchObject({ modelType: 'classifier', backend: 'onnx' });
  });

  it('leaves every catalog field NULL when not given (and when given as NULL)', async () => {
    const d = await db();
    await create(d);
    await create(d, 'm', 'model_type = NULL, task = NULL, backend = NULL, base_model = NULL, base_version = NULL, config = NULL');
    const nulls = { model_type: null, task: null, backend: null, base_model: null, base_version: null, config: null };
    expect(await catalogOf(d, 'm', 1)).toEqual(nulls);
    expect(await catalogOf(d, 'm', 2)).toEqual(nulls);
    expect(await d.registry.getVersion('m', 1)).toMatchObject({ modelType: null, task: null, backend: null, baseModel: null, baseVersion: null, config: null });
  });

  it('takes values from parameters: text, and config as an object', async () => {
    const d = await db();
    await d.query('CREATE MODEL m WITH (weights = $1, model_type = $2, task = $3, backend = $4, config = $5)', [weights(1), 'embedding', 'AUDIO_EMBEDDING', 'http', { url: 'http://x', retries: [1, 2] }]);
    expect(await catalogOf(d, 'm', 1)).toEqual({ model_type: 'embedding', task: 'audio_embedding', backend: 'http', base_model: null, base_version: null, config: { url: 'http://x', retries: [1, 2] } });
  });

  it('model_type and backend are free text, kept exactly as written', async () => {
    const d = await db();
    await create(d, 'm', "model_type = 'LLM (Q4_K_M)', backend = 'vLLM'");
    expect(await catalogOf(d, 'm', 1)).toMatchObject({ model_type: 'LLM (Q4_K_M)', backend: 'vLLM' });
  });

  it('each version carries its own metadata (it is not a per-model setting)', async () => {
    const d = await db();
    await create(d, 'm', "task = 'ner', backend = 'onnx'");
    await create(d, 'm', "task = 'classification'");
    await create(d, 'm');
    const { rows } = await d.query("SELECT version, task, backend FROM ML_MODEL_VERSIONS WHERE model = 'm'");
    expect(rows).toEqual([
      { version: 1, task: 'ner', backend: 'onnx' },
      { version: 2, task: 'classification', backend: null },
      { version: 3, task: null, backend: null },
    ]);
  });

  it('metadata can be filtered on', async () => {
    const d = await db();
    await create(d, 'a', "task = 'ner'");
    await create(d, 'b', "task = 'NER'");
    await create(d, 'c', "task = 'regression'");
    await create(d, 'd');
    expect((await d.query("SELECT model FROM ML_MODEL_VERSIONS WHERE task = 'ner' ORDER BY model")).rows).toEqual([{ model: 'a' }, { model: 'b' }]);
    expect((await d.query('SELECT model FROM ML_MODEL_VERSIONS WHERE task IS NULL')).rows).toEqual([{ model: 'd' }]);
  });

  it('wrong types are INVALID_ARGUMENT and nothing is written', async () => {
    const d = await db();
    await create(d);
    for (const options of ['model_type = 5', 'backend = TRUE', 'task = 3', "base_model = x'00'", "base_model = 'm', base_version = '1'", "base_model = 'm', base_version = 1.5", "base_model = 'm', base_version = 0", "config = 'not json'", "config = '{\"a\":'"]) {
      await expectFailsUnchanged(d, () => d.query(`CREATE MODEL m WITH (weights = $1, ${options})`, [weights(2)]), 'INVALID_ARGUMENT');
    }
    expect(await create(d)).toBe(2); // no version number was used up
  });
});

describe('task', () => {
  it('accepts each of the six tasks in any letter case and stores it lower case', async () => {
    const d = await db();
    const spellings = ['Text_Embedding', 'IMAGE_EMBEDDING', 'audio_Embedding', 'classification', 'NER', 'rEgReSsIoN'];
    for (const [i, spelling] of spellings.entries()) await create(d, `m${i}`, `task = '${spelling}'`);
    const { rows } = await d.query('SELECT model, task FROM ML_MODEL_VERSIONS ORDER BY model');
    expect(rows.map((r) => r.task)).toEqual(TASKS);
    for (const [i, task] of TASKS.entries()) expect((await d.registry.getVersion(`m${i}`, 1)).task).toBe(task);
  });

  it('a task outside the list is INVALID_ARGUMENT naming all six allowed values, and nothing is written', async () => {
    const d = await db();
    await create(d);
    for (const bad of ['sentiment', 'embedding', 'text-embedding', 'text embedding', ' ner', 'ner ', '', 'classifications', 'NER\n']) {
      const error = await expectFailsUnchanged(d, () => d.query('CREATE MODEL m WITH (weights = $1, task = $2)', [weights(2), bad]), 'INVALID_ARGUMENT');
      for (const task of TASKS) expect(error.message, `message for '${bad}'`).toContain(task);
      // Nor is a model created by a refused first version.
      await expectFailsUnchanged(d, () => d.query('CREATE MODEL fresh WITH (weights = $1, task = $2)', [weights(2), bad]), 'INVALID_ARGUMENT');
    }
    expect(await dashboardRow(d, 'fresh')).toBeUndefined();
    await expectError(d.registry.getVersion('fresh', 1), 'UNKNOWN_MODEL');
    expect(await create(d)).toBe(2);
  });

  it('the typed API applies the same rule', async () => {
    const d = await db();
    await d.registry.registerVersion('m', { artifact: 's3://m/1', task: 'Image_Embedding' });
    expect((await d.registry.getVersion('m', 1)).task).toBe('image_embedding');
    const error = await expectFailsUnchanged(d, () => d.registry.registerVersion('m', { artifact: 's3://m/2', task: 'vision' }), 'INVALID_ARGUMENT');
    for (const task of TASKS) expect(error.message).toContain(task);
    await expectFailsUnchanged(d, () => d.registry.registerVersion('m', { artifact: 's3://m/2', task: 7 as never }), 'INVALID_ARGUMENT');
    expect((await d.registry.listVersions('m')).map((v) => v.version)).toEqual([1]);
  });
});

describe('base_model and base_version (lineage)', () => {
  it('base_version defaults to the base model\'s active version', async () => {
    const d = await db();
    await create(d, 'base');
    await create(d, 'base');
    await create(d, 'base', 'active = FALSE'); // active stays 2
    await create(d, 'child', "base_model = 'base'");
    expect(await catalogOf(d, 'child', 1)).toMatchObject({ base_model: 'base', base_version: 2 });
    await d.query('ALTER MODEL base USE VERSION 1');
    await create(d, 'child', "base_model = 'base'");
    expect(await catalogOf(d, 'child', 2)).toMatchObject({ base_model: 'base', base_version: 1 });
    // The default is fixed when the version is registered: later moves of the pointer do not change it.
    await d.query('ALTER MODEL base USE VERSION 3');
    expect(await catalogOf(d, 'child', 1)).toMatchObject({ base_version: 2 });
  });

  it('base_version defaults to the base model\'s latest version when none is active', async () => {
    const d = await db();
    await create(d, 'base', 'active = FALSE');
    await create(d, 'base', 'active = FALSE');
    expect((await dashboardRow(d, 'base'))?.active_version).toBeNull();
    await create(d, 'child', "base_model = 'base'");
    expect(await catalogOf(d, 'child', 1)).toMatchObject({ base_model: 'base', base_version: 2 });
  });

  it('an explicit base_version is kept, archived ones included', async () => {
    const d = await db();
    await create(d, 'base');
    await create(d, 'base');
    await d.query('ARCHIVE MODEL base VERSION 1');
    await create(d, 'child', "base_model = 'base', base_version = 1");
    expect(await catalogOf(d, 'child', 1)).toMatchObject({ base_model: 'base', base_version: 1 });
    await d.query('CREATE MODEL child WITH (weights = $1, base_model = $2, base_version = $3)', [weights(1), 'base', 2]);
    expect(await catalogOf(d, 'child', 2)).toMatchObject({ base_model: 'base', base_version: 2 });
  });

  it('a model may name one of its own earlier versions as base', async () => {
    const d = await db();
    await create(d);
    await create(d, 'm', "base_model = 'm'");
    expect(await catalogOf(d, 'm', 2)).toMatchObject({ base_model: 'm', base_version: 1 });
  });

  it('an unknown base_model is UNKNOWN_MODEL naming it, and nothing is written', async () => {
    const d = await db();
    await create(d);
    const error = await expectFailsUnchanged(d, () => d.query("CREATE MODEL m WITH (weights = $1, base_model = 'ghost')", [weights(1)]), 'UNKNOWN_MODEL', "unknown model 'ghost'");
    expect(error.model).toBe('ghost');
    await expectFailsUnchanged(d, () => d.query("CREATE MODEL fresh WITH (weights = $1, base_model = 'ghost', base_version = 1)", [weights(1)]), 'UNKNOWN_MODEL');
    await expectFailsUnchanged(d, () => d.registry.registerVersion('m', { artifact: 'a', baseModel: 'ghost' }), 'UNKNOWN_MODEL');
    // Creating the model itself in the same statement is not a base: the first version of 'self' cannot name 'self'.
    await expectFailsUnchanged(d, () => d.query("CREATE MODEL self WITH (weights = $1, base_model = 'self')", [weights(1)]), 'UNKNOWN_MODEL');
    expect(await versionNumbers(d, 'm')).toEqual([1]);
  });

  it('an unknown base_version is UNKNOWN_VERSION, and nothing is written', async () => {
    const d = await db();
    await create(d, 'base');
    await create(d, 'base');
    const error = await expectFailsUnchanged(
      d, () => d.query("CREATE MODEL child WITH (weights = $1, base_model = 'base', base_version = 3)", [weights(1)]), 'UNKNOWN_VERSION', "unknown version 3 for model 'base'",
    );
    expect(error).toMatchObject({ model: 'base', version: 3 });
    await expectFailsUnchanged(d, () => d.registry.registerVersion('child', { artifact: 'a', baseModel: 'base', baseVersion: 99 }), 'UNKNOWN_VERSION');
    expect(await dashboardRow(d, 'child')).toBeUndefined();
  });

  it('base_version without base_model is INVALID_ARGUMENT, and nothing is written', async () => {
    const d = await db();
    await create(d);
    await expectFailsUnchanged(d, () => d.query('CREATE MODEL m WITH (weights = $1, base_version = 1)', [weights(1)]), 'INVALID_ARGUMENT');
    await expectFailsUnchanged(d, () => d.query('CREATE MODEL m WITH (weights = $1, base_model = NULL, base_version = 1)', [weights(1)]), 'INVALID_ARGUMENT');
    await expectFailsUnchanged(d, () => d.registry.registerVersion('m', { artifact: 'a', baseVersion: 1 }), 'INVALID_ARGUMENT');
    expect(await create(d)).toBe(2);
  });

  it('base_model may name a retired model (lineage keeps working), defaulting to the version that was active', async () => {
    const d = await db();
    await create(d, 'base');
    await create(d, 'base');
    await d.query('ALTER MODEL base USE VERSION 1');
    await d.query('RETIRE MODEL base');
    await create(d, 'child', "base_model = 'base'");
    expect(await catalogOf(d, 'child', 1)).toMatchObject({ base_model: 'base', base_version: 1 });
    await create(d, 'child', "base_model = 'base', base_version = 2");
    expect(await catalogOf(d, 'child', 2)).toMatchObject({ base_model: 'base', base_version: 2 });
    // The base still resolves by name and version.
    expect(await d.registry.getVersion('base', 1)).toMatchObject({ model: 'base', version: 1, retired: true });
    expect(one(await d.query("SELECT version, retired FROM ML_MODEL_VERSIONS WHERE model = 'base' AND version = 1"))).toEqual({ version: 1, retired: true });
  });

  it('a base retired after the child was registered still shows in the child\'s lineage', async () => {
    const d = await db();
    await create(d, 'base');
    await create(d, 'child', "base_model = 'base'");
    await d.query('RETIRE MODEL base');
    expect(await catalogOf(d, 'child', 1)).toMatchObject({ base_model: 'base', base_version: 1 });
  });
});

describe('catalog options with a trainer', () => {
  it('a bad task is refused when the statement runs: no job is created and the trainer never runs (inline and async)', async () => {
    const d = await db();
    let calls = 0;
    d.registerTrainer('t', () => {
      calls++;
      return { weights: weights(9) };
    });
    await create(d);
    for (const options of ["trainer = 't'", "trainer = 't', async = TRUE"]) {
      const error = await expectFailsUnchanged(d, () => d.query(`CREATE MODEL m WITH (${options}, task = 'sentiment')`), 'INVALID_ARGUMENT');
      for (const task of TASKS) expect(error.message).toContain(task);
    }
    expect((await d.query('SELECT * FROM ML_JOBS')).rows).toEqual([]);
    expect(await d.jobs.list()).toEqual([]);
    expect(calls).toBe(0);
  });

  it('lineage errors are refused when the statement runs too: unknown base, unknown base version, base_version alone, retired target', async () => {
    const d = await db();
    let calls = 0;
    d.registerTrainer('t', () => {
      calls++;
      return { weights: weights(9) };
    });
    await create(d, 'base');
    await create(d, 'gone');
    await d.query('RETIRE MODEL gone');
    const cases: [string, string, Parameters<typeof expectError>[1]][] = [
      ['m', "trainer = 't', async = TRUE, base_model = 'ghost'", 'UNKNOWN_MODEL'],
      ['m', "trainer = 't', base_model = 'base', base_version = 5", 'UNKNOWN_VERSION'],
      ['m', "trainer = 't', async = TRUE, base_version = 1", 'INVALID_ARGUMENT'],
      ['gone', "trainer = 't', async = TRUE", 'MODEL_RETIRED'],
      ['gone', "trainer = 't'", 'MODEL_RETIRED'],
    ];
    for (const [model, options, code] of cases) {
      await expectNothingChanges(d, () => d.query(`CREATE MODEL ${model} WITH (${options})`), code);
    }
    expect((await d.query('SELECT * FROM ML_JOBS')).rows).toEqual([]);
    expect(calls).toBe(0);
  });

  it('valid catalog options reach the trained version (task lower-cased, base resolved)', async () => {
    const d = await db();
    d.registerTrainer('t', () => ({ weights: weights(9) }));
    await create(d, 'base');
    await create(d, 'base');
    const row = one(await d.query("CREATE MODEL m WITH (trainer = 't', task = 'Regression', model_type = 'gbm', backend = 'onnx', base_model = 'base', config = '{\"depth\":6}')"));
    expect(row.version).toBe(1);
    expect(await catalogOf(d, 'm', 1)).toEqual({ model_type: 'gbm', task: 'regression', backend: 'onnx', base_model: 'base', base_version: 2, config: { depth: 6 } });
  });

  it('an async job registers its version with the statement\'s catalog options', async () => {
    const d = await db();
    const gate = deferred();
    d.registerTrainer('slow', async () => {
      await gate.promise;
      return { weights: weights(4) };
    });
    const row = one(await d.query("CREATE MODEL m WITH (trainer = 'slow', async = TRUE, task = 'NER', backend = 'candle')"));
    gate.resolve();
    expect((await waitForJob(d, row.job_id as string)).status).toBe('completed');
    expect(await catalogOf(d, 'm', 1)).toMatchObject({ task: 'ner', backend: 'candle' });
  });
});

describe('RETIRE MODEL m (whole model)', () => {
  it('returns model, version NULL, retired 1 and the active version', async () => {
    const d = await db();
    await create(d);
    await create(d);
    const result = await d.query('RETIRE MODEL m');
    expect(result.command).toBe('RETIRE MODEL');
    expect(result.columns).toEqual(['model', 'version', 'retired', 'active_version']);
    expect(one(result)).toEqual({ model: 'm', version: null, retired: 1, active_version: 2 });
  });

  it('hides the model from the dashboard and from ML_MODEL_VERSIONS listings; other models stay', async () => {
    const d = await db();
    await create(d);
    await create(d);
    await create(d, 'other');
    await d.query('RETIRE MODEL m');
    expect((await d.query('SELECT name FROM ML_MODELS_DASHBOARD')).rows).toEqual([{ name: 'other' }]);
    expect(await dashboardRow(d, 'm')).toBeUndefined();
    expect((await d.query('SELECT model, version FROM ML_MODEL_VERSIONS')).rows).toEqual([{ model: 'other', version: 1 }]);
    expect((await d.query("SELECT * FROM ML_MODEL_VERSIONS WHERE model = 'm'")).rows).toEqual([]);
    expect((await d.query("SELECT * FROM ML_MODEL_VERSIONS WHERE model = 'm' AND stage = 'dev'")).rows).toEqual([]);
    expect((await d.registry.summaries()).map((s) => s.name)).toEqual(['other']);
    expect((await d.registry.summaries({ includeRetired: true })).map((s) => [s.name, s.retired])).toEqual([['m', true], ['other', false]]);
  });

  it('WHERE retired (or any condition naming retired) and point lookups still show it', async () => {
    const d = await db();
    await create(d);
    await create(d);
    await create(d, 'other');
    await d.query('RETIRE MODEL m');
    expect((await d.query('SELECT name, retired FROM ML_MODELS_DASHBOARD WHERE retired')).rows).toEqual([{ name: 'm', retired: true }]);
    expect((await d.query("SELECT name, retired FROM ML_MODELS_DASHBOARD WHERE name = 'm' AND retired")).rows).toEqual([{ name: 'm', retired: true }]);
    expect((await d.query('SELECT name FROM ML_MODELS_DASHBOARD WHERE retired = TRUE OR retired = FALSE ORDER BY name')).rows).toEqual([{ name: 'm' }, { name: 'other' }]);
    expect((await d.query('SELECT name FROM ML_MODELS_DASHBOARD WHERE NOT retired')).rows).toEqual([{ name: 'other' }]);
    expect((await d.query('SELECT model, version, retired FROM ML_MODEL_VERSIONS WHERE retired')).rows).toEqual([
      { model: 'm', version: 1, retired: true }, { model: 'm', version: 2, retired: true },
    ]);
    expect((await d.query('SELECT model, version FROM ML_MODEL_VERSIONS WHERE retired = TRUE OR retired = FALSE')).rows).toHaveLength(3);
    // Point lookup: one model's one version always resolves.
    expect(one(await d.query("SELECT model, version, retired FROM ML_MODEL_VERSIONS WHERE model = 'm' AND version = 2"))).toEqual({ model: 'm', version: 2, retired: true });
    // Typed API: named reads resolve, flagged retired.
    expect((await d.registry.listVersions('m')).map((v) => [v.version, v.retired])).toEqual([[1, true], [2, true]]);
    expect(await d.registry.getVersion('m', 1)).toMatchObject({ retired: true });
  });

  it('getActive is MODEL_RETIRED; USE VERSION is MODEL_RETIRED; a new CREATE is MODEL_RETIRED; nothing changes', async () => {
    const d = await db();
    await create(d);
    await create(d);
    await d.query('RETIRE MODEL m');
    const active = await expectError(d.registry.getActive('m'), 'MODEL_RETIRED', "model 'm' is retired");
    expect(active.model).toBe('m');
    await expectNothingChanges(d, () => d.query('ALTER MODEL m USE VERSION 1'), 'MODEL_RETIRED');
    await expectNothingChanges(d, () => d.registry.setActiveVersion('m', 1), 'MODEL_RETIRED');
    await expectNothingChanges(d, () => d.query('CREATE MODEL m WITH (weights = $1)', [weights(5)]), 'MODEL_RETIRED', "model 'm' is retired");
    await expectNothingChanges(d, () => d.registry.registerVersion('m', { artifact: 'a' }), 'MODEL_RETIRED');
    await expectNothingChanges(d, () => d.query('ALTER MODEL m VERSION 1 PROMOTE TO STAGING'), 'MODEL_RETIRED');
    expect((await d.registry.listVersions('m')).map((v) => v.version)).toEqual([1, 2]);
  });

  it('retiring twice is a no-op (retired: 0) that changes nothing', async () => {
    const d = await db();
    await create(d);
    expect(one(await d.query('RETIRE MODEL m')).retired).toBe(1);
    const before = await everything(d);
    expect(one(await d.query('RETIRE MODEL m'))).toEqual({ model: 'm', version: null, retired: 0, active_version: 1 });
    expect(await everything(d)).toEqual(before);
    expect(await d.registry.retireModel('m')).toEqual({ changed: false });
  });

  it('the typed retireModel reports whether it changed anything', async () => {
    const d = await db();
    await create(d);
    expect(await d.registry.retireModel('m')).toEqual({ changed: true });
    expect(await d.registry.retireModel('m')).toEqual({ changed: false });
    expect(await dashboardRow(d, 'm')).toBeUndefined();
  });

  it('an unknown model is UNKNOWN_MODEL and changes nothing', async () => {
    const d = await db();
    await create(d);
    await expectNothingChanges(d, () => d.query('RETIRE MODEL nope'), 'UNKNOWN_MODEL', "unknown model 'nope'");
    await expectNothingChanges(d, () => d.registry.retireModel('nope'), 'UNKNOWN_MODEL');
  });

  it('a retired model can still be archived and its versions demoted', async () => {
    const d = await db();
    await create(d);
    await d.exec('ALTER MODEL m VERSION 1 PROMOTE TO STAGING; RETIRE MODEL m');
    expect(one(await d.query('ALTER MODEL m VERSION 1 DEMOTE TO DEV'))).toMatchObject({ from_stage: 'staging', stage: 'dev' });
    expect(one(await d.query('ARCHIVE MODEL m'))).toMatchObject({ model: 'm', archived: 1 });
    expect(await d.registry.getVersion('m', 1)).toMatchObject({ archived: true, retired: true, stage: 'dev' });
  });

  // Regression: the stage-index path once skipped the model's retired flag, so a retired
  // model's staging/production versions leaked into `WHERE model = 'm' AND stage = ...`
  // listings and latestAtStage(m, 'production') returned a version flagged retired.
  it('a retired model stays hidden from stage-filtered listings and latestAtStage (regression)', async () => {
    const d = await db();
    await create(d);
    await create(d);
    await d.exec(`
      ALTER MODEL m VERSION 1 PROMOTE TO STAGING; ALTER MODEL m VERSION 1 PROMOTE TO PRODUCTION;
      ALTER MODEL m VERSION 2 PROMOTE TO STAGING; RETIRE MODEL m`);
    expect((await d.query("SELECT * FROM ML_MODEL_VERSIONS WHERE model = 'm'")).rows).toEqual([]);
    expect(await d.registry.latestAtStage('m', 'dev')).toBeNull();
    expect((await d.query("SELECT version FROM ML_MODEL_VERSIONS WHERE model = 'm' AND stage = 'production'")).rows).toEqual([]);
    expect((await d.query("SELECT version FROM ML_MODEL_VERSIONS WHERE model = 'm' AND stage = 'staging'")).rows).toEqual([]);
    expect((await d.query("SELECT * FROM ML_MODEL_VERSIONS WHERE model = 'm' AND stage = 'production' ORDER BY created_at DESC LIMIT 1")).rows).toEqual([]);
    expect(await d.registry.latestAtStage('m', 'production')).toBeNull();
    expect(await d.registry.latestAtStage('m', 'staging')).toBeNull();
    // Asking about retired rows explicitly still finds them.
    expect((await d.query("SELECT version FROM ML_MODEL_VERSIONS WHERE model = 'm' AND stage = 'production' AND retired")).rows).toEqual([{ version: 1 }]);
  });
});

describe('RETIRE MODEL m VERSION n', () => {
  it('hides only that version from listings; the model and its other versions stay', async () => {
    const d = await db();
    for (let i = 0; i < 3; i++) await create(d);
    const result = await d.query('RETIRE MODEL m VERSION 2');
    expect(result.command).toBe('RETIRE MODEL');
    expect(one(result)).toEqual({ model: 'm', version: 2, retired: 1, active_version: 3 });
    expect(await versionNumbers(d, 'm')).toEqual([1, 3]);
    expect((await d.query('SELECT version FROM ML_MODEL_VERSIONS')).rows).toEqual([{ version: 1 }, { version: 3 }]);
    expect(await dashboardRow(d, 'm')).toMatchObject({ name: 'm', retired: false, active_version: 3 });
    expect((await d.query("SELECT version, retired FROM ML_MODEL_VERSIONS WHERE model = 'm' AND retired")).rows).toEqual([{ version: 2, retired: true }]);
    expect(one(await d.query("SELECT version, retired FROM ML_MODEL_VERSIONS WHERE model = 'm' AND version = 2"))).toEqual({ version: 2, retired: true });
    expect((await d.registry.listVersions('m')).map((v) => [v.version, v.retired])).toEqual([[1, false], [2, true], [3, false]]);
    expect((await d.registry.getActive('m'))?.version).toBe(3);
  });

  it('clears the active pointer when it retires the active version', async () => {
    const d = await db();
    await create(d);
    await create(d);
    expect(one(await d.query('RETIRE MODEL m VERSION 2'))).toEqual({ model: 'm', version: 2, retired: 1, active_version: null });
    expect((await dashboardRow(d, 'm'))?.active_version).toBeNull();
    expect(await d.registry.getActive('m')).toBeNull();
    // A new version can still be registered and becomes active.
    expect(await create(d)).toBe(3);
    expect((await d.registry.getActive('m'))?.version).toBe(3);
  });

  it('USE VERSION of a retired version is VERSION_RETIRED and changes nothing', async () => {
    const d = await db();
    await create(d);
    await create(d);
    await d.query('RETIRE MODEL m VERSION 1');
    const error = await expectNothingChanges(d, () => d.query('ALTER MODEL m USE VERSION 1'), 'VERSION_RETIRED', "version 1 of model 'm' is retired");
    expect(error).toMatchObject({ model: 'm', version: 1 });
    await expectNothingChanges(d, () => d.registry.setActiveVersion('m', 1), 'VERSION_RETIRED');
    await expectNothingChanges(d, () => d.query('ALTER MODEL m VERSION 1 PROMOTE TO STAGING'), 'VERSION_RETIRED');
    await expectNothingChanges(d, () => d.registry.promote('m', 1, 'staging'), 'VERSION_RETIRED');
  });

  it('retiring a version twice is a no-op (retired: 0) that changes nothing; the typed API agrees', async () => {
    const d = await db();
    await create(d);
    await create(d);
    expect(await d.registry.retireVersion('m', 1)).toEqual({ changed: true, active: 2, version: 1 });
    const before = await everything(d);
    expect(one(await d.query('RETIRE MODEL m VERSION 1'))).toEqual({ model: 'm', version: 1, retired: 0, active_version: 2 });
    expect(await d.registry.retireVersion('m', 1)).toEqual({ changed: false, active: 2, version: 1 });
    expect(await everything(d)).toEqual(before);
  });

  it('unknown versions and models, and bad version numbers, are refused and change nothing', async () => {
    const d = await db();
    await create(d);
    await expectNothingChanges(d, () => d.query('RETIRE MODEL m VERSION 2'), 'UNKNOWN_VERSION', "unknown version 2 for model 'm'");
    await expectNothingChanges(d, () => d.query('RETIRE MODEL nope VERSION 1'), 'UNKNOWN_MODEL');
    await expectNothingChanges(d, () => d.query('RETIRE MODEL m VERSION 0'), 'INVALID_ARGUMENT');
    await expectNothingChanges(d, () => d.registry.retireVersion('m', 1.5), 'INVALID_ARGUMENT');
  });

  it('retiring the production version updates production_version (to the next newest in production, then NULL)', async () => {
    const d = await db();
    for (let i = 0; i < 3; i++) await create(d);
    for (const v of [1, 2]) await d.exec(`ALTER MODEL m VERSION ${v} PROMOTE TO STAGING; ALTER MODEL m VERSION ${v} PROMOTE TO PRODUCTION`);
    expect((await dashboardRow(d, 'm'))?.production_version).toBe(2);
    await d.query('RETIRE MODEL m VERSION 2');
    expect((await dashboardRow(d, 'm'))?.production_version).toBe(1);
    expect((await d.registry.latestAtStage('m', 'production'))?.version).toBe(1);
    expect(one(await d.query("SELECT version FROM ML_MODEL_VERSIONS WHERE model = 'm' AND stage = 'production' ORDER BY created_at DESC LIMIT 1")).version).toBe(1);
    // Retiring a version that is not the production one leaves it alone.
    await d.query('RETIRE MODEL m VERSION 3');
    expect((await dashboardRow(d, 'm'))?.production_version).toBe(1);
    await d.query('RETIRE MODEL m VERSION 1');
    expect((await dashboardRow(d, 'm'))?.production_version).toBeNull();
    expect(await d.registry.latestAtStage('m', 'production')).toBeNull();
    expect((await d.query("SELECT * FROM ML_MODEL_VERSIONS WHERE model = 'm' AND stage = 'production'")).rows).toEqual([]);
  });

  it('a retired version keeps its stage (visible when asked for) but is never "latest at" its stage', async () => {
    const d = await db();
    await create(d);
    await create(d);
    await d.exec('ALTER MODEL m VERSION 1 PROMOTE TO STAGING; ALTER MODEL m VERSION 2 PROMOTE TO STAGING; RETIRE MODEL m VERSION 2');
    expect((await d.registry.getVersion('m', 2)).stage).toBe('staging');
    expect((await d.registry.latestAtStage('m', 'staging'))?.version).toBe(1);
    expect((await d.query("SELECT version FROM ML_MODEL_VERSIONS WHERE model = 'm' AND stage = 'staging'")).rows).toEqual([{ version: 1 }]);
    await d.exec('RETIRE MODEL m VERSION 1');
    expect(await d.registry.latestAtStage('m', 'staging')).toBeNull();
    await create(d);
    await d.query('RETIRE MODEL m VERSION 3');
    expect(await d.registry.latestAtStage('m', 'dev')).toBeNull();
  });

  // Regression: demoting a retired version once put it back into the stage index, so it
  // reappeared in `WHERE model = 'm' AND stage = 'staging'` and in latestAtStage(m, 'staging').
  it('demoting a retired version does not bring it back into stage listings or latestAtStage (regression)', async () => {
    const d = await db();
    await create(d);
    await create(d);
    await d.exec(`
      ALTER MODEL m VERSION 1 PROMOTE TO STAGING; ALTER MODEL m VERSION 1 PROMOTE TO PRODUCTION;
      RETIRE MODEL m VERSION 1`);
    expect((await dashboardRow(d, 'm'))?.production_version).toBeNull();
    // Demote is always allowed (moving away from production is safe).
    expect(one(await d.query('ALTER MODEL m VERSION 1 DEMOTE TO STAGING'))).toMatchObject({ from_stage: 'production', stage: 'staging' });
    expect((await d.query("SELECT version FROM ML_MODEL_VERSIONS WHERE model = 'm'")).rows).toEqual([{ version: 2 }]);
    expect((await d.query("SELECT version FROM ML_MODEL_VERSIONS WHERE model = 'm' AND stage = 'staging'")).rows).toEqual([]);
    expect(await d.registry.latestAtStage('m', 'staging')).toBeNull();
  });
});

describe('persistence', () => {
  it('catalog metadata and retired flags survive reopening an on-disk store', async () => {
    const dir = await resources.dir();
    const first = await open({ path: dir });
    await create(first, 'base');
    await create(first, 'child', `model_type = 'lora', task = 'Text_Embedding', backend = 'candle', base_model = 'base', config = '{"dim":8}'`);
    await create(first, 'child');
    await first.exec('RETIRE MODEL child VERSION 2; RETIRE MODEL base');
    const before = await everything(first);
    await first.close();

    const second = resources.track(await open({ path: dir }));
    expect(await everything(second)).toEqual(before);
    expect(await catalogOf(second, 'child', 1)).toEqual({ model_type: 'lora', task: 'text_embedding', backend: 'candle', base_model: 'base', base_version: 1, config: { dim: 8 } });
    expect(await dashboardRow(second, 'base')).toBeUndefined();
    expect((await second.query('SELECT name FROM ML_MODELS_DASHBOARD')).rows).toEqual([{ name: 'child' }]);
    expect(await versionNumbers(second, 'child')).toEqual([1]);
    expect((await second.registry.getActive('child'))).toBeNull();
    await expectError(second.registry.getActive('base'), 'MODEL_RETIRED');
    await expectError(second.query('CREATE MODEL base WITH (weights = $1)', [weights(1)]), 'MODEL_RETIRED');
    await expectError(second.query('ALTER MODEL child USE VERSION 2'), 'VERSION_RETIRED');
    // Snapshot of listings (retired hidden) matches too.
    expect((await snapshot(second)).versions.map((r) => [r.model, r.version])).toEqual([['child', 1]]);
  });
});
