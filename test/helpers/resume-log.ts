/**
 * What the resume tests read: the bytes an `ecrx serve --log` handed over for one blob (its `GET blob-sent` lines),
 * whether every download connection it opened has closed, and how much of a blob a partial in the cache holds.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Serve } from './serve.js';

/** Bytes `serve` handed over for `digest` so far, from its log. */
export function blobBytesSent(serve: Serve, digest: string): number {
  let n = 0;
  for (const m of serve.log().matchAll(/GET blob-sent \d+ (\d+) bytes of \d+-\d+ of (sha256:[a-f0-9]+)/g))
    if (m[2] === digest) n += Number(m[1]);
  return n;
}

/** Waits until every download connection `serve` opened has closed (each logs a `blob-sent` line when it does). */
export async function downloadsSettled(serve: Serve): Promise<void> {
  const opened = () => (serve.log().match(/GET blob 20[06]/g) ?? []).length;
  const closed = () => (serve.log().match(/GET blob-sent/g) ?? []).length;
  for (let i = 0; i < 200 && closed() < opened(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(closed()).toBe(opened());
}

/** Bytes of `digest` the partial in `cacheDir` records as on disk (0 when there is none). */
export function partialBytes(cacheDir: string, digest: string): number {
  try {
    const rec = JSON.parse(readFileSync(join(cacheDir, 'partial-v1', `${digest.slice(7)}.json`), 'utf8')) as {
      ranges: [number, number][];
    };
    return rec.ranges.reduce((n, [s, e]) => n + e - s, 0);
  } catch {
    return 0;
  }
}
