/**
 * The queries users write (issue 9): JSON paths anywhere a column may stand, the one
 * comparison rule, AS, DISTINCT, aggregates and GROUP BY, through db.query.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/index.js';
import { Resources, expectFailsUnchanged, memoryDb, one, weights } from '../helpers/sql.js';

const resources = new Resources();
afterEach(() => resources.cleanup());

/**
 * spam v1 f1 .80 staging, v2 f1 .95, v3 f1 .91 (archived), v4 no f1, v5 f1 'high' (text);
 * ham  v1 f1 .70, v2 f1 .75; every version has hyperparams.optimizer.lr.
 */
async function fixture(): Promise<Database> {
  const db = resources.track(await memoryDb());
  const add = (model: string, metrics: object, lr: number) =>
    db.query('CREATE MODEL ' + model + ' WITH (weights = $1, metrics = $2, hyperparams = $3, active = FALSE)', [
      weights(lr * 1000), metrics, { optimizer: { name: 'adam', lr }, layers: [64, 32] },
    ]);
  await add('spam', { f1: 0.8, 'f1-macro': 0.7 }, 0.1);
  await add('spam', { f1: 0.95, 'f1-macro': 0.9 }, 0.01);
  await add('spam', { f1: 0.91 }, 0.02);
  await add('spam', { acc: 0.5 }, 0.03);
  await add('spam', { f1: 'high' }, 0.04);
  await add('ham', { f1: 0.7 }, 0.1);
  await add('ham', { f1: 0.75 }, 0.2);
  await db.exec('ALTER MODEL spam VERSION 1 PROMOTE TO STAGING; ARCHIVE MODEL spam VERSION 3');
  return db;
}

describe('JSON paths', () => {
  it('select, filter and order by metrics.f1 (the issue\'s query)', async () => {
    const db = await fixture();
    const result = await db.query(
      "SELECT version, metrics.f1 FROM ML_MODEL_VERSIONS WHERE model = 'spam' AND metrics.f1 > 0.9 ORDER BY metrics.f1 DESC LIMIT 3",
    );
    expect(result.columns).toEqual(['version', 'metrics.f1']);
    expect(result.rows).toEqual([{ version: 2, 'metrics.f1': 0.95 }, { version: 3, 'metrics.f1': 0.91 }]);
  });

  it('walks nested objects, quoted keys and array indexes; a missing path is NULL', async () => {
    const db = await fixture();
    const { rows } = await db.query(
      `SELECT version, hyperparams.optimizer.lr AS lr, metrics."f1-macro" AS macro, hyperparams.layers."1" AS second,
              hyperparams.nope.deeper AS missing, hyperparams.optimizer.name.x AS through_text
         FROM ML_MODEL_VERSIONS WHERE model = 'spam' AND version <= 2 ORDER BY version`,
    );
    expect(rows).toEqual([
      { version: 1, lr: 0.1, macro: 0.7, second: 32, missing: null, through_text: null },
      { version: 2, lr: 0.01, macro: 0.9, second: 32, missing: null, through_text: null },
    ]);
  });

  it('keys keep their case; the column folds like any column', async () => {
    const db = resources.track(await memoryDb());
    await db.query('CREATE MODEL m WITH (weights = $1, metrics = $2)', [weights(1), { valLoss: 0.2, valloss: 9 }]);
    expect(one(await db.query('SELECT METRICS.valLoss AS a, metrics.valloss AS b FROM ML_MODEL_VERSIONS'))).toEqual({ a: 0.2, b: 9 });
  });

  it('IS NULL finds versions without the key; a path of prototype names finds nothing', async () => {
    const db = await fixture();
    const { rows } = await db.query("SELECT version FROM ML_MODEL_VERSIONS WHERE model = 'spam' AND metrics.f1 IS NULL");
    expect(rows).toEqual([{ version: 4 }]);
    const proto = await db.query("SELECT metrics.constructor AS c, metrics.__proto__ AS p FROM ML_MODEL_VERSIONS WHERE model = 'ham' AND version = 1");
    expect(one(proto)).toEqual({ c: null, p: null });
  });

  it('comparing different types is FALSE (<> TRUE), never an error; NULL stays UNKNOWN', async () => {
    const db = await fixture();
    const versions = async (where: string) =>
      (await db.query(`SELECT version FROM ML_MODEL_VERSIONS WHERE model = 'spam' AND ${where} ORDER BY version`)).rows.map((r) => r.version);
    expect(await versions('metrics.f1 > 0.5')).toEqual([1, 2, 3]); // text 'high' is not > a number
    expect(await versions("metrics.f1 = 'high'")).toEqual([5]);
    expect(await versions('metrics.f1 <> 0.8')).toEqual([2, 3, 5]); // v4: NULL, unknown
    expect(await versions('NOT metrics.f1 > 0.5')).toEqual([5]);
    expect(await versions("metrics.f1 LIKE 'h%'")).toEqual([5]);
    expect(await versions('metrics.f1 IN (0.8, 0.95)')).toEqual([1, 2]);
    expect(await versions("hyperparams.optimizer.name = 'adam' AND hyperparams.optimizer.lr < 0.03")).toEqual([2, 3]);
  });

  it('ORDER BY a path puts numbers before text and NULL last (ASC)', async () => {
    const db = await fixture();
    const { rows } = await db.query("SELECT version FROM ML_MODEL_VERSIONS WHERE model = 'spam' ORDER BY metrics.f1");
    expect(rows.map((r) => r.version)).toEqual([1, 3, 2, 5, 4]);
  });

  it('a path on a non-JSON column is INVALID_ARGUMENT naming it, before any row is read', async () => {
    const db = resources.track(await memoryDb());
    await expectFailsUnchanged(db, () => db.query('SELECT version.x FROM ML_MODEL_VERSIONS'), 'INVALID_ARGUMENT', /column 'version' is integer, not json/);
    await expectFailsUnchanged(db, () => db.query('SELECT * FROM ML_MODEL_VERSIONS WHERE model.x = 1'), 'INVALID_ARGUMENT', /'model'/);
    await expectFailsUnchanged(db, () => db.query('SELECT * FROM ML_MODEL_VERSIONS WHERE metrix.f1 = 1'), 'UNKNOWN_COLUMN', /did you mean 'metrics'/);
  });

  it('works on every json column: events detail, job metrics, config', async () => {
    const db = resources.track(await memoryDb());
    await db.query("CREATE MODEL m WITH (weights = $1, config = '{\"dimensions\": 384}')", [weights(1)]);
    expect(one(await db.query('SELECT config.dimensions FROM ML_MODEL_VERSIONS'))).toEqual({ 'config.dimensions': 384 });
    const events = await db.query("SELECT kind FROM ML_MODEL_EVENTS WHERE detail.nope IS NULL AND kind = 'version_created'");
    expect(events.rowCount).toBe(1);
  });
});

