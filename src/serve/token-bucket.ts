/**
 * Request quotas as token buckets: one bucket per operation, holding at most `rate` tokens (a one-second burst)
 * and refilled continuously at `rate` per second. A request takes one token or is refused. The clock is injected
 * so the arithmetic can be tested without waiting.
 */
import { ECR_DEFAULT_RATES } from '../core/ecr-quotas.js';

export type Clock = () => number;

export class TokenBucket {
  /** Thousandths of a token: with a millisecond clock, the refill (elapsed ms x rate) stays a whole number. */
  private milli: number;
  private last: number;

  constructor(
    readonly rate: number,
    private readonly now: Clock = Date.now,
  ) {
    this.milli = rate * 1000;
    this.last = now();
  }

  /** Takes a token if one is there: true means the request may go on, false that it is over the rate. */
  take(): boolean {
    const t = this.now();
    this.milli = Math.min(this.rate * 1000, this.milli + Math.max(0, t - this.last) * this.rate);
    this.last = t;
    if (this.milli < 1000) return false;
    this.milli -= 1000;
    return true;
  }
}

export { ECR_DEFAULT_RATES };

/** A bucket per rated operation; operations without a rate are never refused. */
export class Quotas {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(rates: Readonly<Record<string, number>>, now: Clock = Date.now) {
    for (const [op, rate] of Object.entries(rates)) this.buckets.set(op, new TokenBucket(rate, now));
  }

  allow(operation: string): boolean {
    return this.buckets.get(operation)?.take() ?? true;
  }
}

/** The quota sets `ecrx serve --quotas` knows. */
export const QUOTA_SETS: Readonly<Record<string, Readonly<Record<string, number>>>> = { ecr: ECR_DEFAULT_RATES };
