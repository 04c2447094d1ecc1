/**
 * `ML_MODEL_EVENTS`: the event log as a table, in seq order. `model = 'x'` reads that
 * model's history through its index (O(its events)), not the whole log.
 */

import type { ModelEvent } from '../store/events.js';
import type { Registry } from '../store/registry.js';
import type { ColumnDef, Row, ScanHints, VirtualTable } from './virtual-table.js';

export const EVENT_COLUMNS: readonly ColumnDef[] = [
  { name: 'seq', type: 'integer' },
  { name: 'at', type: 'timestamp' },
  { name: 'actor', type: 'text' },
  { name: 'tenant', type: 'text' },
  { name: 'model', type: 'text' },
  { name: 'version', type: 'integer' },
  { name: 'kind', type: 'text' },
  // A version number, a stage, an alias target or a tag value: JSON, so each keeps its type.
  { name: 'old_value', type: 'json' },
  { name: 'new_value', type: 'json' },
  { name: 'detail', type: 'json' },
];

function eventRow(e: ModelEvent): Row {
  return {
    seq: e.seq,
    at: e.at,
    actor: e.actor,
    tenant: e.tenant,
    model: e.model,
    version: e.version,
    kind: e.kind,
    old_value: e.oldValue,
    new_value: e.newValue,
    detail: e.detail,
  };
}

/** The events table over one session's registry view. */
export function eventTable(registry: Registry): VirtualTable {
  return {
    name: 'ML_MODEL_EVENTS',
    columns: EVENT_COLUMNS,
    async *scan(hints: ScanHints) {
      const model = hints.equals.get('model');
      if (model !== undefined && typeof model !== 'string') return;
      for await (const event of registry.scanEvents(model)) yield eventRow(event);
    },
  };
}
