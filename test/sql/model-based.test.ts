/**
 * Model-based test: random sequences of CREATE / USE VERSION / USE PREVIOUS VERSION /
 * USE BEST VERSION / ARCHIVE / UNARCHIVE / PROMOTE / DEMOTE / RETIRE / SET and DROP
 * ALIAS / SET and UNSET TAG over a few model names, with versions named by number or
 * by alias, checked statement by statement
 * against a tiny in-memory model of the registry (RedDB semantics), and, after every
 * statement, that replaying the event log from empty rebuilds every head as stored.
 * BEGIN ... COMMIT | ROLLBACK groups run statements inside a transaction, checked as
 * they go (the session reads its own writes); ROLLBACK must bring back the state at BEGIN.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Database, ErrorCode, Row } from '../../src/index.js';
import { expectLogRebuildsState } from '../helpers/replay.js';
import { expectFailsUnchanged, ident, memoryDb, one, sha256, snapshot, weights } from '../helpers/sql.js';

const STAGE_ORDER = ['dev', 'staging', 'production'] as const;
type StageName = (typeof STAGE_ORDER)[number];

interface VersionState {
  archived: boolean;
  stage: StageName;
  retired: boolean;
  tags: Record<string, string>;
}

interface ModelState {
  versions: VersionState[];
  active: number | null;
  retired: boolean;
  aliases: Map<string, number>;
  tags: Record<string, string>;
  /**
   * The pointer's history as the documented rule of USE PREVIOUS VERSION describes it:
   * every ordinary move (a clear included) pushes the new value; going back pops.
   */
  pointer: (number | null)[];
}

const newModel = (): ModelState => ({ versions: [], active: null, retired: false, aliases: new Map(), tags: Object.create(null), pointer: [] });

/** Moves the model's pointer the ordinary way (not a rollback). */
function move(state: ModelState, to: number | null): void {
  if (state.active === to) return;
  state.active = to;
  state.pointer.push(to);
}

/** Drops the aliases pointing at versions `which` selects (archive, retire). */
function dropAliases(state: ModelState, which: (version: number) => boolean): void {
  for (const [alias, version] of state.aliases) if (which(version)) state.aliases.delete(alias);
}

/** A version as a command names it: a number, or an alias. */
type Ref = number | `@${string}`;

/** The version a ref names, or the error naming it fails with (the model is known). */
function resolveRef(state: ModelState, ref: Ref): number | ErrorCode {
  if (typeof ref === 'number') return ref;
  return state.aliases.get(ref.slice(1)) ?? 'UNKNOWN_ALIAS';
}

const printRef = (ref: Ref): string => (typeof ref === 'number' ? String(ref) : ref);
type Model = Map<string, ModelState>;

/** `spam2` has `spam` as a prefix on purpose. */
const NAMES = ['spam', 'spam2', 'h.am'] as const;

/** What the model expects a statement that touches `version` of `name` to fail with, if anything. */
function lookupError(model: Model, name: string, version: number): ErrorCode | null {
  if (version < 1) return 'INVALID_ARGUMENT';
  const state = model.get(name);
  if (!state) return 'UNKNOWN_MODEL';
  if (version > state.versions.length) return 'UNKNOWN_VERSION';
  return null;
}

/** What USE VERSION fails with, if anything (the model's retirement is checked before the version). */
function useError(model: Model, name: string, version: number): ErrorCode | null {
  const state = model.get(name);
  if (version < 1 || !state) return lookupError(model, name, version);
  if (state.retired) return 'MODEL_RETIRED';
  const code = lookupError(model, name, version);
  if (code) return code;
  const entry = state.versions[version - 1]!;
  return entry.retired ? 'VERSION_RETIRED' : entry.archived ? 'VERSION_ARCHIVED' : null;
}

