/**
 * A weighted semaphore: work takes `n` units of a fixed budget (bytes of buffers, say) and gives them back when
 * done, first come first served. A taker asking more than the whole budget gets the whole budget, alone.
 */
export class Budget {
  private free: number;
  private queue: { n: number; grant: () => void }[] = [];

  constructor(readonly limit: number) {
    this.free = limit;
  }

  /** Waits for `n` units; resolves to the function that gives them back (call it exactly once). */
  async take(n: number, signal?: AbortSignal): Promise<() => void> {
    const units = Math.min(Math.max(0, n), this.limit);
    if (this.queue.length === 0 && this.free >= units) {
      this.free -= units;
      return this.giver(units);
    }
    signal?.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const waiter = {
        n: units,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.queue = this.queue.filter((w) => w !== waiter);
        reject(signal?.reason);
        this.drain();
      };
      this.queue.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    return this.giver(units);
  }

  private giver(units: number): () => void {
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.free += units;
      this.drain();
    };
  }

  private drain(): void {
    while (this.queue.length && this.free >= this.queue[0].n) {
      const w = this.queue.shift()!;
      this.free -= w.n;
      w.grant();
    }
  }
}
