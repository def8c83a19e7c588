/** The client's UploadLayerPart body: the SDK's bytes with the part's base64 spliced in, exactly. */
import { randomBytes } from 'node:crypto';
import { spliceBlob, scratchSizeFor } from '../../src/ecr/part-body.js';
import { EcrxError } from '../../src/core/errors.js';

const sdkBody = '{"repositoryName":"a/b","uploadId":"u1","partFirstByte":0,"partLastByte":9,"layerPartBlob":""}';

test.each([0, 1, 2, 3, 4, 3 * 64 * 1024 - 1, 3 * 64 * 1024, 3 * 64 * 1024 + 1, 1024 * 1024 + 7])(
  'a part of %i bytes gives the body JSON.stringify would',
  (n) => {
    const blob = randomBytes(n);
    const job = { blob };
    const out = spliceBlob(sdkBody, job);
    const expected = { ...JSON.parse(sdkBody), layerPartBlob: blob.toString('base64') };
    expect(out.toString('latin1')).toBe(JSON.stringify(expected));
    expect(job).toMatchObject({ spliced: true });
  },
);

test('the body is built in the scratch buffer when it fits, and from Uint8Array bodies too', () => {
  const blob = randomBytes(100_000);
  const scratch = Buffer.alloc(scratchSizeFor(100_000));
  const out = spliceBlob(new TextEncoder().encode(sdkBody), { blob, scratch });
  expect(out.buffer).toBe(scratch.buffer);
  expect(JSON.parse(out.toString()).layerPartBlob).toBe(blob.toString('base64'));
  const small = Buffer.alloc(10);
  expect(spliceBlob(sdkBody, { blob, scratch: small }).buffer).not.toBe(small.buffer);
});

test('a body without exactly one empty layerPartBlob is refused before anything is sent', () => {
  for (const body of ['{"layerPartBlob":"AAAA"}', '{"layerPartBlob":"","layerPartBlob":""}', '{}', undefined]) {
    const job = { blob: randomBytes(3), spliced: undefined as boolean | undefined };
    expect(() => spliceBlob(body, job)).toThrow(EcrxError);
    expect(job.spliced).toBeUndefined();
  }
});
