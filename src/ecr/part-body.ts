/**
 * UploadLayerPart bodies without the SDK's base64. The SDK's JSON serializer encodes a blob byte by byte in
 * JavaScript into a buffer it grows by doubling: for a 10 MiB part that is most of the client's time and ~40 MB of
 * garbage. Instead the SDK serializes the request with an empty `layerPartBlob`, and a build-step middleware splices
 * the part in, base64-encoded natively, 3 MiB at a time, into a buffer the caller reuses from part to part. Every
 * other byte of the body is the SDK's own, and the request is signed afterwards as usual.
 */
import { EcrxError } from '../core/errors.js';

/** What the SDK writes for an empty blob member; the part's base64 goes between the quotes. */
const MARKER = Buffer.from('"layerPartBlob":""');
/**
 * A multiple of 3, so each chunk encodes without padding and the chunks join into one valid base64 string. Large
 * enough that Node hands each chunk's base64 over as an external string (above about 1 MB of text): at 192 KiB
 * every chunk was copied into V8's heap first, and a 10 MiB part took about 60 ms to encode instead of 3 to 7.
 */
const CHUNK = 3 << 20;

export interface PartBody {
  /** The part's bytes. */
  blob: Uint8Array;
  /** A buffer to build the body in when it is large enough (one per blob, reused for each part). */
  scratch?: Buffer;
  /** Set once the body has been built: a request without it would carry an empty part. */
  spliced?: boolean;
}

/** How long the base64 text of `n` bytes is, padding included. */
export const base64EncodedLength = (n: number) => Math.ceil(n / 3) * 4;

/** Bytes of scratch that a body for a part of `partSize` bytes needs, with room for the rest of the request. */
export const scratchSizeFor = (partSize: number) => base64EncodedLength(partSize) + 4096;

/** Returns the body with `blob` base64-encoded into the empty `layerPartBlob` string of `sdkBody`. */
export function spliceBlob(sdkBody: unknown, job: PartBody): Buffer {
  const body =
    typeof sdkBody === 'string'
      ? Buffer.from(sdkBody)
      : sdkBody instanceof Uint8Array
        ? Buffer.from(sdkBody.buffer, sdkBody.byteOffset, sdkBody.byteLength)
        : undefined;
  const at = body ? body.indexOf(MARKER) : -1;
  if (!body || at === -1 || body.indexOf(MARKER, at + 1) !== -1) {
    throw new EcrxError(
      'INTERNAL_ERROR',
      'The AWS SDK serialized UploadLayerPart in a way ecrx does not recognise; nothing was sent',
      {
        hint: 'Report this with `ecrx --version` and the @aws-sdk/client-ecr version.',
      },
    );
  }
  const insert = at + MARKER.length - 1; // before the closing quote
  const encoded = base64EncodedLength(job.blob.length);
  const total = body.length + encoded;
  const out = job.scratch && job.scratch.length >= total ? job.scratch.subarray(0, total) : Buffer.allocUnsafe(total);
  body.copy(out, 0, 0, insert);
  const src = Buffer.from(job.blob.buffer, job.blob.byteOffset, job.blob.byteLength);
  let pos = insert;
  for (let i = 0; i < src.length; i += CHUNK)
    pos += out.write(src.toString('base64', i, Math.min(i + CHUNK, src.length)), pos, 'latin1');
  body.copy(out, pos, insert);
  job.spliced = true;
  return out;
}
