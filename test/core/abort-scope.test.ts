/** AbortScope: one listener on the outer signal, a signal per task, all aborted together. */
import { getEventListeners } from 'node:events';
import { AbortScope } from '../../src/core/abort-scope.js';

test('tasks get signals of their own; the outer signal carries one listener, none after dispose', async () => {
  const outer = new AbortController();
  const scope = new AbortScope(outer.signal);
  const seen: AbortSignal[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const tasks = Array.from({ length: 16 }, () => scope.run(async (s) => (seen.push(s), await gate)));
  expect(new Set(seen).size).toBe(16);
  expect(getEventListeners(outer.signal, 'abort')).toHaveLength(1);
  release();
  await Promise.all(tasks);
  scope.dispose();
  expect(getEventListeners(outer.signal, 'abort')).toHaveLength(0);
});

test('aborting the outer signal aborts every running task with its reason, and later tasks start aborted', async () => {
  const outer = new AbortController();
  const scope = new AbortScope(outer.signal);
  let running!: AbortSignal;
  const task = scope.run(
    (s) => ((running = s), new Promise((_, reject) => s.addEventListener('abort', () => reject(s.reason)))),
  );
  outer.abort(new Error('interrupted'));
  await expect(task).rejects.toThrow('interrupted');
  expect(running.aborted).toBe(true);
  expect(scope.signal.aborted).toBe(true);
  await scope.run(async (s) => expect(s.reason).toEqual(new Error('interrupted')));
});

test('abort() stops the running tasks without touching the outer signal', async () => {
  const outer = new AbortController();
  const scope = new AbortScope(outer.signal);
  let running!: AbortSignal;
  const task = scope.run(async (s) => (running = s));
  await task;
  const slow = scope.run((s) => new Promise((_, reject) => s.addEventListener('abort', () => reject(s.reason))));
  scope.abort(new Error('first failure'));
  await expect(slow).rejects.toThrow('first failure');
  expect(running.aborted).toBe(false); // a finished task is forgotten, not aborted
  expect(outer.signal.aborted).toBe(false);
});

describe('the first failure', () => {
  test('stops the other tasks with it and is the one thrown, however many follow', async () => {
    const scope = new AbortScope();
    const first = new Error('first');
    let seen: unknown;
    const other = scope.run(
      (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject((seen = signal.reason)))),
    );
    scope.fail(first);
    await expect(other).rejects.toBe(first);
    scope.fail(new Error('caused by the first'));
    expect(seen).toBe(first);
    expect(() => scope.throwIfFailed()).toThrow(first);
    scope.dispose();
  });

  test('an outer abort wins over the failures it caused; no failure, nothing thrown', () => {
    const outer = new AbortController();
    const scope = new AbortScope(outer.signal);
    expect(() => scope.throwIfFailed()).not.toThrow();
    outer.abort('interrupted');
    scope.fail(new Error('aborted request'));
    expect(() => scope.throwIfFailed()).toThrow();
    try {
      scope.throwIfFailed();
    } catch (err) {
      expect(err).toBe('interrupted');
    }
    scope.dispose();
  });
});