async function checkAgainstModel(model: Model, db: Database): Promise<void> {
  const names = [...model.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // Naming `retired` lists retired models and versions too.
  const dashboard = await db.query(
    'SELECT name, active_version, total_versions, archived_versions, latest_version, retired, aliases, tags FROM ML_MODELS_DASHBOARD WHERE retired IS NOT NULL',
  );
  expect(dashboard.rows).toEqual(
    names.map((name) => {
      const s = model.get(name)!;
      return {
        name,
        active_version: s.active,
        total_versions: s.versions.length,
        archived_versions: s.versions.filter((v) => v.archived).length,
        latest_version: s.versions.length,
        retired: s.retired,
        aliases: Object.fromEntries([...s.aliases].sort(([a], [b]) => (a < b ? -1 : 1))),
        tags: s.tags,
      };
    }),
  );
  const versions = await db.query('SELECT model, version, active, archived, stage, retired, aliases, tags FROM ML_MODEL_VERSIONS WHERE retired IS NOT NULL ORDER BY model, version');
  const expected: Row[] = [];
  for (const name of names) {
    const s = model.get(name)!;
    s.versions.forEach((v, i) => {
      const aliases = [...s.aliases].filter(([, target]) => target === i + 1).map(([alias]) => alias).sort();
      expected.push({ model: name, version: i + 1, active: s.active === i + 1, archived: v.archived, stage: v.stage, retired: v.retired || s.retired, aliases, tags: v.tags });
    });
  }
  expect(versions.rows).toEqual(expected);
  // A transaction's events are logged at COMMIT: inside one, the log is behind its state.
  if (!db.inTransaction) await expectLogRebuildsState(db);
}

/** The model as it was at BEGIN, while a transaction is open: what ROLLBACK goes back to. */
const atBegin = new WeakMap<Model, Model>();

/** A deep copy of the model (tags keep their null prototype: `__proto__` is a tag key). */
function cloneModel(model: Model): Model {
  const copyTags = (tags: Record<string, string>): Record<string, string> => Object.assign(Object.create(null) as Record<string, string>, tags);
  return new Map(
    [...model].map(([name, s]) => [
      name,
      { versions: s.versions.map((v) => ({ ...v, tags: copyTags(v.tags) })), active: s.active, retired: s.retired, aliases: new Map(s.aliases), tags: copyTags(s.tags), pointer: [...s.pointer] },
    ]),
  );
}

/** BEGIN: the statements up to COMMIT or ROLLBACK join one transaction; each is checked against the model as it runs (the handle reads its own writes). */
class Begin implements fc.AsyncCommand<Model, Database> {
  check(model: Model): boolean {
    return !atBegin.has(model);
  }
  async run(model: Model, db: Database): Promise<void> {
    expect((await db.query('BEGIN')).rows).toEqual([]);
    expect(db.inTransaction).toBe(true);
    atBegin.set(model, cloneModel(model));
    await checkAgainstModel(model, db);
  }
  toString(): string {
    return 'BEGIN';
  }
}

/** COMMIT (the model keeps what the transaction did) or ROLLBACK (back to the model at BEGIN). */
class End implements fc.AsyncCommand<Model, Database> {
  constructor(readonly commit: boolean) {}
  check(model: Model): boolean {
    return atBegin.has(model);
  }
  async run(model: Model, db: Database): Promise<void> {
    const before = atBegin.get(model)!;
    atBegin.delete(model);
    const lastSeq = async (): Promise<number> => ((await db.query('SELECT max(seq) AS last FROM ML_MODEL_EVENTS')).rows[0]!.last as number | null) ?? 0;
    const committedBefore = await lastSeq();
    const result = await db.query(this.commit ? 'COMMIT' : 'ROLLBACK');
    expect(db.inTransaction).toBe(false);
    if (this.commit) {
      // Its events, consecutive, right after what was committed before.
      const { events, first_seq, last_seq } = one(result) as { events: number; first_seq: number | null; last_seq: number | null };
      expect(await lastSeq()).toBe(committedBefore + events);
      expect([first_seq, last_seq]).toEqual(events === 0 ? [null, null] : [committedBefore + 1, committedBefore + events]);
    } else {
      expect(result.rows).toEqual([]);
      expect(await lastSeq()).toBe(committedBefore);
      model.clear();
      for (const [name, state] of before) model.set(name, state);
    }
    await checkAgainstModel(model, db);
  }
  toString(): string {
    return this.commit ? 'COMMIT' : 'ROLLBACK';
  }
}

/** Runs a statement the model says must not change anything visible (an error, or a no-op). */
async function unchanged(db: Database, run: () => Promise<Row>): Promise<Row> {
  const before = await snapshot(db);
  const row = await run();
  expect(await snapshot(db)).toEqual(before);
  return row;
}

class Create implements fc.AsyncCommand<Model, Database> {
  constructor(readonly name: string, readonly active: boolean, readonly seed: number) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, db: Database): Promise<void> {
    const bytes = weights(this.seed, 8);
    const sql = `CREATE MODEL ${ident(this.name)} WITH (weights = $1, active = $2)`;
    if (model.get(this.name)?.retired) {
      await expectFailsUnchanged(db, () => db.query(sql, [bytes, this.active]), 'MODEL_RETIRED');
      return;
    }
    const row = one(await db.query(sql, [bytes, this.active]));
    const state = model.get(this.name) ?? newModel();
    model.set(this.name, state);
    state.versions.push({ archived: false, stage: 'dev', retired: false, tags: Object.create(null) });
    const version = state.versions.length;
    if (this.active) move(state, version);
    expect(row).toEqual({ model: this.name, version, active: this.active, sha256: sha256(bytes) });
    await checkAgainstModel(model, db);
  }
  toString(): string {
    return `CREATE MODEL ${this.name} (active=${this.active})`;
  }
}

