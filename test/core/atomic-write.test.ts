/** Temp name and rename: a reader sees the old file or the new one, and a failed write leaves nothing behind. */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tempPathBeside, writeFileAtomic, writeFileAtomicSync } from '../../src/core/atomic-write.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ecrx-atomic-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('atomic writes', () => {
  test('a new file is written whole, with the mode asked for, and no temporary file stays', async () => {
    const path = join(dir, 'config.json');
    await writeFileAtomic(path, '{"a":1}\n', { mode: 0o600 });
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['config.json']);
  });

  test('an existing file is replaced, not appended to or truncated in place', async () => {
    const path = join(dir, 'index');
    writeFileSync(path, 'old contents that are longer');
    const before = statSync(path).ino;
    writeFileAtomicSync(path, 'new');
    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(statSync(path).ino).not.toBe(before); // a new inode: readers of the old one kept the old bytes
    expect(readdirSync(dir)).toEqual(['index']);
  });

  test('a failed rename leaves the target as it was and removes the temporary file', async () => {
    const target = join(dir, 'taken');
    mkdirSync(join(target, 'child'), { recursive: true }); // rename(2) cannot replace a non-empty directory
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow();
    expect(() => writeFileAtomicSync(target, 'x')).toThrow();
    expect(readdirSync(dir)).toEqual(['taken']);
    expect(readdirSync(target)).toEqual(['child']);
  });

  test('an explicit temporary path is used, and is gone afterwards', async () => {
    const staging = join(dir, 'tmp');
    mkdirSync(staging);
    await writeFileAtomic(join(dir, 'out'), 'y', { tmp: join(staging, 'out.1.tmp') });
    expect([readFileSync(join(dir, 'out'), 'utf8'), readdirSync(staging)]).toEqual(['y', []]);
  });

  test('temporary names are hidden, beside the target, unique, and end in .tmp', () => {
    const a = tempPathBeside(join(dir, 'config.json'));
    const b = tempPathBeside(join(dir, 'config.json'));
    expect(a).not.toBe(b);
    expect(a.startsWith(join(dir, '.config.json.ecrx-'))).toBe(true);
    expect(a.endsWith('.tmp')).toBe(true);
  });
});
