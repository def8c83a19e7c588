/** The README's exit-code table and the ErrorCode union are one list: each code, and each code's exit code. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EcrxError, ExitCode, errorCodes, isErrorCode, toEcrxError } from '../../src/core/errors.js';
import { ROOT } from '../helpers/cli.js';

/** Rows of the README's "Exit codes" table as [error code, exit code], in the README's order. */
function readmeTable(): [string, number][] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Exit codes\n'));
  if (!section) throw new Error('README.md has no "## Exit codes" section');
  const rows: [string, number][] = [];
  for (const line of section.split('\n')) {
    // A row: | exit code | meaning | `CODE`, `CODE` (note) |; an escaped \| inside a cell is not a border.
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    if (cells.length < 5 || !/^\d+$/.test(cells[1])) continue;
    for (const m of cells[3].matchAll(/`([A-Z][A-Z0-9_]*)`/g)) rows.push([m[1], Number(cells[1])]);
  }
  return rows;
}

describe('ErrorCode and the README table', () => {
  const table = readmeTable();
  const inCode = new Map<string, number>(errorCodes);
  const inReadme = new Map(table);

  test('the table is found and lists each code once', () => {
    expect(table.length).toBeGreaterThan(20);
    expect(new Set(table.map(([c]) => c)).size).toBe(table.length);
    expect(new Set(errorCodes.map(([c]) => c)).size).toBe(errorCodes.length);
  });

  test('every code in the README is in ErrorCode, with the same exit code', () => {
    const wrong = table.filter(([code, exit]) => inCode.get(code) !== exit);
    expect(wrong).toEqual([]);
  });

  test('every code in ErrorCode is in the README, with the same exit code', () => {
    const wrong = errorCodes.filter(([code, exit]) => inReadme.get(code) !== exit);
    expect(wrong).toEqual([]);
  });

  test('an EcrxError exits with its code from the list', () => {
    for (const [code, exit] of errorCodes) expect(new EcrxError(code, 'x').exitCode).toBe(exit);
    expect(isErrorCode('DIGEST_MISMATCH')).toBe(true);
    expect(isErrorCode('NO_SUCH_CODE')).toBe(false);
  });

  test('file-system errors map to their documented codes', () => {
    const errno = (code: string) => Object.assign(new Error(code), { code, path: '/x' });
    expect(toEcrxError(errno('ENOSPC')).code).toBe('DISK_FULL');
    expect(toEcrxError(errno('EACCES')).exitCode).toBe(ExitCode.LOCAL);
    expect(toEcrxError(Object.assign(errno('EADDRINUSE'), { port: 5000 })).message).toContain('port 5000');
  });
});
