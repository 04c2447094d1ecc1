/**
 * `$n` values of every JavaScript type, in every position a statement takes one:
 * whatever an app passes, the answer is a result or a ModelSqlError, never a raw
 * TypeError/RangeError from describing or converting the value.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ModelSqlError, type Database } from '../../src/index.js';
import { expectFailsUnchanged, memoryDb } from '../helpers/sql.js';

const dbs: Database[] = [];
afterEach(async () => {
  await Promise.all(dbs.splice(0).map((db) => db.close()));
});

async function registry(): Promise<Database> {
  const db = await memoryDb();
  dbs.push(db);
  await db.query("CREATE MODEL m WITH (artifact = 's3://m/1')");
  await db.query("CREATE MODEL m WITH (artifact = 's3://m/2')");
  return db;
}

const nullPrototype = (): object => Object.assign(Object.create(null) as object, { a: 1 });

describe('an invalid Date parameter', () => {
  it('in USE VERSION $1 is INVALID_ARGUMENT and changes nothing', async () => {
    const db = await registry();
    await expectFailsUnchanged(db, () => db.query('ALTER MODEL m USE VERSION $1', [new Date(NaN)]), 'INVALID_ARGUMENT', '$1 is an invalid Date');
  });

  it('in WHERE created_at > $1 (and = $1, and IN) is INVALID_ARGUMENT', async () => {
    const db = await registry();
    for (const where of ['created_at > $1', 'created_at = $1', 'created_at IN ($1)', 'version = $1']) {
      await expectFailsUnchanged(db, () => db.query(`SELECT * FROM ML_MODEL_VERSIONS WHERE ${where}`, [new Date(NaN)]), 'INVALID_ARGUMENT', '$1 is an invalid Date');
    }
    // A valid Date still works.
    expect((await db.query('SELECT version FROM ML_MODEL_VERSIONS WHERE created_at > $1', [new Date(0)])).rowCount).toBe(2);
  });
});

describe('a null-prototype object as a schema statistic', () => {
  const positions = [
    ['RECORD_COUNT $1', 'SCHEMA (a NUMBER) RECORD_COUNT $1', /record_count must be a whole number .*, got an object/],
    ['CARDINALITY $1', 'SCHEMA (a NUMBER CARDINALITY $1)', /cardinality must be a whole number .*, got an object/],
    ['NULL_RATE $1', 'SCHEMA (a NUMBER NULL_RATE $1)', /null_rate must be a number between 0 and 1, got an object/],
  ] as const;

  for (const [name, schema, message] of positions) {
    it(`as ${name} is INVALID_ARGUMENT in CREATE MODEL and LOOKUP, not "Cannot convert object to primitive value"`, async () => {
      const db = await registry();
      await expectFailsUnchanged(db, () => db.query(`CREATE MODEL m WITH (artifact = 's3://m/3') ${schema}`, [nullPrototype()]), 'INVALID_ARGUMENT', message);
      await expectFailsUnchanged(db, () => db.query(`LOOKUP MODEL FOR ${schema}`, [nullPrototype()]), 'INVALID_ARGUMENT', message);
    });
  }

  it('a safe BigInt counts like its number; an unsafe one is INVALID_ARGUMENT naming it', async () => {
    const db = await registry();
    await db.query("CREATE MODEL m WITH (artifact = 's3://m/3') SCHEMA (a NUMBER CARDINALITY $1 NULL_RATE $2) RECORD_COUNT $3", [10n, 0n, 99n]);
    const { rows } = await db.query('SELECT schema FROM ML_MODEL_VERSIONS WHERE model = $1 AND version = $2', ['m', 3n]);
    expect(rows[0]!.schema).toEqual({ fields: [{ name: 'a', kind: 'number', nullRate: 0, cardinality: 10 }], recordCount: 99 });
    await expectFailsUnchanged(db, () => db.query("CREATE MODEL m WITH (artifact = 's3://m/4') SCHEMA (a NUMBER) RECORD_COUNT $1", [2n ** 64n]), 'INVALID_ARGUMENT', /got 18446744073709551616n/);
  });
});

describe('any JavaScript value in any parameter position', () => {
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const values: ReadonlyArray<readonly [string, unknown]> = [
    ['a null-prototype object', nullPrototype()],
    ['an object whose toString throws', { toString: () => { throw new Error('no'); } }],
    ['a symbol', Symbol('s')],
    ['a function', () => 1],
    ['a BigInt', 12n],
    ['a huge BigInt', 2n ** 80n],
    ['an invalid Date', new Date(NaN)],
    ['NaN', NaN],
    ['-Infinity', -Infinity],
    ['an array', [1, 2]],
    ['a Map', new Map([[1, 2]])],
    ['a boxed string', Object('x')],
  ];
  const statements = [
    "CREATE MODEL m WITH (artifact = $1)",
    "CREATE MODEL m WITH (artifact = 's3://x', metrics = $1)",
    "CREATE MODEL m WITH (artifact = 's3://x', hyperparams = $1)",
    "CREATE MODEL m WITH (artifact = 's3://x', config = $1)",
    "CREATE MODEL m WITH (weights = $1)",
    "CREATE MODEL m WITH (weights = FILE $1)",
    "CREATE MODEL m WITH (artifact = 's3://x', active = $1)",
    "CREATE MODEL m WITH (artifact = 's3://x', task = $1)",
    "CREATE MODEL m WITH (artifact = 's3://x', base_model = 'm', base_version = $1)",
    "CREATE MODEL m FROM VERSION $1 WITH (artifact = 's3://x')",
    "CREATE MODEL m WITH (artifact = 's3://x') SCHEMA (a NUMBER NULL_RATE $1)",
    'ALTER MODEL m USE VERSION $1',
    'ALTER MODEL m VERSION $1 PROMOTE TO STAGING',
    'ARCHIVE MODEL m VERSION $1',
    'UNARCHIVE MODEL m VERSION $1',
    'RETIRE MODEL m VERSION $1',
    'SET TENANT $1',
    'CANCEL JOB $1',
    'LOOKUP MODEL FOR SCHEMA (a NUMBER CARDINALITY $1)',
    'SELECT * FROM ML_MODEL_VERSIONS WHERE version = $1',
    'SELECT * FROM ML_MODEL_VERSIONS WHERE created_at < $1',
    'SELECT * FROM ML_MODEL_VERSIONS WHERE metrics = $1',
    'SELECT * FROM ML_MODEL_VERSIONS WHERE model LIKE $1',
    'SELECT * FROM ML_MODEL_VERSIONS WHERE version IN (1, $1)',
    'SELECT * FROM ML_MODEL_VERSIONS LIMIT $1',
    'SELECT * FROM ML_MODEL_VERSIONS LIMIT 1 OFFSET $1',
  ];

  it('gets a result or a ModelSqlError, and a failure changes nothing', async () => {
    const db = await registry();
    const raw: string[] = [];
    for (const sql of statements) {
      for (const [name, value] of [...values, ['a revoked Proxy', revoked.proxy] as const]) {
        const before = (await db.query('SELECT * FROM ML_MODEL_VERSIONS')).rows;
        try {
          await db.query(sql, [value]);
        } catch (error) {
          if (!(error instanceof ModelSqlError)) raw.push(`${sql} with ${name}: ${String(error)}`);
          expect((await db.query('SELECT * FROM ML_MODEL_VERSIONS')).rows, `${sql} with ${name}`).toEqual(before);
        }
      }
    }
    expect(raw).toEqual([]);
  });
});

describe('the typed API with odd values', () => {
  it('is INVALID_ARGUMENT (or UNKNOWN_JOB) for a null-prototype object or a symbol, never a TypeError', async () => {
    const db = await registry();
    for (const odd of [nullPrototype(), Symbol('s')] as unknown[]) {
      await expectFailsUnchanged(db, () => db.registry.setActiveVersion('m', odd as number), 'INVALID_ARGUMENT', /version must be a whole number/);
      await expectFailsUnchanged(db, () => db.registry.promote('m', 1, odd as 'staging'), 'INVALID_ARGUMENT', /stage must be one of/);
      await expectFailsUnchanged(db, () => db.registry.registerVersion('m', { artifact: 'a', task: odd as string }), 'INVALID_ARGUMENT', /task must be one of/);
      await expectFailsUnchanged(db, () => db.registry.lookupSchema({ fields: [{ name: 'a', kind: odd as 'number', cardinality: odd as number }] }), 'INVALID_ARGUMENT', /unknown kind/);
      await expectFailsUnchanged(db, () => db.jobs.get(odd as string), 'UNKNOWN_JOB');
    }
  });
});
