/**
 * The modelsql grammar as a Chevrotain EmbeddedActionsParser that builds the AST
 * directly. One instance ({@link parser}) is shared: Chevrotain parsers are costly
 * to construct and cheap to reuse. Semantic work that touches token text is wrapped
 * in `ACTION` because Chevrotain runs every rule once in a "recording" phase with
 * placeholder tokens to learn the grammar.
 */
import { EmbeddedActionsParser, type IToken } from 'chevrotain';
import type {
  AliasRefNode,
  AlterModelNode,
  ArchiveModelNode,
  BackupNode,
  CancelJobNode,
  CheckRegistryNode,
  ChangeStageNode,
  ColumnNode,
  ComparisonNode,
  CopyVersionNode,
  CreateModelNode,
  DropAliasNode,
  ExpressionNode,
  FileNode,
  FunctionCallNode,
  JsonPathNode,
  LiteralNode,
  LookupModelNode,
  OptionNode,
  OrderByNode,
  ParameterNode,
  RetireModelNode,
  SchemaFieldNode,
  SchemaNode,
  SelectItemNode,
  SelectNode,
  SetAliasNode,
  SetTagNode,
  SetTenantNode,
  StageName,
  StatementNode,
  TransactionNode,
  UnarchiveModelNode,
  UnsetTagNode,
  UsePreviousVersionNode,
  UseBestVersionNode,
  UseVersionNode,
  ValueNode,
  VersionRefNode,
} from './ast.js';
import * as t from './tokens.js';

/** An identifier as written: its text (unquoted) and whether it was double-quoted. */
interface RawName {
  readonly text: string;
  readonly quoted: boolean;
}

function unquoteIdentifier(image: string): string {
  return image.slice(1, -1).replace(/""/g, '"');
}

function unquoteString(image: string): string {
  return image.slice(1, -1).replace(/''/g, "'");
}

