/**
 * Hostile layers for `ecrx export`, read as a list: each case is a crafted image (tars built here with tar-stream
 * and zlib, or raw bytes), the exit code and error code it must give, and what the export must hold when it
 * succeeds. Every case runs the real CLI against a real `ecrx serve`, and checks afterwards that a "host" directory
 * beside the target (what the layers aim their links at) is byte for byte, mode for mode and time for time as
 * before, that nothing appeared outside the target, that no temporary file is left and that no stack trace was
 * printed.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startServe, type Serve } from '../helpers/serve.js';
import { runCli, testEnv, type CliResult } from '../helpers/cli.js';
import { sdk, createRepo, pushBuilt } from '../helpers/ecr.js';
import { readTar } from '../helpers/files.js';
import type { BuiltImage } from '../../src/oci/build.js';
import { MediaType } from '../../src/oci/media-types.js';
import { sha256Digest } from '../../src/oci/manifest.js';

interface Entry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  body?: string;
  mode?: number;
  linkname?: string;
}
/** A layer: tar entries (gzipped here), or the exact bytes of the blob. */
type Layer = Entry[] | Buffer;

interface Case {
  name: string;
  /** Built once the host directory's absolute path is known, since links aim at it. */
  layers: (host: string) => Layer[];
  exit: number;
  code?: string;
  target?: 'dir' | 'tar';
  /** For a successful export: what the rootfs (or the tar) must hold. */
  check?: (out: string, host: string) => void | Promise<void>;
}

const OLD = new Date('2001-02-03T04:05:06Z'); // every entry's mtime: a time applied through a link would show on the host
const dir = (name: string, mode = 0o755): Entry => ({ name, type: 'directory', mode });
const file = (name: string, body = name, mode = 0o644): Entry => ({ name, body, mode });
const sym = (name: string, linkname: string): Entry => ({ name, type: 'symlink', linkname });
const hard = (name: string, linkname: string): Entry => ({ name, type: 'link', linkname });
const gz = (tar: Buffer) => gzipSync(tar);
const isLink = (p: string) => lstatSync(p).isSymbolicLink();
const text = (p: string) => readFileSync(p, 'utf8');

