/**
 * What a transfer has done so far, independent of how it is shown: per blob its state and bytes, and over all
 * blobs the totals, the throughput over the last few seconds and the time left. Both the terminal bars and the
 * plain CI lines read it.
 */
import type { BlobInfo } from './reporter.js';
import { shortDigest } from './format.js';

export type BlobState = 'waiting' | 'active' | 'retrying' | 'done' | 'cached' | 'exists';

export interface BlobRow {
  digest: string;
  id: string;
  label: string;
  size: number;
  bytes: number;
  state: BlobState;
  startedAt?: number;
  finishedAt?: number;
  /** Last time bytes moved (or the blob started): the "most active" blobs are shown first when rows are short. */
  activeAt: number;
  meter: RateMeter;
}

export type Direction = 'download' | 'upload';

/** Throughput over a sliding window, so a stall or a retry shows as a falling rate rather than an old average. */
export class RateMeter {
  private samples: { at: number; total: number }[] = [];
  private total = 0;

  constructor(private readonly windowMs = 5000) {}

  add(delta: number, now: number): void {
    this.total += Math.max(0, delta);
    this.samples.push({ at: now, total: this.total });
    this.trim(now);
  }

  /** Bytes per second over the window (0 until there are two samples a little apart). */
  rate(now: number): number {
    this.trim(now);
    const first = this.samples[0];
    if (!first) return 0;
    const span = Math.max(now - first.at, 0);
    if (span < 250) return 0;
    return ((this.total - first.total) / span) * 1000;
  }

  private trim(now: number): void {
    // Keep one sample at or before the window's start, so the rate covers the whole window.
    while (this.samples.length > 1 && this.samples[1].at <= now - this.windowMs) this.samples.shift();
  }
}

export interface Totals {
  /** Blobs in this transfer, and those finished (transferred, cached or already there). */
  count: number;
  finished: number;
  /** Bytes that have to move (cached and existing blobs excluded), and those moved. */
  bytesTotal: number;
  bytesDone: number;
  rate: number;
  /** Seconds left at the current rate; Infinity when not moving. */
  eta: number;
  active: number;
  skipped: number;
}

export class ProgressModel {
  readonly rows = new Map<string, BlobRow>();
  direction: Direction = 'download';
  private readonly meter = new RateMeter();
  startedAt?: number;

  constructor(private readonly clock: () => number = Date.now) {}

  /** A new transfer stage: what is known to come (copy downloads, then uploads). */
  expect(blobs: BlobInfo[], direction: Direction): void {
    this.rows.clear();
    this.direction = direction;
    this.startedAt = this.clock();
    for (const b of blobs) this.row(b);
  }

  private row(b: BlobInfo): BlobRow {
    let r = this.rows.get(b.digest);
    if (!r) {
      r = {
        digest: b.digest,
        id: shortDigest(b.digest),
        label: b.label,
        size: b.size,
        bytes: 0,
        state: 'waiting',
        activeAt: 0,
        meter: new RateMeter(),
      };
      this.rows.set(b.digest, r);
    }
    return r;
  }

  start(b: BlobInfo): void {
    const now = this.clock();
    this.startedAt ??= now;
    const r = this.row(b);
    r.state = 'active';
    r.startedAt = now;
    r.activeAt = now;
    // The rate counts from here, so the first chunk is part of it.
    r.meter.add(0, now);
    this.meter.add(0, now);
  }

  progress(digest: string, bytes: number): void {
    const r = this.rows.get(digest);
    if (!r) return;
    const now = this.clock();
    const delta = bytes - r.bytes;
    r.bytes = Math.max(0, Math.min(bytes, r.size));
    if (delta > 0) {
      r.meter.add(delta, now);
      this.meter.add(delta, now);
      r.activeAt = now;
      if (r.state === 'retrying') r.state = 'active';
    }
  }

  skip(b: BlobInfo, why: 'cached' | 'exists'): void {
    const r = this.row(b);
    r.state = why;
    r.bytes = r.size;
    r.finishedAt = this.clock();
  }

  done(digest: string): void {
    const r = this.rows.get(digest);
    if (!r) return;
    if (r.size > r.bytes) this.progress(digest, r.size);
    r.state = 'done';
    r.finishedAt = this.clock();
  }

  /** A retry of the blob whose short id is `id`, if there is one. */
  retrying(id: string): BlobRow | undefined {
    for (const r of this.rows.values()) {
      if (r.id === id && (r.state === 'active' || r.state === 'retrying')) {
        r.state = 'retrying';
        return r;
      }
    }
    return undefined;
  }

  now(): number {
    return this.clock();
  }

  rateOf(r: BlobRow): number {
    return r.meter.rate(this.clock());
  }

  get hasRows(): boolean {
    return this.rows.size > 0;
  }

  totals(): Totals {
    let count = 0,
      finished = 0,
      bytesTotal = 0,
      bytesDone = 0,
      active = 0,
      skipped = 0;
    for (const r of this.rows.values()) {
      count++;
      if (r.state === 'cached' || r.state === 'exists') {
        finished++;
        skipped++;
        continue;
      }
      bytesTotal += r.size;
      bytesDone += r.bytes;
      if (r.state === 'done') finished++;
      if (r.state === 'active' || r.state === 'retrying') active++;
    }
    const rate = this.meter.rate(this.clock());
    const left = bytesTotal - bytesDone;
    return {
      count,
      finished,
      bytesTotal,
      bytesDone,
      rate,
      eta: left <= 0 ? 0 : rate > 0 ? left / rate : Infinity,
      active,
      skipped,
    };
  }
}
