/**
 * The modelsql abstract syntax tree. Every node is readonly data with a `kind`
 * discriminant; the parser builds it, the printer turns it back into SQL and the
 * executor runs it. Nothing here knows about storage. The two walkers at the end
 * flatten AND/OR chains and NOT runs, which SQL text can make thousands deep.
 */

/** A literal value written in the statement text. Blobs come from `x'...'`. */
export interface LiteralNode {
  readonly kind: 'Literal';
  readonly value: string | number | boolean | null | Uint8Array;
}

/** A positional parameter `$n` (1-based), bound by `db.query(sql, params)`. */
export interface ParameterNode {
  readonly kind: 'Parameter';
  readonly index: number;
}

/** A value that is known once parameters are bound. */
export type ValueNode = LiteralNode | ParameterNode;

/** `@name`: an alias of the statement's model, standing for the version it points at. */
export interface AliasRefNode {
  readonly kind: 'AliasRef';
  /** The alias name as written, without `@`. */
  readonly name: string;
}

/** How a statement names a version: a number (literal or parameter) or `@alias`. */
export type VersionRefNode = ValueNode | AliasRefNode;

/** A reference to a column of a virtual table. Plain names are folded to lower case. */
export interface ColumnNode {
  readonly kind: 'Column';
  readonly name: string;
}

/**
 * `column.key.key...`: a walk into a JSON value (`metrics.f1`, `metrics."f1-macro"`).
 * The column is folded like any column; keys keep their case, as JSON keys do.
 */
export interface JsonPathNode {
  readonly kind: 'JsonPath';
  readonly column: ColumnNode;
  /** At least one key. */
  readonly keys: readonly string[];
}

/**
 * `name(args)` or `name(*)`. Names are folded to lower case (function names are
 * case-insensitive); the executor knows which exist (the aggregates `count`, `min`,
 * `max`, `avg`, `sum`), so an unknown one is UNKNOWN_FUNCTION, not a syntax error.
 */
export interface FunctionCallNode {
  readonly kind: 'FunctionCall';
  readonly name: string;
  /** `count(*)`: true, and `args` is empty. */
  readonly star: boolean;
  readonly args: readonly ExpressionNode[];
}

/** `left op right` for the six comparison operators (`!=` is parsed as `<>`). */
export interface ComparisonNode {
  readonly kind: 'Comparison';
  readonly op: '=' | '<>' | '<' | '<=' | '>' | '>=';
  readonly left: ExpressionNode;
  readonly right: ExpressionNode;
}

/** `left AND right` / `left OR right`. */
export interface LogicalNode {
  readonly kind: 'Logical';
  readonly op: 'AND' | 'OR';
  readonly left: ExpressionNode;
  readonly right: ExpressionNode;
}

/** `NOT operand`. */
export interface NotNode {
  readonly kind: 'Not';
  readonly operand: ExpressionNode;
}

/** `operand IS [NOT] NULL`. */
export interface IsNullNode {
  readonly kind: 'IsNull';
  readonly operand: ExpressionNode;
  readonly negated: boolean;
}

/** `operand [NOT] LIKE pattern` with `%` and `_` wildcards. */
export interface LikeNode {
  readonly kind: 'Like';
  readonly operand: ExpressionNode;
  readonly pattern: ExpressionNode;
  readonly negated: boolean;
}

/** `operand [NOT] IN (v1, v2, ...)`. */
export interface InNode {
  readonly kind: 'In';
  readonly operand: ExpressionNode;
  readonly list: readonly ExpressionNode[];
  readonly negated: boolean;
}

/** Anything that may stand in a WHERE clause. */
export type ExpressionNode =
  | LiteralNode
  | ParameterNode
  | ColumnNode
  | JsonPathNode
  | FunctionCallNode
  | ComparisonNode
  | LogicalNode
  | NotNode
  | IsNullNode
  | LikeNode
  | InNode;

/**
 * The operands of a chain of one logical operator, in source order: `a AND b AND c`
 * (which the parser builds left-deep, `(a AND b) AND c`) gives `[a, b, c]`, and so does
 * `a AND (b AND c)`. Iterative, so a chain of any length cannot exhaust the stack:
 * whoever walks a WHERE clause treats AND and OR as n-ary through this.
 */
export function logicalTerms(node: LogicalNode): ExpressionNode[] {
  const terms: ExpressionNode[] = [];
  const pending: ExpressionNode[] = [node];
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (next.kind === 'Logical' && next.op === node.op) pending.push(next.right, next.left);
    else terms.push(next);
  }
  return terms;
}

