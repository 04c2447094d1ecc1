import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { storedJson } from '../helpers/store.js';
import { isModelSqlError } from '../../src/errors.js';
import { CommitQueue } from '../../src/store/commit-queue.js';
import { fingerprintDistance, normalizeSchema, type Fingerprint } from '../../src/store/fingerprint.js';
import { escapeSegment, modelKey } from '../../src/store/keys.js';
import { openLevel } from '../../src/store/level.js';
import { SchemaIndex, type IndexedVersion, type LookupOutcome } from '../../src/store/schema-index.js';
import { BRP, EXTENDED, SIM, schema, type Field } from '../helpers/schemas.js';


const GLOBAL = [''];
const ACME = [escapeSegment('acme'), ''];
const always = () => true;

async function store(scanLimit?: number) {
  const level = await openLevel({ memory: true });
  const queue = new CommitQueue(level.root, [], false);
  const index = new SchemaIndex(level, { scanLimit });
  return {
    level,
    index,
    add: (entry: IndexedVersion, fp: Fingerprint) => queue.submit(index.addOps(entry, fp), queue.epoch),
    remove: (entry: IndexedVersion, fp: Fingerprint) => queue.submit(index.removeOps(entry, fp), queue.epoch),
  };
}

const v = (name: string, version: number, createdAt: number, tenant: string | null = null): IndexedVersion => ({
  modelKey: modelKey(name, tenant),
  version,
  createdAt,
});

describe('schema index: the zer seed cases', () => {
  it('an exact schema is a warm load of the stored version', async () => {
    const { index, add } = await store();
    await add(v('brp', 1, 100), schema(BRP));
    expect(await index.lookup(schema([...BRP].reverse()), GLOBAL, always)).toEqual({ mode: 'warm_load', modelKey: ':brp', version: 1, distance: 0 });
  });

  it('an empty index is a cold start', async () => {
    const { index } = await store();
    expect(await index.lookup(schema(BRP), GLOBAL, always)).toEqual({ mode: 'cold_start' });
  });

  it('one added field is a warm start at the exact distance', async () => {
    const { index, add } = await store();
    await add(v('brp', 1, 100), schema(BRP));
    const outcome = await index.lookup(schema(EXTENDED), GLOBAL, always);
    expect(outcome).toEqual({ mode: 'warm_start', modelKey: ':brp', version: 1, distance: fingerprintDistance(schema(EXTENDED), schema(BRP)) });
    expect(outcome).toMatchObject({ distance: expect.closeTo((1 / 6) * 0.7, 15) });
  });

  it('BRP against SIM is a cold start (distance 0.35)', async () => {
    const { index, add } = await store();
    await add(v('brp', 1, 100), schema(BRP));
    expect(await index.lookup(schema(SIM), GLOBAL, always)).toEqual({ mode: 'cold_start' });
  });

  it('the nearest stored schema wins', async () => {
    const { index, add } = await store();
    await add(v('brp', 1, 100), schema(BRP));
    await add(v('sim', 1, 200), schema(SIM));
    expect(await index.lookup(schema(EXTENDED), GLOBAL, always)).toMatchObject({ mode: 'warm_start', modelKey: ':brp', version: 1 });
  });

  it('a removed version is no longer found; another with the same schema still is', async () => {
    const { index, add, remove } = await store();
    await add(v('brp', 1, 100), schema(BRP));
    await add(v('brp', 2, 200), schema(BRP));
    await remove(v('brp', 2, 200), schema(BRP));
    expect(await index.lookup(schema(BRP), GLOBAL, always)).toMatchObject({ mode: 'warm_load', version: 1 });
    expect(await index.lookup(schema(EXTENDED), GLOBAL, always)).toMatchObject({ mode: 'warm_start', version: 1 });
    await remove(v('brp', 1, 100), schema(BRP));
    expect(await index.lookup(schema(BRP), GLOBAL, always)).toEqual({ mode: 'cold_start' });
    expect(await index.lookup(schema(EXTENDED), GLOBAL, always)).toEqual({ mode: 'cold_start' });
  });
});

