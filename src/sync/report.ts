/**
 * What a sync run says when it ends: one entry per image (source, source digest, target, bytes moved, skipped,
 * error), totals, a table for terminals, and the rule for the exit code: SYNC_INCOMPLETE (exit 10) when any image
 * failed, whatever the others did. Also the `--dry-run` listing of what would move.
 */
import { EcrxError, toEcrxError } from '../core/errors.js';
import { formatBytes, formatDuration, padEnd, padStart, plural, shortDigest } from '../report/format.js';
import type { Shard } from './shard.js';
import { minimumSeconds } from './shard.js';

/** What moving one image returned (the runJob seam's answer). */
export interface JobResult {
  /** The source image's digest (of the index for a multi-platform image). */
  digest: string;
  /** Bytes uploaded to the target. */
  bytes: number;
  /** True when the target already had the image under the tag: nothing was written. */
  skipped: boolean;
  /** Milliseconds this image waited on ECR's API quotas, when the engine knows: the quota set the pace, not ecrx. */
  throttledMs?: number;
}

export interface ImageReport {
  source: string;
  sourceDigest: string | null;
  target: string;
  tag: string | null;
  bytes: number;
  skipped: boolean;
  error: { code: string; message: string; hint?: string } | null;
  durationMs: number;
}

export interface SyncReport {
  plan: string;
  shard: Shard | null;
  images: ImageReport[];
  totals: { images: number; moved: number; skipped: number; failed: number; bytes: number; throttledMs: number };
  durationMs: number;
}

export const errorOf = (thrown: unknown): NonNullable<ImageReport['error']> => {
  const e = toEcrxError(thrown);
  return { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
};

export function buildReport(
  plan: string,
  shard: Shard | undefined,
  images: (ImageReport & { throttledMs?: number })[],
  durationMs: number,
  /** Throttled time the backend counted for the run as a whole (not per image). */
  runThrottledMs = 0,
): SyncReport {
  const failed = images.filter((i) => i.error).length;
  const skipped = images.filter((i) => !i.error && i.skipped).length;
  return {
    plan,
    shard: shard ?? null,
    images: images.map(({ throttledMs: _, ...i }) => i),
    totals: {
      images: images.length,
      moved: images.length - failed - skipped,
      skipped,
      failed,
      bytes: images.reduce((n, i) => n + i.bytes, 0),
      throttledMs: images.reduce((n, i) => n + (i.throttledMs ?? 0), runThrottledMs),
    },
    durationMs,
  };
}

const statusOf = (i: ImageReport) => (i.error ? `failed: ${i.error.code}` : i.skipped ? 'up to date' : 'copied');
const targetText = (i: Pick<ImageReport, 'target' | 'tag'>) => `${i.target}${i.tag ? `:${i.tag}` : ''}`;

function table(header: string[], rows: string[][], rightAligned: number[] = []): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r: string[]) =>
    r
      .map((cell, c) => (rightAligned.includes(c) ? padStart(cell, widths[c]) : padEnd(cell, widths[c])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** The table for a terminal: one row per image, then the errors in full, then the totals. */
export function formatReport(r: SyncReport): string {
  const rows = r.images.map((i) => [
    i.source,
    targetText(i),
    i.sourceDigest ? shortDigest(i.sourceDigest) : '-',
    i.error || i.skipped ? '-' : formatBytes(i.bytes),
    statusOf(i),
  ]);
  const out = r.images.length ? table(['SOURCE', 'TARGET', 'DIGEST', 'MOVED', 'STATUS'], rows, [3]) : [];
  for (const i of r.images.filter((x) => x.error))
    out.push(`error: ${i.source}: ${i.error?.message}${i.error?.hint ? `\n  hint: ${i.error.hint}` : ''}`);
  const t = r.totals;
  out.push(
    `${r.shard ? `Shard ${r.shard.index}/${r.shard.count}: ` : ''}${plural(t.images, 'image')}: ${t.moved} copied (${formatBytes(t.bytes)}), ${t.skipped} up to date, ${t.failed} failed, in ${formatDuration(r.durationMs)}`,
  );
  if (t.throttledMs > 0)
    out.push(
      `ECR's API quotas set the pace: ${formatDuration(t.throttledMs)} spent waiting on them (PutImage allows 10 images a second per account and region, ${minimumSeconds(t.images).toFixed(1)}s at least for these).`,
    );
  return out.join('\n');
}

/** The error a run with failed images ends with (exit 10); the report has already been printed. */
export function incompleteError(r: SyncReport): EcrxError | undefined {
  if (!r.totals.failed) return undefined;
  return new EcrxError(
    'SYNC_INCOMPLETE',
    `${plural(r.totals.failed, 'image')} of ${r.totals.images} failed to sync; the others are in place`,
    {
      hint: 'Fix the causes shown and run the same plan again: images already in place are skipped.',
      details: { failed: r.images.filter((i) => i.error).map((i) => ({ source: i.source, error: i.error })) },
    },
  );
}

/** One line of `--dry-run`: what would be read, where it would go, and its size when the source told it. */
export interface DryRunItem {
  source: string;
  target: string;
  tag: string | null;
  digest: string | null;
  /** Bytes of the image (all its platforms), when known. */
  bytes: number | null;
  error: { code: string; message: string } | null;
}

export function formatDryRun(items: DryRunItem[], shard: Shard | undefined): string {
  const rows = items.map((i) => [
    i.source,
    targetText(i),
    i.error ? '-' : i.bytes === null ? '?' : formatBytes(i.bytes),
  ]);
  const known = items.filter((i) => i.bytes !== null);
  const total = known.reduce((n, i) => n + (i.bytes ?? 0), 0);
  const out = items.length ? table(['SOURCE', 'TARGET', 'SIZE'], rows, [2]) : [];
  for (const i of items.filter((x) => x.error)) out.push(`error: ${i.source}: ${i.error?.code}: ${i.error?.message}`);
  out.push(
    `Dry run${shard ? ` of shard ${shard.index}/${shard.count}` : ''}: ${plural(items.length, 'image')} would be synced, ${formatBytes(total)}${known.length < items.length ? ` known (${items.length - known.length} of unknown size)` : ''} at most; nothing was written.`,
  );
  return out.join('\n');
}
