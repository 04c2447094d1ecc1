/**
 * fast-check arbitraries for every AST node kind, biased towards text that is
 * awkward to print: keywords, quotes, spaces, Unicode, negative and fractional
 * numbers, blobs.
 */
import fc from 'fast-check';
import type {
  AliasRefNode,
  VersionRefNode,
  ColumnNode,
  ComparisonNode,
  ExpressionNode,
  LiteralNode,
  OptionNode,
  ParameterNode,
  SchemaFieldNode,
  SchemaNode,
  SelectItemNode,
  StatementNode,
  ValueNode,
} from '../../src/parser/index.js';
import { NON_RESERVED_KEYWORDS, RESERVED_WORDS } from '../../src/parser/index.js';

// Plain-prototype objects, like the parser builds (toStrictEqual compares prototypes).
const record = <T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> =>
  fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>;

const keywords = [...RESERVED_WORDS, ...NON_RESERVED_KEYWORDS];

const randomCase = (word: string) =>
  fc.array(fc.boolean(), { minLength: word.length, maxLength: word.length }).map((flags) =>
    [...word].map((ch, i) => (flags[i] ? ch.toLowerCase() : ch)).join(''),
  );

/** Any non-empty name, often an awkward one. */
export const awkwardName: fc.Arbitrary<string> = fc.oneof(
  fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/),
  fc.constantFrom(...keywords).chain(randomCase),
  fc.constantFrom('x', 'X', 'team.spam-v2', 'a b', 'say "hi"', '"', "it's", '--', '/*', ';', 'ünï', '垃圾', '😀', 'ß', 'İ', '$1', '1abc'),
  fc.string({ minLength: 1, maxLength: 8 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }),
);

/** Names the parser can produce for options: already in lower case. */
const optionName = awkwardName.map((s) => s.toLowerCase()).filter((s) => s.length > 0 && s.toLowerCase() === s);

const number: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 0.5, -1.5, 1e21, 1e-7, -2.5e-300, Number.MAX_VALUE, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER + 2),
);

export const literal: fc.Arbitrary<LiteralNode> = fc
  .oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.constantFrom("'", "''", "it's", "a\nb", '--', '/* x */', ';', '"'),
    number,
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 16 }),
  )
  .map((value) => ({ kind: 'Literal', value }));

export const parameter: fc.Arbitrary<ParameterNode> = fc
  .integer({ min: 1, max: 100_000 })
  .map((index) => ({ kind: 'Parameter', index }));

export const value: fc.Arbitrary<ValueNode> = fc.oneof(literal, parameter);

/** Column names the parser can produce: any name (quoted ones stay exact). */
export const column: fc.Arbitrary<ColumnNode> = awkwardName.map((name) => ({ kind: 'Column', name }));

/** Function names as the parser produces them: folded to lower case, quoted or not. */
const functionName = fc.oneof(fc.constantFrom('count', 'max', 'min', 'avg', 'sum'), awkwardName.map((s) => s.toLowerCase()).filter((s) => s.length > 0 && s.toLowerCase() === s));

const comparisonOp = fc.constantFrom<ComparisonNode['op']>('=', '<>', '<', '<=', '>', '>=');

export const expression: fc.Arbitrary<ExpressionNode> = fc.letrec<{ expr: ExpressionNode }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    literal,
    parameter,
    column,
    record({ kind: fc.constant('JsonPath' as const), column, keys: fc.array(awkwardName, { minLength: 1, maxLength: 3 }) }),
    fc.oneof(
      record({ kind: fc.constant('FunctionCall' as const), name: functionName, star: fc.constant(false), args: fc.array(tie('expr'), { maxLength: 2 }) }),
      record({ kind: fc.constant('FunctionCall' as const), name: functionName, star: fc.constant(true), args: fc.constant([]) }),
    ),
    record({ kind: fc.constant('Comparison' as const), op: comparisonOp, left: tie('expr'), right: tie('expr') }),
    record({ kind: fc.constant('Logical' as const), op: fc.constantFrom('AND' as const, 'OR' as const), left: tie('expr'), right: tie('expr') }),
    record({ kind: fc.constant('Not' as const), operand: tie('expr') }),
    record({ kind: fc.constant('IsNull' as const), operand: tie('expr'), negated: fc.boolean() }),
    record({ kind: fc.constant('Like' as const), operand: tie('expr'), pattern: tie('expr'), negated: fc.boolean() }),
    record({
      kind: fc.constant('In' as const),
      operand: tie('expr'),
      list: fc.array(tie('expr'), { minLength: 1, maxLength: 3 }),
      negated: fc.boolean(),
    }),
  ),
})).expr;

const fileValue = record({ kind: fc.constant('File' as const), path: value });
const option: fc.Arbitrary<OptionNode> = record({ kind: fc.constant('Option' as const), name: optionName, value: fc.oneof(value, fileValue) });

