/**
 * Byte rates as people write them: `50MB/s` (decimal, as S3 and network people quote them), `100MiB/s` (binary),
 * `1.5GB/s`, `500k`, or plain bytes per second (`1048576`). The `/s` and the `B` are optional; the unit prefix is
 * read case-insensitively (k, M, G, T), `i` makes it binary. Returns whole bytes per second; 0 means no limit.
 */
const UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  m: 1e6,
  g: 1e9,
  t: 1e12,
  ki: 1024,
  mi: 1024 ** 2,
  gi: 1024 ** 3,
  ti: 1024 ** 4,
};

export function parseRate(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?)?(b|bytes?)?(?:\s*\/\s*s(?:ec)?)?\s*$/i.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]) * UNITS[(m[2] ?? '').toLowerCase()];
  return Number.isFinite(n) ? Math.floor(n) : undefined;
}

/** A rate for a log or help line: `50 MB/s`, `100 MiB/s` style, or bytes. */
export function formatRate(bytesPerSecond: number): string {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytesPerSecond >= size) return `${+(bytesPerSecond / size).toFixed(1)} ${unit}/s`;
  }
  return `${bytesPerSecond} B/s`;
}