const cases: Case[] = [
  // 1. Deferred directory modes and times never go through a link a later entry put in the directory's place.
  {
    name: 'a directory (07777) replaced by a symlink to a host directory in a later layer',
    layers: (h) => [[dir('d', 0o7777)], [sym('d', h)]],
    exit: 0,
    check: (o, h) => expect(readlinkSync(join(o, 'd'))).toBe(h),
  },
  {
    name: 'the same in one layer',
    layers: (h) => [[dir('d', 0o7777), sym('d', h)]],
    exit: 0,
    check: (o) => expect(isLink(join(o, 'd'))).toBe(true),
  },
  {
    name: 'the same with a relative link that climbs out (../../../host)',
    layers: () => [[dir('d', 0o7777)], [sym('d', '../../../host')]],
    exit: 0,
    check: (o) => expect(readlinkSync(join(o, 'd'))).toBe('../../../host'),
  },
  {
    name: 'a parent of a 07777 directory replaced by a symlink to the host',
    layers: (h) => [[dir('a'), dir('a/b', 0o7777)], [sym('a', h)]],
    exit: 0,
    check: (o) => expect(isLink(join(o, 'a'))).toBe(true),
  },
  {
    name: 'as a tar file: a directory replaced by a symlink to the host',
    layers: (h) => [[dir('d', 0o7777), dir('d/b', 0o7777)], [sym('d', h)]],
    exit: 0,
    target: 'tar',
  },
  {
    name: 'a symlink to a host file, then a 07777 file of the same name',
    layers: (h) => [[sym('f', join(h, 'secret'))], [file('f', 'pwned', 0o7777)]],
    exit: 0,
    check: (o) => expect(text(join(o, 'f'))).toBe('pwned'),
  },
  {
    name: 'a symlink to a host directory, then a 07777 directory of the same name',
    layers: (h) => [[sym('d', h)], [dir('d', 0o7777), file('d/x')]],
    exit: 0,
    check: (o) => expect(lstatSync(join(o, 'd')).mode & 0o7777).toBe(0o7777),
  },
  {
    name: 'a symlink to a host directory, then a file through it',
    layers: (h) => [[sym('evil', h)], [file('evil/pwned')]],
    exit: 0,
    check: (o, h) => expect(text(join(o, h, 'pwned'))).toBe('evil/pwned'),
  },
  {
    name: 'a symlink then a file through it, in one layer',
    layers: (h) => [[sym('evil', h), file('evil/b/pwned')]],
    exit: 0,
    check: (o, h) => expect(text(join(o, h, 'b/pwned'))).toBe('evil/b/pwned'),
  },
  {
    name: 'a chain of symlinks ending on the host, then a file through it',
    layers: (h) => [[sym('a', 'b'), sym('b', h), file('a/x')]],
    exit: 0,
    check: (o, h) => expect(existsSync(join(o, h, 'x'))).toBe(true),
  },
  {
    name: 'a hard link, a symlink and a directory made through a symlinked parent',
    layers: (h) => [[sym('p', h), file('f'), hard('p/hl', 'f'), sym('p/sl', '/etc/passwd'), dir('p/b', 0o7777)]],
    exit: 0,
    check: (o, h) => {
      expect(lstatSync(join(o, h, 'hl')).ino).toBe(lstatSync(join(o, 'f')).ino);
      expect(readlinkSync(join(o, h, 'sl'))).toBe('/etc/passwd');
    },
  },
  {
    name: "the root entry './' with mode 07777",
    layers: () => [[dir('./', 0o7777), dir('.', 0o7777), file('f')]],
    exit: 0,
    check: (o) => expect(lstatSync(o).mode & 0o7000).toBe(0),
  },
  { name: 'a symlink loop', layers: () => [[sym('a', 'a'), file('a/x')]], exit: 5, code: 'INVALID_IMAGE' },
  {
    name: 'absolute names land inside the target',
    layers: () => [[file('/abs/f'), file('//double')]],
    exit: 0,
    check: (o) => expect(text(join(o, 'abs/f'))).toBe('/abs/f'),
  },
  { name: 'a leading .. component', layers: () => [[file('../escape')]], exit: 5, code: 'INVALID_IMAGE' },
  {
    name: 'a .. component in the middle',
    layers: () => [[dir('a'), file('a/../../escape')]],
    exit: 5,
    code: 'INVALID_IMAGE',
  },
  {
    name: 'a file under a name that is a file',
    layers: () => [[file('f')], [file('f/x')]],
    exit: 5,
    code: 'INVALID_IMAGE',
  },
  // Hard links may only join names inside the image.
  {
    name: 'a hard link to an absolute host path',
    layers: (h) => [[hard('h', join(h, 'secret'))]],
    exit: 5,
    code: 'INVALID_IMAGE',
  },
  { name: 'a hard link with ..', layers: () => [[hard('h', '../host/secret')]], exit: 5, code: 'INVALID_IMAGE' },
  {
    name: 'a hard link through a symlink to the host',
    layers: (h) => [[sym('p', h), hard('h', 'p/secret')]],
    exit: 5,
    code: 'INVALID_IMAGE',
  },
  { name: 'a hard link to a directory', layers: () => [[dir('d'), hard('h', 'd')]], exit: 5, code: 'INVALID_IMAGE' },
  {
    name: 'a hard link to a symlink to a host file, then a file written over the hard link',
    layers: (h) => [[sym('s', join(h, 'secret')), hard('h', 's')], [file('h', 'mine', 0o6777)]],
    exit: 0,
    check: (o, h) => {
      expect(readlinkSync(join(o, 's'))).toBe(join(h, 'secret'));
      expect(text(join(o, 'h'))).toBe('mine');
    },
  },
  // Modes are applied last, and a tar takes them from the layers, not from what an unprivileged process could read.
  {
    name: 'a read-only directory (0555) still receives its files',
    layers: () => [[dir('ro', 0o555), file('ro/f', 'in ro', 0o400)], [file('ro/g', 'later')]],
    exit: 0,
    check: (o) => {
      expect(lstatSync(join(o, 'ro')).mode & 0o7777).toBe(0o555);
      expect(text(join(o, 'ro/g'))).toBe('later');
    },
  },
  {
    name: 'as a tar file: a directory and a file with mode 000',
    layers: () => [[dir('locked', 0), file('locked/f', 'secret', 0)]],
    exit: 0,
    target: 'tar',
    check: async (o) => {
      expect(await tarModes(o)).toEqual({ 'locked/': 0, 'locked/f': 0 });
    },
  },
  // Replacements in every order.
  {
    name: 'a file, then a directory of the same name',
    layers: () => [[file('x')], [dir('x'), file('x/y')]],
    exit: 0,
    check: (o) => expect(text(join(o, 'x/y'))).toBe('x/y'),
  },
  {
    name: 'a directory, then a file of the same name',
    layers: () => [[dir('x'), file('x/y')], [file('x', 'flat')]],
    exit: 0,
    check: (o) => expect(text(join(o, 'x'))).toBe('flat'),
  },
  // 2. Whiteouts never name the directory they are in or a parent of it.
  { name: 'the whiteout .wh..', layers: () => [[file('keep')], [file('.wh..', '')]], exit: 5, code: 'INVALID_IMAGE' },
  { name: 'the whiteout .wh...', layers: () => [[file('keep')], [file('.wh...', '')]], exit: 5, code: 'INVALID_IMAGE' },
  {
    name: 'the whiteout dir/.wh..',
    layers: () => [[dir('dir'), file('dir/keep')], [file('dir/.wh..', '')]],
    exit: 5,
    code: 'INVALID_IMAGE',
  },
  {
    name: 'the whiteout dir/.wh...',
    layers: () => [[dir('dir'), file('dir/keep')], [file('dir/.wh...', '')]],
    exit: 5,
    code: 'INVALID_IMAGE',
  },
  {
    name: 'the whiteout .wh. (no name)',
    layers: () => [[file('keep')], [file('.wh.', '')]],
    exit: 5,
    code: 'INVALID_IMAGE',
  },
  {
    name: 'a whiteout through a symlink to the host',
    layers: (h) => [[sym('p', h)], [file('p/.wh.secret', ''), file('p/b/.wh.inner', '')]],
    exit: 0,
    check: (o) => expect(isLink(join(o, 'p'))).toBe(true),
  },
  {
    name: 'an opaque whiteout through a symlink to the host',
    layers: (h) => [[sym('p', h)], [file('p/.wh..wh..opq', '')]],
    exit: 0,
    check: (o) => expect(isLink(join(o, 'p'))).toBe(true),
  },
  {
    name: 'opaque whiteouts still hide what lower layers put in the directory',
    layers: () => [
      [dir('d'), file('d/old'), dir('d/sub'), file('d/sub/old'), file('other')],
      [dir('d'), file('d/.wh..wh..opq', ''), file('d/new')],
    ],
    exit: 0,
    check: (o) => {
      expect(readdirSync(join(o, 'd'))).toEqual(['new']);
      expect(text(join(o, 'other'))).toBe('other');
    },
  },
  // 5. Names that start with '..' are names, not parents.
  {
    name: 'Kubernetes-style ..data names, links and whiteouts',
    layers: () => [
      [
        dir('cfg'),
        dir('cfg/..2024_01'),
        file('cfg/..2024_01/app.conf', 'v1'),
        sym('cfg/..data', '..2024_01'),
        sym('cfg/app.conf', '..data/app.conf'),
        file('cfg/..old'),
        hard('cfg/..hl', 'cfg/..2024_01/app.conf'),
      ],
      [file('cfg/.wh...old', ''), file('..top', 'top')],
    ],
    exit: 0,
    check: (o) => {
      expect(text(join(o, 'cfg/app.conf'))).toBe('v1');
      expect(readlinkSync(join(o, 'cfg/..data'))).toBe('..2024_01');
      expect(lstatSync(join(o, 'cfg/..hl')).ino).toBe(lstatSync(join(o, 'cfg/..2024_01/app.conf')).ino);
      expect(existsSync(join(o, 'cfg/..old'))).toBe(false);
      expect(text(join(o, '..top'))).toBe('top');
    },
  },
  // 3. Bytes that match their digest but are not a (gzipped) tar.
  {
    name: 'gzip magic followed by garbage',
    layers: () => [Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), Buffer.alloc(600, 0x41)])],
    exit: 5,
    code: 'INVALID_IMAGE',
  },
  {
    name: 'a truncated gzip',
    layers: () => [gz(Buffer.alloc(64 * 1024, 0x61)).subarray(0, 40)],
    exit: 5,
    code: 'INVALID_IMAGE',
  },
  {
    name: 'a gzip of bytes that are not a tar',
    layers: () => [gz(Buffer.alloc(4096, 0x7a))],
    exit: 5,
    code: 'INVALID_IMAGE',
  },
  { name: 'plain bytes that are not a tar', layers: () => [Buffer.alloc(2048, 0x5a)], exit: 5, code: 'INVALID_IMAGE' },
  {
    name: 'a zstd frame',
    layers: () => [Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(64)])],
    exit: 5,
    code: 'INVALID_IMAGE',
  },
  {
    name: 'a good layer then a corrupt one',
    layers: () => [[file('fine')], Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(100, 1)])],
    exit: 5,
    code: 'INVALID_IMAGE',
  },
];

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const tar = await import('tar-stream');
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const ended = new Promise<void>((res) => pack.on('end', () => res()));
  for (const e of entries) {
    // The file-type bits keep a mode of 000 from being taken for "no mode" (tar-stream's default) and written as 0644.
    const typeBits = { file: 0o100000, directory: 0o040000, symlink: 0o120000, link: 0o100000 }[e.type ?? 'file'];
    const header = {
      name: e.name,
      type: e.type ?? 'file',
      mode: typeBits | (e.mode ?? (e.type === 'symlink' ? 0o777 : 0o644)),
      mtime: OLD,
      uid: 0,
      gid: 0,
      linkname: e.linkname,
    };
    await new Promise<void>((res, rej) => {
      const added = (err?: Error | null) => (err ? rej(err) : res());
      if (e.type && e.type !== 'file') pack.entry(header, added);
      else pack.entry(header, e.body ?? '', added);
    });
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** Each entry's permission bits, by name, as a tar file holds them. */
async function tarModes(path: string): Promise<Record<string, number>> {
  const tar = await import('tar-stream');
  const extract = tar.extract();
  const modes: Record<string, number> = {};
  const done = (async () => {
    for await (const entry of extract) {
      modes[entry.header.name] = (entry.header.mode ?? -1) & 0o7777;
      entry.resume();
    }
  })();
  extract.end(readFileSync(path));
  await done;
  return modes;
}

/** An OCI image over the given layer blobs, in the shape pushBuilt takes. */
async function imageOf(layers: Layer[]): Promise<BuiltImage> {
  const blobs = await Promise.all(layers.map(async (l) => (Buffer.isBuffer(l) ? l : gz(await tarOf(l)))));
  const built = blobs.map((bytes) => ({
    digest: sha256Digest(bytes),
    size: bytes.length,
    bytes,
    mediaType: MediaType.ociLayerGzip,
    diffId: sha256Digest(bytes),
  }));
  const configBytes = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: built.map((b) => b.diffId) },
    }),
  );
  const config = {
    digest: sha256Digest(configBytes),
    size: configBytes.length,
    bytes: configBytes,
    mediaType: MediaType.ociConfig,
  };
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
      layers: built.map((b) => ({ mediaType: b.mediaType, digest: b.digest, size: b.size })),
    }),
  );
  return {
    config,
    layers: built,
    manifest: {
      digest: sha256Digest(manifestBytes),
      size: manifestBytes.length,
      bytes: manifestBytes,
      mediaType: MediaType.ociManifest,
    },
    platform: { os: 'linux', architecture: 'amd64' },
  };
}