describe('schema index: scopes, recency and accept', () => {
  it('prefers the newest exact match, then falls back to older ones the registry accepts', async () => {
    const { index, add } = await store();
    await add(v('a', 1, 100), schema(BRP));
    await add(v('b', 7, 300), schema(BRP));
    await add(v('c', 2, 200), schema(BRP));
    expect(await index.lookup(schema(BRP), GLOBAL, always)).toMatchObject({ modelKey: ':b', version: 7 });
    const asked: string[] = [];
    const outcome = await index.lookup(schema(BRP), GLOBAL, async (key, version) => {
      asked.push(`${key}@${version}`);
      return key !== ':b';
    });
    expect(outcome).toEqual({ mode: 'warm_load', modelKey: ':c', version: 2, distance: 0 });
    expect(asked).toEqual([':b@7', ':c@2']);
  });

  it('searches the own tenant before global models, and never another tenant', async () => {
    const { index, add } = await store();
    await add(v('global', 1, 900), schema(BRP));
    await add(v('mine', 1, 100, 'acme'), schema(BRP));
    await add(v('theirs', 1, 999, 'acme:corp'), schema(BRP));
    expect(await index.lookup(schema(BRP), ACME, always)).toMatchObject({ mode: 'warm_load', modelKey: 'acme:mine' });
    expect(await index.lookup(schema(BRP), GLOBAL, always)).toMatchObject({ mode: 'warm_load', modelKey: ':global' });
    expect(await index.lookup(schema(BRP), ACME, (key) => key !== 'acme:mine')).toMatchObject({ modelKey: ':global' });
    expect(await index.lookup(schema(BRP), [escapeSegment('acme:corp')], always)).toMatchObject({ modelKey: 'acme%3Acorp:theirs' });
    // Same for warm starts: the own tenant wins a tie.
    expect(await index.lookup(schema(EXTENDED), ACME, always)).toMatchObject({ mode: 'warm_start', modelKey: 'acme:mine' });
    expect(await index.lookup(schema(EXTENDED), GLOBAL, always)).toMatchObject({ mode: 'warm_start', modelKey: ':global' });
  });

  it('an exact schema nobody accepts falls through to the nearest accepted one', async () => {
    const { index, add } = await store();
    await add(v('exact', 1, 100), schema(EXTENDED));
    await add(v('near', 1, 100), schema(BRP));
    expect(await index.lookup(schema(EXTENDED), GLOBAL, (key) => key !== ':exact')).toMatchObject({ mode: 'warm_start', modelKey: ':near' });
    expect(await index.lookup(schema(EXTENDED), GLOBAL, () => false)).toEqual({ mode: 'cold_start' });
  });

  it('on equal distance the newer version wins, and only would-be winners are offered to accept', async () => {
    const { index, add } = await store();
    await add(v('m', 1, 100), schema(BRP));
    await add(v('m', 2, 200), schema(BRP));
    await add(v('m', 3, 150), schema(BRP));
    const asked: number[] = [];
    const outcome = await index.lookup(schema(EXTENDED), GLOBAL, (_, version) => {
      asked.push(version);
      return version !== 2;
    });
    expect(outcome).toMatchObject({ mode: 'warm_start', version: 3 });
    expect(asked).toEqual([2, 3]);
  });

  it('uses each version\'s own stats, so the closest stats win among versions of one schema', async () => {
    const { index, add } = await store();
    const stats = (rate: number) => BRP.map((f) => ({ ...f, nullRate: rate, cardinality: 100 }));
    await add(v('m', 1, 100), schema(stats(0.5), 1000));
    await add(v('m', 2, 200), schema(stats(0.1), 1000));
    await add(v('m', 3, 300), schema(stats(0.9), 1000));
    const query = schema([...stats(0.2), { name: 'verblijfstitel', kind: 'categorical' }], 1000);
    const outcome = await index.lookup(query, GLOBAL, always);
    expect(outcome).toEqual({ mode: 'warm_start', modelKey: ':m', version: 2, distance: fingerprintDistance(query, schema(stats(0.1), 1000)) });
  });

  it('counts a shared name with a different kind in the stats, as fingerprintDistance does', async () => {
    const { index, add } = await store();
    const stored = schema([
      { name: 'a', kind: 'id', nullRate: 0, cardinality: 10 },
      { name: 'b', kind: 'id', nullRate: 0, cardinality: 10 },
      { name: 'c', kind: 'id', nullRate: 0, cardinality: 10 },
      { name: 'd', kind: 'id', nullRate: 0, cardinality: 10 },
      { name: 'e', kind: 'id', nullRate: 0, cardinality: 10 },
      { name: 'f', kind: 'text' },
    ], 50);
    await add(v('m', 1, 100), stored);
    const query = schema([...'abcde'].map((name) => ({ name, kind: 'id', nullRate: 0, cardinality: 10 })).concat({ name: 'f', kind: 'name', nullRate: 1, cardinality: 5 }), 50);
    // J = 5/7; f is shared by name: S = (5 + 0)/6, not 5/5.
    const distance = fingerprintDistance(query, stored);
    expect(distance).toBeCloseTo((2 / 7) * 0.7 + (1 / 6) * 0.3, 15);
    expect(await index.lookup(query, GLOBAL, always)).toEqual({ mode: 'warm_start', modelKey: ':m', version: 1, distance });
  });
});

