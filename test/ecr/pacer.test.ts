/** The client's per-operation pacing of ECR API calls (pure arithmetic, on an injected clock). */
import { ECR_API_RATES, HEADROOM, Pacer, pacerFor, setQuotaShare } from '../../src/ecr/pacer.js';

/** A fake clock whose sleep moves time forward, so a run of calls shows the pace it was given. */
function clock() {
  let t = 1_000_000;
  const sleeps: number[] = [];
  return {
    now: () => t,
    advance: (ms: number) => (t += ms),
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    sleeps,
  };
}

/** Sends `n` calls of `op` one after another, as fast as the pacer lets them go; returns the time they took. */
async function burst(p: Pacer, c: ReturnType<typeof clock>, op: string, n: number): Promise<number> {
  const start = c.now();
  for (let i = 0; i < n; i++) await p.acquire(op);
  return c.now() - start;
}

/** The most calls of `times` inside any one-second window. */
function peakPerSecond(times: number[]): number {
  let peak = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] >= 1000) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return peak;
}

test("calls of one operation never exceed ECR's rate in any second", async () => {
  const c = clock();
  const p = new Pacer(ECR_API_RATES, c);
  const times: number[] = [];
  for (let i = 0; i < 500; i++) {
    await p.acquire('InitiateLayerUpload');
    times.push(c.now());
  }
  expect(peakPerSecond(times)).toBeLessThanOrEqual(ECR_API_RATES.InitiateLayerUpload);
  // ...and are not held back far below it: 500 calls at 90/s after a burst of 9 take about 5.5 s.
  expect(c.now() - times[0]).toBeLessThan(6500);
  expect(c.now() - times[0]).toBeGreaterThan(5000);
});

test('a throttle halves only that operation, which then climbs back to its ceiling', async () => {
  const c = clock();
  const p = new Pacer(ECR_API_RATES, c);
  const ceiling = ECR_API_RATES.CompleteLayerUpload * HEADROOM;
  expect(p.rateOf('CompleteLayerUpload')).toBe(ceiling);
  p.throttled('CompleteLayerUpload');
  expect(p.rateOf('CompleteLayerUpload')).toBe(ceiling / 2);
  // Other operations are untouched, and unpaced operations stay unpaced.
  expect(p.rateOf('InitiateLayerUpload')).toBe(ECR_API_RATES.InitiateLayerUpload * HEADROOM);
  expect(p.rateOf('DescribeRepositories')).toBe(Infinity);
  expect(await burst(p, c, 'InitiateLayerUpload', 9)).toBe(0);
  // A second throttle of the same burst (within a second) does not halve again.
  c.advance(200);
  p.throttled('CompleteLayerUpload');
  expect(p.rateOf('CompleteLayerUpload')).toBe(ceiling / 2);
  // Successes over time raise it again, linearly, up to the ceiling and no further.
  c.advance(2000);
  p.succeeded('CompleteLayerUpload');
  const partWay = p.rateOf('CompleteLayerUpload');
  expect(partWay).toBeGreaterThan(ceiling / 2);
  expect(partWay).toBeLessThan(ceiling);
  c.advance(20_000);
  p.succeeded('CompleteLayerUpload');
  expect(p.rateOf('CompleteLayerUpload')).toBe(ceiling);
});

test('after a throttle the calls that follow are spread at the lower rate', async () => {
  const c = clock();
  const p = new Pacer(ECR_API_RATES, c);
  await burst(p, c, 'PutImage', 20);
  p.throttled('PutImage');
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    await p.acquire('PutImage');
    times.push(c.now());
  }
  expect(peakPerSecond(times)).toBeLessThanOrEqual(Math.ceil((ECR_API_RATES.PutImage * HEADROOM) / 2) + 1);
});

test('repeated throttles never stop an operation altogether', () => {
  const c = clock();
  const p = new Pacer(ECR_API_RATES, c);
  for (let i = 0; i < 100; i++) {
    p.throttled('PutImage');
    c.advance(1000);
  }
  expect(p.rateOf('PutImage')).toBeGreaterThan(0);
});

test('a wait for a token ends when the signal aborts', async () => {
  const p = new Pacer({ PutImage: 1 });
  await p.acquire('PutImage');
  const ac = new AbortController();
  const waiting = p.acquire('PutImage', ac.signal);
  ac.abort(new Error('stopped'));
  await expect(waiting).rejects.toThrow('stopped');
});

test('one of 4 shards paces every operation to a quarter of the rate, so the 4 together stay under the quota', () => {
  expect(() => setQuotaShare(0)).toThrow(RangeError);
  setQuotaShare(1 / 4);
  try {
    const p = pacerFor('shard.example:443');
    expect(p?.rateOf('PutImage')).toBeCloseTo((ECR_API_RATES.PutImage * HEADROOM) / 4);
    expect(p?.rateOf('InitiateLayerUpload')).toBeCloseTo((ECR_API_RATES.InitiateLayerUpload * HEADROOM) / 4);
  } finally {
    setQuotaShare(1);
  }
  expect(pacerFor('whole.example:443')?.rateOf('PutImage')).toBeCloseTo(ECR_API_RATES.PutImage * HEADROOM);
});