function decodeBlob(image: string): Uint8Array {
  const hex = image.slice(2, -1);
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

const comparisonOps = new Map<string, ComparisonNode['op']>([
  ['=', '='],
  ['<>', '<>'],
  ['!=', '<>'],
  ['<', '<'],
  ['<=', '<='],
  ['>', '>'],
  ['>=', '>='],
]);

/**
 * The modelsql SQL parser. Entry rule: `statement` (one statement, no `;`); the
 * script layer in `parse.ts` splits on `;` first. Rule names are public API for
 * `computeContentAssist` (REPL completion).
 */
export class ModelSqlParser extends EmbeddedActionsParser {
  constructor() {
    super(t.allTokens, { recoveryEnabled: false, maxLookahead: 3 });
    this.performSelfAnalysis();
  }

  /** One statement, without its terminating `;`. */
  readonly statement = this.RULE('statement', (): StatementNode =>
    this.OR([
      { ALT: () => this.SUBRULE(this.createModel) },
      { ALT: () => this.SUBRULE(this.alterModel) },
      { ALT: () => this.SUBRULE(this.archiveModel) },
      { ALT: () => this.SUBRULE(this.unarchiveModel) },
      { ALT: () => this.SUBRULE(this.retireModel) },
      { ALT: () => this.SUBRULE(this.cancelJob) },
      { ALT: () => this.SUBRULE(this.setTenant) },
      { ALT: () => this.SUBRULE(this.resetTenant) },
      { ALT: () => this.SUBRULE(this.lookupModel) },
      { ALT: () => this.SUBRULE(this.checkRegistry) },
      { ALT: () => this.SUBRULE(this.backup) },
      { ALT: () => this.SUBRULE(this.transaction) },
      { ALT: () => this.SUBRULE(this.select) },
    ]),
  );

  /** `CREATE MODEL m [FROM VERSION n] ...`, or a copy: `CREATE MODEL m FROM MODEL s VERSION n [WITH (...)]`. */
  readonly createModel = this.RULE('createModel', (): CreateModelNode | CopyVersionNode => {
    this.CONSUME(t.Create);
    this.CONSUME(t.Model);
    const model = this.SUBRULE(this.modelName);
    let fromVersion: VersionRefNode | null = null;
    let copy: { source: string; version: VersionRefNode } | null = null;
    const options: OptionNode[] = [];
    this.OPTION(() => {
      this.CONSUME(t.From);
      this.OR([
        {
          ALT: () => {
            this.CONSUME(t.Version);
            fromVersion = this.SUBRULE(this.versionRef);
          },
        },
        {
          ALT: () => {
            this.CONSUME2(t.Model);
            const source = this.SUBRULE2(this.modelName);
            this.CONSUME2(t.Version);
            copy = { source, version: this.SUBRULE2(this.versionRef) };
          },
        },
      ]);
    });
    this.OPTION2(() => {
      this.CONSUME(t.With);
      this.CONSUME(t.LParen);
      this.AT_LEAST_ONE_SEP({
        SEP: t.Comma,
        DEF: () => options.push(this.SUBRULE(this.withOption)),
      });
      this.CONSUME(t.RParen);
    });
    let schema: SchemaNode | null = null;
    // A copy takes the source's schema: no SCHEMA clause (the parser then expects the end).
    this.OPTION3({
      GATE: () => copy === null,
      DEF: () => {
        schema = this.SUBRULE(this.schemaClause);
      },
    });
    const copied = copy as { source: string; version: VersionRefNode } | null;
    if (copied) return { kind: 'CopyVersion', model, source: copied.source, version: copied.version, options };
    return { kind: 'CreateModel', model, fromVersion, options, schema };
  });

  readonly withOption = this.RULE('withOption', (): OptionNode => {
    const raw = this.SUBRULE(this.identifier);
    this.CONSUME(t.Equals);
    const value = this.OR([
      { ALT: () => this.SUBRULE(this.fileValue) },
      { ALT: () => this.SUBRULE(this.value) },
    ]);
    // Option names are matched case-insensitively even when quoted.
    const name = this.ACTION(() => raw.text.toLowerCase());
    return { kind: 'Option', name, value };
  });

  readonly fileValue = this.RULE('fileValue', (): FileNode => {
    this.CONSUME(t.File);
    return { kind: 'File', path: this.SUBRULE(this.value) };
  });

  /**
   * `ALTER MODEL m` followed by: `USE VERSION ref`, `USE PREVIOUS VERSION`,
   * `USE BEST VERSION BY expr [ASC | DESC] [WHERE condition]`,
   * `SET ALIAS a TO VERSION ref`, `DROP ALIAS a`, `[VERSION ref] SET TAG k = v`,
   * `[VERSION ref] UNSET TAG k`, or `VERSION ref (PROMOTE | DEMOTE) TO stage`.
   */
  readonly alterModel = this.RULE('alterModel', (): AlterModelNode => {
    this.CONSUME(t.Alter);
    this.CONSUME(t.Model);
    const model = this.SUBRULE(this.modelName);
    return this.OR([
      {
        ALT: (): UseVersionNode | UsePreviousVersionNode | UseBestVersionNode => {
          this.CONSUME(t.Use);
          return this.OR2([
            {
              ALT: (): UseVersionNode => {
                this.CONSUME(t.Version);
                return { kind: 'UseVersion', model, version: this.SUBRULE(this.versionRef) };
              },
            },
            {
              ALT: (): UsePreviousVersionNode => {
                this.CONSUME(t.Previous);
                this.CONSUME2(t.Version);
                return { kind: 'UsePreviousVersion', model };
              },
            },
            {
              ALT: (): UseBestVersionNode => {
                this.CONSUME(t.Best);
                this.CONSUME5(t.Version);
                this.CONSUME(t.By);
                const by = this.SUBRULE(this.expression);
                // DESC by default: "best" usually means the highest score.
                const direction = this.SUBRULE(this.sortDirection) ?? 'DESC';
                let where: ExpressionNode | null = null;
                this.OPTION(() => {
                  this.CONSUME(t.Where);
                  where = this.SUBRULE2(this.expression);
                });
                return { kind: 'UseBestVersion', model, by, direction, where };
              },
            },
          ]);
        },
      },
      {
        ALT: (): SetAliasNode | SetTagNode => {
          this.CONSUME(t.SetKeyword);
          return this.OR3([
            {
              ALT: (): SetAliasNode => {
                this.CONSUME(t.Alias);
                const alias = this.SUBRULE2(this.modelName);
                this.CONSUME(t.To);
                this.CONSUME3(t.Version);
                return { kind: 'SetAlias', model, alias, version: this.SUBRULE2(this.versionRef) };
              },
            },
            { ALT: () => this.SUBRULE(this.setTag, { ARGS: [model, null] }) },
          ]);
        },
      },
      {
        ALT: (): DropAliasNode => {
          this.CONSUME(t.Drop);
          this.CONSUME2(t.Alias);
          return { kind: 'DropAlias', model, alias: this.SUBRULE3(this.modelName) };
        },
      },
      { ALT: () => this.SUBRULE(this.unsetTag, { ARGS: [model, null] }) },
      {
        ALT: (): ChangeStageNode | SetTagNode | UnsetTagNode => {
          this.CONSUME4(t.Version);
          const version = this.SUBRULE3(this.versionRef);
          return this.OR4([
            {
              ALT: (): ChangeStageNode => {
                const direction = this.OR5([
                  { ALT: () => (this.CONSUME(t.Promote), 'PROMOTE' as const) },
                  { ALT: () => (this.CONSUME(t.Demote), 'DEMOTE' as const) },
                ]);
                this.CONSUME2(t.To);
                const stage = this.SUBRULE(this.stage);
                return { kind: 'ChangeStage', model, version, direction, stage };
              },
            },
            {
              ALT: () => {
                this.CONSUME2(t.SetKeyword);
                return this.SUBRULE2(this.setTag, { ARGS: [model, version] });
              },
            },
            { ALT: () => this.SUBRULE2(this.unsetTag, { ARGS: [model, version] }) },
          ]);
        },
      },
    ]);
  });

  /** `TAG key = value` after `SET`; the key is kept as written, like a model name. */
  readonly setTag = this.RULE('setTag', (model: string, version: VersionRefNode | null): SetTagNode => {
    this.CONSUME(t.Tag);
    const key = this.SUBRULE(this.modelName);
    this.CONSUME(t.Equals);
    const value = this.SUBRULE(this.value);
    return { kind: 'SetTag', model, version, key, value };
  });

  /** `UNSET TAG key` */
  readonly unsetTag = this.RULE('unsetTag', (model: string, version: VersionRefNode | null): UnsetTagNode => {
    this.CONSUME(t.Unset);
    this.CONSUME(t.Tag);
    return { kind: 'UnsetTag', model, version, key: this.SUBRULE(this.modelName) };
  });

  /** A version as a statement names it: a number, a parameter, or `@alias`. */
  readonly versionRef = this.RULE('versionRef', (): VersionRefNode =>
    this.OR([
      { ALT: () => this.SUBRULE(this.value) },
      {
        ALT: (): AliasRefNode => {
          const token = this.CONSUME(t.AliasRef);
          return { kind: 'AliasRef', name: token.image.slice(1) };
        },
      },
    ]),
  );

  /**
   * Every stage is accepted after both PROMOTE and DEMOTE: whether a move is legal
   * depends on the version's current stage, which only the registry knows.
   */
  readonly stage = this.RULE('stage', (): StageName =>
    this.OR([
      { ALT: () => (this.CONSUME(t.Dev), 'dev' as const) },
      { ALT: () => (this.CONSUME(t.Staging), 'staging' as const) },
      { ALT: () => (this.CONSUME(t.Production), 'production' as const) },
    ]),
  );

  readonly archiveModel = this.RULE('archiveModel', (): ArchiveModelNode => {
    this.CONSUME(t.Archive);
    this.CONSUME(t.Model);
    const model = this.SUBRULE(this.modelName);
    let version: VersionRefNode | null = null;
    this.OPTION(() => {
      this.CONSUME(t.Version);
      version = this.SUBRULE(this.versionRef);
    });
    return { kind: 'ArchiveModel', model, version };
  });

  readonly unarchiveModel = this.RULE('unarchiveModel', (): UnarchiveModelNode => {
    this.CONSUME(t.Unarchive);
    this.CONSUME(t.Model);
    const model = this.SUBRULE(this.modelName);
    this.CONSUME(t.Version);
    const version = this.SUBRULE(this.versionRef);
    return { kind: 'UnarchiveModel', model, version };
  });

  /** `RETIRE MODEL m [VERSION n]`; without a version the whole model is retired. */
  readonly retireModel = this.RULE('retireModel', (): RetireModelNode => {
    this.CONSUME(t.Retire);
    this.CONSUME(t.Model);
    const model = this.SUBRULE(this.modelName);
    let version: VersionRefNode | null = null;
    this.OPTION(() => {
      this.CONSUME(t.Version);
      version = this.SUBRULE(this.versionRef);
    });
    return { kind: 'RetireModel', model, version };
  });

  readonly cancelJob = this.RULE('cancelJob', (): CancelJobNode => {
    this.CONSUME(t.Cancel);
    this.CONSUME(t.Job);
    const jobId = this.SUBRULE(this.value);
    return { kind: 'CancelJob', jobId };
  });

  /**
   * `SET TENANT 'name'` or `SET TENANT $n`. Only a string can name a tenant, so other
   * literals are refused here, where the error can point at them.
   */
  readonly setTenant = this.RULE('setTenant', (): SetTenantNode => {
    this.CONSUME(t.SetKeyword);
    this.CONSUME(t.Tenant);
    const tenant = this.OR([
      { ALT: () => this.SUBRULE(this.parameter) },
      { ALT: () => this.SUBRULE(this.stringLiteral) },
    ]);
    return { kind: 'SetTenant', tenant };
  });

  /** `RESET TENANT`: a SetTenant node with a null tenant, so the executor has one statement to handle. */
  readonly resetTenant = this.RULE('resetTenant', (): SetTenantNode => {
    this.CONSUME(t.Reset);
    this.CONSUME(t.Tenant);
    return { kind: 'SetTenant', tenant: null };
  });

  /** `LOOKUP MODEL FOR SCHEMA (...) [RECORD_COUNT n]` */
  readonly lookupModel = this.RULE('lookupModel', (): LookupModelNode => {
    this.CONSUME(t.Lookup);
    this.CONSUME(t.Model);
    this.CONSUME(t.For);
    const schema = this.SUBRULE(this.schemaClause);
    return { kind: 'LookupModel', schema };
  });

  /** `BEGIN | COMMIT | ROLLBACK [TRANSACTION]` */
  readonly transaction = this.RULE('transaction', (): TransactionNode => {
    const action = this.OR([
      { ALT: () => (this.CONSUME(t.Begin), 'BEGIN' as const) },
      { ALT: () => (this.CONSUME(t.Commit), 'COMMIT' as const) },
      { ALT: () => (this.CONSUME(t.Rollback), 'ROLLBACK' as const) },
    ]);
    this.OPTION(() => this.CONSUME(t.TransactionKeyword));
    return { kind: 'Transaction', action };
  });

  /** `CHECK REGISTRY` */
  readonly checkRegistry = this.RULE('checkRegistry', (): CheckRegistryNode => {
    this.CONSUME(t.Check);
    this.CONSUME(t.Registry);
    return { kind: 'CheckRegistry' };
  });

  /** `BACKUP TO 'folder'` or `BACKUP TO $n`; the executor checks that the value is text. */
  readonly backup = this.RULE('backup', (): BackupNode => {
    this.CONSUME(t.Backup);
    this.CONSUME(t.To);
    return { kind: 'Backup', path: this.SUBRULE(this.value) };
  });

  // -------------------------------------------------------------------------
  // Schemas, shared by CREATE MODEL and LOOKUP MODEL

  /** `SCHEMA (field kind [stats], ...) [RECORD_COUNT n]` */
  readonly schemaClause = this.RULE('schemaClause', (): SchemaNode => {
    this.CONSUME(t.Schema);
    this.CONSUME(t.LParen);
    const fields: SchemaFieldNode[] = [];
    this.AT_LEAST_ONE_SEP({ SEP: t.Comma, DEF: () => fields.push(this.SUBRULE(this.schemaField)) });
    this.CONSUME(t.RParen);
    let recordCount: ValueNode | null = null;
    this.OPTION(() => {
      this.CONSUME(t.RecordCount);
      recordCount = this.SUBRULE(this.value);
    });
    return { kind: 'Schema', fields, recordCount };
  });

  /** `name kind [NULL_RATE x] [CARDINALITY n]`, the two statistics in either order. */
  readonly schemaField = this.RULE('schemaField', (): SchemaFieldNode => {
    const name = this.SUBRULE(this.fieldName);
    const fieldKind = this.SUBRULE(this.fieldKind);
    let nullRate: ValueNode | null = null;
    let cardinality: ValueNode | null = null;
    // Both orders spelled out rather than a loop: a repeated statistic is then an
    // ordinary syntax error whose `expected` list names what may still follow.
    this.OPTION(() =>
      this.OR([
        {
          ALT: () => {
            nullRate = this.SUBRULE(this.nullRate);
            this.OPTION2(() => (cardinality = this.SUBRULE(this.cardinality)));
          },
        },
        {
          ALT: () => {
            cardinality = this.SUBRULE2(this.cardinality);
            this.OPTION3(() => (nullRate = this.SUBRULE2(this.nullRate)));
          },
        },
      ]),
    );
    return { kind: 'SchemaField', name, fieldKind, nullRate, cardinality };
  });

  readonly nullRate = this.RULE('nullRate', (): ValueNode => {
    this.CONSUME(t.NullRate);
    return this.SUBRULE(this.value);
  });

  readonly cardinality = this.RULE('cardinality', (): ValueNode => {
    this.CONSUME(t.Cardinality);
    return this.SUBRULE(this.value);
  });

  /** Field names keep their case, like model names (a separate rule so completion does not offer models). */
  readonly fieldName = this.RULE('fieldName', (): string => {
    const raw = this.SUBRULE(this.identifier);
    return this.ACTION(() => raw.text);
  });

  /**
   * Kinds are a closed vocabulary the executor checks, matched case-insensitively
   * even when quoted (like option names); quoting only lets odd spellings through.
   */
  readonly fieldKind = this.RULE('fieldKind', (): string => {
    const raw = this.SUBRULE(this.identifier);
    return this.ACTION(() => raw.text.toLowerCase());
  });

  readonly select = this.RULE('select', (): SelectNode => {
    this.CONSUME(t.Select);
    let distinct = false;
    this.OPTION5(() => (this.CONSUME(t.Distinct), (distinct = true)));
    let columns: SelectNode['columns'] = '*';
    this.OR([
      { ALT: () => this.CONSUME(t.Star) },
      {
        ALT: () => {
          const list: SelectItemNode[] = [];
          this.AT_LEAST_ONE_SEP({ SEP: t.Comma, DEF: () => list.push(this.SUBRULE(this.selectItem)) });
          columns = list;
        },
      },
    ]);
    this.CONSUME(t.From);
    const table = this.SUBRULE(this.tableName);
    let where: ExpressionNode | null = null;
    const groupBy: ExpressionNode[] = [];
    const orderBy: OrderByNode[] = [];
    let limit: ValueNode | null = null;
    let offset: ValueNode | null = null;
    this.OPTION(() => {
      this.CONSUME(t.Where);
      where = this.SUBRULE(this.expression);
    });
    this.OPTION6(() => {
      this.CONSUME(t.Group);
      this.CONSUME2(t.By);
      this.AT_LEAST_ONE_SEP3({ SEP: t.Comma, DEF: () => groupBy.push(this.SUBRULE2(this.expression)) });
    });
    this.OPTION2(() => {
      this.CONSUME(t.Order);
      this.CONSUME(t.By);
      this.AT_LEAST_ONE_SEP2({ SEP: t.Comma, DEF: () => orderBy.push(this.SUBRULE(this.orderKey)) });
    });
    this.OPTION3(() => {
      this.CONSUME(t.Limit);
      limit = this.SUBRULE2(this.value);
    });
    this.OPTION4(() => {
      this.CONSUME(t.Offset);
      offset = this.SUBRULE3(this.value);
    });
    return { kind: 'Select', distinct, columns, table, where, groupBy, orderBy, limit, offset };
  });

  /** `expression [AS alias]`; the alias is folded like a column name. */
  readonly selectItem = this.RULE('selectItem', (): SelectItemNode => {
    const expression = this.SUBRULE(this.expression);
    let alias: string | null = null;
    this.OPTION(() => {
      this.CONSUME(t.As);
      const raw = this.SUBRULE(this.identifier);
      alias = this.ACTION(() => (raw.quoted ? raw.text : raw.text.toLowerCase()));
    });
    return { kind: 'SelectItem', expression, alias };
  });

  readonly orderKey = this.RULE('orderKey', (): OrderByNode => {
    const expression = this.SUBRULE(this.expression);
    const direction = this.SUBRULE(this.sortDirection) ?? 'ASC';
    return { kind: 'OrderBy', expression, direction };
  });

  /** `ASC`, `DESC`, or nothing (null: the caller's default). */
  readonly sortDirection = this.RULE('sortDirection', (): 'ASC' | 'DESC' | null => {
    let direction: 'ASC' | 'DESC' | null = null;
    this.OPTION(() =>
      this.OR([
        { ALT: () => (this.CONSUME(t.Asc), (direction = 'ASC')) },
        { ALT: () => (this.CONSUME(t.Desc), (direction = 'DESC')) },
      ]),
    );
    return direction;
  });

  // -------------------------------------------------------------------------
  // Expressions: OR < AND < NOT < predicate < operand.

  readonly expression = this.RULE('expression', (): ExpressionNode => {
    let left = this.SUBRULE(this.andExpression);
    this.MANY(() => {
      this.CONSUME(t.Or);
      const right = this.SUBRULE2(this.andExpression);
      left = { kind: 'Logical', op: 'OR', left, right };
    });
    return left;
  });

  readonly andExpression = this.RULE('andExpression', (): ExpressionNode => {
    let left = this.SUBRULE(this.notExpression);
    this.MANY(() => {
      this.CONSUME(t.And);
      const right = this.SUBRULE2(this.notExpression);
      left = { kind: 'Logical', op: 'AND', left, right };
    });
    return left;
  });

  // NOT is a loop rather than a recursion so `NOT NOT NOT ...` cannot blow the stack.
  readonly notExpression = this.RULE('notExpression', (): ExpressionNode => {
    let nots = 0;
    this.MANY(() => {
      this.CONSUME(t.Not);
      nots++;
    });
    let result = this.SUBRULE(this.predicate);
    for (let i = 0; i < nots; i++) result = { kind: 'Not', operand: result };
    return result;
  });

  readonly predicate = this.RULE('predicate', (): ExpressionNode => {
    const operand = this.SUBRULE(this.operand);
    let result: ExpressionNode = operand;
    this.OPTION(() =>
      this.OR([
        {
          ALT: () => {
            const opToken = this.SUBRULE(this.comparisonOperator);
            const right = this.SUBRULE2(this.operand);
            const op = this.ACTION(() => comparisonOps.get(opToken.image) ?? '=');
            result = { kind: 'Comparison', op, left: operand, right };
          },
        },
        {
          ALT: () => {
            this.CONSUME(t.Is);
            let negated = false;
            this.OPTION2(() => (this.CONSUME(t.Not), (negated = true)));
            this.CONSUME(t.Null);
            result = { kind: 'IsNull', operand, negated };
          },
        },
        {
          ALT: () => {
            let negated = false;
            this.OPTION3(() => (this.CONSUME2(t.Not), (negated = true)));
            this.OR2([
              {
                ALT: () => {
                  this.CONSUME(t.Like);
                  const pattern = this.SUBRULE3(this.operand);
                  result = { kind: 'Like', operand, pattern, negated };
                },
              },
              {
                ALT: () => {
                  this.CONSUME(t.In);
                  this.CONSUME(t.LParen);
                  const list: ExpressionNode[] = [];
                  this.AT_LEAST_ONE_SEP({ SEP: t.Comma, DEF: () => list.push(this.SUBRULE(this.expression)) });
                  this.CONSUME(t.RParen);
                  result = { kind: 'In', operand, list, negated };
                },
              },
            ]);
          },
        },
      ]),
    );
    return result;
  });

  readonly comparisonOperator = this.RULE('comparisonOperator', (): IToken =>
    this.OR([
      { ALT: () => this.CONSUME(t.Equals) },
      { ALT: () => this.CONSUME(t.NotEquals) },
      { ALT: () => this.CONSUME(t.BangEquals) },
      { ALT: () => this.CONSUME(t.Less) },
      { ALT: () => this.CONSUME(t.LessEquals) },
      { ALT: () => this.CONSUME(t.Greater) },
      { ALT: () => this.CONSUME(t.GreaterEquals) },
    ]),
  );

  readonly operand = this.RULE('operand', (): ExpressionNode =>
    this.OR([
      { ALT: () => this.SUBRULE(this.value) },
      { ALT: () => this.SUBRULE(this.functionCall) },
      { ALT: () => this.SUBRULE(this.columnReference) },
      {
        ALT: () => {
          this.CONSUME(t.LParen);
          const inner = this.SUBRULE(this.expression);
          this.CONSUME(t.RParen);
          return inner;
        },
      },
    ]),
  );

  /** `name(*)` or `name(expr, ...)`; the name is folded to lower case even when quoted. */
  readonly functionCall = this.RULE('functionCall', (): FunctionCallNode => {
    const raw = this.SUBRULE(this.identifier);
    this.CONSUME(t.LParen);
    let star = false;
    const args: ExpressionNode[] = [];
    this.OPTION(() =>
      this.OR([
        { ALT: () => (this.CONSUME(t.Star), (star = true)) },
        { ALT: () => this.AT_LEAST_ONE_SEP({ SEP: t.Comma, DEF: () => args.push(this.SUBRULE(this.expression)) }) },
      ]),
    );
    this.CONSUME(t.RParen);
    const name = this.ACTION(() => raw.text.toLowerCase());
    return { kind: 'FunctionCall', name, star, args };
  });

  /** A column, or a JSON path into it: `metrics.f1`, `hyperparams.optimizer."learning rate"`. */
  readonly columnReference = this.RULE('columnReference', (): ColumnNode | JsonPathNode => {
    const column = this.SUBRULE(this.column);
    const keys: string[] = [];
    this.MANY(() => {
      this.CONSUME(t.Dot);
      keys.push(this.SUBRULE(this.pathKey));
    });
    return keys.length === 0 ? column : { kind: 'JsonPath', column, keys };
  });

  /** A JSON key keeps its case: JSON keys are case-sensitive. */
  readonly pathKey = this.RULE('pathKey', (): string => {
    const raw = this.SUBRULE(this.identifier);
    return this.ACTION(() => raw.text);
  });

  // -------------------------------------------------------------------------
  // Values and names

  /** A literal or `$n`: what options, versions, job ids and LIMIT/OFFSET take. */
  readonly value = this.RULE('value', (): ValueNode =>
    this.OR([
      { ALT: () => this.SUBRULE(this.parameter) },
      { ALT: () => this.SUBRULE(this.literal) },
    ]),
  );

  readonly parameter = this.RULE('parameter', (): ParameterNode => {
    const token = this.CONSUME(t.Parameter);
    const index = this.ACTION(() => Number(token.image.slice(1)));
    return { kind: 'Parameter', index };
  });

  readonly literal = this.RULE('literal', (): LiteralNode => {
    const value = this.OR([
      { ALT: () => this.SUBRULE(this.stringLiteral).value },
      { ALT: () => this.SUBRULE(this.number) },
      {
        ALT: () => {
          const token = this.CONSUME(t.BlobLiteral);
          return this.ACTION(() => decodeBlob(token.image));
        },
      },
      { ALT: () => (this.CONSUME(t.True), true) },
      { ALT: () => (this.CONSUME(t.False), false) },
      { ALT: () => (this.CONSUME(t.Null), null) },
    ]);
    return { kind: 'Literal', value };
  });

  readonly stringLiteral = this.RULE('stringLiteral', (): LiteralNode & { value: string } => {
    const token = this.CONSUME(t.StringLiteral);
    const value = this.ACTION(() => unquoteString(token.image));
    return { kind: 'Literal', value };
  });

  readonly number = this.RULE('number', (): number => {
    let negative = false;
    this.OPTION(() => (this.CONSUME(t.Minus), (negative = true)));
    const token = this.CONSUME(t.NumberLiteral);
    return this.ACTION(() => {
      const n = Number(token.image);
      return negative ? -n : n;
    });
  });

  readonly column = this.RULE('column', (): ColumnNode => {
    const raw = this.SUBRULE(this.identifier);
    const name = this.ACTION(() => (raw.quoted ? raw.text : raw.text.toLowerCase()));
    return { kind: 'Column', name };
  });

  readonly tableName = this.RULE('tableName', (): string => {
    const raw = this.SUBRULE(this.identifier);
    return this.ACTION(() => (raw.quoted ? raw.text : raw.text.toUpperCase()));
  });

  /** Model names are case-sensitive: kept exactly as written. */
  readonly modelName = this.RULE('modelName', (): string => {
    const raw = this.SUBRULE(this.identifier);
    return this.ACTION(() => raw.text);
  });

  readonly identifier = this.RULE('identifier', (): RawName =>
    this.OR([
      {
        ALT: () => {
          const token = this.CONSUME(t.Name);
          return { text: token.image, quoted: false };
        },
      },
      {
        ALT: () => {
          const token = this.CONSUME(t.QuotedIdentifier);
          return this.ACTION(() => ({ text: unquoteIdentifier(token.image), quoted: true }));
        },
      },
    ]),
  );
}

/** The shared parser instance; set `parser.input` then call a rule. */
export const parser = new ModelSqlParser();