describe('schema index: the threshold edge', () => {
  // J = 9/14 is exactly the smallest Jaccard index that can warm-start: (5/14)·0.7 = 0.25,
  // and both size bounds (9/14·14 = 9, 9/(9/14) = 14) are whole numbers, where rounding
  // must not drop the candidate.
  const fields = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `f${String(i).padStart(2, '0')}`, kind: 'id' }));

  it.each([
    [14, 9],
    [9, 14],
  ])('a %i-field query finds the %i-field schema at distance (1 − 9/14)·0.7', async (query, stored) => {
    const { index, add } = await store();
    await add(v('m', 1, 100), schema(fields(stored)));
    const distance = fingerprintDistance(schema(fields(query)), schema(fields(stored)));
    expect(distance).toBe((1 - 9 / 14) * 0.7);
    expect(distance).toBeLessThanOrEqual(0.25);
    expect(await index.lookup(schema(fields(query)), GLOBAL, always)).toEqual({ mode: 'warm_start', modelKey: ':m', version: 1, distance });
  });

  it('one field fewer in common is a cold start', async () => {
    const { index, add } = await store();
    // J = 8 / (14 + 9 − 8) = 8/15.
    await add(v('m', 1, 100), schema([...fields(14).slice(0, 8), { name: 'other', kind: 'id' }]));
    expect(await index.lookup(schema(fields(14)), GLOBAL, always)).toEqual({ mode: 'cold_start' });
  });
});

describe('schema index: heavy tokens', () => {
  // Every schema has `id:id`; with a scan limit of 3 its postings are never read in full.
  const own = (m: number, n: number) => Array.from({ length: n }, (_, i) => ({ name: `m${m}_${i}`, kind: 'text' }));
  const ID = { name: 'id', kind: 'id' };

  it('finds a near schema through its rarer tokens and checks the skipped one per candidate', async () => {
    const { index, add } = await store(3);
    for (let m = 0; m < 10; m++) await add(v(`m${m}`, 1, m), schema([ID, ...own(m, 5)]));
    const query = schema([ID, ...own(4, 5), { name: 'extra', kind: 'id' }]);
    const distance = fingerprintDistance(query, schema([ID, ...own(4, 5)]));
    expect(distance).toBeCloseTo((1 / 7) * 0.7, 15);
    expect(await index.lookup(query, GLOBAL, always)).toEqual({ mode: 'warm_start', modelKey: ':m4', version: 1, distance });
    // Without the shared `id:id` the overlap is 4 of 8: too far.
    expect(await index.lookup(schema([{ name: 'id', kind: 'name' }, ...own(4, 4), { name: 'extra', kind: 'id' }]), GLOBAL, always)).toEqual({ mode: 'cold_start' });
  });

  it('reads heavy tokens in full when too many of them to skip', async () => {
    const { index, add } = await store(1);
    const common = [ID, { name: 'name', kind: 'name' }, { name: 'email', kind: 'email' }];
    for (let m = 0; m < 6; m++) await add(v(`m${m}`, 1, m), schema([...common, ...own(m, 1)]));
    const query = schema(common);
    expect(await index.lookup(query, GLOBAL, always)).toMatchObject({ mode: 'warm_start', modelKey: ':m5', distance: (1 - 3 / 4) * 0.7 });
  });
});

