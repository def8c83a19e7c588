/**
 * Progress for logs (CI, a pipe, a file): one line per event and, while anything runs, a heartbeat line every
 * ECRX_PROGRESS_INTERVAL seconds (default 10) with the totals, throughput and time left, the way
 * `docker push --progress=plain` keeps a CI log alive. No carriage returns, no escape codes.
 */
import { EcrxError } from '../core/errors.js';
import { redact } from '../core/redact.js';
import { formatBytes, formatDuration, formatEta, formatRate, plural, shortDigest } from './format.js';
import { ProgressModel } from './progress-model.js';
import { firstTime, type BlobInfo, type Reporter } from './reporter.js';
import { sanitize } from './sanitize.js';

const DEFAULT_INTERVAL_S = 10;

/** The heartbeat period in ms from ECRX_PROGRESS_INTERVAL (seconds, fractions allowed; 0 turns it off). */
export function progressInterval(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.ECRX_PROGRESS_INTERVAL;
  if (text === undefined || text === '') return DEFAULT_INTERVAL_S * 1000;
  const s = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !Number.isFinite(s) || s > 86400) {
    throw new EcrxError(
      'VALIDATION_ERROR',
      `ECRX_PROGRESS_INTERVAL must be a number of seconds from 0 to 86400, got '${text}'`,
      {
        hint: 'For example ECRX_PROGRESS_INTERVAL=30, or 0 for no periodic progress lines; unset it for the default of 10.',
      },
    );
  }
  return Math.round(s * 1000);
}

export class PlainReporter implements Reporter {
  private readonly model = new ProgressModel();
  private heartbeat?: NodeJS.Timeout;
  private phaseText = '';
  private phaseAt = Date.now();

  constructor(
    private readonly prefix: string,
    private readonly out: NodeJS.WritableStream = process.stderr,
    private readonly intervalMs = DEFAULT_INTERVAL_S * 1000,
  ) {}

  private line(text: string): void {
    this.out.write(`${sanitize(redact(`${this.prefix}: ${text}`), { inline: true })}\n`);
    this.beat();
  }

  /** Keeps the heartbeat running while the reporter is in use; stop() ends it. */
  private beat(): void {
    if (this.heartbeat || this.intervalMs <= 0) return;
    this.heartbeat = setInterval(
      () => this.out.write(`${sanitize(redact(`${this.prefix}: ${this.summary()}`), { inline: true })}\n`),
      this.intervalMs,
    );
    this.heartbeat.unref();
  }

  private summary(): string {
    const t = this.model.totals();
    if (this.model.hasRows && t.finished < t.count) {
      const pct = t.bytesTotal > 0 ? ` (${Math.floor((t.bytesDone / t.bytesTotal) * 100)}%)` : '';
      // No time left until 1% has moved: the first chunk's pace says little about the rest.
      const eta = Number.isFinite(t.eta) && t.bytesDone >= t.bytesTotal / 100 ? `, ETA ${formatEta(t.eta)}` : '';
      return `progress: ${t.finished}/${plural(t.count, 'blob')} ${this.model.direction === 'upload' ? 'uploaded' : 'downloaded'}, ${formatBytes(t.bytesDone)} of ${formatBytes(t.bytesTotal)}${pct}, ${formatRate(t.rate)}${eta}`;
    }
    return `still ${this.phaseText || 'working'} (${formatDuration(Date.now() - this.phaseAt)})`;
  }

  phase(text: string): void {
    this.phaseText = text;
    this.phaseAt = Date.now();
    this.line(text);
  }
  expect(blobs: BlobInfo[], direction: 'download' | 'upload'): void {
    this.model.expect(blobs, direction);
    this.beat();
  }
  blobStart(blob: BlobInfo): void {
    this.model.start(blob);
    this.line(`${shortDigest(blob.digest)} ${blob.label} ${formatBytes(blob.size)} started`);
  }
  blobProgress(digest: string, bytes: number): void {
    this.model.progress(digest, bytes);
  }
  blobSkipped(blob: BlobInfo, why: 'cached' | 'exists'): void {
    this.model.skip(blob, why);
    this.line(
      `${shortDigest(blob.digest)} ${blob.label} ${formatBytes(blob.size)} ${why === 'exists' ? 'already there' : 'cached'}`,
    );
  }
  blobDone(digest: string): void {
    const row = this.model.rows.get(digest);
    this.model.done(digest);
    if (!row) return;
    const ms = Math.max(Date.now() - (row.startedAt ?? Date.now()), 1);
    this.line(
      `${row.id} ${row.label} ${formatBytes(row.size)} done in ${formatDuration(ms)} (${formatRate((row.size / ms) * 1000)})`,
    );
  }
  retry(what: string, reason: string): void {
    this.model.retrying(what);
    this.line(`retrying ${what}: ${reason}`);
  }
  notice(text: string): void {
    if (firstTime(text)) this.line(text);
  }
  stop(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}
