/** A set of byte ranges [start, end), kept sorted and merged: which parts of a blob are on disk. */
export type Span = [start: number, end: number];

export class RangeSet {
  private spans: Span[] = [];

  constructor(spans: readonly Span[] = []) {
    for (const [s, e] of spans) this.add(s, e);
  }

  add(start: number, end: number): void {
    if (!(end > start)) return;
    const out: Span[] = [];
    let s = start;
    let e = end;
    let placed = false;
    for (const [a, b] of this.spans) {
      if (b < s) out.push([a, b]);
      else if (a > e) {
        if (!placed) out.push([s, e]);
        placed = true;
        out.push([a, b]);
      } else {
        s = Math.min(s, a);
        e = Math.max(e, b);
      }
    }
    if (!placed) out.push([s, e]);
    this.spans = out;
  }

  /** Where the run of bytes starting at 0 ends (0 when byte 0 is missing). */
  prefixEnd(): number {
    const first = this.spans[0];
    return first && first[0] === 0 ? first[1] : 0;
  }

  get total(): number {
    return this.spans.reduce((n, [s, e]) => n + e - s, 0);
  }

  /** The parts of [0, size) not in the set. */
  gaps(size: number): Span[] {
    const out: Span[] = [];
    let at = 0;
    for (const [s, e] of this.spans) {
      if (s >= size) break;
      if (s > at) out.push([at, s]);
      at = Math.max(at, e);
    }
    if (at < size) out.push([at, size]);
    return out;
  }

  toJSON(): Span[] {
    return this.spans.map(([s, e]) => [s, e]);
  }

  clear(): void {
    this.spans = [];
  }
}

/** Cuts the gaps into pieces of at most `pieceSize` bytes, in file order. */
export function splitGaps(gaps: readonly Span[], pieceSize: number): Span[] {
  const out: Span[] = [];
  for (const [s, e] of gaps) for (let at = s; at < e; at += pieceSize) out.push([at, Math.min(e, at + pieceSize)]);
  return out;
}
