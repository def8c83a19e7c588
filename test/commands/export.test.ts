/**
 * `ecrx export` against `umoci unpack` of the same image (files, modes, times, links). Hostile layers are in
 * test/hostile/export.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe, type Serve } from '../helpers/serve.js';
import { runCli, testEnv } from '../helpers/cli.js';
import { describeWithTool } from '../helpers/tools.js';
import { sdk, createRepo, pushBuilt } from '../helpers/ecr.js';
import { readTar } from '../helpers/files.js';
import { buildImage, writeLayout, type BuiltImage, type FileSpec } from '../../src/image/build.js';

let serve: Serve;
let work: string;
let image: BuiltImage;

const layers: FileSpec[][] = [
  [
    { path: 'etc/', type: 'directory' },
    { path: 'etc/a', content: 'a' },
    { path: 'etc/b', content: 'b', mode: 0o600 },
    { path: 'opt/', type: 'directory' },
    { path: 'opt/x/', type: 'directory' },
    { path: 'opt/x/old', content: 'old' },
    { path: 'usr/', type: 'directory' },
    { path: 'usr/lib/', type: 'directory' },
    { path: 'lib', type: 'symlink', linkname: 'usr/lib' },
    { path: 'bin/', type: 'directory', mode: 0o750 },
    { path: 'bin/tool', content: '#!/bin/sh\n', mode: 0o755 },
    { path: 'bin/tool2', type: 'link', linkname: 'bin/tool' },
    // Kubernetes-style names: a name that starts with '..' is a name, not a parent.
    { path: 'cfg/', type: 'directory' },
    { path: 'cfg/..2024_01/', type: 'directory', mode: 0o700 },
    { path: 'cfg/..2024_01/app.conf', content: 'conf' },
    { path: 'cfg/..data', type: 'symlink', linkname: '..2024_01' },
    { path: 'cfg/app.conf', type: 'symlink', linkname: '..data/app.conf' },
    { path: 'cfg/..stale', content: 'old' },
  ],
  [
    { path: 'etc/.wh.a', content: '' },
    { path: 'opt/x/.wh..wh..opq', content: '' },
    { path: 'opt/x/new', content: 'new' },
    { path: 'lib/libz.so', content: 'z' },
    { path: 'etc/b', content: 'b2', mode: 0o640 },
    { path: 'cfg/.wh...stale', content: '' },
  ],
];

interface Node {
  type: string;
  mode: number;
  mtime: number;
  target?: string;
  sha?: string;
}

function snapshot(root: string, rel = '', out: Record<string, Node> = {}): Record<string, Node> {
  for (const name of readdirSync(join(root, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    const st = lstatSync(join(root, r));
    const mtime = st.mtimeMs;
    if (st.isSymbolicLink()) out[r] = { type: 'symlink', mode: 0, mtime, target: readlinkSync(join(root, r)) };
    else if (st.isDirectory()) {
      out[r] = { type: 'dir', mode: st.mode & 0o777, mtime };
      snapshot(root, r, out);
    } else out[r] = { type: 'file', mode: st.mode & 0o777, mtime, sha: createHash('sha256').update(readFileSync(join(root, r))).digest('hex') };
  }
  return out;
}

const cli = (args: string[]) => runCli(args, { env: testEnv(serve.endpoint), cwd: work });

beforeAll(async () => {
  serve = await startServe();
  work = mkdtempSync(join(tmpdir(), 'ecrx-export-'));
  const ecr = sdk(serve.endpoint);
  await createRepo(ecr, 'exp/app');
  image = await buildImage(layers);
  await pushBuilt(ecr, 'exp/app', image, 'v1');
  const escape = await buildImage([[{ path: '../escape.txt', content: 'x' }]]);
  await pushBuilt(ecr, 'exp/app', escape, 'dotdot');
  const outside = join(work, 'outside');
  const viaLink = await buildImage([[{ path: 'evil', type: 'symlink', linkname: outside }], [{ path: 'evil/pwned', content: 'x' }, { path: '/abs', content: 'abs' }]]);
  await pushBuilt(ecr, 'exp/app', viaLink, 'symlink');
  ecr.destroy();
  await writeLayout(join(work, 'layout'), [image], { refName: 'v1' });
});
afterAll(async () => {
  await serve?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('export', () => {
  test('whiteouts, opaque directories, links and modes, into a directory', async () => {
    const res = await cli(['export', 'exp/app:v1', 'rootfs', '--cache-dir', join(work, 'c'), '--json']);
    expect(res).toExitWith(0);
    expect(JSON.parse(res.stdout).data).toMatchObject({ digest: image.manifest.digest, format: 'directory', layers: 2, output: join(work, 'rootfs') });
    const snap = snapshot(join(work, 'rootfs'));
    expect(snap['etc/a']).toBeUndefined();
    expect(snap['etc/b']).toMatchObject({ type: 'file', mode: 0o640 });
    expect(readFileSync(join(work, 'rootfs/etc/b'), 'utf8')).toBe('b2');
    expect(snap['opt/x/old']).toBeUndefined();
    expect(snap['opt/x/new']).toMatchObject({ type: 'file' });
    expect(snap['lib']).toEqual({ type: 'symlink', mode: 0, mtime: 0, target: 'usr/lib' });
    expect(snap['usr/lib/libz.so']).toMatchObject({ type: 'file' });
    expect(snap['bin']).toEqual({ type: 'dir', mode: 0o750, mtime: 0 });
    expect(snap['bin/tool'].mode).toBe(0o755);
    expect(lstatSync(join(work, 'rootfs/bin/tool2')).ino).toBe(lstatSync(join(work, 'rootfs/bin/tool')).ino);
    expect(readFileSync(join(work, 'rootfs/cfg/app.conf'), 'utf8')).toBe('conf');
    expect(snap['cfg/..2024_01']).toEqual({ type: 'dir', mode: 0o700, mtime: 0 });
    expect(snap['cfg/..stale']).toBeUndefined();
  });

  test('as a tar on stdout', async () => {
    const res = await cli(['export', 'exp/app:v1', '-', '--cache-dir', join(work, 'c'), '-q']);
    expect(res).toExitWith(0);
    const names = (await readTar(res.stdoutBytes)).map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['etc/b', 'opt/x/new', 'usr/lib/libz.so', 'lib']));
    expect(names).not.toContain('etc/a');
  });

  test('a layer path with .. is refused and nothing is written', async () => {
    const res = await cli(['export', 'exp/app:dotdot', 'dotdot-out', '--cache-dir', join(work, 'c'), '--json']);
    expect(res).toExitWith(5);
    expect(JSON.parse(res.stdout).error.message).toContain('..');
    expect(existsSync(join(work, 'escape.txt'))).toBe(false);
    expect(existsSync(join(work, 'dotdot-out'))).toBe(false);
    expect(readdirSync(work).filter((n) => n.includes('ecrx-tmp'))).toEqual([]);
  });

  test('a symlink pointing out of the target is followed only inside it', async () => {
    const res = await cli(['export', 'exp/app:symlink', 'sym-out', '--cache-dir', join(work, 'c')]);
    expect(res).toExitWith(0);
    expect(existsSync(join(work, 'outside'))).toBe(false);
    expect(readFileSync(join(work, 'sym-out', work.slice(1), 'outside', 'pwned'), 'utf8')).toBe('x');
    expect(readFileSync(join(work, 'sym-out', 'abs'), 'utf8')).toBe('abs');
  });

  test('an existing non-empty directory is not overwritten', async () => {
    const res = await cli(['export', 'exp/app:v1', 'rootfs', '--cache-dir', join(work, 'c'), '--json']);
    expect(res).toExitWith(8);
    expect(JSON.parse(res.stdout).error.code).toBe('OUTPUT_ERROR');
  });
});

describeWithTool('umoci', 'export matches umoci unpack', () => {
  test('same files, modes and links', async () => {
    const bundle = join(work, 'bundle');
    const r = spawnSync('umoci', ['unpack', '--rootless', '--image', `${join(work, 'layout')}:v1`, bundle], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const ours = join(work, 'rootfs-for-umoci');
    expect(await cli(['export', 'exp/app:v1', ours, '--cache-dir', join(work, 'c'), '-q'])).toExitWith(0);
    expect(snapshot(ours)).toEqual(snapshot(join(bundle, 'rootfs')));
  });
});
