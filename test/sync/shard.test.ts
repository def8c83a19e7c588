/** Shards: disjoint, covering, stable when an image is added; the index from the engines' variables. */
import { EcrxError, ExitCode } from '../../src/core/errors.js';
import { minimumSeconds, pickShard, quotaShare, resolveShard, shardOf } from '../../src/sync/shard.js';

function errorOf(fn: () => unknown): EcrxError {
  try {
    fn();
  } catch (err) {
    if (err instanceof EcrxError) return err;
    throw err;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

const keys = Array.from({ length: 500 }, (_, i) => `docker.io/library/img${i}:1.${i % 7} -> mirror/img${i}`);

test('N shards are disjoint and together cover every image exactly once, for several N', () => {
  for (const n of [1, 2, 3, 4, 7, 16]) {
    const shards = Array.from({ length: n }, (_, i) => pickShard(keys, (k) => k, { index: i, count: n }));
    const all = shards.flat();
    expect(all).toHaveLength(keys.length);
    expect(new Set(all).size).toBe(keys.length);
    // Every shard gets some of 500 images: the hash spreads them (a stuck hash would put all in one).
    if (n <= 7) for (const s of shards) expect(s.length).toBeGreaterThan(keys.length / n / 2);
  }
});

test('adding an image moves no other image to another shard', () => {
  const before = new Map(keys.map((k) => [k, shardOf(k, 4)]));
  const grown = [...keys, 'ghcr.io/org/new:1.0 -> mirror/new'];
  for (const k of grown.slice(0, -1)) expect(shardOf(k, 4)).toBe(before.get(k));
  expect(pickShard(grown, (k) => k, { index: 2, count: 4 }).filter((k) => keys.includes(k))).toEqual(
    pickShard(keys, (k) => k, { index: 2, count: 4 }),
  );
});

test('the shard of a key is the same in every process (a pure hash of the key)', () => {
  expect(shardOf('docker.io/library/alpine:3.20 -> mirror/alpine', 1000)).toBe(
    shardOf('docker.io/library/alpine:3.20 -> mirror/alpine', 1000),
  );
  expect(pickShard(keys, (k) => k, undefined)).toBe(keys);
});

test('--shard I/N; N from the plan; the index from JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX', () => {
  expect(resolveShard('1/4', undefined, {})).toEqual({ index: 1, count: 4 });
  expect(resolveShard(' 0 / 2 ', 8, {})).toEqual({ index: 0, count: 2 });
  expect(resolveShard(undefined, undefined, { JOB_COMPLETION_INDEX: '3' })).toBeUndefined();
  expect(resolveShard(undefined, 4, { JOB_COMPLETION_INDEX: '3' })).toEqual({ index: 3, count: 4 });
  expect(resolveShard(undefined, 4, { AWS_BATCH_JOB_ARRAY_INDEX: '2' })).toEqual({ index: 2, count: 4 });
  expect(resolveShard('5', undefined, { JOB_COMPLETION_INDEX: '1', AWS_BATCH_JOB_ARRAY_INDEX: '4' })).toEqual({
    index: 1,
    count: 5,
  });
  expect(resolveShard('2/3', undefined, { JOB_COMPLETION_INDEX: '0' })).toEqual({ index: 2, count: 3 });
});

test('an index at or past N, no index anywhere, or a malformed flag is a usage error naming the fix', () => {
  const e1 = errorOf(() => resolveShard('4/4', undefined, {}));
  expect(e1.message).toMatch(/Shard index 4 is out of range for 4 shards: indexes run from 0 to 3/);
  expect(e1.exitCode).toBe(ExitCode.USAGE);
  expect(errorOf(() => resolveShard(undefined, 4, { AWS_BATCH_JOB_ARRAY_INDEX: '4' })).message).toMatch(/out of range/);
  expect(errorOf(() => resolveShard(undefined, 3, {})).message).toMatch(
    /no shard index: give --shard I\/3.*JOB_COMPLETION_INDEX/,
  );
  expect(errorOf(() => resolveShard('a/4', undefined, {})).message).toMatch(/whole number, got 'a' \(from --shard\)/);
  expect(errorOf(() => resolveShard(undefined, 2, { JOB_COMPLETION_INDEX: '-1' })).message).toMatch(
    /from JOB_COMPLETION_INDEX/,
  );
  expect(errorOf(() => resolveShard('0/0', undefined, {})).message).toMatch(/from 1 to 1000, got 0/);
  expect(errorOf(() => resolveShard('1/2/3', undefined, {})).code).toBe('VALIDATION_ERROR');
});

test('each of N shards gets 1/N of the quotas; 1000 images need 100 s of PutImage', () => {
  expect(quotaShare(1)).toBe(1);
  expect(quotaShare(4) * 10).toBe(2.5);
  expect(() => quotaShare(0)).toThrow(RangeError);
  expect(minimumSeconds(1000)).toBe(100);
});
