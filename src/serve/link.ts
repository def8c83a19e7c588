/**
 * A network link model for `ecrx serve`, off by default: a latency added to every API answer and to every
 * download's first byte, a byte rate per download connection (S3 paces each connection, so real clients open
 * several), an optional total rate shared by all downloads, and per-operation request quotas (token buckets).
 */
import { Transform, type TransformCallback } from 'node:stream';
import { Quotas } from './token-bucket.js';

export interface LinkOptions {
  /** Milliseconds added before every API answer and before every download's first byte. */
  latencyMs?: number;
  /** Bytes per second for each download connection. */
  bandwidthPerConnection?: number;
  /** Bytes per second for all downloads together. */
  bandwidthTotal?: number;
  /** Requests per second per operation; an operation over its rate is answered ThrottlingException. */
  quotas?: Readonly<Record<string, number>>;
}

/**
 * The shared pipe: each chunk books the next free slot on it, so all connections together keep to the rate. A chunk
 * books its slot when it is read, even if its own connection's rate holds it back longer: with both rates binding,
 * the total is kept to conservatively (never exceeded), which is what a test of a slow link needs.
 */
class SharedRate {
  private nextFree = 0;
  constructor(private readonly bytesPerSecond: number) {}
  /** When the chunk has passed the shared pipe (epoch ms). */
  book(bytes: number): number {
    const start = Math.max(Date.now(), this.nextFree);
    this.nextFree = start + (bytes / this.bytesPerSecond) * 1000;
    return this.nextFree;
  }
}

/** Paces one response to its connection's rate and to the shared rate, as a slow link would. */
class Pace extends Transform {
  private readonly started = Date.now();
  private sent = 0;
  constructor(
    private readonly perConnection: number,
    private readonly shared?: SharedRate,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.sent += chunk.length;
    const own = this.perConnection ? this.started + (this.sent / this.perConnection) * 1000 : 0;
    const due = Math.max(own, this.shared?.book(chunk.length) ?? 0);
    setTimeout(() => cb(null, chunk), Math.max(0, due - Date.now()));
  }
}

export class Link {
  readonly latencyMs: number;
  private readonly perConnection: number;
  private readonly shared?: SharedRate;
  private readonly quotas?: Quotas;

  constructor(opts: LinkOptions = {}) {
    this.latencyMs = opts.latencyMs ?? 0;
    this.perConnection = opts.bandwidthPerConnection ?? 0;
    this.shared = opts.bandwidthTotal ? new SharedRate(opts.bandwidthTotal) : undefined;
    this.quotas = opts.quotas ? new Quotas(opts.quotas) : undefined;
  }

  /** Waits out the link's latency (nothing when there is none). */
  delay(): Promise<void> {
    return this.latencyMs > 0 ? new Promise((r) => setTimeout(r, this.latencyMs)) : Promise.resolve();
  }

  /** False when `operation` is over its quota: answer ThrottlingException. */
  allow(operation: string): boolean {
    return this.quotas?.allow(operation) ?? true;
  }

  get paced(): boolean {
    return Boolean(this.perConnection || this.shared);
  }

  /** A transform that paces one download, or undefined when downloads are not paced. */
  pace(): Transform | undefined {
    return this.paced ? new Pace(this.perConnection, this.shared) : undefined;
  }
}
