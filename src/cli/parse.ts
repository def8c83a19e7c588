import { InvalidArgumentError } from 'commander';

export function parseProbability(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('must be a probability between 0 and 1');
  return n;
}

export function parseNonNegativeInt(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be a whole number');
  return Number(v);
}

export function parsePositiveInt(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return Number(v);
}

/** A parser for a whole number from min to max, for commander options. */
export function intBetween(min: number, max: number): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max)
      throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    return Number(v);
  };
}

export function parsePort(v: string): number {
  const n = parseNonNegativeInt(v);
  if (n > 65535) throw new InvalidArgumentError('must be a port number from 0 to 65535');
  return n;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
