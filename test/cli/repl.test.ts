import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { complete } from '../../src/cli/complete.js';
import { historyEntry, loadHistory, runnableEnd, startRepl } from '../../src/cli/repl.js';
import { open, type Database } from '../../src/database.js';

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[>=]/g;

/** A REPL on PassThrough streams, in terminal mode, with helpers to type and wait. */
class Session {
  readonly input = new PassThrough();
  readonly output = new PassThrough();
  private raw = '';
  private mark = 0;
  private waiters: Array<() => void> = [];
  readonly done: Promise<void>;

  constructor(db: Database, historyFile: string, mode: 'table' | 'json' | 'csv' = 'table') {
    this.output.setEncoding('utf8');
    this.output.on('data', (chunk: string) => {
      this.raw += chunk;
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.done = startRepl(db, { mode, input: this.input, output: this.output, historyFile, terminal: true });
  }

  /** Everything printed so far, without ANSI escapes. */
  get text(): string {
    return this.raw.replace(ANSI, '');
  }

  /** Output since the last {@link type}. */
  get recent(): string {
    return this.text.slice(this.mark);
  }

  /** Waits until `pattern` appears in the output printed since the last {@link type}. */
  async waitFor(pattern: string | RegExp, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const recent = this.recent;
      if (typeof pattern === 'string' ? recent.includes(pattern) : pattern.test(recent)) return recent;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(pattern)}; output was:\n${recent}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Types keys; later waits only look at what is printed after this. */
  type(keys: string): void {
    this.mark = this.text.length;
    this.input.write(keys);
  }

  /** Types a line and waits for the next main prompt. */
  async run(line: string): Promise<string> {
    this.type(`${line}\r`);
    return this.waitFor(/modelsql> $/);
  }

  async quit(): Promise<void> {
    this.type('.quit\r');
    await this.done;
  }
}

let tmp = '';
let db: Database;
let historyFile = '';
let n = 0;
const sessions: Session[] = [];

function session(mode: 'table' | 'json' | 'csv' = 'table', file = historyFile): Session {
  const s = new Session(db, file, mode);
  sessions.push(s);
  return s;
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'modelsql-repl-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

afterEach(async () => {
  for (const s of sessions.splice(0)) {
    s.input.end();
    await s.done;
  }
  await db?.close();
});

/** A fresh registry and history file for one test. */
async function fresh(options: { allowFileAccess?: boolean } = {}): Promise<void> {
  db = await open({ memory: true, ...options });
  historyFile = join(tmp, `history-${++n}`);
}

describe('startRepl', () => {
  it('runs a statement over several lines, showing the continuation prompt', async () => {
    await fresh();
    const s = session();
    await s.waitFor('modelsql> ');
    s.type("CREATE MODEL spam WITH (artifact = 's3://a;b',\r");
    await s.waitFor('      -> ');
    s.type("  description = 'first');\r");
    const out = await s.waitFor(/modelsql> $/);
    expect(out).toContain('spam');
    expect(out).toMatch(/\(1 row\)/);
    const select = await s.run('SELECT name, total_versions FROM ML_MODELS_DASHBOARD;');
    expect(select).toMatch(/spam\s+\|\s+1/);
    await s.quit();
  });

  it('names the tenant in the prompt after SET TENANT, and drops it after RESET TENANT', async () => {
    await fresh();
    const s = session();
    await s.waitFor('modelsql> ');
    s.type("SET TENANT 'acme';\r");
    await s.waitFor(/modelsql\[acme\]> $/);
    s.type("CREATE MODEL spam WITH (artifact = 's3://a',\r");
    await s.waitFor(/ {12}-> $/); // the continuation prompt lines up under the longer prompt
    s.type("  description = 'x');\r");
    await s.waitFor(/modelsql\[acme\]> $/);
    s.type('RESET TENANT;\r');
    await s.waitFor(/\nmodelsql> $/);
    expect(await s.run('SELECT name FROM ML_MODELS_DASHBOARD;')).toMatch(/\(0 rows\)/);
    await s.quit();
  });

  it('marks the prompt with * inside a transaction, and rolls an open one back on leaving', async () => {
    await fresh();
    const s = session();
    await s.waitFor('modelsql> ');
    s.type('BEGIN;\r');
    await s.waitFor(/modelsql\*> $/);
    s.type("CREATE MODEL spam WITH (artifact = 's3://a');\r");
    const inside = await s.waitFor(/modelsql\*> $/);
    expect(inside).toContain('spam');
    // The REPL's session is this handle: it is the one in the transaction.
    expect(db.inTransaction).toBe(true);
    s.type('COMMIT;\r');
    await s.waitFor(/\nmodelsql> $/);
    expect(db.inTransaction).toBe(false);
    expect((await db.query('SELECT name FROM ML_MODELS_DASHBOARD')).rows).toEqual([{ name: 'spam' }]);
    s.type("BEGIN; CREATE MODEL eggs WITH (artifact = 's3://b');\r");
    await s.waitFor(/modelsql\*> $/);
    s.type('.quit\r');
    await s.done;
    expect(s.text).toContain('the open transaction was rolled back (no COMMIT)');
    expect((await db.query('SELECT name FROM ML_MODELS_DASHBOARD')).rows).toEqual([{ name: 'spam' }]);
  });

  it('keeps going on a ; inside a string or comment', async () => {
    await fresh();
    const s = session();
    await s.waitFor('modelsql> ');
    s.type("SELECT * FROM ML_MODELS_DASHBOARD WHERE name = 'a;\r");
    await s.waitFor('      -> ');
    s.type("b' -- ; not the end\r");
    await s.waitFor('      -> ');
    s.type('/* ; */ ORDER BY name;\r');
    const out = await s.waitFor(/modelsql> $/);
    expect(out).not.toContain('error');
    expect(out).toContain('(0 rows)');
    await s.quit();
  });

  it('completes a keyword with tab', async () => {
    await fresh();
    const s = session();
    await s.waitFor('modelsql> ');
    s.type('ALTER MODEL spam US\t');
    await s.waitFor('ALTER MODEL spam USE');
    s.type('\x03');
    await s.waitFor('modelsql> ');
    await s.quit();
  });

  it('completes a model name with tab', async () => {
    await fresh();
    await db.query("CREATE MODEL spam WITH (artifact = 'x')");
    const s = session();
    await s.waitFor('modelsql> ');
    s.type('ALTER MODEL sp\t');
    await s.waitFor('ALTER MODEL spam');
    s.type(' USE VERSION 1;\r');
    const out = await s.waitFor(/modelsql> $/);
    expect(out).toMatch(/active_version/);
    await s.quit();
  });

  it('shows a syntax error with a caret under its column, then goes on', async () => {
    await fresh();
    const s = session();
    await s.waitFor('modelsql> ');
    const out = await s.run('ALTER MODEL spam USE VERISON 2;');
    expect(out).toContain('error: line 1 column 22: expected VERSION, PREVIOUS or BEST after USE, found');
    const lines = out.split(/\r?\n/);
    const source = lines.findIndex((l) => l.includes('| ALTER MODEL spam USE VERISON 2;'));
    expect(source).toBeGreaterThanOrEqual(0);
    const caret = lines[source + 1]!;
    expect(caret.trimEnd().endsWith('^')).toBe(true);
    expect(caret.indexOf('^')).toBe(lines[source]!.indexOf('VERISON'));
    const next = await s.run('SELECT * FROM ML_JOBS;');
    expect(next).toContain('(0 rows)');
    await s.quit();
  });

  it('puts the caret on the right line of a multi-line statement', async () => {
    await fresh();
    const s = session();
    await s.waitFor('modelsql> ');
    s.type('SELECT *\r');
    await s.waitFor('      -> ');
    s.type('FROM ML_JOBS WHERE LIMIT 1;\r');
    const out = await s.waitFor(/modelsql> $/);
    expect(out).toContain('error: line 2 column 20');
    const lines = out.split(/\r?\n/);
    const source = lines.findIndex((l) => l.startsWith('2 | FROM ML_JOBS WHERE LIMIT 1;'));
    expect(source).toBeGreaterThanOrEqual(0);
    expect(lines[source + 1]!.indexOf('^')).toBe(lines[source]!.indexOf('LIMIT'));
    await s.quit();
  });

  it('prints other errors as error: message', async () => {
    await fresh();
    const s = session();
    await s.waitFor('modelsql> ');
    const out = await s.run('ALTER MODEL nope USE VERSION 1;');
    expect(out).toContain("error: unknown model 'nope'");
    await s.quit();
  });

  it('keeps history across sessions, a multi-line statement as one entry', async () => {
    await fresh();
    const first = session();
    await first.waitFor('modelsql> ');
    first.type('SELECT name\r');
    await first.waitFor('      -> ');
    first.type('FROM ML_MODELS_DASHBOARD;\r');
    await first.waitFor(/modelsql> $/);
    await first.quit();
    const saved = await readFile(historyFile, 'utf8');
    expect(saved).toBe('SELECT name FROM ML_MODELS_DASHBOARD;\n.quit\n');

    const second = session();
    await second.waitFor('modelsql> ');
    second.type('\x1b[A');
    await second.waitFor('.quit');
    second.type('\x1b[A');
    await second.waitFor('SELECT name FROM ML_MODELS_DASHBOARD;');
    second.type('\r');
    const out = await second.waitFor(/modelsql> $/);
    expect(out).toContain('(0 rows)');
    await second.quit();
    expect(await readFile(historyFile, 'utf8')).toBe('SELECT name FROM ML_MODELS_DASHBOARD;\n.quit\nSELECT name FROM ML_MODELS_DASHBOARD;\n.quit\n');
  });

  it('.tables lists the tables and their columns', async () => {
    await fresh();
    const s = session();
    await s.waitFor('modelsql> ');
    const out = await s.run('.tables');
    expect(out).toContain('ML_MODELS_DASHBOARD');
    expect(out).toContain('ML_MODEL_VERSIONS');
    expect(out).toContain('ML_JOBS');
    expect(out).toContain('parent_version');
    await s.quit();
  });

  it(".export writes a version's weights to a file, verified, and reports errors without leaving the REPL", async () => {
    await fresh({ allowFileAccess: true });
    const weights = Buffer.from('the weights of version one');
    await db.query('CREATE MODEL "team.spam" WITH (weights = $1)', [weights]);
    const s = session();
    await s.waitFor('modelsql> ');
    const target = join(tmp, `export-${n}.bin`);
    const out = await s.run(`.export "team.spam" VERSION 1 TO '${target}'`);
    expect(out).toContain(`exported team.spam version 1 to ${target}: ${weights.length} bytes`);
    expect(out).toContain('(verified)');
    expect(await readFile(target)).toEqual(weights);
    expect(await s.run(`.export "team.spam" VERSION 7 TO '${target}.x'`)).toContain("error: unknown version 7 for model 'team.spam'");
    expect(await s.run('.export spam')).toContain("usage: .export MODEL VERSION N TO 'path'");
    await s.quit();
  });

  it('.models and .describe show models, versions, the active pointer and lineage', async () => {
    await fresh();
    await db.query("CREATE MODEL spam WITH (artifact = 'a')");
    await db.query("CREATE MODEL spam FROM VERSION 1 WITH (artifact = 'b')");
    await db.query('ARCHIVE MODEL spam VERSION 1');
    await db.query('ALTER MODEL spam VERSION 2 PROMOTE TO STAGING');
    await db.query('ALTER MODEL spam VERSION 2 PROMOTE TO PRODUCTION');
    await db.query("CREATE MODEL ham WITH (artifact = 'c', base_model = 'spam')");
    const s = session();
    await s.waitFor('modelsql> ');
    const models = await s.run('.models');
    expect(models).toMatch(/spam\s+\|\s+2\s+\|\s+2\s+\|\s+2/);
    expect(models).toMatch(/ham\s+\|\s+1\s+\|\s+NULL\s+\|\s+1/);
    const describe = await s.run('.describe spam');
    expect(describe).toContain('model spam: active version 2, 2 versions');
    expect(describe).toMatch(/parent_version/);
    // version | active | stage | archived | retired | parent_version
    expect(describe).toMatch(/\s1\s+\|\s+false\s+\|\s+dev\s+\|\s+true\s+\|\s+false\s+\|\s+NULL/);
    expect(describe).toMatch(/\s2\s+\|\s+true\s+\|\s+production\s+\|\s+false\s+\|\s+false\s+\|\s+1/);
    expect(await s.run('.describe ham')).toMatch(/spam v2/);
    expect(await s.run('.describe nope')).toContain("error: unknown model 'nope'");
    await s.quit();
  });

  it('.mode json switches the output format', async () => {
    await fresh();
    const s = session();
    await s.waitFor('modelsql> ');
    expect(await s.run('.mode json')).toContain('mode: json');
    const out = await s.run('SELECT * FROM ML_JOBS;');
    expect(out).toMatch(/\{"command":"SELECT","columns":\["id",.*\],"rows":\[\],"rowCount":0\}/);
    expect(await s.run('.mode yaml')).toContain("unknown mode 'yaml'");
    await s.quit();
  });

  it('.timer on prints timing after each result', async () => {
    await fresh();
    const s = session();
    await s.waitFor('modelsql> ');
    expect(await s.run('.timer on')).toContain('timer: on');
    expect(await s.run('SELECT * FROM ML_JOBS;')).toMatch(/Time: \d+\.\d\d ms/);
    await s.run('.timer off');
    expect(await s.run('SELECT * FROM ML_JOBS;')).not.toContain('Time:');
    await s.quit();
  });

  it('.help and unknown meta commands', async () => {
    await fresh();
    const s = session();
    await s.waitFor('modelsql> ');
    expect(await s.run('.help')).toContain('.describe MODEL');
    expect(await s.run('.tabels')).toMatch(/unknown command '\.tabels' \(did you mean \.tables\?\); type \.help/);
    await s.quit();
  });

  it('Ctrl-C abandons a half-written statement; a second one on an empty prompt hints how to leave', async () => {
    await fresh();
    const s = session();
    await s.waitFor('modelsql> ');
    s.type('SELECT *\r');
    await s.waitFor('      -> ');
    s.type('FROM ML_J\x03');
    await s.waitFor(/\^C\n(modelsql> )$/);
    const out = await s.run('SELECT id FROM ML_JOBS;');
    expect(out).not.toContain('error');
    expect(out).toContain('(0 rows)');
    s.type('\x03');
    await s.waitFor('modelsql> ');
    s.type('\x03');
    await s.waitFor('.quit or press Ctrl-D');
    await s.quit();
    // the abandoned statement is not in the history
    expect(await readFile(historyFile, 'utf8')).toBe('SELECT id FROM ML_JOBS;\n.quit\n');
  });

  it('Ctrl-D ends the session', async () => {
    await fresh();
    const s = session();
    await s.waitFor('modelsql> ');
    s.type('\x04');
    await s.done;
  });

  it('.quit ends the session and ignores what follows', async () => {
    await fresh();
    const s = session();
    await s.waitFor('modelsql> ');
    s.type(".quit\rCREATE MODEL x WITH (artifact = 'a');\r");
    await s.done;
    expect((await db.registry.summaries()).length).toBe(0);
  });

  it('runs piped input when not a terminal', async () => {
    await fresh();
    const input = new PassThrough();
    const output = new PassThrough();
    let text = '';
    output.setEncoding('utf8').on('data', (c: string) => (text += c));
    const done = startRepl(db, { mode: 'csv', input, output, historyFile, terminal: false });
    input.end("CREATE MODEL a WITH (artifact = 'x');\nSELECT name FROM\n ML_MODELS_DASHBOARD;\n");
    await done;
    expect(text).toContain('name\na');
  });
});

describe('complete()', () => {
  const context = { models: async () => ['spam', 'ham', 'Spark'] };

  it('offers statement keywords at the start', async () => {
    expect(await complete('', context)).toEqual([
      ['ALTER', 'ARCHIVE', 'BACKUP', 'BEGIN', 'CANCEL', 'CHECK', 'COMMIT', 'CREATE', 'LOOKUP', 'RESET', 'RETIRE', 'ROLLBACK', 'SELECT', 'SET', 'UNARCHIVE'],
      '',
    ]);
    expect(await complete('AR', context)).toEqual([['ARCHIVE'], 'AR']);
    expect(await complete('sel', context)).toEqual([['select'], 'sel']);
  });

  it('offers the keyword the grammar expects next', async () => {
    expect(await complete('ALTER MODEL spam US', context)).toEqual([['USE'], 'US']);
    expect(await complete('ALTER MODEL spam USE ', context)).toEqual([['BEST', 'PREVIOUS', 'VERSION'], '']);
    expect((await complete('SELECT * FROM ML_JOBS ', context))[0]).toEqual(['GROUP', 'LIMIT', 'OFFSET', 'ORDER', 'WHERE']);
  });

  it('offers the lifecycle, tenant and schema keywords', async () => {
    expect(await complete('ALTER MODEL spam VERSION 1 ', context)).toEqual([['DEMOTE', 'PROMOTE', 'SET', 'UNSET'], '']);
    expect(await complete('ALTER MODEL spam VERSION 1 promote to ', context)).toEqual([['DEV', 'PRODUCTION', 'STAGING'], '']);
    expect(await complete('SET ', context)).toEqual([['TENANT'], '']);
    expect(await complete('LOOKUP MODEL FOR SCHEMA (age int ', context)).toEqual([['CARDINALITY', 'NULL_RATE'], '']);
    // Field names are not model names: nothing to offer there.
    expect(await complete('LOOKUP MODEL FOR SCHEMA (', context)).toEqual([[], '']);
  });

  it('offers model names after MODEL, case-sensitively', async () => {
    expect(await complete('ALTER MODEL sp', context)).toEqual([['spam'], 'sp']);
    expect(await complete('ARCHIVE MODEL ', context)).toEqual([['Spark', 'ham', 'spam'], '']);
    expect(await complete('ALTER MODEL Sp', context)).toEqual([['Spark'], 'Sp']);
  });

  it('offers table names after FROM', async () => {
    expect(await complete('SELECT * FROM ML_MODEL', context)).toEqual([['ML_MODELS_DASHBOARD', 'ML_MODEL_ALIASES', 'ML_MODEL_EVENTS', 'ML_MODEL_VERSIONS'], 'ML_MODEL']);
    expect(await complete('select * from ml_j', context)).toEqual([['ML_JOBS'], 'ml_j']);
  });

  it('offers columns of the table the statement names', async () => {
    expect(await complete('SELECT * FROM ML_JOBS WHERE st', context)).toEqual([['started_at', 'status'], 'st']);
    expect(await complete('SELECT * FROM ML_MODEL_VERSIONS ORDER BY par', context)).toEqual([['parent_version'], 'par']);
    expect(await complete('SELECT act', { ...context, statement: 'SELECT act FROM ML_MODEL_VERSIONS' })).toEqual([['active'], 'act']);
  });

  it('uses earlier lines of a multi-line statement', async () => {
    expect(await complete('US', { ...context, before: 'ALTER MODEL spam' })).toEqual([['USE'], 'US']);
    expect(await complete('WHERE ver', { ...context, before: 'SELECT *\nFROM ML_MODEL_VERSIONS' })).toEqual([['version'], 'ver']);
  });

  it('completes only the current statement after a ;', async () => {
    expect(await complete('SELECT * FROM ML_JOBS; ALTER MODEL spam U', context)).toEqual([['UNSET', 'USE'], 'U']);
  });

  it('offers nothing inside a string', async () => {
    expect((await complete("SELECT * FROM ML_JOBS WHERE id = 'st", context))[0]).toEqual([]);
  });

  it('completes meta commands and their arguments', async () => {
    expect(await complete('.d', context)).toEqual([['.describe'], '.d']);
    expect((await complete('.', context))[0]).toContain('.quit');
    expect(await complete('.describe h', context)).toEqual([['ham'], 'h']);
    expect(await complete('.mode c', context)).toEqual([['csv'], 'c']);
    expect(await complete('.timer o', context)).toEqual([['off', 'on'], 'o']);
  });

  it('survives a failing model lookup', async () => {
    expect(await complete('ALTER MODEL s', { models: async () => Promise.reject(new Error('closed')) })).toEqual([[], 's']);
  });
});

describe('REPL helpers', () => {
  it('runnableEnd finds the last ; outside strings and comments', () => {
    expect(runnableEnd('SELECT 1')).toBe(-1);
    expect(runnableEnd("SELECT ';'")).toBe(-1);
    expect(runnableEnd("SELECT 'a;")).toBe(-1);
    expect(runnableEnd('SELECT 1 -- ;')).toBe(-1);
    expect(runnableEnd('SELECT /* ; ')).toBe(-1);
    expect(runnableEnd('SELECT 1; SELECT')).toBe(9);
    expect(runnableEnd('SELECT @;')).toBe(9);
  });

  it('historyEntry joins lines unless that changes the tokens', () => {
    expect(historyEntry(['SELECT *', '  FROM ML_JOBS;'])).toBe('SELECT * FROM ML_JOBS;');
    expect(historyEntry(['SELECT * -- all', 'FROM ML_JOBS;'])).toBe('SELECT * -- all\nFROM ML_JOBS;');
    expect(historyEntry(["SELECT 'a", "b' FROM ML_JOBS;"])).toBe("SELECT 'a\nb' FROM ML_JOBS;");
  });

  it('loadHistory reads entries newest first, with escaped line breaks', async () => {
    const file = join(tmp, 'loaded-history');
    await writeFile(file, 'one\ntwo\\nlines\nback\\\\slash\n');
    expect(loadHistory(file)).toEqual(['back\\slash', 'two\nlines', 'one']);
    expect(loadHistory(join(tmp, 'missing'))).toEqual([]);
  });
});
