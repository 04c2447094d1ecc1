/**
 * Checksummed record text. A JSON record can survive a flipped byte and still parse
 * (a digit of a hash, a letter of a stage), so every record is stored sealed:
 *
 *   `#` <CRC-32 of the JSON text, 8 lowercase hex digits> <JSON text, ASCII only>
 *
 * The JSON is written with every non-ASCII character escaped (`\u00e9`), so the stored
 * bytes are exactly the string's characters. A damaged byte then either stays ASCII
 * (one changed byte: CRC-32 detects every error burst of up to 32 bits) or becomes a
 * non-ASCII byte, which reads back as U+FFFD and is refused as non-ASCII. A damaged
 * prefix fails its own shape check or the CRC comparison.
 *
 * Records written before format 3 are bare JSON objects and always start with `{`; a
 * sealed record starts with `#`, so the two never look alike. A `{` reached by damage
 * to a sealed record is followed by hex digits, which is not JSON, so damage cannot
 * turn a sealed record into a valid unsealed one. Unsealed records are read unchecked
 * (as older modelsql wrote them); they are never rewritten in bulk.
 */

import { crc32 } from 'node:zlib';
import { corruption } from '../errors.js';

const MARK = '#';
const CRC_DIGITS = 8;
const PREFIX_LENGTH = MARK.length + CRC_DIGITS;
const HEX8 = /^[0-9a-f]{8}$/;
const NON_ASCII = /[^\x00-\x7f]/;
const NON_ASCII_GLOBAL = /[\u0080-\uffff]/g;

function escapeNonAscii(json: string): string {
  return NON_ASCII.test(json) ? json.replace(NON_ASCII_GLOBAL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : json;
}

/** Seals JSON text for storage: checksum prefix, non-ASCII escaped. */
export function sealJson(json: string): string {
  const ascii = escapeNonAscii(json);
  return `${MARK}${crc32(ascii).toString(16).padStart(CRC_DIGITS, '0')}${ascii}`;
}

/**
 * The JSON text of a stored record, checked against its checksum; an unsealed record
 * (format 1 and 2) is returned as it is. Anything else is CORRUPTION naming `namespace`
 * and `key`.
 */
export function unsealJson(raw: unknown, namespace: string, key: string): string {
  if (typeof raw !== 'string') throw corruption(namespace, key, 'value is not text');
  if (raw.startsWith('{')) return raw; // written before format 3: no checksum
  if (!raw.startsWith(MARK) || raw.length < PREFIX_LENGTH) throw corruption(namespace, key, 'value is neither a checksummed record nor a JSON object');
  const digits = raw.slice(MARK.length, PREFIX_LENGTH);
  if (!HEX8.test(digits)) throw corruption(namespace, key, 'checksum prefix is damaged');
  const json = raw.slice(PREFIX_LENGTH);
  // Sealed text is ASCII; a damaged byte at or above 0x80 reads back as U+FFFD, whose
  // UTF-8 form is longer (byteLength is a third of the cost of a regex test here).
  if (Buffer.byteLength(json, 'utf8') !== json.length) throw corruption(namespace, key, 'record contains a byte that is not ASCII');
  if (crc32(json) !== parseInt(digits, 16)) throw corruption(namespace, key, 'checksum mismatch (the stored value was damaged)');
  return json;
}