class Use implements fc.AsyncCommand<Model, Database> {
  constructor(readonly name: string, readonly ref: Ref) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, db: Database): Promise<void> {
    const sql = `ALTER MODEL ${ident(this.name)} USE VERSION ${printRef(this.ref)}`;
    const state = model.get(this.name);
    let target: number | ErrorCode = typeof this.ref === 'number' ? this.ref : 'UNKNOWN_MODEL';
    if (state && !state.retired) target = resolveRef(state, this.ref);
    const code = typeof target === 'string' ? (state?.retired ? 'MODEL_RETIRED' : target) : useError(model, this.name, target);
    if (code) {
      await expectFailsUnchanged(db, () => db.query(sql), code);
    } else {
      const version = target as number;
      const previous = state!.active;
      const run = async () => one(await db.query(sql));
      const row = previous === version ? await unchanged(db, run) : await run();
      move(state!, version);
      expect(row).toEqual({ model: this.name, active_version: version, previous_version: previous });
    }
    await checkAgainstModel(model, db);
  }
  toString(): string {
    return `USE ${this.name} ${printRef(this.ref)}`;
  }
}

/** ALTER MODEL m USE PREVIOUS VERSION, against the documented rule. */
class UsePrevious implements fc.AsyncCommand<Model, Database> {
  constructor(readonly name: string) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, db: Database): Promise<void> {
    const sql = `ALTER MODEL ${ident(this.name)} USE PREVIOUS VERSION`;
    const state = model.get(this.name);
    if (!state || state.retired) {
      await expectFailsUnchanged(db, () => db.query(sql), state ? 'MODEL_RETIRED' : 'UNKNOWN_MODEL');
    } else {
      let found = -1;
      for (let i = state.pointer.length - 2; i >= 0 && found < 0; i--) {
        const v = state.pointer[i];
        if (v === null || v === undefined || v === state.active) continue;
        const entry = state.versions[v - 1]!;
        if (!entry.archived && !entry.retired) found = i;
      }
      if (found < 0) {
        await expectFailsUnchanged(db, () => db.query(sql), 'NO_MATCHING_VERSION');
      } else {
        const previous = state.active;
        const version = state.pointer[found] as number;
        const row = one(await db.query(sql));
        state.pointer.length = found + 1;
        state.active = version;
        expect(row).toEqual({ model: this.name, active_version: version, previous_version: previous });
      }
    }
    await checkAgainstModel(model, db);
  }
  toString(): string {
    return `USE PREVIOUS ${this.name}`;
  }
}

/** ALTER MODEL m SET ALIAS a TO VERSION ref. */
class SetAlias implements fc.AsyncCommand<Model, Database> {
  constructor(readonly name: string, readonly alias: string, readonly ref: Ref) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, db: Database): Promise<void> {
    const sql = `ALTER MODEL ${ident(this.name)} SET ALIAS ${this.alias} TO VERSION ${printRef(this.ref)}`;
    const state = model.get(this.name);
    let code: ErrorCode | null = null;
    let version = 0;
    if (typeof this.ref === 'number' && this.ref < 1) code = 'INVALID_ARGUMENT';
    else if (!state) code = 'UNKNOWN_MODEL';
    else if (state.retired) code = 'MODEL_RETIRED';
    else {
      const target = resolveRef(state, this.ref);
      if (typeof target === 'string') code = target;
      else {
        version = target;
        const entry = state.versions[version - 1];
        code = !entry ? 'UNKNOWN_VERSION' : entry.retired ? 'VERSION_RETIRED' : entry.archived ? 'VERSION_ARCHIVED' : null;
      }
    }
    if (code) {
      await expectFailsUnchanged(db, () => db.query(sql), code);
    } else {
      const previous = state!.aliases.get(this.alias) ?? null;
      const run = async () => one(await db.query(sql));
      const row = previous === version ? await unchanged(db, run) : await run();
      state!.aliases.set(this.alias, version);
      expect(row).toEqual({ model: this.name, alias: this.alias, version, previous_version: previous });
    }
    await checkAgainstModel(model, db);
  }
  toString(): string {
    return `SET ALIAS ${this.name} ${this.alias} -> ${printRef(this.ref)}`;
  }
}

