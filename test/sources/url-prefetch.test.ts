/** Download URLs fetched ahead of their downloads: a window, a concurrency, one use each, failures left to the caller. */
import { getEventListeners } from 'node:events';
import { UrlPrefetcher } from '../../src/sources/url-prefetch.js';

/** A fetch whose answers the test releases one by one; records what was asked, in order. */
function gatedFetch() {
  const asked: string[] = [];
  const pending = new Map<string, { resolve: (u: string) => void; reject: (e: Error) => void }>();
  const fetch = (digest: string) =>
    new Promise<string>((resolve, reject) => {
      asked.push(digest);
      pending.set(digest, { resolve, reject });
    });
  const answer = async (digest: string, ok = true) => {
    const p = pending.get(digest)!;
    pending.delete(digest);
    if (ok) p.resolve(`https://bucket/${digest}?sig`);
    else p.reject(new Error('ThrottlingException'));
    await new Promise((r) => setImmediate(r));
  };
  return { asked, fetch, answer, inFlight: () => pending.size };
}

const digests = (n: number) => Array.from({ length: n }, (_, i) => `sha256:${String(i).padStart(64, '0')}`);

test('asks in order, never more at once than its concurrency, nor more ahead of use than its window', async () => {
  const g = gatedFetch();
  const p = new UrlPrefetcher({ fetch: g.fetch, concurrency: 2, window: 3 });
  const ds = digests(6);
  p.want(ds);
  expect(g.asked).toEqual(ds.slice(0, 2));
  await g.answer(ds[0]);
  expect(g.asked).toEqual(ds.slice(0, 3)); // one answered: a third may start, the window (3) is now full
  await g.answer(ds[1]);
  await g.answer(ds[2]);
  expect(g.asked).toEqual(ds.slice(0, 3)); // three fetched, none taken: the window holds the rest back
  expect(await p.take(ds[0])).toBe(`https://bucket/${ds[0]}?sig`);
  expect(g.asked).toEqual(ds.slice(0, 4));
});

test('a URL is handed out once; a second take, or a digest never wanted, gives undefined', async () => {
  const g = gatedFetch();
  const p = new UrlPrefetcher({ fetch: g.fetch, concurrency: 4, window: 8 });
  const [a] = digests(1);
  p.want([a]);
  await g.answer(a);
  expect(await p.take(a)).toContain(a);
  expect(await p.take(a)).toBeUndefined();
  expect(await p.take('sha256:' + 'f'.repeat(64))).toBeUndefined();
});

test('a failed prefetch gives undefined (the download asks itself, and reports a failure that repeats)', async () => {
  const g = gatedFetch();
  const p = new UrlPrefetcher({ fetch: g.fetch, concurrency: 1, window: 2 });
  const [a, b] = digests(2);
  p.want([a, b]);
  const taken = p.take(a);
  await g.answer(a, false);
  expect(await taken).toBeUndefined();
  expect(g.asked).toEqual([a, b]); // the failure freed its place for the next
});

test('a blob whose turn comes before its prefetch started is not fetched ahead any more', async () => {
  const g = gatedFetch();
  const p = new UrlPrefetcher({ fetch: g.fetch, concurrency: 1, window: 4 });
  const [a, b, c] = digests(3);
  p.want([a, b, c]);
  expect(await p.take(c)).toBeUndefined(); // c was still queued: the caller fetches it
  await g.answer(a);
  expect(g.asked).toEqual([a, b]);
  await g.answer(b);
  expect(g.asked).toEqual([a, b]);
});

test('nothing more is asked once the run is aborted', async () => {
  const g = gatedFetch();
  const stop = new AbortController();
  const p = new UrlPrefetcher({ fetch: g.fetch, concurrency: 1, window: 4 });
  const [a, b] = digests(2);
  p.want([a, b], stop.signal);
  stop.abort();
  await g.answer(a);
  expect(g.asked).toEqual([a]);
});

test("one listener on the run's signal however many fetches are in flight, and none once all is taken", async () => {
  const g = gatedFetch();
  const run = new AbortController();
  const p = new UrlPrefetcher({ fetch: g.fetch, concurrency: 16, window: 32 });
  const ds = digests(20);
  p.want(ds, run.signal);
  expect(g.inFlight()).toBe(16);
  expect(getEventListeners(run.signal, 'abort')).toHaveLength(1);
  for (const d of ds) {
    const taken = p.take(d);
    if (g.asked.includes(d) && g.inFlight()) await g.answer(d);
    await taken;
  }
  for (const d of g.asked.filter((d) => !ds.includes(d))) await g.answer(d);
  expect(getEventListeners(run.signal, 'abort')).toHaveLength(0);
});