/** `NOT NOT ... x` as the number of NOTs and `x` (not itself a NOT), without recursion. */
export function notRun(node: NotNode): { readonly count: number; readonly operand: ExpressionNode } {
  let count = 0;
  let operand: ExpressionNode = node;
  while (operand.kind === 'Not') {
    count++;
    operand = operand.operand;
  }
  return { count, operand };
}

/**
 * `FILE 'path'`: the contents of a file, read when the statement runs. Only option
 * values may be files, and only where the session allows file access (the CLI does).
 */
export interface FileNode {
  readonly kind: 'File';
  readonly path: ValueNode;
}

/** `name = value` inside `CREATE MODEL ... WITH (...)`. Names are folded to lower case. */
export interface OptionNode {
  readonly kind: 'Option';
  readonly name: string;
  readonly value: ValueNode | FileNode;
}

/**
 * One field of a `SCHEMA (...)` list: `name KIND [NULL_RATE x] [CARDINALITY n]`.
 * Field names keep their case (like model names); kinds are folded to lower case and
 * checked by the executor, so an unknown kind is INVALID_ARGUMENT, not a syntax error.
 */
export interface SchemaFieldNode {
  readonly kind: 'SchemaField';
  readonly name: string;
  readonly fieldKind: string;
  readonly nullRate: ValueNode | null;
  readonly cardinality: ValueNode | null;
}

/** `SCHEMA (field KIND, ...) [RECORD_COUNT n]`: the input schema a version was trained on. */
export interface SchemaNode {
  readonly kind: 'Schema';
  readonly fields: readonly SchemaFieldNode[];
  readonly recordCount: ValueNode | null;
}

/** `CREATE MODEL name [FROM VERSION n] [WITH (option = value, ...)] [SCHEMA (...) [RECORD_COUNT n]]` */
export interface CreateModelNode {
  readonly kind: 'CreateModel';
  readonly model: string;
  readonly fromVersion: VersionRefNode | null;
  readonly options: readonly OptionNode[];
  readonly schema: SchemaNode | null;
}

/**
 * `CREATE MODEL target FROM MODEL source VERSION n [WITH (option = value, ...)]`: a copy
 * of another (or the same) model's version as the target's next version.
 */
export interface CopyVersionNode {
  readonly kind: 'CopyVersion';
  readonly model: string;
  readonly source: string;
  readonly version: VersionRefNode;
  readonly options: readonly OptionNode[];
}

/** `ALTER MODEL name USE VERSION n` */
export interface UseVersionNode {
  readonly kind: 'UseVersion';
  readonly model: string;
  readonly version: VersionRefNode;
}

/** `ALTER MODEL name USE PREVIOUS VERSION`: one step back along the pointer's logged history. */
export interface UsePreviousVersionNode {
  readonly kind: 'UsePreviousVersion';
  readonly model: string;
}

/** `ALTER MODEL name SET ALIAS alias TO VERSION n`: creates or moves an alias. */
export interface SetAliasNode {
  readonly kind: 'SetAlias';
  readonly model: string;
  readonly alias: string;
  readonly version: VersionRefNode;
}

/** `ALTER MODEL name DROP ALIAS alias` */
export interface DropAliasNode {
  readonly kind: 'DropAlias';
  readonly model: string;
  readonly alias: string;
}

/** `ALTER MODEL name [VERSION n] SET TAG key = 'value'`; `version` null tags the model. */
export interface SetTagNode {
  readonly kind: 'SetTag';
  readonly model: string;
  readonly version: VersionRefNode | null;
  readonly key: string;
  readonly value: ValueNode;
}

/** `ALTER MODEL name [VERSION n] UNSET TAG key` */
export interface UnsetTagNode {
  readonly kind: 'UnsetTag';
  readonly model: string;
  readonly version: VersionRefNode | null;
  readonly key: string;
}

/** Lifecycle stages, in order. */
export type StageName = 'dev' | 'staging' | 'production';

/**
 * `ALTER MODEL name VERSION n PROMOTE TO stage` / `... DEMOTE TO stage`. The grammar
 * accepts any stage in either direction; the registry rejects moves that are not
 * exactly one step the right way (INVALID_TRANSITION).
 */
export interface ChangeStageNode {
  readonly kind: 'ChangeStage';
  readonly model: string;
  readonly version: VersionRefNode;
  readonly direction: 'PROMOTE' | 'DEMOTE';
  readonly stage: StageName;
}

