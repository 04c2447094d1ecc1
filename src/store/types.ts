/** Public shapes of the typed registry API (`db.registry`). */

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
}

/** One row of the dashboard. */
export interface ModelSummary {
  readonly name: string;
  readonly activeVersion: number | null;
  readonly totalVersions: number;
  readonly archivedVersions: number;
  readonly latestVersion: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}
