/**
 * One budget of connections for a whole run, shared by whole small blobs and the ranges of large ones, so a run
 * never opens more than -j connections however its blobs are split. The number allowed moves AIMD-fashion: it
 * starts at the ceiling (-j), halves when the far side throttles or fails (S3 SlowDown, 5xx, cut connections), and
 * grows by one each measuring window in which throughput grew while every connection was busy. A connection that
 * is asked for waits until one is free under the current limit.
 */

/** Releases one connection back to the budget; calling it twice is harmless. */
export type Release = () => void;

export interface BudgetOptions {
  /** Connections at most (-j). */
  ceiling: number;
  /** Connections allowed at the start (default: the ceiling). */
  initial?: number;
  /** Length of one throughput measuring window (default 1 s). */
  windowMs?: number;
  now?: () => number;
}

export class ConnectionBudget {
  private ceilingValue: number;
  private limitValue: number;
  private active = 0;
  private readonly waiters: { grant: (r: Release) => void }[] = [];
  private readonly windowMs: number;
  private readonly now: () => number;
  private windowStart: number;
  private windowBytes = 0;
  private lastRate = 0;
  /** Whether every allowed connection was busy at some point in this window: only then can more help. */
  private saturated = false;
  private lastDecrease = -Infinity;

  constructor(opts: BudgetOptions) {
    this.ceilingValue = Math.max(1, Math.floor(opts.ceiling));
    this.limitValue = Math.min(this.ceilingValue, Math.max(1, Math.floor(opts.initial ?? this.ceilingValue)));
    this.windowMs = opts.windowMs ?? 1000;
    this.now = opts.now ?? Date.now;
    this.windowStart = this.now();
  }

  get limit(): number {
    return this.limitValue;
  }
  get ceiling(): number {
    return this.ceilingValue;
  }
  get inUse(): number {
    return this.active;
  }

  /** A new ceiling (-j); the current limit follows it down, and may grow up to it. */
  setCeiling(ceiling: number): void {
    this.ceilingValue = Math.max(1, Math.floor(ceiling));
    // Before any sign of trouble the limit is the ceiling; after one, it only grows back by measuring.
    this.limitValue =
      this.lastDecrease === -Infinity ? this.ceilingValue : Math.min(this.limitValue, this.ceilingValue);
    this.pump();
  }

  /** A connection now if one is free, else undefined. */
  tryAcquire(): Release | undefined {
    if (this.active >= this.limitValue || this.waiters.length) return undefined;
    return this.take();
  }

  /** Waits for a connection; rejects with the signal's reason when it aborts first. */
  acquire(signal?: AbortSignal): Promise<Release> {
    const now = this.tryAcquire();
    if (now) return Promise.resolve(now);
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: (r: Release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(r);
        },
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Bytes moved by any connection: the throughput that decides whether to grow. */
  onBytes(n: number): void {
    this.windowBytes += n;
    const t = this.now();
    const elapsed = t - this.windowStart;
    if (elapsed < this.windowMs) return;
    const rate = this.windowBytes / elapsed;
    // Additive increase: one more connection when the last window was faster and all connections were busy.
    if (this.saturated && rate > this.lastRate * 1.05 && this.limitValue < this.ceilingValue) {
      this.limitValue++;
      this.pump();
    }
    this.lastRate = rate;
    this.windowBytes = 0;
    this.windowStart = t;
    this.saturated = this.active >= this.limitValue;
  }

  /** Throttling or a failed connection: halve the limit, at most once a window (one burst of errors is one signal). */
  onThrottle(): void {
    const t = this.now();
    if (t - this.lastDecrease < this.windowMs) return;
    this.lastDecrease = t;
    this.limitValue = Math.max(1, Math.floor(this.limitValue / 2));
    this.lastRate = 0;
  }

  private take(): Release {
    this.active++;
    if (this.active >= this.limitValue) this.saturated = true;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.pump();
    };
  }

  private pump(): void {
    while (this.waiters.length && this.active < this.limitValue) this.waiters.shift()!.grant(this.take());
  }
}

let shared: ConnectionBudget | undefined;

/** The run's budget (created at the default -j of 4 until the CLI sets the ceiling). */
export function runBudget(): ConnectionBudget {
  shared ??= new ConnectionBudget({ ceiling: 4 });
  return shared;
}

/** Sets the run's ceiling from -j. */
export function setRunConcurrency(ceiling: number): void {
  runBudget().setCeiling(ceiling);
}