const schemaField: fc.Arbitrary<SchemaFieldNode> = record({
  kind: fc.constant('SchemaField' as const),
  name: awkwardName,
  // Kinds are folded like option names, so the parser only produces lower-case ones.
  fieldKind: fc.oneof(optionName, fc.constantFrom('int', 'float', 'string', 'bool', 'null_rate', 'schema', 'for')),
  nullRate: fc.option(value, { nil: null }),
  cardinality: fc.option(value, { nil: null }),
});

export const schema: fc.Arbitrary<SchemaNode> = record({
  kind: fc.constant('Schema' as const),
  fields: fc.array(schemaField, { minLength: 1, maxLength: 4 }),
  recordCount: fc.option(value, { nil: null }),
});

/** What SET TENANT accepts: a string literal or a parameter. */
const tenant: fc.Arbitrary<ValueNode> = fc.oneof(
  parameter,
  fc.oneof(fc.string(), fc.constantFrom('', "it's", 'acme', 'a;b')).map((v): LiteralNode => ({ kind: 'Literal', value: v })),
);

/** How statements name a version: a value or `@alias` (alias names are plain names; keywords included). */
const versionRef: fc.Arbitrary<VersionRefNode> = fc.oneof(
  value,
  fc.oneof(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/), fc.constantFrom('select', 'VERSION', '_')).map((name): AliasRefNode => ({ kind: 'AliasRef', name })),
);
/** Aliases are folded like column names: lower case unless quoted, which the printer does for any other. */
const selectItem: fc.Arbitrary<SelectItemNode> = record({
  kind: fc.constant('SelectItem' as const),
  expression,
  alias: fc.option(awkwardName, { nil: null }),
});

export const statement: fc.Arbitrary<StatementNode> = fc.oneof(
  record({ kind: fc.constant('UsePreviousVersion' as const), model: awkwardName }),
  record({ kind: fc.constant('SetAlias' as const), model: awkwardName, alias: awkwardName, version: versionRef }),
  record({ kind: fc.constant('DropAlias' as const), model: awkwardName, alias: awkwardName }),
  record({ kind: fc.constant('SetTag' as const), model: awkwardName, version: fc.option(versionRef, { nil: null }), key: awkwardName, value }),
  record({ kind: fc.constant('UnsetTag' as const), model: awkwardName, version: fc.option(versionRef, { nil: null }), key: awkwardName }),
  record({
    kind: fc.constant('CreateModel' as const),
    model: awkwardName,
    fromVersion: fc.option(value, { nil: null }),
    options: fc.array(option, { maxLength: 4 }),
    schema: fc.option(schema, { nil: null }),
  }),
  record({
    kind: fc.constant('CopyVersion' as const),
    model: awkwardName,
    source: awkwardName,
    version: value,
    options: fc.array(option, { maxLength: 4 }),
  }),
    record({ kind: fc.constant('UseVersion' as const), model: awkwardName, version: versionRef }),
  record({
    kind: fc.constant('UseBestVersion' as const),
    model: awkwardName,
    by: expression,
    direction: fc.constantFrom('ASC' as const, 'DESC' as const),
    where: fc.option(expression, { nil: null }),
  }),
  record({
    kind: fc.constant('ChangeStage' as const),
    model: awkwardName,
    version: versionRef,
    direction: fc.constantFrom('PROMOTE' as const, 'DEMOTE' as const),
    stage: fc.constantFrom('dev' as const, 'staging' as const, 'production' as const),
  }),
  record({ kind: fc.constant('RetireModel' as const), model: awkwardName, version: fc.option(versionRef, { nil: null }) }),
  record({ kind: fc.constant('SetTenant' as const), tenant: fc.option(tenant, { nil: null }) }),
  record({ kind: fc.constant('LookupModel' as const), schema }),
  record({ kind: fc.constant('ArchiveModel' as const), model: awkwardName, version: fc.option(versionRef, { nil: null }) }),
  record({ kind: fc.constant('UnarchiveModel' as const), model: awkwardName, version: versionRef }),
  record({ kind: fc.constant('CancelJob' as const), jobId: value }),
  record({ kind: fc.constant('CheckRegistry' as const) }),
  record({ kind: fc.constant('Backup' as const), path: value }),
  record({ kind: fc.constant('Transaction' as const), action: fc.constantFrom('BEGIN' as const, 'COMMIT' as const, 'ROLLBACK' as const) }),
  record({
    kind: fc.constant('Select' as const),
    distinct: fc.boolean(),
    columns: fc.oneof(fc.constant('*' as const), fc.array(selectItem, { minLength: 1, maxLength: 4 })),
    table: awkwardName,
    where: fc.option(expression, { nil: null }),
    groupBy: fc.array(expression, { maxLength: 2 }),
    orderBy: fc.array(
      record({ kind: fc.constant('OrderBy' as const), expression, direction: fc.constantFrom('ASC' as const, 'DESC' as const) }),
      { maxLength: 3 },
    ),
    limit: fc.option(value, { nil: null }),
    offset: fc.option(value, { nil: null }),
  }),
);
