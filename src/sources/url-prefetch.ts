/**
 * Download URLs asked for ahead of the downloads that use them. Without it each blob costs two round trips in a
 * row on its connection (GetDownloadUrlForLayer, then the GET); with it the API calls run on their own
 * connections a little ahead of the downloads, and a download finds its URL waiting. Only a window of URLs is
 * fetched ahead of use (pre-signed URLs expire, and a run may stop early); a URL that expired anyway is asked for
 * again by the download (a 403), and a prefetch that failed is simply asked for again when the blob's turn comes.
 */
import { setMaxListeners } from 'node:events';

export interface UrlPrefetcherOptions {
  /** Asks for one URL (GetDownloadUrlForLayer). */
  fetch: (digest: string, signal?: AbortSignal) => Promise<string>;
  /** API calls in flight at once. */
  concurrency: number;
  /** URLs fetched but not yet taken, at most. */
  window: number;
}

export class UrlPrefetcher {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly ready = new Map<string, Promise<string | undefined>>();
  private inFlight = 0;
  /**
   * What the fetches listen on: one listener on the run's signal, however many fetches are in flight (each API
   * call listens on the signal it is given, and Node warns past ten on one signal).
   */
  private readonly stop = new AbortController();
  private linked?: AbortSignal;
  private readonly onAbort = () => this.stop.abort(this.linked?.reason);

  /** Stops listening on the run's signal: nothing is queued or in flight (a long sync must not pile listeners up). */
  private unlink(): void {
    this.linked?.removeEventListener('abort', this.onAbort);
    this.linked = undefined;
  }

  constructor(private readonly o: UrlPrefetcherOptions) {
    setMaxListeners(o.concurrency * 4 + 10, this.stop.signal);
  }

  private get signal(): AbortSignal {
    return this.stop.signal;
  }

  /** Queues digests, in the order their downloads will start. */
  want(digests: string[], signal?: AbortSignal): void {
    if (signal && signal !== this.linked) {
      this.unlink();
      if (signal.aborted) this.stop.abort(signal.reason);
      this.linked = signal;
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
    for (const d of digests) {
      if (this.ready.has(d) || this.queued.has(d)) continue;
      this.queued.add(d);
      this.queue.push(d);
    }
    this.pump();
  }

  /** The URL fetched ahead for this digest (once: a second take, or a failed prefetch, gives undefined). */
  async take(digest: string): Promise<string | undefined> {
    if (this.queued.delete(digest)) {
      // Its turn came before its prefetch did: the caller asks itself, and the prefetch is dropped.
      this.queue.splice(this.queue.indexOf(digest), 1);
    }
    const p = this.ready.get(digest);
    if (!p) return undefined;
    this.ready.delete(digest);
    this.pump();
    return p;
  }

  private pump(): void {
    while (this.queue.length && this.inFlight < this.o.concurrency && this.ready.size < this.o.window) {
      if (this.signal.aborted) {
        this.queue.length = 0;
        this.queued.clear();
        return;
      }
      const digest = this.queue.shift()!;
      this.queued.delete(digest);
      this.inFlight++;
      const p = this.o.fetch(digest, this.signal).then(
        (url) => url,
        () => undefined, // the download asks again, and reports that failure if it repeats
      );
      this.ready.set(digest, p);
      void p.finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
    if (!this.queue.length && !this.inFlight) this.unlink();
  }
}