/** ALTER MODEL m DROP ALIAS a. */
class DropAlias implements fc.AsyncCommand<Model, Database> {
  constructor(readonly name: string, readonly alias: string) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, db: Database): Promise<void> {
    const sql = `ALTER MODEL ${ident(this.name)} DROP ALIAS ${this.alias}`;
    const state = model.get(this.name);
    const version = state?.aliases.get(this.alias);
    if (version === undefined) {
      await expectFailsUnchanged(db, () => db.query(sql), state ? 'UNKNOWN_ALIAS' : 'UNKNOWN_MODEL');
    } else {
      const row = one(await db.query(sql));
      state!.aliases.delete(this.alias);
      expect(row).toEqual({ model: this.name, alias: this.alias, version: null, previous_version: version });
    }
    await checkAgainstModel(model, db);
  }
  toString(): string {
    return `DROP ALIAS ${this.name} ${this.alias}`;
  }
}

/** ALTER MODEL m [VERSION ref] SET TAG k = 'v' (value a string) or UNSET TAG k (value null). */
class ChangeTag implements fc.AsyncCommand<Model, Database> {
  constructor(readonly name: string, readonly ref: Ref | null, readonly key: string, readonly value: string | null) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, db: Database): Promise<void> {
    const target = this.ref === null ? '' : ` VERSION ${printRef(this.ref)}`;
    const change = this.value === null ? `UNSET TAG ${this.key}` : `SET TAG ${this.key} = '${this.value}'`;
    const sql = `ALTER MODEL ${ident(this.name)}${target} ${change}`;
    const state = model.get(this.name);
    let code: ErrorCode | null = null;
    let tags: Record<string, string> | undefined;
    if (typeof this.ref === 'number' && this.ref < 1) code = 'INVALID_ARGUMENT';
    else if (!state) code = 'UNKNOWN_MODEL';
    else if (state.retired) code = 'MODEL_RETIRED';
    else if (this.ref === null) tags = state.tags;
    else {
      const version = resolveRef(state, this.ref);
      const entry = typeof version === 'number' ? state.versions[version - 1] : undefined;
      code = typeof version === 'string' ? version : !entry ? 'UNKNOWN_VERSION' : entry.retired ? 'VERSION_RETIRED' : null;
      tags = entry?.tags;
    }
    if (code) {
      await expectFailsUnchanged(db, () => db.query(sql), code);
    } else {
      const previous = Object.hasOwn(tags!, this.key) ? tags![this.key]! : null;
      const run = async () => one(await db.query(sql));
      const row = previous === this.value ? await unchanged(db, run) : await run();
      if (this.value === null) delete tags![this.key];
      else tags![this.key] = this.value;
      expect(row).toEqual({ model: this.name, tag: this.key, value: this.value, previous_value: previous, changed: previous === this.value ? 0 : 1 });
    }
    await checkAgainstModel(model, db);
  }
  toString(): string {
    return `TAG ${this.name} ${this.ref === null ? '' : printRef(this.ref)} ${this.key}=${this.value}`;
  }
}

/** USE BEST VERSION BY version ASC | DESC [WHERE stage = s]: the lowest or highest servable version (at that stage). */
class UseBest implements fc.AsyncCommand<Model, Database> {
  constructor(readonly name: string, readonly direction: 'ASC' | 'DESC', readonly stage: StageName | null) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, db: Database): Promise<void> {
    const where = this.stage === null ? '' : ` WHERE stage = '${this.stage}'`;
    const sql = `ALTER MODEL ${ident(this.name)} USE BEST VERSION BY version ${this.direction}${where}`;
    const state = model.get(this.name);
    const candidates = (state?.versions ?? []).flatMap((v, i) => (!v.archived && !v.retired && (this.stage === null || v.stage === this.stage) ? [i + 1] : []));
    const code: ErrorCode | null = !state ? 'UNKNOWN_MODEL' : state.retired ? 'MODEL_RETIRED' : candidates.length === 0 ? 'NO_MATCHING_VERSION' : null;
    if (code) {
      await expectFailsUnchanged(db, () => db.query(sql), code);
    } else {
      const best = this.direction === 'DESC' ? candidates.at(-1)! : candidates[0]!;
      const previous = state!.active;
      const run = async () => one(await db.query(sql));
      const row = previous === best ? await unchanged(db, run) : await run();
      move(state!, best);
      expect(row).toEqual({ model: this.name, active_version: best, previous_version: previous, by_value: best });
    }
    await checkAgainstModel(model, db);
  }
  toString(): string {
    return `USE BEST ${this.name} ${this.direction} ${this.stage ?? ''}`;
  }
}

