/** Schemas from the zer seed's tests (a Dutch population register and a SIM register), shared by the fingerprint tests. */
import { normalizeSchema, type Fingerprint, type SchemaInput } from '../../src/store/fingerprint.js';

export type Field = SchemaInput['fields'][number];

/** Normalizes a field list (and optional record count) into a fingerprint. */
export const schema = (fields: Field[], recordCount?: number | null): Fingerprint => normalizeSchema({ fields, recordCount });

export const BRP: Field[] = [
  { name: 'voornamen', kind: 'name' },
  { name: 'achternaam', kind: 'name' },
  { name: 'geboortedatum', kind: 'date' },
  { name: 'nationaliteit', kind: 'categorical' },
  { name: 'postcode', kind: 'id' },
];

export const SIM: Field[] = [
  { name: 'sim_id', kind: 'id' },
  { name: 'msisdn', kind: 'phone' },
  { name: 'imsi', kind: 'id' },
  { name: 'voornamen', kind: 'name' },
  { name: 'achternaam', kind: 'name' },
  { name: 'geboortedatum', kind: 'date' },
  { name: 'nationaliteit', kind: 'categorical' },
];

/** BRP plus one field: the seed's warm-start case. */
export const EXTENDED: Field[] = [...BRP, { name: 'verblijfstitel', kind: 'categorical' }];
