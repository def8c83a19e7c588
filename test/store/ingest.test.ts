/**
 * ingest() against a real HTTP server on loopback that honours Range the way S3 does, with switches for what goes
 * wrong on real links: URLs that expire mid-blob, connections cut mid-body, a server that ignores Range, and one that
 * lies about the blob. Real files in a real cache directory; small pieces so many ranges are in flight.
 */
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { BlobCache } from '../../src/store/blob-cache.js';
import { ingest, type IngestRequest } from '../../src/store/ingest.js';
import { PartialStore } from '../../src/store/partials.js';
import { ConnectionBudget } from '../../src/net/budget.js';
import { blobUrlOpener } from '../../src/ecr/blob-url.js';
import { TransientError } from '../../src/store/ingest.js';
import { EcrxError } from '../../src/core/errors.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Knobs {
  /** A URL token stops working after this many requests with it. */
  expireAfter?: number;
  /** Probability that a response is cut part-way. */
  cut?: number;
  ignoreRange?: boolean;
  /** Serve these bytes instead of the real ones (same length: a wrong digest). */
  wrongBytes?: boolean;
  /** Announce this total size in Content-Range / Content-Length. */
  announceTotal?: number;
  /** Hold every body this long before sending (so a test can abort mid-blob). */
  delayMs?: number;
}

interface Blob {
  data: Buffer;
  digest: string;
  server: Server;
  base: string;
  knobs: Knobs;
  requests: { range?: string; token: string; status: number }[];
  sent: number;
  active: number;
  maxActive: number;
  tokensIssued: number;
  /** Requests not yet closed: a test waits for 0 before it counts what was sent. */
  pending: number;
}

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ecrx-ingest-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

let seed = 1;
function random(): number {
  seed = (seed * 16807) % 2147483647;
  return seed / 2147483647;
}

async function serveBlob(size: number, knobs: Knobs = {}): Promise<Blob> {
  const data = randomBytes(size);
  const blob: Blob = {
    data,
    digest: sha(data),
    knobs,
    requests: [],
    sent: 0,
    active: 0,
    maxActive: 0,
    tokensIssued: 0,
    pending: 0,
    server: undefined as unknown as Server,
    base: '',
  };
  const uses = new Map<string, number>();
  blob.server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const token = new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? '';
    const n = (uses.get(token) ?? 0) + 1;
    uses.set(token, n);
    const k = blob.knobs;
    const record = (status: number) => blob.requests.push({ range: req.headers.range, token, status });
    if (k.expireAfter !== undefined && n > k.expireAfter) {
      record(403);
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end('<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>');
      return;
    }
    const body = k.wrongBytes ? Buffer.alloc(size, 7) : data;
    let start = 0;
    let end = size - 1;
    let status = 200;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (m && !k.ignoreRange) {
      start = Number(m[1]);
      if (m[2]) end = Math.min(Number(m[2]), size - 1);
      status = 206;
    }
    record(status);
    const total = k.announceTotal ?? size;
    const headers: Record<string, string | number> = { 'content-length': end - start + 1 };
    if (status === 206) headers['content-range'] = `bytes ${start}-${end}/${total}`;
    else if (k.announceTotal !== undefined) headers['content-length'] = total;
    blob.active++;
    blob.maxActive = Math.max(blob.maxActive, blob.active);
    res.on('close', () => blob.active--);
    const send = () => {
      if (res.destroyed) return; // the client left during the delay: nothing is sent
      res.writeHead(status, headers);
      const slice = body.subarray(start, end + 1);
      if (k.cut && random() < k.cut) {
        const cutAt = Math.floor(random() * slice.length);
        blob.sent += cutAt;
        res.write(slice.subarray(0, cutAt), () => res.destroy());
        return;
      }
      blob.sent += slice.length;
      res.end(slice);
    };
    blob.pending++;
    res.on('close', () => blob.pending--);
    if (k.delayMs) setTimeout(send, k.delayMs);
    else send();
  });
  await new Promise<void>((r) => blob.server.listen(0, '127.0.0.1', r));
  blob.base = `http://127.0.0.1:${(blob.server.address() as AddressInfo).port}/blob`;
  return blob;
}

