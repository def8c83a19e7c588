/** Byte-range bookkeeping of partial downloads (pure logic). */
import { RangeSet, splitGaps } from '../../src/store/ranges.js';

describe('RangeSet', () => {
  test('merges touching and overlapping spans and finds the gaps', () => {
    const s = new RangeSet();
    s.add(10, 20);
    s.add(30, 40);
    s.add(20, 25);
    s.add(35, 50);
    expect(s.toJSON()).toEqual([
      [10, 25],
      [30, 50],
    ]);
    expect(s.prefixEnd()).toBe(0);
    expect(s.total).toBe(35);
    expect(s.gaps(60)).toEqual([
      [0, 10],
      [25, 30],
      [50, 60],
    ]);
    s.add(0, 10);
    expect(s.prefixEnd()).toBe(25);
    s.add(24, 31);
    expect(s.toJSON()).toEqual([[0, 50]]);
    expect(s.gaps(50)).toEqual([]);
  });

  test('splitGaps cuts gaps into pieces in file order', () => {
    expect(
      splitGaps(
        [
          [0, 5],
          [8, 20],
        ],
        4,
      ),
    ).toEqual([
      [0, 4],
      [4, 5],
      [8, 12],
      [12, 16],
      [16, 20],
    ]);
  });
});
