/**
 * LOOKUP MODEL FOR SCHEMA at scale: 100,000 fingerprinted versions (1,000 models × 100
 * versions; each model's schema is 6–14 fields drawn, skewed, from 2,000 names × the
 * kinds, and drifts by a field now and then across its versions, with fresh stats each
 * time). Times the three answers through SQL, beside the seed's approach: a linear scan
 * over every fingerprint, here even held in memory.
 */

import { FIELD_KINDS, fingerprintDistance, normalizeSchema, type Fingerprint } from '../dist/store/fingerprint.js';
import type { Database } from '../dist/index.js';

interface Field {
  readonly name: string;
  readonly kind: string;
}

/** Deterministic PRNG (mulberry32), so every run benchmarks the same registry. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VOCABULARY = 2000;

function schemaSql(fields: readonly Field[], recordCount?: number): string {
  return `SCHEMA (${fields.map((f) => `${f.name} ${f.kind}`).join(', ')})${recordCount === undefined ? '' : ` RECORD_COUNT ${recordCount}`}`;
}

/** Fills `db` and returns median LOOKUP times (ms) per outcome plus the linear-scan baseline. */
export async function lookupBench(
  db: Database,
  options: { models: number; versionsPerModel: number; runs: number; timeMs: (runs: number, work: () => Promise<unknown>) => Promise<number> },
): Promise<Record<string, number>> {
  const random = rng(1);
  const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  const name = (): string => `field_${Math.floor(VOCABULARY * random() ** 2)}`;
  const kind = (): string => FIELD_KINDS[int(0, FIELD_KINDS.length - 1)]!;

  const schemas: Field[][][] = [];
  for (let m = 0; m < options.models; m++) {
    const start = new Map<string, Field>();
    const size = int(6, 14);
    while (start.size < size) {
      const n = name();
      start.set(n, { name: n, kind: kind() });
    }
    let current = [...start.values()];
    const versions: Field[][] = [];
    for (let v = 0; v < options.versionsPerModel; v++) {
      const roll = random();
      if (roll < 0.08 && current.length < 16) {
        const n = name();
        if (!current.some((f) => f.name === n)) current = [...current, { name: n, kind: kind() }];
      } else if (roll < 0.16 && current.length > 5) {
        const drop = int(0, current.length - 1);
        current = current.filter((_, i) => i !== drop);
      }
      versions.push(current);
    }
    schemas.push(versions);
  }

  // Version-major order, 64 in flight, through the typed API (the fill is not what is measured).
  const fingerprints: Fingerprint[] = [];
  const total = options.models * options.versionsPerModel;
  const fillStart = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (next < total) {
      const i = next++;
      const fields = schemas[i % options.models]![Math.floor(i / options.models)]!;
      const schema = {
        fields: fields.map((f) => ({ ...f, nullRate: Math.round(random() * 100) / 100, cardinality: int(1, 100_000) })),
        recordCount: int(1_000, 1_000_000),
      };
      fingerprints.push(normalizeSchema(schema));
      await db.registry.registerVersion(`fp${i % options.models}`, { artifact: 's3://bench', schema, active: false });
    }
  }));
  const fillS = (performance.now() - fillStart) / 1000;
  await new Promise((resolve) => setTimeout(resolve, 2000)); // let compaction after the bulk load settle

  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const queries = {
    warm_load: (): string => `LOOKUP MODEL FOR ${schemaSql(pick(pick(schemas)), 5000)}`,
    // One field no schema has: near one model's schemas, equal to none. No record count,
    // so stats do not weigh in (they are random here) and the Jaccard term decides.
    warm_start: (): string => `LOOKUP MODEL FOR ${schemaSql([...pick(pick(schemas)), { name: `brand_new_${int(0, 1e9)}`, kind: 'text' }])}`,
    cold_start: (): string => {
      const fields = new Map<string, Field>();
      while (fields.size < 10) {
        const n = name();
        fields.set(n, { name: n, kind: kind() });
      }
      return `LOOKUP MODEL FOR ${schemaSql([...fields.values()], 1000)}`;
    },
  };
  const out: Record<string, number> = { lookup_fingerprinted_versions: total, lookup_fill_s: Number(fillS.toFixed(1)) };
  for (const [mode, make] of Object.entries(queries)) {
    // Check the workload really produces the outcome it is named after.
    const sample = await db.query(make());
    if (sample.rows[0]!.mode !== mode) throw new Error(`bench query for ${mode} answered ${String(sample.rows[0]!.mode)}`);
    out[`lookup_${mode}_ms`] = await options.timeMs(options.runs, () => db.query(make()));
  }
  const probe = normalizeSchema({ fields: [...pick(pick(schemas)), { name: 'brand_new', kind: 'text' }] });
  out.linear_scan_in_memory_ms = await options.timeMs(Math.max(3, Math.floor(options.runs / 5)), async () => {
    let best = Infinity;
    for (const fp of fingerprints) best = Math.min(best, fingerprintDistance(probe, fp));
    return best;
  });
  return out;
}

/**
 * What one tenant's LOOKUP reveals about another's schemas (issue 8). Tenant A registers
 * 1,500 versions of schemas with an `ssn ID` field; tenant B (with a few schemas of its
 * own, and global ones, built alike around `ssn` and `nss`) then looks up
 * `(ssn ID, zz TEXT)`, with A's shared name, and `(nss ID, zz TEXT)`, a name A never
 * used, in the same store, timed alternately so that drift weighs on both alike. Both are
 * cold starts that read every posting in their window. A ratio near 1 means B cannot
 * tell from the time whether A uses `ssn`. (Timing B before and after A's registrations
 * would also measure the store growing by 1,500 versions, which slows every read a little.)
 */
export async function crossTenantBench(db: Database, options: { versions: number; runs: number }): Promise<Record<string, number>> {
  const a = db.withTenant('tenant_a');
  const b = db.withTenant('tenant_b');
  for (const id of ['ssn', 'nss']) {
    await db.query(`CREATE MODEL global_${id} WITH (artifact = $1) SCHEMA (${id} ID, city TEXT, zip TEXT)`, ['s3://bench']);
    for (let i = 0; i < 5; i++) await b.query(`CREATE MODEL own_${id}_${i} WITH (artifact = $1) SCHEMA (${id} ID, b_${i} TEXT, c_${i} DATE)`, ['s3://bench']);
  }
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < options.versions) {
      const i = next++;
      await a.query(`CREATE MODEL a${i % 50} WITH (artifact = $1) SCHEMA (ssn ID, a_${i} TEXT)`, ['s3://bench']);
    }
  }));
  const queries = { shared: 'LOOKUP MODEL FOR SCHEMA (ssn ID, zz TEXT)', unused: 'LOOKUP MODEL FOR SCHEMA (nss ID, zz TEXT)' };
  const times: Record<keyof typeof queries, number[]> = { shared: [], unused: [] };
  for (let run = 0; run < options.runs; run++) {
    for (const which of ['shared', 'unused'] as const) {
      const start = performance.now();
      const mode = (await b.query(queries[which])).rows[0]!.mode;
      times[which].push(performance.now() - start);
      if (mode !== 'cold_start') throw new Error(`cross-tenant bench query answered ${String(mode)}`);
    }
  }
  const median = (xs: number[]): number => Number(xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!.toFixed(3));
  const shared = median(times.shared);
  const unused = median(times.unused);
  return {
    lookup_cross_tenant_shared_name_ms: shared,
    lookup_cross_tenant_unused_name_ms: unused,
    lookup_cross_tenant_shared_vs_unused: Number((shared / unused).toFixed(3)),
  };
}