/** Waits until every request the server took has been answered or closed. */
async function quiet(blob: Blob): Promise<void> {
  for (let i = 0; i < 400 && blob.pending > 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect(blob.pending).toBe(0);
}

/**
 * Starts a download of `blob` into `cacheDir` and stops it once half the blob is on disk, as a killed run would:
 * a partial for the next run. Returns the bytes on disk the last progress report saw.
 */
async function stopHalfway(blob: Blob, cacheDir: string): Promise<number> {
  const ac = new AbortController();
  let seen = 0;
  const first = request(
    blob,
    {
      signal: ac.signal,
      onProgress: (b) => {
        seen = b;
        if (b >= blob.data.length / 2) ac.abort(new Error('stopped by the test'));
      },
    },
    cacheDir,
  );
  await expect(ingest(first)).rejects.toThrow('stopped by the test');
  await quiet(blob);
  return seen;
}

function close(blob: Blob): Promise<void> {
  blob.server.closeAllConnections();
  return new Promise((r) => blob.server.close(() => r()));
}

let cacheN = 0;
function request(blob: Blob, extra: Partial<IngestRequest> = {}, cacheDir?: string): IngestRequest {
  const fresh: boolean[] = [];
  const { open } = blobUrlOpener({
    digest: blob.digest,
    size: blob.data.length,
    getUrl: async (f) => {
      fresh.push(f);
      return `${blob.base}?token=t${++blob.tokensIssued}`;
    },
    retry: (reason, opts) => new TransientError(reason, opts),
  });
  return {
    digest: blob.digest,
    size: blob.data.length,
    open,
    cache: new BlobCache(cacheDir ?? join(work, `cache-${++cacheN}`)),
    budget: new ConnectionBudget({ ceiling: 6 }),
    rangedThreshold: 1 << 20,
    rangeSize: 256 << 10,
    ...extra,
  };
}

function cachedBytes(req: IngestRequest): Buffer {
  return readFileSync(req.cache.path(req.digest));
}

const errorOf = async (p: Promise<unknown>): Promise<EcrxError> => {
  try {
    await p;
  } catch (err) {
    return err as EcrxError;
  }
  throw new Error('expected a failure');
};

describe('ingest: ranged downloads', () => {
  test('a large blob comes in many ranges over several connections and is verified', async () => {
    const blob = await serveBlob(6 << 20, { delayMs: 20 });
    try {
      const req = request(blob);
      const result = await ingest(req);
      expect(cachedBytes(req).equals(blob.data)).toBe(true);
      expect(result.downloadedBytes).toBe(blob.data.length);
      expect(blob.requests.filter((r) => r.status === 206).length).toBeGreaterThanOrEqual(24);
      expect(blob.maxActive).toBeGreaterThan(1);
      expect(blob.maxActive).toBeLessThanOrEqual(6);
      expect(new PartialStore(req.cache.root).list()).toEqual([]);
    } finally {
      await close(blob);
    }
  });

  test("one blob's ranges in flight stay within rangesAtOnce, however large the budget", async () => {
    const blob = await serveBlob(6 << 20, { delayMs: 20 });
    try {
      const req = request(blob, { budget: new ConnectionBudget({ ceiling: 16 }), rangesAtOnce: 3 });
      await ingest(req);
      expect(cachedBytes(req).equals(blob.data)).toBe(true);
      expect(blob.maxActive).toBeGreaterThan(1);
      expect(blob.maxActive).toBeLessThanOrEqual(3);
    } finally {
      await close(blob);
    }
  });

  test('a small blob is one request without Range', async () => {
    const blob = await serveBlob(200_000);
    try {
      const req = request(blob);
      await ingest(req);
      expect(cachedBytes(req).equals(blob.data)).toBe(true);
      expect(blob.requests).toEqual([{ range: undefined, token: 't1', status: 200 }]);
    } finally {
      await close(blob);
    }
  });

  test('a URL that expires mid-blob is replaced, once per expiry, and the blob completes', async () => {
    const blob = await serveBlob(4 << 20, { expireAfter: 5 });
    try {
      const req = request(blob);
      await ingest(req);
      expect(cachedBytes(req).equals(blob.data)).toBe(true);
      expect(blob.requests.some((r) => r.status === 403)).toBe(true);
      // 16 ranges at 5 uses per URL need at least 4 URLs; one refresh per expiry keeps it far under one per range.
      expect(blob.tokensIssued).toBeGreaterThanOrEqual(4);
      expect(blob.tokensIssued).toBeLessThan(16);
    } finally {
      await close(blob);
    }
  });

  test('cut connections resume each range at its own offset', async () => {
    seed = 7;
    const blob = await serveBlob(4 << 20, { cut: 0.4 });
    try {
      const retries: string[] = [];
      const req = request(blob, { onRetry: (r) => retries.push(r) });
      await ingest(req);
      expect(cachedBytes(req).equals(blob.data)).toBe(true);
      expect(retries.some((r) => /cut at byte/.test(r))).toBe(true);
      // A resumed range starts where the cut one stopped, not on a piece boundary.
      const starts = blob.requests.map((r) => Number(/bytes=(\d+)-/.exec(r.range ?? '')?.[1] ?? 0));
      expect(starts.some((s) => s % (256 << 10) !== 0)).toBe(true);
      // Each byte is sent about once: cuts cost only what was in flight.
      expect(blob.sent).toBeLessThan(blob.data.length + 6 * (256 << 10));
    } finally {
      await close(blob);
    }
  });

  test('a server that ignores Range is read as one stream and verified', async () => {
    const blob = await serveBlob(3 << 20, { ignoreRange: true });
    try {
      const retries: string[] = [];
      const req = request(blob, { onRetry: (r) => retries.push(r) });
      await ingest(req);
      expect(cachedBytes(req).equals(blob.data)).toBe(true);
      expect(retries).toContain('the server ignores Range requests: downloading the blob as one stream');
      // The probe asked past byte 0 and got the whole blob: no other range was asked for after it.
      expect(blob.requests[0]!.range).toMatch(/^bytes=[1-9]/);
      expect(blob.requests.slice(1).every((r) => r.range === undefined)).toBe(true);
    } finally {
      await close(blob);
    }
  });

  test('a server that ignores Range and cuts connections still ends with the right bytes', async () => {
    seed = 11;
    const blob = await serveBlob(2 << 20, { ignoreRange: true, cut: 0.5 });
    try {
      const req = request(blob);
      await ingest(req);
      expect(cachedBytes(req).equals(blob.data)).toBe(true);
    } finally {
      await close(blob);
    }
  });

  test('wrong bytes are fetched once more, then refused with DIGEST_MISMATCH and nothing kept', async () => {
    const blob = await serveBlob(2 << 20, { wrongBytes: true });
    try {
      const req = request(blob);
      const err = await errorOf(ingest(req));
      expect(err).toBeInstanceOf(EcrxError);
      expect(err.code).toBe('DIGEST_MISMATCH');
      expect(existsSync(req.cache.path(req.digest))).toBe(false);
      expect(readdirSync(join(req.cache.root, 'partial-v1'))).toEqual([]);
      // Two whole attempts, not more.
      expect(blob.sent).toBe(2 * blob.data.length);
    } finally {
      await close(blob);
    }
  });

  test('a server that announces another size fails SIZE_MISMATCH', async () => {
    const blob = await serveBlob(2 << 20, { announceTotal: (2 << 20) + 5 });
    try {
      const req = request(blob);
      const err = await errorOf(ingest(req));
      expect(err.code).toBe('SIZE_MISMATCH');
      expect(err.details).toMatchObject({ expectedSize: 2 << 20, actualSize: (2 << 20) + 5 });
      expect(existsSync(req.cache.path(req.digest))).toBe(false);
    } finally {
      await close(blob);
    }
  });

  test('a small blob served longer than its size fails SIZE_MISMATCH', async () => {
    const blob = await serveBlob(100_000);
    try {
      const req = request(blob, { size: 99_000 });
      const err = await errorOf(ingest(req));
      expect(err.code).toBe('SIZE_MISMATCH');
    } finally {
      await close(blob);
    }
  });
});

describe('ingest: partials across runs', () => {
  test('an interrupted download leaves a partial that the next run continues, verified', async () => {
    const blob = await serveBlob(4 << 20, { delayMs: 30 });
    const cacheDir = join(work, 'resume');
    try {
      const seen = await stopHalfway(blob, cacheDir);
      const partials = new PartialStore(cacheDir).list();
      expect(partials).toHaveLength(1);
      expect(partials[0]).toMatchObject({ digest: blob.digest, size: blob.data.length, locked: false });
      expect(partials[0]!.bytes).toBeGreaterThanOrEqual(2 << 20);
      expect(partials[0]!.bytes).toBeLessThanOrEqual(seen);
      const sentBefore = blob.sent;
      blob.knobs.delayMs = 0;
      const second = request(blob, {}, cacheDir);
      const result = await ingest(second);
      expect(cachedBytes(second).equals(blob.data)).toBe(true);
      expect(result.reusedBytes).toBe(partials[0]!.bytes);
      expect(result.downloadedBytes).toBe(blob.data.length - partials[0]!.bytes);
      expect(blob.sent - sentBefore).toBe(blob.data.length - partials[0]!.bytes);
      expect(new PartialStore(cacheDir).list()).toEqual([]);
    } finally {
      await close(blob);
    }
  });

  test('a partial whose bytes went bad is thrown away and the blob fetched again', async () => {
    const blob = await serveBlob(2 << 20, { delayMs: 30 });
    const cacheDir = join(work, 'bad-partial');
    try {
      await stopHalfway(blob, cacheDir);
      const data = join(cacheDir, 'partial-v1', blob.digest.slice(7));
      const bytes = readFileSync(data);
      bytes[100] ^= 0xff;
      writeFileSync(data, bytes);
      blob.knobs.delayMs = 0;
      const retries: string[] = [];
      const second = request(blob, { onRetry: (r) => retries.push(r) }, cacheDir);
      const result = await ingest(second);
      expect(cachedBytes(second).equals(blob.data)).toBe(true);
      expect(result.reusedBytes).toBe(0);
      expect(retries.some((r) => /wrong content/.test(r))).toBe(true);
    } finally {
      await close(blob);
    }
  });

  test('resume: false discards the partial and fetches everything', async () => {
    const blob = await serveBlob(2 << 20, { delayMs: 30 });
    const cacheDir = join(work, 'no-resume');
    try {
      await stopHalfway(blob, cacheDir);
      expect(new PartialStore(cacheDir).list()).toHaveLength(1);
      blob.knobs.delayMs = 0;
      const sentBefore = blob.sent;
      const result = await ingest(request(blob, { resume: false }, cacheDir));
      expect(result.reusedBytes).toBe(0);
      expect(blob.sent - sentBefore).toBe(blob.data.length);
    } finally {
      await close(blob);
    }
  });

  test('two downloads of the same blob at once fetch it once; the second waits for the first', async () => {
    const blob = await serveBlob(3 << 20, { delayMs: 20 });
    const cacheDir = join(work, 'together');
    try {
      const waits: string[] = [];
      const [a, b] = await Promise.all([
        ingest(request(blob, {}, cacheDir)),
        ingest(request(blob, { onWait: (w) => waits.push(w) }, cacheDir)),
      ]);
      expect([a.byOtherProcess, b.byOtherProcess].sort()).toEqual([false, true]);
      expect(blob.sent).toBe(blob.data.length);
      expect(readFileSync(new BlobCache(cacheDir).path(blob.digest)).equals(blob.data)).toBe(true);
    } finally {
      await close(blob);
    }
  });

  test('a lock left by a process that is gone is taken over', async () => {
    const blob = await serveBlob(1 << 20);
    const cacheDir = join(work, 'dead-lock');
    try {
      const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
      const deadPid = Number(gone.stdout.toString());
      const store = new PartialStore(cacheDir);
      await store.ensureDir();
      writeFileSync(join(store.dir, `${blob.digest.slice(7)}.lock`), JSON.stringify({ pid: deadPid, start: '1' }));
      const req = request(blob, {}, cacheDir);
      const result = await ingest(req);
      expect(result.byOtherProcess).toBe(false);
      expect(cachedBytes(req).equals(blob.data)).toBe(true);
      expect(readdirSync(store.dir)).toEqual([]);
    } finally {
      await close(blob);
    }
  });
});