/** Everything about a tree that a stray chmod, chown, utimes, write or delete would change. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (rel: string) => {
    const p = rel ? join(root, rel) : root;
    const st = lstatSync(p);
    const what = st.isSymbolicLink()
      ? `link->${readlinkSync(p)}`
      : st.isDirectory()
        ? 'dir'
        : `file:${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
    out[rel || '.'] = `${what} mode=${st.mode.toString(8)} uid=${st.uid} gid=${st.gid} mtime=${st.mtimeMs}`;
    if (st.isDirectory()) for (const n of readdirSync(p).sort()) visit(rel ? `${rel}/${n}` : n);
  };
  visit('');
  return out;
}

let serve: Serve;
let work: string;
let host: string;
let outs: string;
let temp: string;
const cacheDir = () => join(work, 'cache');

beforeAll(async () => {
  serve = await startServe();
  work = mkdtempSync(join(tmpdir(), 'ecrx-hostile-export-'));
  host = join(work, 'host');
  outs = join(work, 'out');
  temp = join(work, 'tmp');
  for (const d of [host, join(host, 'b'), outs, temp]) mkdirSync(d);
  writeFileSync(join(host, 'secret'), 'host secret');
  writeFileSync(join(host, 'b', 'inner'), 'host inner');
  symlinkSync('secret', join(host, 'link'));
  chmodSync(join(host, 'secret'), 0o640);
  chmodSync(join(host, 'b'), 0o750);
  chmodSync(host, 0o755);
  const past = new Date('2020-01-01T00:00:00Z');
  for (const p of ['secret', 'b/inner', 'b', '.']) utimesSync(join(host, p), past, past);
  const ecr = sdk(serve.endpoint);
  await createRepo(ecr, 'hostile/app');
  for (const [i, c] of cases.entries()) await pushBuilt(ecr, 'hostile/app', await imageOf(c.layers(host)), `case${i}`);
  ecr.destroy();
});
/** Gives the owner write access back to every real directory, so an unprivileged run can remove what it exported. */
function unlock(path: string): void {
  if (!lstatSync(path).isDirectory()) return;
  chmodSync(path, 0o755);
  for (const n of readdirSync(path)) unlock(join(path, n));
}