describe('schema index: storage', () => {
  it('writes the documented keys and values', async () => {
    const { level, index, add } = await store();
    const fp = schema([{ name: 'a:b', kind: 'id', nullRate: 0.5 }, { name: '__proto__', kind: 'name' }, { name: '%', kind: 'text', cardinality: 4 }], 12);
    await add(v('m:1', 3, 1_700_000_000_000, 'acme'), fp);
    await add(v('g', 1, 5), fp);
    expect(await level.fingerprints.keys().all()).toEqual([`:${fp.hash}:000000000000005:g:0000000001`, `acme:${fp.hash}:001700000000000:m%3A1:0000000003`]);
    expect(storedJson((await level.fingerprints.values().all())[1])).toEqual({ r: 12, s: { '%': [null, 4], 'a:b': [0.5, null] } });
    // Each scope has its own postings, even of the same schema.
    expect(await level.schemaTokens.keys().all()).toEqual([
      `:%25:text:0003:${fp.hash}`, `:__proto__:name:0003:${fp.hash}`, `:a%3Ab:id:0003:${fp.hash}`,
      `acme:%25:text:0003:${fp.hash}`, `acme:__proto__:name:0003:${fp.hash}`, `acme:a%3Ab:id:0003:${fp.hash}`,
    ]);
    expect(await level.fingerprints.keys().all()).toEqual((await level.root.sublevel('schema_entries').keys().all()));
    expect(await level.schemaTokens.keys().all()).toEqual((await level.root.sublevel('schema_postings').keys().all()));
    expect(await index.lookup(fp, [escapeSegment('acme')], always)).toEqual({ mode: 'warm_load', modelKey: 'acme:m%3A1', version: 3, distance: 0 });
  });

  it('rejects entries that would not sort correctly', async () => {
    const { index } = await store();
    expect(() => index.addOps({ modelKey: 'nocolon', version: 1, createdAt: 0 }, schema(BRP))).toThrow(/not a model key/);
    expect(() => index.addOps(v('m', -1, 0), schema(BRP))).toThrow(/version -1/);
    expect(() => index.addOps(v('m', 1, 1e15), schema(BRP))).toThrow(/creation time/);
  });

  it('reports a damaged entry as CORRUPTION', async () => {
    const { level, index, add } = await store();
    await add(v('m', 1, 100), schema(BRP, 10));
    const [key] = await level.fingerprints.keys().all();
    await level.fingerprints.put(key!, '{"r":10,"s":{"x":[2,1]}}');
    const error = await index.lookup(schema(EXTENDED, 10), GLOBAL, always).catch((e: unknown) => e);
    expect(isModelSqlError(error, 'CORRUPTION')).toBe(true);
    expect(error).toMatchObject({ namespace: 'schema_entries', key });
  });
});

// ---------------------------------------------------------------------------------------
// Property: the index answers exactly like a linear scan with fingerprintDistance.

const NAMES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'x:y', 'p%q', '__proto__', 'ü'];
const KINDS = ['id', 'name', 'text'];

const fieldArb = (name: fc.Arbitrary<string>) =>
  fc.record({
    name,
    kind: fc.constantFrom(...KINDS),
    nullRate: fc.option(fc.constantFrom(0, 0.1, 0.5, 1), { freq: 3 }),
    cardinality: fc.option(fc.nat(20), { freq: 3 }),
  });
