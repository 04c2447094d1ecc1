import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseScript } from '../../src/parser/index.js';

const grammarPath = fileURLToPath(new URL('../../grammar.md', import.meta.url));

/** Every ```sql fenced block of a markdown document, with the line it starts on. */
export function sqlBlocks(markdown: string): { line: number; sql: string }[] {
  const blocks: { line: number; sql: string }[] = [];
  const lines = markdown.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    if (!/^```sql\s*$/i.test(lines[i] ?? '')) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end] ?? '')) end++;
    if (end >= lines.length) throw new Error(`unclosed sql block at grammar.md line ${i + 1}`);
    blocks.push({ line: start + 1, sql: lines.slice(start, end).join('\n') });
    i = end;
  }
  return blocks;
}

describe('grammar.md', () => {
  const blocks = sqlBlocks(readFileSync(grammarPath, 'utf8'));

  it('has sql examples', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(8);
  });

  it.each(blocks.map((b) => [b.line, b.sql] as const))('example at line %i parses', (_line, sql) => {
    expect(parseScript(sql).length).toBeGreaterThan(0);
  });

  it('the extractor finds blocks and the check fails on a bad example', () => {
    const [block] = sqlBlocks('text\n```sql\nALTER MODEL m USE VERISON 1\n```\n```text\nnot sql\n```\n');
    expect(block).toBeDefined();
    expect(() => parseScript(block?.sql ?? '')).toThrow(/expected VERSION/);
  });
});
