/**
 * How a blob is cut into UploadLayerPart calls: parts of the size ECR answered (clamped to ECR's limits), every
 * part but the last at least 5 MiB (ECR checks that only at CompleteLayerUpload, and then the whole upload is lost),
 * none above 20 MiB.
 */
export const MiB = 1024 * 1024;
export const MIN_PART = 5 * MiB;
export const MAX_PART = 20 * MiB;
export const DEFAULT_PART = 10 * MiB;

export interface Part {
  first: number;
  /** Inclusive, as ECR's partLastByte. */
  last: number;
}

export function effectivePartSize(answered: number | undefined): number {
  if (!answered || !Number.isFinite(answered) || answered <= 0) return DEFAULT_PART;
  return Math.min(Math.max(Math.floor(answered), MIN_PART), MAX_PART);
}

/** Parts covering [from, size): whole parts of partSize, the remainder last. Empty for a zero-byte blob. */
export function planParts(size: number, partSize: number, from = 0): Part[] {
  const step = effectivePartSize(partSize);
  const parts: Part[] = [];
  for (let first = from; first < size; first += step) {
    parts.push({ first, last: Math.min(first + step, size) - 1 });
  }
  return parts;
}