/** `RETIRE MODEL name [VERSION n]`: soft retire of the model, or of one version. */
export interface RetireModelNode {
  readonly kind: 'RetireModel';
  readonly model: string;
  readonly version: VersionRefNode | null;
}

/** `SET TENANT 'name'` (tenant is the value) or `RESET TENANT` (tenant is null). */
export interface SetTenantNode {
  readonly kind: 'SetTenant';
  readonly tenant: ValueNode | null;
}

/** `LOOKUP MODEL FOR SCHEMA (field KIND, ...) [RECORD_COUNT n]` */
export interface LookupModelNode {
  readonly kind: 'LookupModel';
  readonly schema: SchemaNode;
}

/** `ARCHIVE MODEL name [VERSION n]`; `version` null archives every version. */
export interface ArchiveModelNode {
  readonly kind: 'ArchiveModel';
  readonly model: string;
  readonly version: VersionRefNode | null;
}

/** `UNARCHIVE MODEL name VERSION n` */
export interface UnarchiveModelNode {
  readonly kind: 'UnarchiveModel';
  readonly model: string;
  readonly version: VersionRefNode;
}

/** `CANCEL JOB 'id'` */
export interface CancelJobNode {
  readonly kind: 'CancelJob';
  readonly jobId: ValueNode;
}

/** `CHECK REGISTRY`: the integrity check; one row per problem found. */
export interface CheckRegistryNode {
  readonly kind: 'CheckRegistry';
}

/**
 * `BEGIN [TRANSACTION]`, `COMMIT [TRANSACTION]`, `ROLLBACK [TRANSACTION]`: the
 * session's statements between BEGIN and COMMIT commit as one atomic unit.
 */
export interface TransactionNode {
  readonly kind: 'Transaction';
  readonly action: 'BEGIN' | 'COMMIT' | 'ROLLBACK';
}

/** `BACKUP TO 'folder'`: an online backup into a new folder. */
export interface BackupNode {
  readonly kind: 'Backup';
  readonly path: ValueNode;
}

/**
 * `ALTER MODEL name USE BEST VERSION BY expr [ASC | DESC] [WHERE condition]`: makes
 * active the servable version with the best `by` value (DESC: the highest, the
 * default). Ties go to the highest version number.
 */
export interface UseBestVersionNode {
  readonly kind: 'UseBestVersion';
  readonly model: string;
  readonly by: ExpressionNode;
  readonly direction: 'ASC' | 'DESC';
  readonly where: ExpressionNode | null;
}

/** One `ORDER BY` key: a column, a JSON path, a select-list alias, an aggregate, ... */
export interface OrderByNode {
  readonly kind: 'OrderBy';
  readonly expression: ExpressionNode;
  readonly direction: 'ASC' | 'DESC';
}

/** One item of a select list: `expression [AS alias]`. Aliases are folded like column names. */
export interface SelectItemNode {
  readonly kind: 'SelectItem';
  readonly expression: ExpressionNode;
  readonly alias: string | null;
}

/**
 * `SELECT [DISTINCT] * | item, ... FROM table [WHERE ...] [GROUP BY ...] [ORDER BY ...]
 * [LIMIT n [OFFSET m]]`
 */
export interface SelectNode {
  readonly kind: 'Select';
  readonly distinct: boolean;
  /** `'*'` for every column, else the listed items in order. */
  readonly columns: '*' | readonly SelectItemNode[];
  /** Table name; plain names are folded to upper case (`ML_MODELS_DASHBOARD`). */
  readonly table: string;
  readonly where: ExpressionNode | null;
  readonly groupBy: readonly ExpressionNode[];
  readonly orderBy: readonly OrderByNode[];
  readonly limit: ValueNode | null;
  readonly offset: ValueNode | null;
}

/** What an `ALTER MODEL` statement can be. */
export type AlterModelNode = UseVersionNode | UsePreviousVersionNode | UseBestVersionNode | SetAliasNode | DropAliasNode | SetTagNode | UnsetTagNode | ChangeStageNode;

/** Any modelsql statement. */
export type StatementNode =
  | CreateModelNode
  | CopyVersionNode
  | UseVersionNode
  | UsePreviousVersionNode
  | SetAliasNode
  | DropAliasNode
  | SetTagNode
  | UnsetTagNode
  | UseBestVersionNode
  | ChangeStageNode
  | ArchiveModelNode
  | RetireModelNode
  | SetTenantNode
  | LookupModelNode
  | UnarchiveModelNode
  | CancelJobNode
  | CheckRegistryNode
  | BackupNode
  | TransactionNode
  | SelectNode;
