/**
 * Uploads one blob: InitiateLayerUpload, UploadLayerPart in sequential parts read from disk one at a time, then
 * CompleteLayerUpload. A part whose response was lost is not sent twice: InvalidLayerPartException's
 * lastValidByteReceived says where ECR is, and the upload goes on from the byte after it. Only a vanished upload
 * (UploadNotFoundException) starts again from byte 0. LayerAlreadyExistsException is success.
 *
 * Across runs: with a push journal (see resume-journal.ts), a blob of more than one part records its uploadId and
 * the bytes ECR acknowledged after each part. A later push of the same blob to the same place skips
 * InitiateLayerUpload and sends the next part of that upload: ECR either takes it, or answers where it stands
 * (InvalidLayerPartException, lastValidByteReceived), or no longer knows the upload (UploadNotFoundException), which
 * quietly starts a new one. So a killed push re-sends at most the part that was in flight.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { EcrxError } from '../core/errors.js';
import { GrowingRestarted } from '../core/growing.js';
import { attemptsOf, retryPolicies, Stalls } from '../core/retry.js';
import { digestMismatch, sizeMismatch } from '../core/verify.js';
import { configuredEndpoint, type Ecr } from './client.js';
import { fromAws, isRetryable } from './errors.js';
import { effectivePartSize, MIN_PART, planParts } from './parts.js';
import { scratchSizeFor } from './part-body.js';
import type { ResumeJournal, ResumePoint, UploadPlace } from './resume-journal.js';

/**
 * Where an upload reads its parts: a finished file (fileParts), or a file still being downloaded (a GrowingFile,
 * core/growing.ts) whose reads wait for the bytes and whose `verified` settles once the download is checked.
 * Either way one part is held in memory at a time, and a failed part is read again from the file.
 */
export interface PartReader {
  /** Fills `buf` with the blob's bytes at `position` (waiting for them if they are still coming). */
  read(buf: Buffer, position: number, signal?: AbortSignal): Promise<void>;
  /** Settles once every byte is verified; CompleteLayerUpload waits for it. Absent: verified already. */
  verified?(signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export interface UploadRequest {
  ecr: Ecr;
  repository: string;
  digest: string;
  size: number;
  /** A complete local file of the blob; or `parts`. */
  path?: string;
  parts?: PartReader;
  /** Bytes ECR has acknowledged for this blob. */
  onProgress?: (bytes: number) => void;
  onRetry?: (reason: string) => void;
  signal?: AbortSignal;
  /** Failed calls in a row, with no part accepted in between, before giving up (default 10). */
  maxStalled?: number;
  /** Where unfinished uploads are recorded for the next run; default the connection's, null for none. */
  journal?: ResumeJournal | null;
  /** Called when an upload left by an earlier run is continued, with the bytes ECR already had. */
  onResumed?: (bytes: number) => void;
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
  const parts = req.parts ?? (await fileParts(req));
  try {
    return await uploadFrom(parts, req);
  } finally {
    await parts.close();
  }
}

/** The parts of a finished file: never blocks on open (a FIFO where a blob should be), never reads a non-file. */
async function fileParts(req: UploadRequest): Promise<PartReader> {
  const path = req.path ?? '';
  const fh: FileHandle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  if (!(await fh.stat()).isFile()) {
    await fh.close();
    throw new EcrxError('INVALID_IMAGE', `Blob ${req.digest} is not a regular file (${path}); refusing to read it`, {
      hint: 'Nothing more was uploaded. Check the source: blobs must be regular files.',
    });
  }
  return {
    async read(buf, position) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, position);
      if (bytesRead !== buf.length)
        throw sizeMismatch(`Blob ${req.digest}`, req.size, position + bytesRead, {
          message: `Blob ${req.digest} is shorter on disk than its ${req.size} bytes`,
          hint: 'Nothing was tagged. The local file changed while it was being read; run the same command again.',
        });
    },
    close: () => fh.close(),
  };
}

interface AwsErrorLike {
  name?: string;
  message?: string;
  lastValidByteReceived?: unknown;
}
const awsError = (err: unknown): AwsErrorLike => (typeof err === 'object' && err !== null ? err : {});

/** The registry as this client reaches it: the same three always mean the same uploads. */
async function registryOf(ecr: Ecr): Promise<string> {
  const region = await ecr.region().catch(() => '');
  return [configuredEndpoint(ecr.conn) ?? 'aws', region, ecr.conn.registryId ?? 'default'].join(' ');
}

