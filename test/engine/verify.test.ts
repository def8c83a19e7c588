/** engine/verify.ts: the engine's check of every blob it hands to a sink. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { verifier } from '../../src/engine/verify.js';

const blob = Buffer.from('the bytes of a blob, in two chunks');
const d = {
  mediaType: 'application/octet-stream',
  digest: `sha256:${createHash('sha256').update(blob).digest('hex')}`,
  size: blob.length,
};
const read = async (r: Readable) => {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};
const chunks = (b: Buffer) => Readable.from([b.subarray(0, 10), b.subarray(10)]);

test('the right bytes pass unchanged and settle verified', async () => {
  const v = verifier(d, 'layout ./x');
  expect((await read(v.watch(chunks(blob), 0))).equals(blob)).toBe(true);
  await expect(v.verified).resolves.toBeUndefined();
});

test('a changed byte fails the stream before its end and rejects verified with DIGEST_MISMATCH', async () => {
  const bad = Buffer.from(blob);
  bad[3] ^= 1;
  const v = verifier(d, 'layout ./x');
  await expect(read(v.watch(chunks(bad), 0))).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
  await expect(v.verified).rejects.toMatchObject({ code: 'DIGEST_MISMATCH', details: { expected: d.digest } });
});

test('more bytes than the descriptor says fail as SIZE_MISMATCH as soon as they pass the size', async () => {
  const v = verifier(d, 'layout ./x');
  await expect(read(v.watch(chunks(Buffer.concat([blob, Buffer.from('!')])), 0))).rejects.toMatchObject({
    code: 'SIZE_MISMATCH',
  });
  await expect(v.verified).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
});

test('a read from a later offset passes through; the whole read settles it', async () => {
  const v = verifier(d, 'layout ./x');
  const tail = await read(v.watch(Readable.from([blob.subarray(5)]), 5));
  expect(tail.equals(blob.subarray(5))).toBe(true);
  let settled = false;
  void v.verified.then(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  expect(settled).toBe(false);
  await read(v.watch(chunks(blob), 0));
  await expect(v.verified).resolves.toBeUndefined();
});

test('a blob already verified (a store) is verified at once', async () => {
  await expect(verifier(d, 'cache', true).verified).resolves.toBeUndefined();
});
