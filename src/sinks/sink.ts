/**
 * Where images go. ECR, an OCI layout, an OCI archive, a docker-archive, a rootfs export and (later) an OCI
 * distribution registry are each one ImageSink. The engine asks which blobs are missing, hands each missing blob
 * over as a BlobInput it may read more than once (from an offset, to retry a part), and writes the manifests last,
 * as exact bytes. A sink never makes a half-written result look complete: abort() removes what it started.
 */
import type { Readable } from 'node:stream';
import type { GrowingFile } from '../core/growing.js';
import type { Descriptor } from '../oci/manifest.js';
import type { ImageSet } from '../oci/image-set.js';
import type { TransferEvents } from '../engine/events.js';

export interface BlobInput {
  descriptor: Descriptor;
  /** The blob's bytes from offset. May be called again after a failure; each call gets a fresh stream. */
  open(offset: number, signal?: AbortSignal): Readable;
  /** A complete local file, when there is one, for sinks that can copy or reflink instead of reading. */
  path?: string;
  /**
   * A local file still being written (a copy's cache fill), readable up to the bytes verified in order so far; only
   * handed to sinks that take one (ImageSink.streams), and only when there is no complete `path`.
   */
  growing?: GrowingFile;
  /**
   * Settles once every byte has been checked against the digest (at once for a cached blob; when the download ends
   * for a blob copied while it downloads). A sink does not commit a blob (CompleteLayerUpload, rename) before it.
   */
  verified: Promise<void>;
}

export interface BlobWritten {
  /** Bytes sent to the sink in this run. */
  bytes: number;
  /** Bytes a resumed upload did not have to send again. */
  reused?: number;
}

export interface SinkResult {
  /** Where the image ended up, in the form a user would type it. */
  target: string;
  digest: string;
  registryId?: string;
}

export interface ImageSink {
  readonly name: string;
  /** Takes BlobInput.growing: starts writing a blob while it downloads, commits it only once `verified` settles. */
  readonly streams?: boolean;
  /** Refuses, before any blob moves, an image writeImage would refuse (a manifest too large, two platforms for one). */
  check?(set: ImageSet): void;
  /** Of these blobs, the ones the sink does not already hold. */
  missing(blobs: Descriptor[], signal?: AbortSignal): Promise<Descriptor[]>;
  writeBlob(input: BlobInput, events: TransferEvents, signal?: AbortSignal): Promise<BlobWritten>;
  /** Writes the manifests by their exact bytes (an index's children before the index) and commits the result. */
  writeImage(set: ImageSet, tags: string[], signal?: AbortSignal): Promise<SinkResult>;
  /** Removes whatever this sink started and did not commit. */
  abort(): Promise<void>;
}
