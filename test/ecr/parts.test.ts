import { planParts, effectivePartSize, MiB, MIN_PART, MAX_PART } from '../../src/ecr/parts.js';

const sizes = (size: number, part: number) => planParts(size, part).map((p) => p.last - p.first + 1);

describe('part planning', () => {
  test.each([
    [0, []],
    [1, [1]],
    [5 * MiB - 1, [5 * MiB - 1]],
    [5 * MiB, [5 * MiB]],
    [10 * MiB, [10 * MiB]],
    [10 * MiB + 1, [10 * MiB, 1]],
    [20 * MiB, [10 * MiB, 10 * MiB]],
    [100 * MiB, Array(10).fill(10 * MiB)],
    [25 * MiB + 3, [10 * MiB, 10 * MiB, 5 * MiB + 3]],
  ])('%d bytes in 10 MiB parts', (size, expected) => {
    expect(sizes(size, 10 * MiB)).toEqual(expected);
  });

  test('parts are contiguous, inclusive, and cover the blob exactly', () => {
    const parts = planParts(37 * MiB + 11, 10 * MiB);
    expect(parts[0].first).toBe(0);
    for (let i = 1; i < parts.length; i++) expect(parts[i].first).toBe(parts[i - 1].last + 1);
    expect(parts.at(-1)!.last).toBe(37 * MiB + 10);
  });

  test('every part but the last is at least 5 MiB and none above 20 MiB, whatever ECR answers', () => {
    for (const answered of [1, 1024, 4 * MiB, 5 * MiB, 10 * MiB, 20 * MiB, 50 * MiB, 0, NaN]) {
      for (const size of [1, 5 * MiB - 1, 5 * MiB + 1, 33 * MiB, 100 * MiB + 7]) {
        const s = sizes(size, answered);
        expect(s.reduce((a, b) => a + b, 0)).toBe(size);
        s.slice(0, -1).forEach((n) => expect(n).toBeGreaterThanOrEqual(MIN_PART));
        s.forEach((n) => expect(n).toBeLessThanOrEqual(MAX_PART));
      }
    }
  });

  test('the answered part size is clamped to ECR limits; missing means 10 MiB', () => {
    expect(effectivePartSize(undefined)).toBe(10 * MiB);
    expect(effectivePartSize(1)).toBe(5 * MiB);
    expect(effectivePartSize(64 * MiB)).toBe(20 * MiB);
    expect(effectivePartSize(12 * MiB)).toBe(12 * MiB);
  });

  test('resuming from a byte plans only what is left', () => {
    expect(planParts(25 * MiB, 10 * MiB, 10 * MiB)).toEqual([
      { first: 10 * MiB, last: 20 * MiB - 1 },
      { first: 20 * MiB, last: 25 * MiB - 1 },
    ]);
  });
});