afterAll(async () => {
  await serve?.dispose();
  if (!work) return;
  unlock(work);
  rmSync(work, { recursive: true, force: true });
});

const run = (args: string[]): Promise<CliResult> =>
  runCli(args, { env: testEnv(serve.endpoint, { TMPDIR: temp }), cwd: outs });

function expectNoStackTrace(res: CliResult): void {
  expect(res.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  expect(res.stderr).not.toMatch(/Unhandled|Error: /);
}

describe('ecrx export refuses or confines hostile layers', () => {
  test.each(cases.map((c, i) => [c.name, i, c] as const))('%s', async (_name, i, c) => {
    const before = snapshot(host);
    const others = readdirSync(outs).sort();
    const target = c.target === 'tar' ? `case${i}.tar` : `case${i}`;
    const res = await run(['export', `hostile/app:case${i}`, target, '--cache-dir', cacheDir(), '--json']);
    expect(res).toExitWith(c.exit);
    const envelope = JSON.parse(res.stdout);
    if (c.code) {
      expect(envelope.error.code).toBe(c.code);
      expect(envelope.error.message).not.toContain('ecrx-tmp');
    } else {
      expect(envelope.success).toBe(true);
    }
    expectNoStackTrace(res);
    expect(snapshot(host)).toEqual(before);
    expect(readdirSync(work).sort()).toEqual(['cache', 'host', 'out', 'tmp']);
    expect(readdirSync(outs).sort()).toEqual([...others, ...(c.exit === 0 ? [target] : [])].sort());
    expect(readdirSync(temp)).toEqual([]);
    await c.check?.(join(outs, target), host);
  });
});

describe('the same images as a tar on stdout', () => {
  test('every successful case streams a tar, and the host is untouched', async () => {
    const before = snapshot(host);
    for (const [i, c] of cases.entries()) {
      if (c.exit !== 0) continue;
      const res = await run(['export', `hostile/app:case${i}`, '-', '--cache-dir', cacheDir(), '-q']);
      expect(res).toExitWith(0);
      expect((await readTar(res.stdoutBytes)).length).toBeGreaterThan(0);
      expectNoStackTrace(res);
    }
    expect(snapshot(host)).toEqual(before);
    expect(readdirSync(temp)).toEqual([]);
  });
});

describe('the cache is not trusted either', () => {
  test('a cached layer changed on disk (same size) is found out, removed and downloaded again: the export is the image', async () => {
    const i = cases.findIndex((c) => c.name.startsWith('Kubernetes'));
    const cache = join(work, 'cache-tampered');
    expect(await run(['export', `hostile/app:case${i}`, 'tamper-first', '--cache-dir', cache, '-q'])).toExitWith(0);
    const layerDir = join(cache, 'blobs-v1', 'sha256');
    const layer = (await imageOf(cases[i].layers(host))).layers[0];
    const blob = join(layerDir, layer.digest.slice(7));
    const bytes = readFileSync(blob);
    bytes[4] ^= 0xff; // the gzip header's MTIME, which no checksum covers: same size, same files, another digest
    writeFileSync(blob, bytes);
    const res = await run(['export', `hostile/app:case${i}`, 'tamper-second', '--cache-dir', cache, '--json']);
    expect(res).toExitWith(0);
    // The cache holds the real blob again, and the second export is the same tree as the first.
    expect(createHash('sha256').update(readFileSync(blob)).digest('hex')).toBe(layer.digest.slice(7));
    // (The root itself is made by the export, not by a layer: its time is the export's own.)
    const tree = (dir: string) => Object.fromEntries(Object.entries(snapshot(dir)).filter(([path]) => path !== '.'));
    expect(tree(join(outs, 'tamper-second'))).toEqual(tree(join(outs, 'tamper-first')));
    expect(readdirSync(outs).filter((n) => n.includes('ecrx-tmp'))).toEqual([]);
    rmSync(cache, { recursive: true, force: true });
    rmSync(join(outs, 'tamper-first'), { recursive: true, force: true });
    rmSync(join(outs, 'tamper-second'), { recursive: true, force: true });
  });
});