/** ARCHIVE MODEL m VERSION n (archive = true) or UNARCHIVE MODEL m VERSION n (false). */
class SetArchived implements fc.AsyncCommand<Model, Database> {
  constructor(readonly name: string, readonly version: number, readonly archive: boolean) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, db: Database): Promise<void> {
    const verb = this.archive ? 'ARCHIVE' : 'UNARCHIVE';
    const sql = `${verb} MODEL ${ident(this.name)} VERSION $1`;
    const code = lookupError(model, this.name, this.version);
    if (code) {
      await expectFailsUnchanged(db, () => db.query(sql, [this.version]), code);
    } else {
      const state = model.get(this.name)!;
      const entry = state.versions[this.version - 1]!;
      const run = async () => one(await db.query(sql, [this.version]));
      const changed = entry.archived !== this.archive;
      const row = changed ? await run() : await unchanged(db, run);
      entry.archived = this.archive;
      if (this.archive) {
        if (state.active === this.version) move(state, null);
        dropAliases(state, (v) => v === this.version);
      }
      const count = changed ? 1 : 0;
      expect(row).toEqual({ model: this.name, ...(this.archive ? { archived: count } : { unarchived: count }), active_version: state.active });
    }
    await checkAgainstModel(model, db);
  }
  toString(): string {
    return `${this.archive ? 'ARCHIVE' : 'UNARCHIVE'} ${this.name} v${this.version}`;
  }
}

class ArchiveModel implements fc.AsyncCommand<Model, Database> {
  constructor(readonly name: string) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, db: Database): Promise<void> {
    const sql = `ARCHIVE MODEL ${ident(this.name)}`;
    const state = model.get(this.name);
    if (!state) {
      await expectFailsUnchanged(db, () => db.query(sql), 'UNKNOWN_MODEL', `unknown model '${this.name}'`);
    } else {
      const count = state.versions.filter((v) => !v.archived).length;
      const run = async () => one(await db.query(sql));
      const row = count > 0 ? await run() : await unchanged(db, run);
      for (const v of state.versions) v.archived = true;
      if (count > 0) {
        move(state, null);
        dropAliases(state, () => true);
      }
      expect(row).toEqual({ model: this.name, archived: count, active_version: null });
    }
    await checkAgainstModel(model, db);
  }
  toString(): string {
    return `ARCHIVE MODEL ${this.name}`;
  }
}

/** ALTER MODEL m VERSION n PROMOTE TO / DEMOTE TO stage. */
class ChangeStage implements fc.AsyncCommand<Model, Database> {
  constructor(readonly name: string, readonly version: number, readonly promote: boolean, readonly to: StageName) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, db: Database): Promise<void> {
    const sql = `ALTER MODEL ${ident(this.name)} VERSION $1 ${this.promote ? 'PROMOTE' : 'DEMOTE'} TO ${this.to}`;
    let code = lookupError(model, this.name, this.version);
    const state = model.get(this.name);
    const entry = code ? undefined : state!.versions[this.version - 1]!;
    if (entry && this.promote) code = state!.retired ? 'MODEL_RETIRED' : entry.retired ? 'VERSION_RETIRED' : entry.archived ? 'VERSION_ARCHIVED' : null;
    if (entry && !code && STAGE_ORDER.indexOf(this.to) - STAGE_ORDER.indexOf(entry.stage) !== (this.promote ? 1 : -1)) code = 'INVALID_TRANSITION';
    if (code) {
      await expectFailsUnchanged(db, () => db.query(sql, [this.version]), code);
    } else {
      const row = one(await db.query(sql, [this.version]));
      expect(row).toMatchObject({ model: this.name, version: this.version, from_stage: entry!.stage, stage: this.to });
      entry!.stage = this.to;
    }
    await checkAgainstModel(model, db);
  }
  toString(): string {
    return `${this.promote ? 'PROMOTE' : 'DEMOTE'} ${this.name} v${this.version} TO ${this.to}`;
  }
}

