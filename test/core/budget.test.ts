import { Budget } from '../../src/core/budget.js';

test('takers share the budget first come first served, and a taker larger than it goes alone', async () => {
  const b = new Budget(10);
  const order: string[] = [];
  const give6 = await b.take(6);
  const four = b.take(4).then((give) => (order.push('4'), give));
  const five = b.take(5).then((give) => (order.push('5'), give));
  const huge = b.take(100).then((give) => (order.push('huge'), give));
  const give4 = await four;
  expect(order).toEqual(['4']); // 6 + 4 fit; 5 waits
  give6();
  const give5 = await five;
  expect(order).toEqual(['4', '5']);
  give4();
  give5();
  const giveHuge = await huge;
  expect(order).toEqual(['4', '5', 'huge']);
  giveHuge();
  giveHuge(); // giving back twice gives nothing more
  const all = await b.take(10);
  all();
});

test('an aborted taker leaves the queue and lets the next one in', async () => {
  const b = new Budget(10);
  const give = await b.take(10);
  const ac = new AbortController();
  const aborted = b.take(8, ac.signal);
  const small = b.take(2);
  ac.abort(new Error('stop'));
  await expect(aborted).rejects.toThrow('stop');
  give();
  (await small)();
});