describe('AS, DISTINCT', () => {
  it('AS names the output column; ORDER BY may name the alias', async () => {
    const db = await fixture();
    const result = await db.query("SELECT version AS v, metrics.f1 AS score FROM ML_MODEL_VERSIONS WHERE model = 'ham' ORDER BY score DESC");
    expect(result.columns).toEqual(['v', 'score']);
    expect(result.rows).toEqual([{ v: 2, score: 0.75 }, { v: 1, score: 0.7 }]);
  });

  it('DISTINCT drops duplicate rows (1 and 1.0 are one number), with ORDER BY and LIMIT', async () => {
    const db = await fixture();
    const models = await db.query('SELECT DISTINCT model FROM ML_MODEL_VERSIONS ORDER BY model');
    expect(models.rows).toEqual([{ model: 'ham' }, { model: 'spam' }]);
    const stages = await db.query("SELECT DISTINCT stage, archived FROM ML_MODEL_VERSIONS WHERE model = 'spam' ORDER BY stage DESC LIMIT 2");
    expect(stages.rows).toEqual([{ stage: 'staging', archived: false }, { stage: 'dev', archived: false }]);
    const names = await db.query('SELECT DISTINCT hyperparams.optimizer.name AS opt FROM ML_MODEL_VERSIONS');
    expect(names.rows).toEqual([{ opt: 'adam' }]);
  });

  it('with DISTINCT, ORDER BY must name a selected column', async () => {
    const db = await fixture();
    await expectFailsUnchanged(db, () => db.query('SELECT DISTINCT model FROM ML_MODEL_VERSIONS ORDER BY version'), 'INVALID_ARGUMENT', /DISTINCT/);
  });
});

