/** Public shapes of the typed registry API (`db.registry`). */

import type { SchemaInput } from './fingerprint.js';
import type { Stage } from './records.js';

export type { SchemaInput, Stage };

/** What an app supplies to register a version. A version needs `weights` or `artifact`. */
export interface RegisterVersionInput {
  /** The model's bytes; stored as binary with their SHA-256. */
  readonly weights?: Uint8Array | null;
  /** URI of weights kept elsewhere (reference only). */
  readonly artifact?: string | null;
  /** Any JSON value. */
  readonly hyperparams?: unknown;
  /** Any JSON value, e.g. `{ f1: 0.93 }`. */
  readonly metrics?: unknown;
  readonly trainingSql?: string | null;
  readonly trainingDataHash?: string | null;
  /** The version this one was fine-tuned from; must exist. */
  readonly parentVersion?: number | null;
  /** Defaults to the session actor (`open({ createdBy })`). */
  readonly createdBy?: string | null;
  readonly description?: string | null;
  /** Make the new version active (default true). */
  readonly active?: boolean;
  /** Catalog: model category, e.g. classifier, embedding, llm, lora. */
  readonly modelType?: string | null;
  /** Catalog: one of text_embedding, image_embedding, audio_embedding, classification, ner, regression. */
  readonly task?: string | null;
  /** Catalog: serving backend, e.g. onnx, candle, vllm, http. */
  readonly backend?: string | null;
  /** Catalog: the model this one derives from; must resolve for this session (own or global, retired allowed). */
  readonly baseModel?: string | null;
  /** Version of `baseModel`; defaults to its active version, or its latest when none is active. */
  readonly baseVersion?: number | null;
  /** Catalog: backend configuration, any JSON value. */
  readonly config?: unknown;
  /** The input schema the version was trained on (makes it a LOOKUP candidate). */
  readonly schema?: SchemaInput | null;
}

/** What registering a version returns. */
export interface RegisteredVersion {
  readonly model: string;
  readonly version: number;
  /** Whether the new version is now the active one. */
  readonly active: boolean;
  /** SHA-256 of the weights (hex), or null for an artifact-only version. */
  readonly sha256: string | null;
}

/** One stored version, without its weights (see `readWeights`). */
export interface ModelVersion {
  readonly model: string;
  /** Owning tenant, or null for a global model. */
  readonly tenant: string | null;
  readonly version: number;
  readonly active: boolean;
  readonly archived: boolean;
  readonly sha256: string | null;
  readonly sizeBytes: number | null;
  readonly artifact: string | null;
  readonly hyperparams: unknown;
  readonly metrics: unknown;
  readonly trainingSql: string | null;
  readonly trainingDataHash: string | null;
  readonly parentVersion: number | null;
  readonly createdAt: Date;
  readonly createdBy: string | null;
  readonly description: string | null;
  /** The train job that produced this version, if any. */
  readonly jobId: string | null;
  readonly stage: Stage;
  /** Time of the last promotion or demotion; null while the version never moved. */
  readonly promotedAt: Date | null;
  /** The version, or its whole model, is retired. */
  readonly retired: boolean;
  readonly modelType: string | null;
  readonly task: string | null;
  readonly backend: string | null;
  /** Name of the base model (lineage), or null. */
  readonly baseModel: string | null;
  /** Tenant owning the base model: this version's own tenant, or null for a global base. */
  readonly baseTenant: string | null;
  readonly baseVersion: number | null;
  readonly config: unknown;
  /** SHA-256 schema fingerprint, or null without a schema. */
  readonly schemaHash: string | null;
  /** The schema as stored: `{ fields: [{ name, kind, nullRate, cardinality }], recordCount }`, or null. */
  readonly schema: unknown;
  /** A copy's source (`CREATE MODEL t FROM MODEL s VERSION n`): model name, its tenant (null: global) and version; all null otherwise. */
  readonly copiedFromModel: string | null;
  readonly copiedFromTenant: string | null;
  readonly copiedFromVersion: number | null;
  /** Names of the model's aliases that point at this version, sorted. */
  readonly aliases: readonly string[];
  /** The version's tags. */
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * A version as callers name it: its number, or one of the model's aliases written
 * `'@name'` (e.g. `'@champion'`), resolved when the call runs.
 */
export type VersionRef = number | `@${string}`;

/** One alias of a model (a row of `ML_MODEL_ALIASES`). */
export interface ModelAlias {
  readonly model: string;
  readonly tenant: string | null;
  readonly alias: string;
  readonly version: number;
  readonly setAt: Date;
  readonly setBy: string | null;
}

/** One row of the dashboard. */
export interface ModelSummary {
  readonly name: string;
  /** Owning tenant, or null for a global model. */
  readonly tenant: string | null;
  /** Latest non-retired version at stage production, or null. */
  readonly productionVersion: number | null;
  readonly retired: boolean;
  readonly activeVersion: number | null;
  readonly totalVersions: number;
  readonly archivedVersions: number;
  readonly latestVersion: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** The model's aliases: name → version. */
  readonly aliases: Readonly<Record<string, number>>;
  /** The model's tags. */
  readonly tags: Readonly<Record<string, string>>;
}

/** What `LOOKUP MODEL FOR SCHEMA` answers: how a pipeline should start on new data. */
export type SchemaLookup =
  | { readonly mode: 'warm_load'; readonly model: string; readonly version: number; readonly distance: 0 }
  | { readonly mode: 'warm_start'; readonly model: string; readonly version: number; readonly distance: number }
  | { readonly mode: 'cold_start'; readonly model: null; readonly version: null; readonly distance: null };
