/** The one retry helper: the policy table, the backoff it names, the stall count and the retry loop. */
import { backoffDelay, retryDelay, retrying, retryPolicies, Stalls, attemptsOf } from '../../src/core/retry.js';

describe('retry policies', () => {
  test('every policy says what it retries, what resets it, and has a sane backoff', () => {
    for (const [name, p] of Object.entries(retryPolicies)) {
      expect([name, p.retries.length > 10, p.resetsOn.length > 5]).toEqual([name, true, true]);
      expect(p.backoff.baseMs).toBeGreaterThan(0);
      expect(p.backoff.capMs).toBeGreaterThanOrEqual(p.backoff.baseMs);
    }
    expect(attemptsOf(retryPolicies.apiCall, 7)).toBe(7);
    expect(attemptsOf(retryPolicies.manifestLag, 7)).toBe(Number.POSITIVE_INFINITY);
  });

  test('exponential backoff doubles up to its cap, with full jitter', () => {
    const top = () => 1; // the jitter's upper end
    const b = retryPolicies.apiCall.backoff;
    expect([1, 2, 3, 7, 20].map((n) => retryDelay(b, n, top))).toEqual([100, 200, 400, 5000, 5000]);
    expect(retryDelay(b, 5, () => 0)).toBe(0);
    expect(retryDelay(retryPolicies.blobDownload.backoff, 1, top)).toBe(200);
    expect(backoffDelay(2, 100, 5000, () => 0.5)).toBe(100);
  });

  test('linear backoff grows by its base up to its cap', () => {
    expect([1, 2, 3, 4, 9].map((n) => retryDelay(retryPolicies.manifestLag.backoff, n))).toEqual([
      250, 500, 750, 1000, 1000,
    ]);
  });

  test('the stall count gives up after its limit and starts again on progress', () => {
    const stalls = new Stalls(retryPolicies.layerUpload, 3);
    expect([stalls.failed(), stalls.failed()]).toEqual([true, true]);
    stalls.progressed();
    expect(stalls.inARow).toBe(0);
    expect([stalls.failed(), stalls.failed(), stalls.failed()]).toEqual([true, true, false]);
  });
});

describe('retrying', () => {
  const quick = { ...retryPolicies.apiCall, backoff: { kind: 'linear', baseMs: 1, capMs: 1 } } as const;

  test('retries what is retryable until it succeeds, telling each retry', async () => {
    const told: number[] = [];
    const result = await retrying(
      async (n) => {
        if (n < 3) throw new Error(`try ${n}`);
        return n;
      },
      { policy: quick, attempts: 5, retryable: () => true, onRetry: (n) => told.push(n) },
    );
    expect([result, told]).toEqual([3, [1, 2]]);
  });

  test('gives up after the attempts, and at once on what is not retryable', async () => {
    let tries = 0;
    const fail = async () => {
      tries++;
      throw new Error(`try ${tries}`);
    };
    await expect(retrying(fail, { policy: quick, attempts: 3, retryable: () => true })).rejects.toThrow('try 3');
    tries = 0;
    await expect(retrying(fail, { policy: quick, attempts: 3, retryable: () => false })).rejects.toThrow('try 1');
  });

  test('an abort stops the retries', async () => {
    const ac = new AbortController();
    let tries = 0;
    const run = retrying(
      async () => {
        tries++;
        ac.abort(new Error('stopped'));
        throw new Error('failed');
      },
      { policy: quick, attempts: 5, retryable: () => true, signal: ac.signal },
    );
    await expect(run).rejects.toThrow('failed');
    expect(tries).toBe(1);
  });
});
