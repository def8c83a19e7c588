/** Token buckets for `ecrx serve --quotas`, on an injected clock. */
import { TokenBucket, Quotas, ECR_DEFAULT_RATES } from '../../src/serve/token-bucket.js';

const clock = () => {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
};
const takeAll = (b: { take: () => boolean }, n: number) =>
  Array.from({ length: n }, () => b.take()).filter(Boolean).length;

test('a full bucket allows a one-second burst of `rate` requests, then refuses', () => {
  const c = clock();
  const b = new TokenBucket(100, c.now);
  expect(takeAll(b, 150)).toBe(100);
  expect(b.take()).toBe(false);
});

test('tokens come back continuously at `rate` per second, never beyond the capacity', () => {
  const c = clock();
  const b = new TokenBucket(10, c.now);
  expect(takeAll(b, 10)).toBe(10);
  c.advance(99);
  expect(b.take()).toBe(false); // 0.99 of a token
  c.advance(1);
  expect(b.take()).toBe(true); // 100 ms at 10/s is one token
  expect(b.take()).toBe(false);
  c.advance(500);
  expect(takeAll(b, 10)).toBe(5);
  c.advance(60_000);
  expect(takeAll(b, 50)).toBe(10); // an idle minute still leaves only a one-second burst
});

test('ECR quotas: a bucket per operation, unrated operations never refused', () => {
  const c = clock();
  const q = new Quotas(ECR_DEFAULT_RATES, c.now);
  expect(takeAll({ take: () => q.allow('InitiateLayerUpload') }, 250)).toBe(100);
  expect(takeAll({ take: () => q.allow('PutImage') }, 25)).toBe(10);
  expect(q.allow('CompleteLayerUpload')).toBe(true); // its own bucket, untouched by InitiateLayerUpload
  expect(takeAll({ take: () => q.allow('DescribeRepositories') }, 5000)).toBe(5000);
  c.advance(1000);
  expect(takeAll({ take: () => q.allow('PutImage') }, 25)).toBe(10);
});

test('the rates are ECR defaults', () => {
  expect(ECR_DEFAULT_RATES).toEqual({
    BatchGetImage: 2000,
    GetDownloadUrlForLayer: 3000,
    BatchCheckLayerAvailability: 1000,
    InitiateLayerUpload: 100,
    UploadLayerPart: 500,
    CompleteLayerUpload: 100,
    PutImage: 10,
    GetAuthorizationToken: 500,
  });
});
