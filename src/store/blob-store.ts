/**
 * The content-addressable store the engine keeps blobs in between a source and a sink (the on-disk cache,
 * store/blob-cache.ts). Every blob in it was verified by digest when it entered; a blob that no longer matches is
 * removed when found, so the store heals itself.
 */
export interface BlobStore {
  /** The store's directory: unfinished downloads (partials) and their locks live under it too. */
  readonly root: string;
  /** Path of the blob's file (present or not). */
  path(digest: string): string;
  /** Present with this size; cheap and unverified. */
  has(digest: string, size?: number): boolean;
  /** Present and re-hashed to its digest; a mismatch is removed and reported as absent. */
  hasVerified(digest: string, size?: number, opts?: { signal?: AbortSignal }): Promise<boolean>;
  /** A fresh temporary file name inside the store, on the same file system, for a blob being written. */
  tmpPath(label?: string): string;
  /** Moves a verified temporary file under its digest. */
  commit(tmpFile: string, digest: string): Promise<string>;
  /** A small blob's bytes (manifests, configs), verified against the digest. */
  readBytes(digest: string): Promise<Buffer>;
}