const fieldsArb = fc.uniqueArray(fieldArb(fc.constantFrom(...NAMES)), { selector: (f) => f.name, minLength: 1, maxLength: 7 });
const recordCountArb = fc.option(fc.constantFrom(0, 10, 1000), { freq: 4 });

/**
 * A schema near `base`: maybe one field dropped, one kind changed, one field added, and
 * stats from a narrow range, so that warm starts (J ≥ 0.643 and similar stats) are common.
 */
const nearArb = (base: readonly Field[]) =>
  fc
    .record({
      drop: fc.option(fc.nat(base.length - 1)),
      retype: fc.option(fc.tuple(fc.nat(base.length - 1), fc.constantFrom(...KINDS)), { freq: 2 }),
      extra: fc.option(fieldArb(fc.constantFrom(...NAMES))),
      stats: fc.array(fc.tuple(fc.option(fc.constantFrom(0, 0.1), { freq: 3 }), fc.option(fc.constantFrom(10, 12), { freq: 3 })), {
        minLength: base.length,
        maxLength: base.length,
      }),
      recordCount: recordCountArb,
    })
    .map(({ drop, retype, extra, stats, recordCount }) => {
      const fields: Field[] = base.map((f, i) => ({
        name: f.name,
        kind: retype?.[0] === i ? retype[1] : f.kind,
        nullRate: stats[i]![0],
        cardinality: stats[i]![1],
      }));
      if (drop !== null && fields.length > 1) fields.splice(drop, 1);
      if (extra && !fields.some((g) => g.name === extra.name)) fields.push(extra);
      return normalizeSchema({ fields, recordCount });
    });

interface Stored {
  readonly entry: IndexedVersion;
  readonly scope: string;
  readonly tail: string;
  readonly fp: Fingerprint;
  readonly removed: boolean;
}

/**
 * Random tenant names from a tiny alphabet with the key syntax in it, so names collide,
 * are prefixes of each other (`a`, `a:`, `a%3A`) and need escaping. Entries and queries
 * pick a tenant by position in the run's pool (null: global).
 */
