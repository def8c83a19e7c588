/** The push journal on real files: what is read back, what is ignored, what is swept. */
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STALE_MS, UploadJournal } from '../../src/store/upload-journal.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ecrx-journal-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const place = {
  registry: 'http://127.0.0.1:5000 us-east-1 default',
  repository: 'app',
  digest: `sha256:${'a'.repeat(64)}`,
};
const entry = {
  ...place,
  uploadId: '6f0c2d4e-0b8a-4c47-9d4f-2a8f1c3e5b7a',
  partSize: 10485760,
  size: 31457280,
  offset: 10485760,
};

test('an entry written is read back for the same registry, repository and digest only', async () => {
  const j = new UploadJournal(dir);
  await j.write(entry);
  expect(await j.read(place)).toMatchObject(entry);
  expect(await j.read({ ...place, repository: 'other' })).toBeUndefined();
  expect(await j.read({ ...place, registry: 'aws eu-west-1 default' })).toBeUndefined();
  // Written by rename: nothing but the entry itself is in the directory.
  expect(readdirSync(join(dir, 'uploads-v1'))).toEqual([`${UploadJournal.keyOf(place)}.json`]);
  await j.remove(place);
  expect(await j.read(place)).toBeUndefined();
});

test('an entry that cannot be trusted is ignored and removed', async () => {
  const j = new UploadJournal(dir);
  await j.write(entry);
  const path = join(dir, 'uploads-v1', `${UploadJournal.keyOf(place)}.json`);
  for (const bad of [
    '{"registry":',
    JSON.stringify({ ...entry, offset: entry.size + 1 }),
    JSON.stringify({ ...entry, uploadId: 7 }),
  ]) {
    writeFileSync(path, bad);
    expect(await j.read(place)).toBeUndefined();
    expect(readdirSync(join(dir, 'uploads-v1'))).toEqual([]);
  }
});

test('with resume off nothing is read back, but entries are still written and cleared', async () => {
  const j = new UploadJournal(dir, { resume: false });
  await j.write(entry);
  expect(await j.read(place)).toBeUndefined();
  expect(await new UploadJournal(dir).read(place)).toMatchObject(entry);
  await j.remove(place);
  expect(readdirSync(join(dir, 'uploads-v1'))).toEqual([]);
});

test('entries and temporary files older than a week are swept on the first write', async () => {
  const old = new UploadJournal(dir);
  await old.write(entry);
  const sub = join(dir, 'uploads-v1');
  const stale = (Date.now() - STALE_MS - 60_000) / 1000;
  const oldName = `${UploadJournal.keyOf(place)}.json`;
  const tmpName = `${'b'.repeat(64)}.json.123.abcdef.tmp`;
  writeFileSync(join(sub, tmpName), '{');
  writeFileSync(join(sub, 'notes.txt'), 'not ours');
  for (const n of [oldName, tmpName, 'notes.txt']) utimesSync(join(sub, n), stale, stale);
  const fresh = { ...entry, digest: `sha256:${'c'.repeat(64)}` };
  await new UploadJournal(dir).write(fresh);
  expect(readdirSync(sub).sort()).toEqual([`${UploadJournal.keyOf(fresh)}.json`, 'notes.txt'].sort());
});
