/**
 * Where images come from. ECR, an OCI layout, an OCI archive, a docker-archive, stdin and (later) an OCI
 * distribution registry are each one ImageSource; the cache wraps any of them (engine/cached.ts). A source resolves
 * a reference to an ImageSet (exact manifest bytes, verified by digest) and opens blobs by descriptor, optionally
 * from an offset, so the engine can resume and split large blobs into ranges. Verification of blob bytes is the
 * engine's: a source returns bytes as it finds them.
 */
import type { GrowingFile } from '../core/growing.js';
import type { Readable } from 'node:stream';
import type { Descriptor } from '../oci/manifest.js';
import type { ImageSet } from '../oci/image-set.js';

export interface BlobRange {
  /** First byte wanted. */
  offset: number;
  /** How many bytes from offset; to the end when absent. */
  length?: number;
}

export interface OpenedBlob {
  body: Readable;
  /** Where body's first byte sits in the blob: 0 when the server ignored the range asked for. */
  offset: number;
}

export interface ResolvedImage {
  set: ImageSet;
  /** "linux/amd64", "all", or undefined for a single-platform image. */
  platform?: string;
  /** Names the source gave the image (a layout's ref name annotation, an archive's RepoTags). */
  names?: string[];
}

/** A blob being filled into a local file, readable up to the bytes already verified in order. */
export interface StreamingBlob {
  file: GrowingFile;
  done: Promise<void>;
}

export interface ImageSource {
  /** How messages name this source: "ECR myrepo:1.0", "layout ./out". */
  readonly name: string;
  /** Whether asking for byte ranges pays off (remote sources): the engine splits large blobs only then. */
  readonly ranged: boolean;
  resolve(opts: { platform?: string; signal?: AbortSignal }): Promise<ResolvedImage>;
  openBlob(d: Descriptor, opts: { range?: BlobRange; signal?: AbortSignal }): Promise<OpenedBlob>;
  /**
   * Every blob this source serves was verified by digest on its way in (a store: engine/cached.ts): the engine
   * hands its local files to the sink as they are, without hashing them again.
   */
  readonly trusted?: boolean;
  /** Whether the blob is already at hand (a cache hit, checked): the engine can report it as cached, not moved. */
  hit?(d: Descriptor, opts: { signal?: AbortSignal }): Promise<boolean>;
  /**
   * A hint: these blobs will be opened soon, in this order. A remote source may start what each needs ahead (ECR:
   * the download URL), so a connection does not wait for an API round trip before each download. Never required.
   */
  willNeed?(ds: Descriptor[], opts: { signal?: AbortSignal }): void;
  /** Makes localPath(d) answer for this blob (a cache fills itself); the engine calls it before handing the blob over. */
  prepare?(d: Descriptor, opts: { signal?: AbortSignal }): Promise<void>;
  /**
   * Starts filling a local file with the blob and hands it over while it grows (engine/cached.ts), for sinks that
   * take a growing file (ImageSink.streams): `done` settles when every byte is verified (or the fill failed).
   */
  stream?(d: Descriptor, opts: { signal?: AbortSignal }): StreamingBlob;
  /** A local file holding the blob, when the source has one (a layout directory): copied or reflinked, not read. */
  localPath?(digest: string): string | undefined;
  /** Releases what the source holds (an unpacked archive's temp files). */
  close?(): Promise<void>;
}
