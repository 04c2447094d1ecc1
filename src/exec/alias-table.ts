/**
 * `ML_MODEL_ALIASES`: every alias the session can see, by model name then alias.
 * Aliases live in the model heads, so the table costs O(models); `model = 'x'` reads
 * one head.
 */

import { isModelSqlError } from '../errors.js';
import type { Registry } from '../store/registry.js';
import type { ModelAlias } from '../store/types.js';
import type { ColumnDef, Row, ScanHints, VirtualTable } from './virtual-table.js';

export const ALIAS_COLUMNS: readonly ColumnDef[] = [
  { name: 'model', type: 'text' },
  { name: 'alias', type: 'text' },
  { name: 'version', type: 'integer' },
  { name: 'set_at', type: 'timestamp' },
  { name: 'set_by', type: 'text' },
  { name: 'tenant', type: 'text' },
];

function aliasRow(a: ModelAlias): Row {
  return { model: a.model, alias: a.alias, version: a.version, set_at: a.setAt, set_by: a.setBy, tenant: a.tenant };
}

/** The aliases table over one session's registry view. */
export function aliasTable(registry: Registry): VirtualTable {
  return {
    name: 'ML_MODEL_ALIASES',
    columns: ALIAS_COLUMNS,
    async *scan(hints: ScanHints) {
      const model = hints.equals.get('model');
      if (model !== undefined && typeof model !== 'string') return;
      let rows: ModelAlias[];
      try {
        rows = await registry.listAliases(model);
      } catch (error) {
        // A name that cannot be a model matches nothing, as in the other tables.
        if (model !== undefined && isModelSqlError(error, 'INVALID_ARGUMENT')) return;
        throw error;
      }
      for (const alias of rows) yield aliasRow(alias);
    },
  };
}