describe('aggregates and GROUP BY', () => {
  it('without GROUP BY: one row, even over no rows', async () => {
    const db = await fixture();
    const all = one(await db.query(
      "SELECT count(*) AS n, count(metrics.f1) AS with_f1, min(version), max(metrics.f1) AS best FROM ML_MODEL_VERSIONS WHERE model = 'spam'",
    ));
    // max over numbers and the text 'high': text sorts after numbers in the total order.
    expect(all).toEqual({ n: 5, with_f1: 4, 'min(version)': 1, best: 'high' });
    const none = one(await db.query("SELECT COUNT(*) AS n, Sum(version) AS s, avg(version) AS a, max(version) AS m FROM ML_MODEL_VERSIONS WHERE model = 'nope'"));
    expect(none).toEqual({ n: 0, s: null, a: null, m: null });
  });

  it('best f1 per model in one query', async () => {
    const db = await fixture();
    const { rows } = await db.query(
      "SELECT model, max(metrics.f1) AS best_f1, count(*) AS versions FROM ML_MODEL_VERSIONS WHERE metrics.f1 > 0 GROUP BY model ORDER BY best_f1 DESC",
    );
    expect(rows).toEqual([{ model: 'spam', best_f1: 0.95, versions: 3 }, { model: 'ham', best_f1: 0.75, versions: 2 }]);
  });

  it('avg and sum skip NULL; ORDER BY an aggregate; GROUP BY a path', async () => {
    const db = await fixture();
    const avg = await db.query('SELECT model, avg(hyperparams.optimizer.lr) AS lr, sum(version) AS s FROM ML_MODEL_VERSIONS GROUP BY model ORDER BY sum(version)');
    expect(avg.rows.map((r) => r.model)).toEqual(['ham', 'spam']);
    expect(avg.rows[0]!.lr).toBeCloseTo(0.15);
    expect(avg.rows[1]!.s).toBe(15);
    const byOpt = await db.query('SELECT hyperparams.optimizer.name, count(*) FROM ML_MODEL_VERSIONS GROUP BY hyperparams.optimizer.name');
    expect(byOpt.rows).toEqual([{ 'hyperparams.optimizer.name': 'adam', 'count(*)': 7 }]);
  });

  it('avg/sum of text is INVALID_ARGUMENT: statically for a text column, when met for a path', async () => {
    const db = await fixture();
    await expectFailsUnchanged(db, () => db.query('SELECT avg(model) FROM ML_MODEL_VERSIONS'), 'INVALID_ARGUMENT', /avg\(\) takes numbers/);
    await expectFailsUnchanged(db, () => db.query("SELECT sum(metrics.f1) FROM ML_MODEL_VERSIONS WHERE model = 'spam'"), 'INVALID_ARGUMENT', /sum\(\) takes numbers, met 'high'/);
  });

  it('mixing an aggregate and a plain column needs GROUP BY; a selected column must be grouped', async () => {
    const db = await fixture();
    await expectFailsUnchanged(db, () => db.query('SELECT model, count(*) FROM ML_MODEL_VERSIONS'), 'INVALID_ARGUMENT', /cannot mix aggregate functions and model without GROUP BY/);
    await expectFailsUnchanged(db, () => db.query('SELECT model, version FROM ML_MODEL_VERSIONS GROUP BY model'), 'INVALID_ARGUMENT', /version must appear in GROUP BY/);
    await expectFailsUnchanged(db, () => db.query('SELECT max(count(*)) FROM ML_MODEL_VERSIONS'), 'INVALID_ARGUMENT', /cannot nest/);
    await expectFailsUnchanged(db, () => db.query('SELECT * FROM ML_MODEL_VERSIONS WHERE count(*) > 1'), 'INVALID_ARGUMENT', /not allowed in WHERE/);
    await expectFailsUnchanged(db, () => db.query('SELECT max(metrics) FROM ML_MODEL_VERSIONS'), 'INVALID_ARGUMENT', /json values are not ordered/);
    await expectFailsUnchanged(db, () => db.query('SELECT min(*) FROM ML_MODEL_VERSIONS'), 'INVALID_ARGUMENT', /only count takes \*/);
    await expectFailsUnchanged(db, () => db.query('SELECT max(version, model) FROM ML_MODEL_VERSIONS'), 'INVALID_ARGUMENT', /exactly one argument/);
    // Type errors over a group name what the user wrote.
    await expectFailsUnchanged(db, () => db.query("SELECT count(*) = 'x' FROM ML_MODEL_VERSIONS"), 'INVALID_ARGUMENT', /cannot compare count\(\*\) \(integer\) with text 'x'/);
    await expectFailsUnchanged(db, () => db.query('SELECT model LIKE 1 FROM ML_MODEL_VERSIONS GROUP BY model'), 'INVALID_ARGUMENT', /LIKE needs text, got integer 1/);
  });

  it('an unknown function is UNKNOWN_FUNCTION naming it, with a suggestion', async () => {
    const db = await fixture();
    await expectFailsUnchanged(db, () => db.query('SELECT cuont(*) FROM ML_MODEL_VERSIONS'), 'UNKNOWN_FUNCTION', /function 'cuont' does not exist; did you mean 'count'\?/);
    await expectFailsUnchanged(db, () => db.query('SELECT * FROM ML_MODEL_VERSIONS WHERE lower(model) = 1'), 'UNKNOWN_FUNCTION', /'lower'/);
    await expectFailsUnchanged(db, () => db.query('SELECT * FROM ML_MODEL_VERSIONS ORDER BY median(version)'), 'UNKNOWN_FUNCTION', /'median'/);
  });

  it('a select item of thousands of OR terms over a grouped column works in a grouped query', async () => {
    const db = await fixture();
    const terms = Array.from({ length: 5000 }, (_, i) => `model = 'm${i}'`).join(' OR ');
    const { rows } = await db.query(`SELECT model, ${terms} OR model = 'ham' AS hit, count(*) AS n FROM ML_MODEL_VERSIONS GROUP BY model ORDER BY model`);
    expect(rows).toEqual([{ model: 'ham', hit: true, n: 2 }, { model: 'spam', hit: false, n: 5 }]);
  });

  it('GROUP BY may name an alias; a table column of that name wins over it', async () => {
    const db = await fixture();
    const byAlias = await db.query('SELECT hyperparams.optimizer.lr > 0.05 AS big_lr, count(*) AS n FROM ML_MODEL_VERSIONS GROUP BY big_lr ORDER BY big_lr');
    expect(byAlias.rows).toEqual([{ big_lr: false, n: 4 }, { big_lr: true, n: 3 }]);
    const shadowed = await db.query('SELECT model AS version, count(*) AS n FROM ML_MODEL_VERSIONS WHERE model = $1 GROUP BY version, model ORDER BY n', ['ham']);
    expect(shadowed.rows).toEqual([{ version: 'ham', n: 1 }, { version: 'ham', n: 1 }]);
  });

  it('a JSON path can stand as a condition: TRUE only where it holds true', async () => {
    const db = resources.track(await memoryDb());
    for (const [i, shuffle] of [true, false, 'yes', null].entries()) {
      await db.query('CREATE MODEL m WITH (weights = $1, hyperparams = $2)', [weights(i), { shuffle }]);
    }
    const versions = async (where: string) => (await db.query(`SELECT version FROM ML_MODEL_VERSIONS WHERE ${where} ORDER BY version`)).rows.map((r) => r.version);
    expect(await versions('hyperparams.shuffle')).toEqual([1]);
    expect(await versions('NOT hyperparams.shuffle')).toEqual([2, 3]);
    expect(await versions('hyperparams.shuffle = FALSE')).toEqual([2]);
  });

  it('ORDER BY or GROUP BY a constant (a position elsewhere) is INVALID_ARGUMENT, not a silent no-op', async () => {
    const db = await fixture();
    await expectFailsUnchanged(db, () => db.query('SELECT version, model FROM ML_MODEL_VERSIONS ORDER BY 2'), 'INVALID_ARGUMENT', /ORDER BY 2: positions/);
    await expectFailsUnchanged(db, () => db.query('SELECT count(*) FROM ML_MODEL_VERSIONS GROUP BY $1', ['model']), 'INVALID_ARGUMENT', /GROUP BY \$1/);
  });

  it('GROUP BY with LIMIT/OFFSET pages the groups', async () => {
    const db = await fixture();
    const { rows } = await db.query('SELECT model, count(*) AS n FROM ML_MODEL_VERSIONS GROUP BY model ORDER BY model LIMIT 1 OFFSET 1');
    expect(rows).toEqual([{ model: 'spam', n: 5 }]);
  });
});

