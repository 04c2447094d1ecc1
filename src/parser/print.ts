/**
 * AST back to canonical SQL. The contract is round-tripping: for every AST the
 * parser can produce, `parseStatement(printStatement(ast))` is deep-equal to it.
 * That drives every choice here: names are quoted whenever the plain form would
 * be folded or read as a keyword, `-0` keeps its sign, and parentheses are added
 * exactly where precedence would otherwise reshape the tree.
 */
import { invalidArgument } from '../errors.js';
import { notRun, type ExpressionNode, type SchemaNode, type StatementNode, type ValueNode, type VersionRefNode } from './ast.js';
import { RESERVED_WORDS } from './tokens.js';

const reserved = new Set<string>(RESERVED_WORDS);
const plainName = /^[A-Za-z_][A-Za-z0-9_]*$/;

function quoteIdentifier(name: string): string {
  if (name === '') throw invalidArgument('cannot print an empty identifier');
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Print a name plain when the parser would read it back unchanged: ASCII-plain,
 * not reserved, and already in the case the parser folds that kind of name to.
 */
function printName(name: string, fold: (s: string) => string): string {
  return plainName.test(name) && fold(name) === name && !reserved.has(name.toUpperCase()) ? name : quoteIdentifier(name);
}

const keepCase = (s: string): string => s;
const lower = (s: string): string => s.toLowerCase();
const upper = (s: string): string => s.toUpperCase();

function printNumber(n: number): string {
  if (!Number.isFinite(n)) throw invalidArgument(`cannot print the number ${n}: SQL has no literal for it`);
  if (Object.is(n, -0)) return '-0';
  return String(n); // shortest text that reads back as the same double
}

function printHex(bytes: Uint8Array): string {
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return `x'${hex}'`;
}

/** Print a literal or `$n` parameter. */
export function printValue(node: ValueNode): string {
  if (node.kind === 'Parameter') {
    if (!Number.isSafeInteger(node.index) || node.index < 1) throw invalidArgument(`invalid parameter index ${node.index}`);
    return `$${node.index}`;
  }
  const { value } = node;
  if (value === null) return 'NULL';
  if (value === true) return 'TRUE';
  if (value === false) return 'FALSE';
  if (typeof value === 'number') return printNumber(value);
  if (typeof value === 'string') return `'${value.replace(/'/g, "''")}'`;
  return printHex(value);
}

/** Print how a statement names a version: a value, or `@alias`. */
function printVersionRef(node: VersionRefNode): string {
  if (node.kind !== 'AliasRef') return printValue(node);
  if (!plainName.test(node.name)) throw invalidArgument(`cannot print the alias '${node.name}': an alias reference is @ and a plain name`);
  return `@${node.name}`;
}

// Binding strength; a child printed where a stronger one is required gets parentheses.
const OR = 1;
const AND = 2;
const NOT = 3;
const PREDICATE = 4;
const OPERAND = 5;

function precedence(node: ExpressionNode): number {
  switch (node.kind) {
    case 'Logical':
      return node.op === 'OR' ? OR : AND;
    case 'Not':
      return NOT;
    case 'Comparison':
    case 'IsNull':
    case 'Like':
    case 'In':
      return PREDICATE;
    default:
      return OPERAND;
  }
}

function printAt(node: ExpressionNode, required: number): string {
  const text = printBare(node);
  return precedence(node) < required ? `(${text})` : text;
}

function printBare(node: ExpressionNode): string {
  switch (node.kind) {
    case 'Literal':
    case 'Parameter':
      return printValue(node);
    case 'Column':
      return printName(node.name, lower);
    case 'JsonPath': {
      if (node.keys.length === 0) throw invalidArgument('cannot print a JSON path with no keys');
      return [printName(node.column.name, lower), ...node.keys.map((key) => printName(key, keepCase))].join('.');
    }
    case 'FunctionCall': {
      if (node.star && node.args.length > 0) throw invalidArgument('cannot print a function call with both * and arguments');
      const args = node.star ? '*' : node.args.map((arg) => printAt(arg, OR)).join(', ');
      return `${printName(node.name, lower)}(${args})`;
    }
    case 'Logical': {
      // Left-associative: walk the left spine of same-operator nodes as a loop (a chain
      // may be thousands long); a same-level right child needs parentheses.
      const level = node.op === 'OR' ? OR : AND;
      const rights: ExpressionNode[] = [];
      let left: ExpressionNode = node;
      while (left.kind === 'Logical' && left.op === node.op) {
        rights.push(left.right);
        left = left.left;
      }
      const parts = [printAt(left, level)];
      for (let i = rights.length - 1; i >= 0; i--) parts.push(printAt(rights[i]!, level + 1));
      return parts.join(` ${node.op} `);
    }
    case 'Not': {
      const { count, operand } = notRun(node);
      return `${'NOT '.repeat(count)}${printAt(operand, NOT)}`;
    }
    case 'Comparison':
      return `${printAt(node.left, OPERAND)} ${node.op} ${printAt(node.right, OPERAND)}`;
    case 'IsNull':
      return `${printAt(node.operand, OPERAND)} IS ${node.negated ? 'NOT ' : ''}NULL`;
    case 'Like':
      return `${printAt(node.operand, OPERAND)} ${node.negated ? 'NOT ' : ''}LIKE ${printAt(node.pattern, OPERAND)}`;
    case 'In': {
      if (node.list.length === 0) throw invalidArgument('cannot print IN with an empty list');
      const list = node.list.map((item) => printAt(item, OR)).join(', ');
      return `${printAt(node.operand, OPERAND)} ${node.negated ? 'NOT ' : ''}IN (${list})`;
    }
  }
}

/** Print a WHERE expression with the fewest parentheses that keep its shape. */
export function printExpression(node: ExpressionNode): string {
  return printAt(node, OR);
}

function printSchema(schema: SchemaNode): string {
  if (schema.fields.length === 0) throw invalidArgument('cannot print SCHEMA with no fields');
  const fields = schema.fields.map((f) => {
    let field = `${printName(f.name, keepCase)} ${printName(f.fieldKind, lower)}`;
    if (f.nullRate) field += ` NULL_RATE ${printValue(f.nullRate)}`;
    if (f.cardinality) field += ` CARDINALITY ${printValue(f.cardinality)}`;
    return field;
  });
  const recordCount = schema.recordCount ? ` RECORD_COUNT ${printValue(schema.recordCount)}` : '';
  return `SCHEMA (${fields.join(', ')})${recordCount}`;
}

/**
 * Print a statement as canonical SQL (upper-case keywords, no trailing `;`) that
 * parses back to a deep-equal AST.
 *
 * @throws ModelSqlError INVALID_ARGUMENT for ASTs no SQL text can express (a
 * non-finite number, an empty name, an empty column, IN or SCHEMA list, `$0`, a
 * tenant that is neither a string nor a parameter).
 */
export function printStatement(node: StatementNode): string {
  switch (node.kind) {
    case 'CreateModel': {
      let sql = `CREATE MODEL ${printName(node.model, keepCase)}`;
      if (node.fromVersion) sql += ` FROM VERSION ${printVersionRef(node.fromVersion)}`;
      if (node.options.length > 0) {
        const options = node.options.map(
          (o) => `${printName(o.name, lower)} = ${o.value.kind === 'File' ? `FILE ${printValue(o.value.path)}` : printValue(o.value)}`,
        );
        sql += ` WITH (${options.join(', ')})`;
      }
      if (node.schema) sql += ` ${printSchema(node.schema)}`;
      return sql;
    }
    case 'CopyVersion': {
      let sql = `CREATE MODEL ${printName(node.model, keepCase)} FROM MODEL ${printName(node.source, keepCase)} VERSION ${printVersionRef(node.version)}`;
      if (node.options.length > 0) {
        const options = node.options.map((o) => `${printName(o.name, lower)} = ${o.value.kind === 'File' ? `FILE ${printValue(o.value.path)}` : printValue(o.value)}`);
        sql += ` WITH (${options.join(', ')})`;
      }
      return sql;
    }
    case 'UseVersion':
      return `ALTER MODEL ${printName(node.model, keepCase)} USE VERSION ${printVersionRef(node.version)}`;
    case 'UsePreviousVersion':
      return `ALTER MODEL ${printName(node.model, keepCase)} USE PREVIOUS VERSION`;
    case 'UseBestVersion': {
      const where = node.where === null ? '' : ` WHERE ${printExpression(node.where)}`;
      return `ALTER MODEL ${printName(node.model, keepCase)} USE BEST VERSION BY ${printExpression(node.by)} ${node.direction}${where}`;
    }
    case 'SetAlias':
      return `ALTER MODEL ${printName(node.model, keepCase)} SET ALIAS ${printName(node.alias, keepCase)} TO VERSION ${printVersionRef(node.version)}`;
    case 'DropAlias':
      return `ALTER MODEL ${printName(node.model, keepCase)} DROP ALIAS ${printName(node.alias, keepCase)}`;
    case 'SetTag':
    case 'UnsetTag': {
      const version = node.version === null ? '' : ` VERSION ${printVersionRef(node.version)}`;
      const change = node.kind === 'SetTag' ? `SET TAG ${printName(node.key, keepCase)} = ${printValue(node.value)}` : `UNSET TAG ${printName(node.key, keepCase)}`;
      return `ALTER MODEL ${printName(node.model, keepCase)}${version} ${change}`;
    }
    case 'ChangeStage':
      return `ALTER MODEL ${printName(node.model, keepCase)} VERSION ${printVersionRef(node.version)} ${node.direction} TO ${node.stage.toUpperCase()}`;
    case 'RetireModel':
      return `RETIRE MODEL ${printName(node.model, keepCase)}${node.version ? ` VERSION ${printVersionRef(node.version)}` : ''}`;
    case 'SetTenant': {
      if (node.tenant === null) return 'RESET TENANT';
      if (node.tenant.kind === 'Literal' && typeof node.tenant.value !== 'string') {
        throw invalidArgument('cannot print SET TENANT with a value that is not a string or a parameter');
      }
      return `SET TENANT ${printValue(node.tenant)}`;
    }
    case 'LookupModel':
      return `LOOKUP MODEL FOR ${printSchema(node.schema)}`;
    case 'ArchiveModel':
      return `ARCHIVE MODEL ${printName(node.model, keepCase)}${node.version ? ` VERSION ${printVersionRef(node.version)}` : ''}`;
    case 'UnarchiveModel':
      return `UNARCHIVE MODEL ${printName(node.model, keepCase)} VERSION ${printVersionRef(node.version)}`;
    case 'CancelJob':
      return `CANCEL JOB ${printValue(node.jobId)}`;
    case 'CheckRegistry':
      return 'CHECK REGISTRY';
    case 'Backup':
      return `BACKUP TO ${printValue(node.path)}`;
    case 'Transaction':
      return node.action;
    case 'Select': {
      if (node.columns !== '*' && node.columns.length === 0) throw invalidArgument('cannot print SELECT with no columns');
      const columns = node.columns === '*' ? '*'
        : node.columns.map((c) => `${printExpression(c.expression)}${c.alias === null ? '' : ` AS ${printName(c.alias, lower)}`}`).join(', ');
      let sql = `SELECT ${node.distinct ? 'DISTINCT ' : ''}${columns} FROM ${printName(node.table, upper)}`;
      if (node.where) sql += ` WHERE ${printExpression(node.where)}`;
      if (node.groupBy.length > 0) sql += ` GROUP BY ${node.groupBy.map(printExpression).join(', ')}`;
      if (node.orderBy.length > 0) {
        const keys = node.orderBy.map((o) => `${printExpression(o.expression)}${o.direction === 'DESC' ? ' DESC' : ''}`);
        sql += ` ORDER BY ${keys.join(', ')}`;
      }
      if (node.limit) sql += ` LIMIT ${printValue(node.limit)}`;
      if (node.offset) sql += ` OFFSET ${printValue(node.offset)}`;
      return sql;
    }
  }
}
