/**
 * Uploads one blob: InitiateLayerUpload, UploadLayerPart in sequential parts read from disk one at a time, then
 * CompleteLayerUpload. A part whose response was lost is not sent twice: InvalidLayerPartException's
 * lastValidByteReceived says where ECR is, and the upload goes on from the byte after it. Only a vanished upload
 * (UploadNotFoundException) starts again from byte 0. LayerAlreadyExistsException is success.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { EcrxError } from '../core/errors.js';
import { backoffDelay, sleep } from '../core/retry.js';
import type { Ecr } from './client.js';
import { fromAws, isRetryable } from './errors.js';
import { effectivePartSize, planParts } from './parts.js';
import { scratchSizeFor } from './part-body.js';

export interface UploadRequest {
  ecr: Ecr;
  repository: string;
  digest: string;
  size: number;
  path: string;
  /** Bytes ECR has acknowledged for this blob. */
  onProgress?: (bytes: number) => void;
  onRetry?: (reason: string) => void;
  signal?: AbortSignal;
  /** Failed calls in a row, with no part accepted in between, before giving up (default 10). */
  maxStalled?: number;
}

export type UploadOutcome = 'uploaded' | 'exists';

export async function uploadBlob(req: UploadRequest): Promise<UploadOutcome> {
  if (req.size === 0) {
    throw new EcrxError(
      'INVALID_IMAGE',
      `Blob ${req.digest} is empty, and ECR refuses zero-byte uploads (EmptyUploadException)`,
      {
        hint: 'Rebuild the image so that no layer or config is zero bytes long.',
      },
    );
  }
  // Never blocks (a FIFO put where a blob should be would hang a plain open), and never reads anything but a file.
  const fh = await open(req.path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!(await fh.stat()).isFile()) {
      throw new EcrxError(
        'INVALID_IMAGE',
        `Blob ${req.digest} is not a regular file (${req.path}); refusing to read it`,
        { hint: 'Nothing more was uploaded. Check the source: blobs must be regular files.' },
      );
    }
    return await uploadFrom(fh, req);
  } finally {
    await fh.close();
  }
}

async function uploadFrom(fh: FileHandle, req: UploadRequest): Promise<UploadOutcome> {
  const { ecr, repository } = req;
  // Failures in a row set the backoff and when to give up. An accepted part resets them: a blob of many parts
  // on a flaky link meets many failures in all, and each part that lands is progress.
  const maxStalled = req.maxStalled ?? 10;
  let inARow = 0;
  const retryOrThrow = async (err: unknown, what: string) => {
    inARow++;
    if (inARow >= maxStalled || !isRetryable(err)) throw fromAws(err, `${what} of ${req.digest} to ${repository}`);
    const reason = `${(err as any)?.name ?? 'Error'}: ${(err as Error)?.message ?? err}`;
    req.onRetry?.(`${what}: ${reason}`);
    await sleep(backoffDelay(inARow), req.signal);
  };

  let partBuffer: Buffer | undefined;
  let bodyBuffer: Buffer | undefined;
  newUpload: for (let restarts = 0; ; restarts++) {
    if (restarts > 3) throw new EcrxError('SERVICE_ERROR', `ECR kept losing the upload of ${req.digest}`);
    let init: any;
    for (;;) {
      try {
        init = await ecr.call('InitiateLayerUpload', ecr.withRegistry({ repositoryName: repository }), {
          retry: false,
          signal: req.signal,
        });
        inARow = 0;
        break;
      } catch (err) {
        await retryOrThrow(err, 'InitiateLayerUpload');
      }
    }
    const uploadId: string = init.uploadId;
    const partSize = effectivePartSize(init.partSize);
    let position = 0;
    req.onProgress?.(0);
    while (position < req.size) {
      if (req.signal?.aborted) throw req.signal.reason;
      const part = planParts(req.size, partSize, position)[0];
      const length = part.last - part.first + 1;
      // One buffer per blob for the part and one for its request body, reused for every part once the previous
      // request is done with them: next to no garbage, and a peak that does not grow with the blob.
      partBuffer ??= Buffer.allocUnsafe(Math.min(partSize, req.size));
      const buf = partBuffer.subarray(0, length);
      const { bytesRead } = await fh.read(buf, 0, length, part.first);
      if (bytesRead !== length)
        throw new EcrxError('INVALID_IMAGE', `Blob ${req.digest} is shorter on disk than its ${req.size} bytes`);
      try {
        bodyBuffer ??= Buffer.allocUnsafe(scratchSizeFor(Math.min(partSize, req.size)));
        await ecr.uploadLayerPart(
          { repositoryName: repository, uploadId, partFirstByte: part.first, partLastByte: part.last },
          buf,
          { scratch: bodyBuffer, signal: req.signal },
        );
        position = part.last + 1;
        inARow = 0;
        req.onProgress?.(position);
      } catch (err: any) {
        if (err?.name === 'InvalidLayerPartException' && typeof err.lastValidByteReceived === 'number') {
          const next = err.lastValidByteReceived + 1;
          if (next > position && next <= req.size) {
            // ECR already has more than we thought: a lost response. Go on from where it is. That part landed, so
            // this is progress and the stall count starts again: a long push over a link that loses many
            // responses goes on as long as parts keep arriving.
            req.onRetry?.(
              `UploadLayerPart: ECR has bytes up to ${err.lastValidByteReceived}; continuing from byte ${next}`,
            );
            position = next;
            inARow = 0;
            req.onProgress?.(position);
            continue;
          }
          // ECR has less than we thought, or exactly what we thought and still refuses: a stall, counted and waited.
          inARow++;
          if (inARow >= maxStalled) throw fromAws(err, `UploadLayerPart of ${req.digest}`);
          if (next < position && next >= 0) position = next;
          req.onRetry?.(`UploadLayerPart: ${err.message ?? err.name}; continuing from byte ${position}`);
          await sleep(backoffDelay(inARow), req.signal);
          continue;
        }
        if (err?.name === 'UploadNotFoundException') {
          req.onRetry?.('UploadLayerPart: the upload is gone (UploadNotFoundException); starting a new one');
          continue newUpload;
        }
        await retryOrThrow(err, 'UploadLayerPart');
      }
    }
    for (;;) {
      try {
        await ecr.call(
          'CompleteLayerUpload',
          ecr.withRegistry({ repositoryName: repository, uploadId, layerDigests: [req.digest] }),
          { retry: false, signal: req.signal },
        );
        return 'uploaded';
      } catch (err: any) {
        if (err?.name === 'LayerAlreadyExistsException') return 'exists';
        if (err?.name === 'UploadNotFoundException') continue newUpload;
        if (err?.name === 'InvalidLayerException') {
          throw new EcrxError('DIGEST_MISMATCH', `ECR computed a different digest for ${req.digest}: ${err.message}`, {
            hint: 'The local blob does not match its digest (it changed while being read?). Nothing was tagged.',
            details: { expected: req.digest },
          });
        }
        if (err?.name === 'LayerPartTooSmallException') {
          throw new EcrxError('INTERNAL_ERROR', `ECR refused the part sizes of ${req.digest}: ${err.message}`);
        }
        await retryOrThrow(err, 'CompleteLayerUpload');
      }
    }
  }
}