const tenantPoolArb = fc.uniqueArray(fc.string({ unit: fc.constantFrom('a', 'c', ':', '%', '3', 'A'), minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 4 });
const tenantPickArb = fc.option(fc.nat(3), { freq: 3 });
/** A session's scopes: a tenant's own then global, a tenant's own only, or global only. */
const scopesOf = (tenant: string | null, withGlobal: boolean): string[] => (tenant === null ? [''] : withGlobal ? [escapeSegment(tenant), ''] : [escapeSegment(tenant)]);

const registryArb = fc.uniqueArray(fieldArb(fc.constantFrom(...NAMES)), { selector: (f) => f.name, minLength: 3, maxLength: 8 }).chain((base) =>
  fc.record({
    // Tiny limits make common tokens "heavy", exercising the skip-and-check path.
    scanLimit: fc.constantFrom(1, 2, 3, undefined),
    tenants: tenantPoolArb,
    entries: fc.array(
      fc.record({
        fp: fc.oneof({ weight: 4, arbitrary: nearArb(base) }, { weight: 1, arbitrary: fc.record({ f: fieldsArb, r: recordCountArb }).map(({ f, r }) => normalizeSchema({ fields: f, recordCount: r })) }),
        tenant: tenantPickArb,
        name: fc.constantFrom('m1', 'm:2', 'm%3'),
        createdAt: fc.nat(4),
        removed: fc.nat(4).map((n) => n === 0),
      }),
      { maxLength: 14 },
    ),
    queries: fc.array(
      fc.record({
        // null: the names and kinds of a stored entry (index `copyOf`) without its stats: an exact match.
        fp: fc.oneof(nearArb(base), fieldsArb.map((f) => normalizeSchema({ fields: f })), fc.constant(null)),
        copyOf: fc.nat(),
        recordCount: recordCountArb,
        tenant: tenantPickArb,
        withGlobal: fc.boolean(),
        rejected: fc.array(fc.nat(13), { maxLength: 4 }),
        async: fc.boolean(),
      }),
      { minLength: 1, maxLength: 4 },
    ),
  }),
);

/** What a linear scan over every live, in-scope, accepted entry says. */
function bruteForce(stored: readonly Stored[], query: Fingerprint, scopes: readonly string[], accepted: (s: Stored) => boolean): LookupOutcome {
  const live = stored.filter((s) => !s.removed && scopes.includes(s.scope) && accepted(s));
  const rank = (s: Stored) => scopes.indexOf(s.scope);
  // Earlier scope, then newer (key order of createdAt, name, version).
  const before = (x: Stored, y: Stored) => rank(x) < rank(y) || (rank(x) === rank(y) && x.tail > y.tail);
  const exact = live.filter((s) => s.fp.hash === query.hash);
  if (exact.length > 0) {
    const first = exact.reduce((x, y) => (before(y, x) ? y : x));
    return { mode: 'warm_load', modelKey: first.entry.modelKey, version: first.entry.version, distance: 0 };
  }
  let best: { s: Stored; d: number } | null = null;
  for (const s of live) {
    const d = fingerprintDistance(query, s.fp);
    if (d > 0.25) continue;
    if (!best || d < best.d || (d === best.d && before(s, best.s))) best = { s, d };
  }
  return best ? { mode: 'warm_start', modelKey: best.s.entry.modelKey, version: best.s.entry.version, distance: best.d } : { mode: 'cold_start' };
}

describe('schema index: property', () => {
  it('answers exactly like a linear scan with fingerprintDistance', async () => {
    let warmStarts = 0;
    let warmLoads = 0;
    let colds = 0;
    await fc.assert(
      fc.asyncProperty(registryArb, async ({ scanLimit, tenants, entries, queries }) => {
        const tenantOf = (pick: number | null) => (pick === null ? null : tenants[pick % tenants.length]!);
        const { index, add, remove } = await store(scanLimit);
        const stored: Stored[] = [];
        for (const [i, e] of entries.entries()) {
          const entry: IndexedVersion = { modelKey: modelKey(e.name, tenantOf(e.tenant)), version: i + 1, createdAt: e.createdAt };
          await add(entry, e.fp);
          if (e.removed) await remove(entry, e.fp);
          const [scope, name] = entry.modelKey.split(':') as [string, string];
          stored.push({ entry, scope, tail: `${String(e.createdAt).padStart(15, '0')}:${name}:${String(i + 1).padStart(10, '0')}`, fp: e.fp, removed: e.removed });
        }
        for (const q of queries) {
          const copied = stored.length > 0 ? stored[q.copyOf % stored.length]!.fp : normalizeSchema({ fields: [{ name: 'a', kind: 'id' }] });
          const query = q.fp ?? normalizeSchema({ fields: copied.fields.map((f) => ({ name: f.name, kind: f.kind })), recordCount: q.recordCount });
          const isAccepted = (version: number) => !q.rejected.includes(version - 1);
          const accept = (_: string, version: number) => (q.async ? Promise.resolve(isAccepted(version)) : isAccepted(version));
          const scopes = scopesOf(tenantOf(q.tenant), q.withGlobal);
          const expected = bruteForce(stored, query, scopes, (s) => isAccepted(s.entry.version));
          const actual = await index.lookup(query, scopes, accept);
          expect(actual).toEqual(expected);
          if (actual.mode !== 'cold_start') {
            const winner = stored.find((s) => s.entry.modelKey === actual.modelKey && s.entry.version === actual.version)!;
            expect(fingerprintDistance(query, winner.fp)).toBe(actual.distance);
            if (actual.mode === 'warm_load') warmLoads++;
            else warmStarts++;
          } else colds++;
        }
      }),
      { numRuns: 1000 },
    );
    // The generator must exercise every outcome, or the property says little.
    expect(warmLoads).toBeGreaterThan(50);
    expect(warmStarts).toBeGreaterThan(50);
    expect(colds).toBeGreaterThan(50);
  });
});