/** Records the upload's progress for a later run; a journal that cannot be written only loses that help. */
class Progress {
  private constructor(
    private readonly journal: ResumeJournal | undefined,
    private readonly place: UploadPlace | undefined,
    private readonly size: number,
  ) {}

  static async open(req: UploadRequest): Promise<Progress> {
    // A blob no larger than the smallest part ECR may ask for is always one part: nothing to record or read.
    const journal =
      req.journal === null || req.size <= MIN_PART ? undefined : (req.journal ?? req.ecr.conn.uploadJournal);
    const place = journal
      ? { registry: await registryOf(req.ecr), repository: req.repository, digest: req.digest }
      : undefined;
    return new Progress(journal, place, req.size);
  }

  /** The earlier run's upload of this very blob, if one was recorded. */
  async resumable(): Promise<ResumePoint | undefined> {
    if (!this.journal || !this.place) return undefined;
    const e = await this.journal.read(this.place).catch(() => undefined);
    return e && e.size === this.size && e.offset <= e.size ? e : undefined;
  }

  async record(uploadId: string, partSize: number, offset: number): Promise<void> {
    // A blob of one part gains nothing from a record: a resume would send that same part again.
    if (!this.journal || !this.place || this.size <= partSize) return;
    await this.journal.write({ ...this.place, uploadId, partSize, size: this.size, offset }).catch(() => undefined);
  }

  async forget(): Promise<void> {
    if (this.journal && this.place) await this.journal.remove(this.place).catch(() => undefined);
  }
}

