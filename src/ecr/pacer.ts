/**
 * Client-side pacing of ECR API calls, one token bucket per operation, so bulk work stays under ECR's per-operation
 * request quotas instead of bursting into ThrottlingException. Each operation starts a little under ECR's default
 * rate (quotas are per account and region and the clocks are not ours); a throttle halves that operation's rate
 * (at most once a second, so sixteen throttles of one burst count once), and each success lets it climb back
 * linearly to its ceiling within about ten seconds (AIMD). Operations never slow each other down.
 * The clock and the sleep are injected so the arithmetic is tested without waiting.
 */
import { sleep as realSleep } from '../core/retry.js';
import { ECR_DEFAULT_RATES } from '../core/ecr-quotas.js';

/** The rates paced at: ECR's defaults (core/ecr-quotas.ts, the table `ecrx serve --quotas ecr` enforces). */
export const ECR_API_RATES: Readonly<Record<string, number>> = ECR_DEFAULT_RATES;

/** The share of the quota aimed at: the margin absorbs timing jitter between our clock and ECR's. */
export const HEADROOM = 0.9;
/** How long a halved rate takes to climb back to its ceiling, in seconds. */
const CLIMB_SECONDS = 10;
/** A throttle halves the rate at most once per this many ms. */
const DECREASE_GAP_MS = 1000;

export interface PacerDeps {
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

class OperationBucket {
  rate: number;
  private tokens: number;
  private last: number;
  private lastDecrease = -Infinity;
  /** When the climb back after a throttle last moved. */
  private climbedAt = 0;

  constructor(
    readonly ceiling: number,
    now: number,
  ) {
    this.rate = ceiling;
    this.tokens = this.burst;
    this.last = now;
  }

  /**
   * A tenth of a second's worth: with the rate at 90% of the quota, no one-second window ever holds more calls than
   * the quota (0.1 + 0.9), however the calls fall.
   */
  private get burst(): number {
    return Math.max(1, this.rate / 10);
  }

  /** Takes a token, going into debt if none is there; returns how long the caller waits for it (ms). */
  take(now: number): number {
    this.refill(now);
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.rate) * 1000);
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.rate);
  }

  throttled(now: number): void {
    if (now - this.lastDecrease < DECREASE_GAP_MS) return;
    this.lastDecrease = now;
    this.refill(now);
    this.rate = Math.max(this.ceiling / 64, this.rate / 2);
    this.climbedAt = now;
    // The tokens handed out in the burst that was refused are not there any more.
    this.tokens = Math.min(this.tokens, 0);
  }

  succeeded(now: number): void {
    if (this.rate >= this.ceiling) return;
    // Linear in time, not in calls: a busy operation climbs no faster than a quiet one.
    this.rate = Math.min(this.ceiling, this.rate + (this.ceiling / CLIMB_SECONDS) * ((now - this.climbedAt) / 1000));
    this.climbedAt = now;
  }
}

export class Pacer {
  private readonly buckets = new Map<string, OperationBucket>();
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(
    private readonly rates: Readonly<Record<string, number>> = ECR_API_RATES,
    deps: PacerDeps = {},
  ) {
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? realSleep;
  }

  private bucket(operation: string): OperationBucket | undefined {
    let b = this.buckets.get(operation);
    const rate = this.rates[operation];
    if (!b && rate) {
      b = new OperationBucket(rate * HEADROOM, this.now());
      this.buckets.set(operation, b);
    }
    return b;
  }

  /** Waits until `operation` may be sent (at once when it is under its rate or not paced at all). */
  async acquire(operation: string, signal?: AbortSignal): Promise<void> {
    const wait = this.bucket(operation)?.take(this.now()) ?? 0;
    if (wait > 0) await this.sleep(wait, signal);
  }

  /** ECR answered ThrottlingException for `operation`: halve its rate. */
  throttled(operation: string): void {
    this.bucket(operation)?.throttled(this.now());
  }

  /** `operation` went through: let its rate climb back. */
  succeeded(operation: string): void {
    this.bucket(operation)?.succeeded(this.now());
  }

  /** The rate `operation` is paced at now, requests per second (Infinity when it is not paced). */
  rateOf(operation: string): number {
    return this.bucket(operation)?.rate ?? Infinity;
  }
}

const shared = new Map<string, Pacer>();
/** The share of each quota this process aims at (1/N for one of N sync shards running side by side). */
let quotaShare = 1;

/**
 * Paces this process to `share` of ECR's rates, for pacers made from now on: N processes that each take 1/N stay
 * under the quotas together. Called once, before the first connection (`ecrx sync --shard I/N`).
 */
export function setQuotaShare(share: number): void {
  if (!(share > 0 && share <= 1)) throw new RangeError(`quota share must be in (0, 1]: ${share}`);
  quotaShare = share;
}

const scaled = (share: number): Record<string, number> =>
  Object.fromEntries(Object.entries(ECR_API_RATES).map(([op, rate]) => [op, rate * share]));

/**
 * The pacer for one API endpoint, shared by every connection to it in this process (ECR's quotas are per account
 * and region, not per connection). ECRX_PACING=off turns pacing off, for accounts with raised quotas.
 */
export function pacerFor(endpoint: string): Pacer | undefined {
  if (process.env.ECRX_PACING === 'off') return undefined;
  let p = shared.get(endpoint);
  if (!p) shared.set(endpoint, (p = new Pacer(quotaShare === 1 ? ECR_API_RATES : scaled(quotaShare))));
  return p;
}
