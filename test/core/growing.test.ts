/** GrowingFile on a real file: reads wait for the announced prefix, a restart and a failure reach the reader. */
import { mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GrowingFile, GrowingRestarted } from '../../src/core/growing.js';

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'ecrx-growing-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a read waits until the prefix covers it, then returns the bytes', async () => {
  const path = join(dir, 'a.tmp');
  writeFileSync(path, 'hello ');
  const g = new GrowingFile(11, join(dir, 'a.final'));
  g.started(path);
  g.prefix(6);
  const buf = Buffer.alloc(5);
  let done = false;
  const read = g.read(buf, 6).then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  expect(done).toBe(false);
  appendFileSync(path, 'world');
  g.prefix(11);
  await read;
  expect(buf.toString()).toBe('world');
  const verified = g.verified();
  g.done();
  await verified;
  await g.close();
});

test('a writer that starts again fails the waiting reader with GrowingRestarted; a failure with its own error', async () => {
  const path = join(dir, 'b.tmp');
  writeFileSync(path, 'abc');
  const g = new GrowingFile(6, join(dir, 'b.final'));
  g.started(path);
  g.prefix(3);
  const waiting = g.verified();
  g.prefix(0);
  await expect(waiting).rejects.toBeInstanceOf(GrowingRestarted);
  const read = g.read(Buffer.alloc(6), 0);
  g.fail(new Error('digest mismatch'));
  await expect(read).rejects.toThrow('digest mismatch');
  await g.close();
});

test('a blob complete before any temporary file is read from its final path', async () => {
  const final = join(dir, 'c.final');
  writeFileSync(final, 'cached');
  const g = new GrowingFile(6, final);
  g.done();
  const buf = Buffer.alloc(6);
  await g.read(buf, 0);
  expect(buf.toString()).toBe('cached');
  await g.close();
});
