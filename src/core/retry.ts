/**
 * Retrying, in one place: the policy table says, for each kind of work, what is retried, how often, with which
 * backoff and what sets the stall count back to zero; `retrying()` runs an attempt under a policy and `Stalls`
 * keeps the count for loops that resume rather than repeat (uploads, downloads).
 */

export interface Backoff {
  /** exponential: a random wait in [0, min(cap, base * 2^(n-1))] (full jitter); linear: min(cap, base * n). */
  readonly kind: 'exponential' | 'linear';
  readonly baseMs: number;
  readonly capMs: number;
}

export interface RetryPolicy {
  /** Which failures get another try (the caller's classifier decides; this says which one). */
  readonly retries: string;
  /** Failed tries in a row, without progress, before giving up: a number, or the connection's --max-attempts. */
  readonly attempts: number | 'max-attempts';
  readonly backoff: Backoff;
  /** What counts as progress and sets the stall count back to zero. */
  readonly resetsOn: string;
}

/** The table. ecr/client.ts, ecr/upload.ts, sources/ecr-download.ts (store/ingest.ts) and sinks/ecr.ts each name their row. */
export const retryPolicies = {
  /** One ECR API call (ecr/client.ts `call`). */
  apiCall: {
    retries: 'throttling, 429, 5xx and dropped connections (ecr/errors.ts isRetryable); never an unreachable endpoint',
    attempts: 'max-attempts',
    backoff: { kind: 'exponential', baseMs: 100, capMs: 5_000 },
    resetsOn: 'nothing: every failed try of the call counts',
  },
  /** A layer upload: InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload (ecr/upload.ts). */
  layerUpload: {
    retries: 'what apiCall retries, plus a part ECR did not take (resumed from lastValidByteReceived)',
    attempts: 'max-attempts',
    backoff: { kind: 'exponential', baseMs: 100, capMs: 5_000 },
    resetsOn: 'a part ECR acknowledges',
  },
  /** A blob download from a pre-signed URL (store/ingest.ts). */
  blobDownload: {
    retries: '5xx, S3 SlowDown, a cut or silent connection (resumed with Range), an expired URL (a fresh one)',
    attempts: 'max-attempts',
    backoff: { kind: 'exponential', baseMs: 200, capMs: 10_000 },
    resetsOn: 'any byte written since the last failure',
  },
  /** PutImage right after its blobs were uploaded (sinks/ecr.ts): ECR's consistency lag. */
  manifestLag: {
    retries: 'LayersNotFoundException / ReferencedImagesNotFoundException, as often as the lag window allows',
    attempts: Number.POSITIVE_INFINITY,
    backoff: { kind: 'linear', baseMs: 250, capMs: 1_000 },
    resetsOn: 'nothing: the lag window is measured in time',
  },
} as const satisfies Record<string, RetryPolicy>;

export type RetryPolicyName = keyof typeof retryPolicies;

/** The wait before the next try after `failures` failed ones (1 after the first), under `backoff`. */
export function retryDelay(backoff: Backoff, failures: number, random = Math.random): number {
  const n = Math.max(1, failures);
  if (backoff.kind === 'linear') return Math.min(backoff.capMs, backoff.baseMs * n);
  return backoffDelay(n, backoff.baseMs, backoff.capMs, random);
}

/** Exponential backoff with full jitter: a random wait between 0 and min(cap, base * 2^(attempt-1)). */
export function backoffDelay(attempt: number, baseMs = 100, capMs = 5000, random = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(random() * ceiling);
}

/** Resolves a policy's attempt budget against the connection's --max-attempts. */
export const attemptsOf = (policy: RetryPolicy, maxAttempts: number): number =>
  policy.attempts === 'max-attempts' ? maxAttempts : policy.attempts;

/** The stall count of one piece of work: failures in a row without progress, against the policy's budget. */
export class Stalls {
  private count = 0;

  constructor(
    readonly policy: RetryPolicy,
    readonly limit: number,
  ) {}

  get inARow(): number {
    return this.count;
  }

  /** Counts a failure; false when the budget is spent and the caller should give up. */
  failed(): boolean {
    this.count++;
    return this.count < this.limit;
  }

  /** Progress (the policy's resetsOn): the next failure starts a fresh count and a short backoff. */
  progressed(): void {
    this.count = 0;
  }

  /** Waits the policy's backoff for the failures counted so far. */
  wait(signal?: AbortSignal): Promise<void> {
    return sleep(retryDelay(this.policy.backoff, this.count), signal);
  }
}

export interface RetryingOptions {
  policy: RetryPolicy;
  /** Tries in all, the first included. */
  attempts: number;
  retryable: (err: unknown) => boolean;
  /** Told before each wait: which try failed, the error, and how long the wait is. */
  onRetry?: (attempt: number, err: unknown, delayMs: number) => void;
  signal?: AbortSignal;
}

/** Runs `attempt` until it succeeds, fails in a way the policy does not retry, or the budget is spent. */
export async function retrying<T>(attempt: (n: number) => Promise<T>, o: RetryingOptions): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (o.signal?.aborted || n >= o.attempts || !o.retryable(err)) throw err;
      const delay = retryDelay(o.policy.backoff, n);
      o.onRetry?.(n, err, delay);
      await sleep(delay, o.signal);
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