async function uploadFrom(parts: PartReader, req: UploadRequest): Promise<UploadOutcome> {
  const { ecr, repository } = req;
  // Failures in a row set the backoff and when to give up (retryPolicies.layerUpload). An accepted part resets
  // them: a blob of many parts on a flaky link meets many failures in all, and each part that lands is progress.
  const policy = retryPolicies.layerUpload;
  const stalls = new Stalls(policy, attemptsOf(policy, req.maxStalled ?? 10));
  const retryOrThrow = async (err: unknown, what: string) => {
    if (!stalls.failed() || !isRetryable(err)) throw fromAws(err, `${what} of ${req.digest} to ${repository}`);
    const e = awsError(err);
    req.onRetry?.(`${what}: ${e.name ?? 'Error'}: ${e.message ?? String(err)}`);
    await stalls.wait(req.signal);
  };
  const progress = await Progress.open(req);
  let resume = await progress.resumable();

  // Times the download under a growing file started again: each needs a new upload, and none is ECR's fault.
  let refilled = 0;
  let partBuffer: Buffer | undefined;
  let bodyBuffer: Buffer | undefined;
  newUpload: for (let restarts = 0; ; restarts++) {
    if (restarts > 3 + refilled) throw new EcrxError('SERVICE_ERROR', `ECR kept losing the upload of ${req.digest}`);
    let uploadId: string;
    let partSize: number;
    let position: number;
    // Set while continuing an earlier run's upload: ECR may have forgotten it, which is no failure.
    let resumed = false;
    if (resume) {
      ({ uploadId, offset: position } = resume);
      partSize = effectivePartSize(resume.partSize);
      resumed = true;
      resume = undefined;
      req.onResumed?.(position);
    } else {
      let init: { uploadId?: string; partSize?: number } | undefined;
      for (;;) {
        try {
          init = await ecr.call('InitiateLayerUpload', ecr.withRegistry({ repositoryName: repository }), {
            retry: false,
            signal: req.signal,
          });
          stalls.progressed();
          break;
        } catch (err) {
          await retryOrThrow(err, 'InitiateLayerUpload');
        }
      }
      uploadId = String(init?.uploadId);
      partSize = effectivePartSize(init?.partSize);
      position = 0;
      await progress.record(uploadId, partSize, 0);
    }
    req.onProgress?.(position);
    while (position < req.size) {
      if (req.signal?.aborted) throw req.signal.reason;
      const part = planParts(req.size, partSize, position)[0];
      const length = part.last - part.first + 1;
      // One buffer per blob for the part and one for its request body, reused for every part once the previous
      // request is done with them: next to no garbage, and a peak that does not grow with the blob.
      partBuffer ??= Buffer.allocUnsafe(Math.min(partSize, req.size));
      const buf = partBuffer.subarray(0, length);
      if (!(await readPart(parts, buf, part.first, req.signal, progress))) {
        refilled++;
        req.onRetry?.('the download started again: starting a new upload');
        continue newUpload;
      }
      try {
        bodyBuffer ??= Buffer.allocUnsafe(scratchSizeFor(Math.min(partSize, req.size)));
        await ecr.uploadLayerPart(
          { repositoryName: repository, uploadId, partFirstByte: part.first, partLastByte: part.last },
          buf,
          { scratch: bodyBuffer, signal: req.signal },
        );
        position = part.last + 1;
        stalls.progressed();
        req.onProgress?.(position);
        await progress.record(uploadId, partSize, position);
      } catch (err) {
        const e = awsError(err);
        if (e.name === 'InvalidLayerPartException' && typeof e.lastValidByteReceived === 'number') {
          const next = e.lastValidByteReceived + 1;
          if (next > position && next <= req.size) {
            // ECR already has more than we thought: a lost response, or a run killed before it could record the
            // part. Go on from where ECR is. That part landed, so this is progress and the stall count starts
            // again: a long push over a link that loses many responses goes on as long as parts keep arriving.
            if (!resumed)
              req.onRetry?.(
                `UploadLayerPart: ECR has bytes up to ${e.lastValidByteReceived}; continuing from byte ${next}`,
              );
            position = next;
            // Continuing an earlier run's upload: ECR's answer says how much of it that run left (the journal's
            // offset is a lower bound).
            if (resumed) req.onResumed?.(position);
            stalls.progressed();
            req.onProgress?.(position);
            await progress.record(uploadId, partSize, position);
            continue;
          }
          // ECR has less than we thought, or exactly what we thought and still refuses: a stall, counted and waited.
          if (!stalls.failed()) throw fromAws(err, `UploadLayerPart of ${req.digest}`);
          if (next < position && next >= 0) position = next;
          req.onRetry?.(`UploadLayerPart: ${e.message ?? e.name}; continuing from byte ${position}`);
          await stalls.wait(req.signal);
          continue;
        }
        if (e.name === 'UploadNotFoundException') {
          // An earlier run's upload that ECR has let go (expired, or completed by someone else): start afresh.
          if (!resumed)
            req.onRetry?.('UploadLayerPart: the upload is gone (UploadNotFoundException); starting a new one');
          else req.onResumed?.(0); // nothing of the earlier run's upload is left to reuse
          continue newUpload;
        }
        await retryOrThrow(err, 'UploadLayerPart');
      }
    }
    // A blob still downloading is committed only once the download has checked every byte. If that fails, the
    // upload is abandoned uncompleted (ECR drops it) and the download's error is the one that stands.
    if (!(await readPart(parts, undefined, 0, req.signal, progress))) {
      refilled++;
      continue newUpload;
    }
    for (;;) {
      try {
        await ecr.call(
          'CompleteLayerUpload',
          ecr.withRegistry({ repositoryName: repository, uploadId, layerDigests: [req.digest] }),
          { retry: false, signal: req.signal },
        );
        await progress.forget();
        return 'uploaded';
      } catch (err) {
        const e = awsError(err);
        if (e.name === 'LayerAlreadyExistsException') {
          await progress.forget();
          return 'exists';
        }
        if (e.name === 'UploadNotFoundException') continue newUpload;
        if (e.name === 'InvalidLayerException') {
          await progress.forget();
          const actual = /sha256:[0-9a-f]{64}/.exec(e.message ?? '')?.[0] ?? 'another digest';
          throw digestMismatch(`Blob ${req.digest}`, req.digest, actual, {
            message: `ECR computed a different digest for ${req.digest}: ${e.message}`,
            hint: 'The local blob does not match its digest (it changed while being read?). Nothing was tagged.',
          });
        }
        if (e.name === 'LayerPartTooSmallException') {
          await progress.forget();
          throw new EcrxError('INTERNAL_ERROR', `ECR refused the part sizes of ${req.digest}: ${e.message}`);
        }
        await retryOrThrow(err, 'CompleteLayerUpload');
      }
    }
  }
}

/**
 * Reads a part (or, with no buffer, waits for the reader's verification). False when the download under a growing
 * file started again: the caller starts a new upload. Any other failure (the download's) ends the upload, and the
 * journal forgets it, so no later run continues an upload of bytes that failed their check.
 */
async function readPart(
  parts: PartReader,
  buf: Buffer | undefined,
  position: number,
  signal: AbortSignal | undefined,
  progress?: Progress,
): Promise<boolean> {
  try {
    if (buf) await parts.read(buf, position, signal);
    else await parts.verified?.(signal);
    return true;
  } catch (err) {
    if (err instanceof GrowingRestarted) return false;
    await progress?.forget();
    throw err;
  }
}
