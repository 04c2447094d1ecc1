import { describe, expect, it } from 'vitest';
import { StatementCache } from '../../src/exec/statement-cache.js';

describe('StatementCache', () => {
  it('returns the cached AST for repeated text and evicts the least recently used', () => {
    const cache = new StatementCache(2);
    const a = cache.parse('ALTER MODEL a USE VERSION $1');
    const b = cache.parse('ALTER MODEL b USE VERSION $1');
    expect(cache.parse('ALTER MODEL a USE VERSION $1')).toBe(a); // hit; a is now the most recent
    cache.parse('ALTER MODEL c USE VERSION $1'); // evicts b, not a
    expect(cache.parse('ALTER MODEL a USE VERSION $1')).toBe(a);
    const b2 = cache.parse('ALTER MODEL b USE VERSION $1');
    expect(b2).not.toBe(b);
    expect(b2).toEqual(b);
  });

  it('does not cache syntax errors', () => {
    const cache = new StatementCache();
    expect(() => cache.parse('ALTER MODEL a USE VERISON 1')).toThrow(expect.objectContaining({ code: 'SYNTAX_ERROR' }));
    expect(() => cache.parse('ALTER MODEL a USE VERISON 1')).toThrow(expect.objectContaining({ code: 'SYNTAX_ERROR' }));
  });
});
