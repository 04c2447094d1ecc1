/**
 * Tenants learn nothing from timing (issue 8): what a lookup reads depends only on the
 * scopes its session may see. Checked without timing: a counting view of the index's
 * sublevels records every seek and every key a lookup reads, and tenant B's counts must
 * be the same whether or not tenant A has 1,500 versions sharing B's field names.
 */
import { describe, expect, it } from 'vitest';
import { CommitQueue, type WriteOp } from '../../src/store/commit-queue.js';
import type { Fingerprint } from '../../src/store/fingerprint.js';
import { escapeSegment, modelKey } from '../../src/store/keys.js';
import { openLevel, type Level, type TextSublevel } from '../../src/store/level.js';
import { SchemaIndex, type IndexedVersion } from '../../src/store/schema-index.js';
import { schema, type Field } from '../helpers/schemas.js';

/** Seeks (range opens and point reads) and keys read, per sublevel. */
interface Reads {
  seeks: number;
  keys: number;
}

/**
 * A view of `sublevel` that counts what is read through it. Any other method throws, so
 * a read the index starts making some other way cannot slip past the count.
 */
function counting(sublevel: TextSublevel, reads: Reads): TextSublevel {
  const range = (open: () => AsyncIterable<unknown> & { all(): Promise<unknown[]> }) => {
    reads.seeks++;
    const inner = open();
    return {
      async all() {
        const all = await inner.all();
        reads.keys += all.length;
        return all;
      },
      async *[Symbol.asyncIterator]() {
        for await (const item of inner) {
          reads.keys++;
          yield item;
        }
      },
    };
  };
  const methods: Record<string, unknown> = {
    keys: (options: object) => range(() => sublevel.keys(options)),
    iterator: (options: object) => range(() => sublevel.iterator(options)),
    values: (options: object) => range(() => sublevel.values(options)),
    get: (key: string) => {
      reads.seeks++;
      reads.keys++;
      return sublevel.get(key);
    },
    hasMany: (keys: string[]) => {
      reads.seeks += keys.length;
      reads.keys += keys.length;
      return sublevel.hasMany(keys);
    },
  };
  return new Proxy(sublevel, {
    get(target, property) {
      if (typeof property === 'string' && property in methods) return methods[property];
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value === 'function') throw new Error(`the counting view does not count ${String(property)}()`);
      return value;
    },
  });
}

/** A store with B's and global schemas, optionally A's 1,500 look-alikes, and a counting index for lookups. */
async function store(withTenantA: boolean, scanLimit?: number) {
  const level = await openLevel({ memory: true });
  const queue = new CommitQueue(level.root, [], false);
  const writer = new SchemaIndex(level);
  const ops: WriteOp[] = [];
  const add = (name: string, tenant: string | null, version: number, fp: Fingerprint) => {
    const entry: IndexedVersion = { modelKey: modelKey(name, tenant), version, createdAt: 1000 + ops.length };
    ops.push(...writer.addOps(entry, fp));
  };
  add('g', null, 1, schema([SSN, { name: 'city', kind: 'text' }, { name: 'zip', kind: 'text' }]));
  add('g', null, 2, schema([SSN, { name: 'city', kind: 'text' }, { name: 'zip', kind: 'text' }, { name: 'b', kind: 'text' }], 100));
  B_SCHEMAS.forEach((fields, i) => add(`own${i % 2}`, 'b', i + 1, schema(fields, 100)));
  if (withTenantA) {
    for (let i = 0; i < 1500; i++) {
      const own = { name: `a_${i}`, kind: 'text' };
      // Distinct schemas with B's names (one posting each per field), B's own schemas
      // exactly, and near variants of them: everything B's queries could touch.
      const fields = i % 3 === 0 ? [SSN, own] : i % 3 === 1 ? [...B_SCHEMAS[i % B_SCHEMAS.length]!, own] : B_SCHEMAS[i % B_SCHEMAS.length]!;
      add(`a${i % 50}`, 'a', i + 1, schema(fields, 100));
    }
  }
  await queue.submit(ops, queue.epoch);
  const reads = { postings: { seeks: 0, keys: 0 }, entries: { seeks: 0, keys: 0 } };
  const view: Level = { ...level, schemaTokens: counting(level.schemaTokens, reads.postings), fingerprints: counting(level.fingerprints, reads.entries) };
  return { index: new SchemaIndex(view, { scanLimit }), reads };
}

const SSN: Field = { name: 'ssn', kind: 'id' };
const B_SCHEMAS: Field[][] = [
  [SSN, { name: 'b', kind: 'text' }, { name: 'c', kind: 'date' }],
  [SSN, { name: 'b', kind: 'text' }, { name: 'c', kind: 'date' }, { name: 'd', kind: 'number' }],
  [{ name: 'name', kind: 'name' }, SSN, { name: 'email', kind: 'email' }],
  [SSN, ...'bcdefg'.split('').map((name) => ({ name, kind: 'text' }))],
];
const QUERIES: [string, Fingerprint][] = [
  ['an unrelated schema with a shared name (cold start)', schema([SSN, { name: 'zz', kind: 'text' }])],
  ["one of B's schemas (warm load)", schema(B_SCHEMAS[0]!)],
  ["near B's schemas, with stats (warm start)", schema([...B_SCHEMAS[1]!, { name: 'zz', kind: 'text' }], 100)],
  ['near a global schema (warm start)', schema([SSN, { name: 'city', kind: 'text' }, { name: 'zip', kind: 'text' }, { name: 'zz', kind: 'text' }])],
  ['a shared name with another kind (warm start)', schema([{ name: 'ssn', kind: 'text' }, ...'bcdefg'.split('').map((name) => ({ name, kind: 'text' }))], 100)],
];
const always = () => true;

describe("schema index: one tenant's lookups read nothing of another's schemas", () => {
  it.each([
    ['tenant b', [escapeSegment('b'), '']],
    ['the global session', ['']],
  ])('%s reads the same keys, and gets the same answers, whether or not tenant a has 1,500 versions sharing its field names', async (_, scopes) => {
    // 1000: the default, where A's postings alone would make `ssn:id` "very common"; 4: B's own are.
    for (const scanLimit of [undefined, 4]) {
      const without = await store(false, scanLimit);
      const withA = await store(true, scanLimit);
      for (const [what, query] of QUERIES) {
        const expected = await without.index.lookup(query, scopes, always);
        const actual = await withA.index.lookup(query, scopes, always);
        expect({ what, actual, reads: withA.reads }).toEqual({ what, actual: expected, reads: without.reads });
      }
      // The counts are of real work: B's lookups read its own and global postings and entries.
      expect(without.reads.postings.keys).toBeGreaterThan(QUERIES.length);
      expect(without.reads.entries.keys).toBeGreaterThan(0);
    }
  });

  it('the outcomes cover warm loads, warm starts and cold starts', async () => {
    const { index } = await store(true);
    const modes = await Promise.all(QUERIES.map(async ([, query]) => (await index.lookup(query, [escapeSegment('b'), ''], always)).mode));
    expect(modes).toEqual(['cold_start', 'warm_load', 'warm_start', 'warm_start', 'warm_start']);
  });
});
