/** The run's connection budget: a ceiling, a wait queue, AIMD on a fake clock (pure logic). */
import { ConnectionBudget } from '../../src/net/budget.js';

describe('ConnectionBudget', () => {
  test('never grants more than the limit; a release lets the next waiter in', async () => {
    const b = new ConnectionBudget({ ceiling: 2 });
    const r1 = await b.acquire();
    const r2 = await b.acquire();
    expect(b.tryAcquire()).toBeUndefined();
    let third = false;
    const p = b.acquire().then((r) => {
      third = true;
      return r;
    });
    await Promise.resolve();
    expect(third).toBe(false);
    r1();
    r1(); // twice is harmless
    const r3 = await p;
    expect(b.inUse).toBe(2);
    r2();
    r3();
    expect(b.inUse).toBe(0);
  });

  test('a waiter that aborts leaves the queue', async () => {
    const b = new ConnectionBudget({ ceiling: 1 });
    const r = await b.acquire();
    const ac = new AbortController();
    const waiting = b.acquire(ac.signal);
    ac.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
    r();
    expect(b.tryAcquire()).toBeDefined();
  });

  test('halves on throttling once a window, grows by one while throughput grows and every slot is busy', () => {
    let now = 0;
    const b = new ConnectionBudget({ ceiling: 8, windowMs: 1000, now: () => now });
    expect(b.limit).toBe(8);
    b.onThrottle();
    b.onThrottle(); // the same burst: one signal
    expect(b.limit).toBe(4);
    now += 1500;
    b.onThrottle();
    expect(b.limit).toBe(2);
    const held = [b.tryAcquire(), b.tryAcquire()];
    expect(held.every(Boolean)).toBe(true);
    for (let i = 1; i <= 3; i++) {
      now += 1000;
      b.onBytes(1_000_000 * i);
    }
    expect(b.limit).toBeGreaterThan(2);
    expect(b.limit).toBeLessThanOrEqual(8);
    const grown = b.limit;
    now += 1000;
    b.onBytes(1000); // slower: no growth
    expect(b.limit).toBe(grown);
  });

  test('the ceiling from -j caps the limit; before any trouble the limit is the ceiling', () => {
    const b = new ConnectionBudget({ ceiling: 4 });
    b.setCeiling(16);
    expect(b.limit).toBe(16);
    b.setCeiling(3);
    expect(b.limit).toBe(3);
  });
});
