import type { StatementNode } from '../parser/ast.js';
import { parseStatement } from '../parser/parse.js';

/**
 * Parsed statements by their text. Apps run the same SQL with different `$n`
 * parameters over and over; parsing is a large share of a statement's CPU cost, and
 * the AST is immutable, so one parse per distinct text is enough.
 */
export class StatementCache {
  private readonly entries = new Map<string, StatementNode>();

  constructor(private readonly capacity = 500) {}

  /** The statement `sql` parses to (syntax errors are thrown, never cached). */
  parse(sql: string): StatementNode {
    const hit = this.entries.get(sql);
    if (hit) {
      // Re-insert so eviction drops the least recently used text.
      this.entries.delete(sql);
      this.entries.set(sql, hit);
      return hit;
    }
    const node = parseStatement(sql);
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(sql, node);
    return node;
  }
}
