/** Byte rates as `ecrx serve --bandwidth-*` accepts them. */
import { parseRate, formatRate } from '../../src/core/rate.js';

test('decimal and binary units, with or without B and /s, any case', () => {
  expect(parseRate('50MB/s')).toBe(50_000_000);
  expect(parseRate('100MiB/s')).toBe(100 * 1024 * 1024);
  expect(parseRate('1.5GB/s')).toBe(1_500_000_000);
  expect(parseRate('64KiB')).toBe(65536);
  expect(parseRate('500k')).toBe(500_000);
  expect(parseRate('2 mib/s')).toBe(2 * 1024 * 1024);
  expect(parseRate('1048576')).toBe(1048576);
  expect(parseRate('0')).toBe(0);
});

test('anything else is refused', () => {
  for (const bad of ['', 'fast', '50MB/m', '-1', '1e6', '50XB/s', 'MB/s', '10 Mbit/s'])
    expect(parseRate(bad)).toBeUndefined();
});

test('rates print in binary units', () => {
  expect(formatRate(100 * 1024 * 1024)).toBe('100 MiB/s');
  expect(formatRate(1536)).toBe('1.5 KiB/s');
  expect(formatRate(12)).toBe('12 B/s');
});