describe('grammar.md examples of the query sections', () => {
  /** The ```sql blocks between heading `from` and the next heading of the same level. */
  function sectionExamples(markdown: string, from: string): string[] {
    const start = markdown.indexOf(`\n${from}\n`);
    expect(start, `section ${from}`).toBeGreaterThan(0);
    const level = from.split(' ')[0]!;
    const rest = markdown.slice(start + from.length + 2);
    const end = rest.search(new RegExp(`\\n#{1,${level.length}} `));
    const section = end < 0 ? rest : rest.slice(0, end);
    return [...section.matchAll(/```sql\n([\s\S]*?)\n```/g)].map((m) => m[1]!);
  }

  it.each([
    '### JSON paths and the comparison rule',
    '### Aggregates, GROUP BY, DISTINCT and AS',
    '## ALTER MODEL … USE BEST VERSION',
  ])('every example of "%s" runs', async (heading) => {
    const markdown = readFileSync(fileURLToPath(new URL('../../grammar.md', import.meta.url)), 'utf8');
    const examples = sectionExamples(markdown, heading);
    expect(examples.length).toBeGreaterThan(0);
    const db = resources.track(await memoryDb({ createdBy: 'ci' }));
    for (const [i, metrics] of [{ f1: 0.8, loss: 0.3, 'f1-macro': 0.7 }, { f1: 0.95, loss: 0.1 }].entries()) {
      await db.query('CREATE MODEL spam WITH (weights = $1, metrics = $2, hyperparams = $3, config = $4)', [
        weights(i), metrics, { optimizer: { name: 'adam', lr: 0.01 } }, { dimensions: 384 },
      ]);
    }
    await db.query('ALTER MODEL spam VERSION 2 PROMOTE TO STAGING');
    for (const sql of examples) {
      const results = await db.exec(sql);
      expect(results.length).toBeGreaterThan(0);
    }
  });
});