/** RETIRE MODEL m [VERSION n]. */
class Retire implements fc.AsyncCommand<Model, Database> {
  constructor(readonly name: string, readonly version: number | null) {}
  check(): boolean {
    return true;
  }
  async run(model: Model, db: Database): Promise<void> {
    const sql = `RETIRE MODEL ${ident(this.name)}${this.version === null ? '' : ' VERSION $1'}`;
    const params = this.version === null ? [] : [this.version];
    const state = model.get(this.name);
    const code = this.version === null ? (state ? null : 'UNKNOWN_MODEL') : lookupError(model, this.name, this.version);
    if (code) {
      await expectFailsUnchanged(db, () => db.query(sql, params), code);
    } else {
      const entry = this.version === null ? undefined : state!.versions[this.version - 1]!;
      const changed = entry ? !entry.retired : !state!.retired;
      const run = async () => one(await db.query(sql, params));
      const row = changed ? await run() : await unchanged(db, run);
      if (entry) {
        entry.retired = true;
        if (state!.active === this.version) move(state!, null);
        dropAliases(state!, (v) => v === this.version);
      } else {
        state!.retired = true;
        dropAliases(state!, () => true);
      }
      expect(row).toEqual({ model: this.name, version: this.version, retired: changed ? 1 : 0, active_version: state!.active });
    }
    await checkAgainstModel(model, db);
  }
  toString(): string {
    return `RETIRE ${this.name}${this.version === null ? '' : ` v${this.version}`}`;
  }
}

const name = fc.constantFrom(...NAMES);
/** Mostly versions that may exist; sometimes 0 (invalid) or one past what a short run creates. */
const version = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 6) });
const alias = fc.constantFrom('champion', 'challenger', '__proto__');
const ref: fc.Arbitrary<Ref> = fc.oneof({ weight: 3, arbitrary: version }, { weight: 1, arbitrary: alias.map((a): Ref => `@${a}`) });
const commands = [
  fc.tuple(name, fc.boolean(), fc.nat(255)).map(([n, a, s]) => new Create(n, a, s)),
  fc.tuple(name, fc.boolean(), fc.nat(255)).map(([n, a, s]) => new Create(n, a, s)),
  fc.tuple(name, ref).map(([n, v]) => new Use(n, v)),
  fc.tuple(name, ref).map(([n, v]) => new Use(n, v)),
  name.map((n) => new UsePrevious(n)),
  name.map((n) => new UsePrevious(n)),
  fc.tuple(name, alias, ref).map(([n, a, v]) => new SetAlias(n, a, v)),
  fc.tuple(name, alias).map(([n, a]) => new DropAlias(n, a)),
  fc.tuple(name, fc.option(ref, { freq: 2 }), fc.constantFrom('team', 'validated', '__proto__'), fc.option(fc.constantFrom('a', 'b'), { freq: 3 })).map(
    ([n, v, k, value]) => new ChangeTag(n, v, k, value),
  ),
  fc.tuple(name, fc.constantFrom('ASC' as const, 'DESC' as const), fc.option(fc.constantFrom(...STAGE_ORDER), { nil: null })).map(([n, d, s]) => new UseBest(n, d, s)),
  fc.tuple(name, version).map(([n, v]) => new SetArchived(n, v, true)),
  name.map((n) => new ArchiveModel(n)),
  fc.tuple(name, version).map(([n, v]) => new SetArchived(n, v, false)),
  fc.tuple(name, version, fc.boolean(), fc.constantFrom(...STAGE_ORDER)).map(([n, v, p, to]) => new ChangeStage(n, v, p, to)),
  fc.tuple(name, version, fc.boolean(), fc.constantFrom(...STAGE_ORDER)).map(([n, v, p, to]) => new ChangeStage(n, v, p, to)),
  fc.tuple(name, fc.option(version, { freq: 3 })).map(([n, v]) => new Retire(n, v)),
  fc.constant(new Begin()),
  fc.boolean().map((commit) => new End(commit)),
  fc.boolean().map((commit) => new End(commit)),
];

describe('registry statements against a model of the registry', () => {
  it('every result, error and dashboard row matches the model', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 40, size: '+1' }), async (cmds) => {
        const db = await memoryDb();
        try {
          await fc.asyncModelRun(() => ({ model: new Map<string, ModelState>(), real: db }), cmds);
        } finally {
          await db.close();
        }
      }),
      { numRuns: 120 },
    );
  });
});
