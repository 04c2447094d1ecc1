/**
 * Replays the event log from an empty registry, independently of the code under test,
 * and checks that it rebuilds what the registry stores: every model's active pointer,
 * retired flag, aliases and tags, and each version's archived flag, stage, retired flag
 * and tags.
 */
import { expect } from 'vitest';
import type { Database, Row } from '../../src/index.js';

interface ReplayedVersion {
  archived: boolean;
  stage: string;
  retired: boolean;
  tags: Record<string, string>;
}

interface ReplayedModel {
  active: number | null;
  retired: boolean;
  aliases: Record<string, number>;
  tags: Record<string, string>;
  versions: Map<number, ReplayedVersion>;
}

const sortedKeys = <T>(o: Record<string, T>): Record<string, T> => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));

/** What a log (ML_MODEL_EVENTS rows, in seq order) says each model is now, keyed `tenant/name`. */
export function replay(events: readonly Row[]): Map<string, ReplayedModel> {
  const models = new Map<string, ReplayedModel>();
  let lastSeq = 0;
  for (const e of events) {
    expect(e.seq, 'seqs increase by one').toBe(lastSeq + 1);
    lastSeq = e.seq as number;
    const id = `${e.tenant ?? ''}/${e.model}`;
    let model = models.get(id);
    if (!model) models.set(id, (model = { active: null, retired: false, aliases: Object.create(null), tags: Object.create(null), versions: new Map() }));
    const version = e.version as number | null;
    const at = (): ReplayedVersion => {
      const found = version === null ? undefined : model.versions.get(version);
      expect(found, `event ${e.seq} (${e.kind}) names version ${version} of ${id}, which no version_created event created`).toBeDefined();
      return found!;
    };
    switch (e.kind) {
      case 'version_created':
        expect(model.versions.has(version!), `version ${version} of ${id} created twice`).toBe(false);
        model.versions.set(version!, { archived: false, stage: 'dev', retired: false, tags: Object.create(null) });
        break;
      case 'version_copied': {
        // On the target (`detail.from`) a copy creates a version; on the source (`detail.to`) it changes nothing.
        const detail = e.detail as { from?: unknown; to?: unknown } | null;
        if (detail?.from === undefined) {
          expect(detail?.to, `event ${e.seq}: a version_copied event names from or to`).toBeDefined();
          at();
          break;
        }
        expect(model.versions.has(version!), `version ${version} of ${id} created twice`).toBe(false);
        model.versions.set(version!, { archived: false, stage: 'dev', retired: false, tags: Object.create(null) });
        break;
      }
      case 'active_moved':
        expect(e.old_value, `event ${e.seq}: old_value is the pointer before`).toBe(model.active);
        model.active = e.new_value as number | null;
        break;
      case 'archived':
      case 'unarchived':
        at().archived = e.kind === 'archived';
        break;
      case 'stage_moved':
        expect(e.old_value, `event ${e.seq}: old_value is the stage before`).toBe(at().stage);
        at().stage = e.new_value as string;
        break;
      case 'retired':
        if (version === null) model.retired = true;
        else at().retired = true;
        break;
      case 'alias_set':
      case 'alias_moved':
      case 'alias_dropped': {
        const alias = (e.detail as { alias: string }).alias;
        const current = Object.hasOwn(model.aliases, alias) ? model.aliases[alias] : null;
        expect(current === null, `event ${e.seq}: ${e.kind} of alias ${alias} that ${current === null ? 'does not exist' : 'exists'}`).toBe(e.kind === 'alias_set');
        expect(e.old_value, `event ${e.seq}: old_value is where the alias pointed`).toBe(current);
        if (e.kind === 'alias_dropped') delete model.aliases[alias];
        else {
          at(); // the target exists
          model.aliases[alias] = e.new_value as number;
        }
        break;
      }
      case 'tag_set':
      case 'tag_removed': {
        const tags = version === null ? model.tags : at().tags;
        const tag = (e.detail as { tag: string }).tag;
        expect(e.old_value, `event ${e.seq}: old_value is the tag's value before`).toBe(Object.hasOwn(tags, tag) ? tags[tag] : null);
        if (e.kind === 'tag_removed') delete tags[tag];
        else tags[tag] = e.new_value as string;
        break;
      }
      default:
        throw new Error(`replay does not know event kind ${String(e.kind)}`);
    }
  }
  return models;
}

/** Expects the log replayed from empty to equal what the registry stores, as `db` sees it. */
export async function expectLogRebuildsState(db: Database): Promise<void> {
  const replayed = replay((await db.query('SELECT * FROM ML_MODEL_EVENTS')).rows);
  // Naming `retired` in WHERE lists retired models and versions too.
  const heads = (await db.query('SELECT name, tenant, active_version, retired, aliases, tags FROM ML_MODELS_DASHBOARD WHERE retired IS NOT NULL')).rows;
  const versions = (await db.query('SELECT model, tenant, version, archived, stage, retired, tags FROM ML_MODEL_VERSIONS WHERE retired IS NOT NULL')).rows;
  const stored = new Map<string, ReplayedModel>();
  for (const h of heads) {
    const id = `${h.tenant ?? ''}/${h.name}`;
    stored.set(id, { active: h.active_version as number | null, retired: h.retired as boolean, aliases: h.aliases as Record<string, number>, tags: sortedKeys(h.tags as Record<string, string>), versions: new Map() });
  }
  for (const v of versions) {
    const model = stored.get(`${v.tenant ?? ''}/${v.model}`)!;
    model.versions.set(v.version as number, { archived: v.archived as boolean, stage: v.stage as string, retired: v.retired as boolean, tags: sortedKeys(v.tags as Record<string, string>) });
  }
  // A version of a retired model shows as retired.
  for (const model of replayed.values()) {
    model.aliases = sortedKeys(model.aliases);
    model.tags = sortedKeys(model.tags);
    for (const v of model.versions.values()) {
      v.retired ||= model.retired;
      v.tags = sortedKeys(v.tags);
    }
  }
  const sorted = (m: Map<string, ReplayedModel>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, s]) => [id, { ...s, versions: [...s.versions].sort(([a], [b]) => a - b) }]);
  expect(sorted(replayed), 'the log replayed from empty').toEqual(sorted(stored));
}
