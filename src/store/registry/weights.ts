/**
 * Reading a version's stored weights: streamed (export) or whole and checked. Both
 * take the version's blob, hash and size from one read through one view.
 */

import { createHash } from 'node:crypto';
import { invalidArgument } from '../../errors.js';
import { weightsMismatch, type StoredBlob } from '../blobs.js';
import type { VersionRef } from '../types.js';
import { checkVersionRef, resolveVersionRef } from './aliases.js';
import type { RegistryContext } from './context.js';

/** Stored weights to stream: the blob, the SHA-256 and size they must match, and its chunks as `content`. */
export type WeightsSource = StoredBlob & { readonly version: number; readonly content: AsyncIterable<Uint8Array> };

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * A version's stored weights, to stream: the blob, the SHA-256 and size they must
 * match, and its chunks in order as `content`, unchecked (the caller verifies while streaming).
 * A version without stored weights is INVALID_ARGUMENT.
 */
export async function weightsSource(ctx: RegistryContext, model: string, version: VersionRef): Promise<WeightsSource> {
  const stored = await storedWeights(ctx, model, version);
  // Chunks of a referenced blob never change, so they need no snapshot.
  return { ...stored, content: ctx.blobChunks(stored.blob) };
}

/** The weights of one version, checked against their stored SHA-256 and size. */
export async function readWeights(ctx: RegistryContext, model: string, ref: VersionRef): Promise<Uint8Array> {
  const { version, ...stored } = await storedWeights(ctx, model, ref);
  const chunks: Uint8Array[] = [];
  for await (const chunk of ctx.blobChunks(stored.blob)) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  if (bytes.length !== stored.sizeBytes || sha256Hex(bytes) !== stored.sha256) throw weightsMismatch(model, version, stored.blob);
  return bytes;
}

/** The blob, hash and size of a version's weights, read through one view. */
async function storedWeights(ctx: RegistryContext, model: string, ref: VersionRef): Promise<StoredBlob & { readonly version: number }> {
  checkVersionRef(ref);
  const { record, version } = await ctx.queue.read((view) => {
    const { key, head } = ctx.resolve(model, view);
    const version = resolveVersionRef(model, head, ref);
    return { record: ctx.readRecord(model, key, head, version, view), version };
  });
  if (record.sha256 === null || record.blob === null || record.sizeBytes === null) {
    throw invalidArgument(`version ${version} of model '${model}' has no stored weights${record.artifact ? ` (artifact: ${record.artifact})` : ''}`, { model, version });
  }
  return { blob: record.blob, chunks: record.chunks, sha256: record.sha256, sizeBytes: record.sizeBytes, version };
}
