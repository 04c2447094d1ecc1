/**
 * Deeply nested JSON in hyperparams, metrics and config, as SQL text or as an object
 * parameter: up to MAX_JSON_DEPTH levels it is stored and read back; deeper is
 * INVALID_ARGUMENT naming the limit and changes nothing. Never a RangeError.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { formatResult } from '../../src/cli/format.js';
import type { Database } from '../../src/index.js';
import { MAX_JSON_DEPTH, toJsonText } from '../../src/store/json.js';
import { expectFailsUnchanged, gatedTrainer, memoryDb, str } from '../helpers/sql.js';

const dbs: Database[] = [];
afterEach(async () => {
  await Promise.all(dbs.splice(0).map((db) => db.close({ abortJobs: true })));
});

async function fresh(): Promise<Database> {
  const db = await memoryDb();
  dbs.push(db);
  await db.query("CREATE MODEL m WITH (artifact = 's3://m/1')");
  return db;
}

/** `levels` arrays nested around `1`. */
function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}
const nestedText = (levels: number): string => `${'['.repeat(levels)}1${']'.repeat(levels)}`;

const TOO_DEEP = new RegExp(`nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`);

describe('JSON nesting depth', () => {
  for (const option of ['metrics', 'hyperparams', 'config']) {
    it(`${option}: 2,000 levels as SQL text or as an object parameter are INVALID_ARGUMENT and change nothing`, async () => {
      const db = await fresh();
      await expectFailsUnchanged(db, () => db.query(`CREATE MODEL m WITH (artifact = 's3://m/2', ${option} = ${str(nestedText(2000))})`), 'INVALID_ARGUMENT', TOO_DEEP);
      await expectFailsUnchanged(db, () => db.query(`CREATE MODEL m WITH (artifact = 's3://m/2', ${option} = $1)`, [nested(2000)]), 'INVALID_ARGUMENT', TOO_DEEP);
      await expectFailsUnchanged(db, () => db.query(`CREATE MODEL m WITH (artifact = 's3://m/2', ${option} = $1)`, [nestedText(100_000)]), 'INVALID_ARGUMENT', TOO_DEEP);
      const deepObject = { a: { b: nested(MAX_JSON_DEPTH) } };
      await expectFailsUnchanged(db, () => db.query(`CREATE MODEL m WITH (artifact = 's3://m/2', ${option} = $1)`, [deepObject]), 'INVALID_ARGUMENT', TOO_DEEP);
    });
  }

  it(`exactly ${MAX_JSON_DEPTH} levels are stored and read back through SELECT, the typed API and the CLI formatter`, async () => {
    const db = await fresh();
    await db.query("CREATE MODEL m WITH (artifact = 's3://m/2', metrics = $1, config = $2)", [nested(MAX_JSON_DEPTH), nestedText(MAX_JSON_DEPTH)]);
    const { rows } = await db.query('SELECT metrics, config FROM ML_MODEL_VERSIONS WHERE model = $1 AND version = 2', ['m']);
    expect(JSON.stringify(rows[0]!.metrics)).toBe(nestedText(MAX_JSON_DEPTH));
    expect(JSON.stringify(rows[0]!.config)).toBe(nestedText(MAX_JSON_DEPTH));
    expect(JSON.stringify((await db.registry.getVersion('m', 2)).metrics)).toBe(nestedText(MAX_JSON_DEPTH));
    const result = await db.query('SELECT metrics FROM ML_MODEL_VERSIONS WHERE version = 2');
    expect(formatResult(result, 'json')).toContain(nestedText(MAX_JSON_DEPTH));
    // A WHERE comparison with JSON text: equal at the limit, refused beyond it.
    expect((await db.query('SELECT version FROM ML_MODEL_VERSIONS WHERE metrics = $1', [nestedText(MAX_JSON_DEPTH)])).rows).toEqual([{ version: 2 }]);
    await expectFailsUnchanged(db, () => db.query('SELECT version FROM ML_MODEL_VERSIONS WHERE metrics = $1', [nestedText(2000)]), 'INVALID_ARGUMENT', TOO_DEEP);
  });

  it('the typed API refuses 2,000 levels the same way', async () => {
    const db = await fresh();
    await expectFailsUnchanged(db, () => db.registry.registerVersion('m', { artifact: 's3://m/2', hyperparams: nested(2000) }), 'INVALID_ARGUMENT', TOO_DEEP);
    await expectFailsUnchanged(db, () => db.registry.registerVersion('m', { artifact: 's3://m/2', metrics: { deep: nested(2000) } }), 'INVALID_ARGUMENT', TOO_DEEP);
  });

  it(`train jobs: hyperparams are held to ${MAX_JSON_DEPTH} levels too, and a job at the limit is queued`, async () => {
    const db = await fresh();
    const { trainer } = gatedTrainer();
    db.registerTrainer('t', trainer);
    await expectFailsUnchanged(db, () => db.query("CREATE MODEL m WITH (trainer = 't', async = TRUE, hyperparams = $1)", [nested(MAX_JSON_DEPTH + 1)]), 'INVALID_ARGUMENT', /^hyperparams nests arrays and objects deeper than/);
    const { rows } = await db.query("CREATE MODEL m WITH (trainer = 't', async = TRUE, hyperparams = $1, config = $1)", [nested(MAX_JSON_DEPTH)]);
    expect(rows[0]!.status).toBe('queued');
  });

  it('cycles and non-JSON values deep inside are still reported with their path', () => {
    const cyclic: Record<string, unknown> = { a: [1, { b: null }] };
    (cyclic.a as Array<Record<string, unknown>>)[1]!.b = cyclic;
    expect(() => toJsonText(cyclic, 'metrics')).toThrow('metrics.a[1].b contains a cycle');
    expect(() => toJsonText({ a: [1, [NaN]] }, 'metrics')).toThrow('metrics.a[1][0] is NaN, which JSON cannot represent');
    expect(() => toJsonText({ a: new Date(0) }, 'config')).toThrow('config.a is a Date; pass plain objects, arrays and scalars');
    expect(() => toJsonText(nested(100_000), 'metrics')).toThrow(TOO_DEEP);
    // The same object twice, side by side, is not a cycle.
    const shared = { x: 1 };
    expect(toJsonText([shared, shared], 'metrics')).toBe('[{"x":1},{"x":1}]');
  });
});
