/**
 * `ecrx export` against `umoci unpack` of the same image (files, modes, times, links), what may already be at the
 * target, and a reader that closes the pipe. Hostile layers are in test/hostile/export.test.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe, type Serve } from '../../helpers/serve.js';
import { BIN, runCli, testEnv } from '../../helpers/cli.js';
import { describeWithTool } from '../../helpers/tools.js';
import { sdk, createRepo, pushBuilt } from '../../helpers/ecr.js';
import { readTar } from '../../helpers/files.js';
import { buildImage, writeLayout, type BuiltImage, type FileSpec } from '../../../src/oci/build.js';

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
    } else
      out[r] = {
        type: 'file',
        mode: st.mode & 0o777,
        mtime,
        sha: createHash('sha256')
          .update(readFileSync(join(root, r)))
          .digest('hex'),
      };
  }
  return out;
}

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runCli(args, { env: testEnv(serve.endpoint, env), cwd: work });
const tempsIn = (dir: string) => readdirSync(dir).filter((n) => n.includes('ecrx-tmp'));

/**
 * A forward proxy that holds every blob download until released: the test acts at a known moment of an export
 * (after its checks, before it writes anything) without timing anything.
 */
async function startGate(): Promise<{
  url: string;
  held: Promise<void>;
  release: () => void;
  close: () => Promise<void>;
}> {
  let release!: () => void;
  let onHeld!: () => void;
  const open = new Promise<void>((r) => (release = r));
  const held = new Promise<void>((r) => (onHeld = r));
  const server = http.createServer((req, res) => {
    const target = new URL(req.url ?? '');
    const forward = () => {
      const up = http.request(target, { method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    if (!target.pathname.includes('/starport-layer-bucket/')) return forward();
    onHeld();
    void open.then(forward);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    release,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** Runs `ecrx ARGS | head -c BYTES` in bash and returns ecrx's own exit status (PIPESTATUS) and its stderr. */
function pipeToHead(
  args: string[],
  bytes: number,
  env: NodeJS.ProcessEnv,
): Promise<{ status: number; stderr: string }> {
  const script = `"$@" 2>ecrx.stderr | head -c ${bytes} >/dev/null; echo "\${PIPESTATUS[0]}"`;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script, 'bash', process.execPath, BIN, ...args], {
      env,
      cwd: work,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', () =>
      resolve({ status: Number(out.trim()), stderr: readFileSync(join(work, 'ecrx.stderr'), 'utf8') }),
    );
  });
}

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
  const viaLink = await buildImage([
    [{ path: 'evil', type: 'symlink', linkname: outside }],
    [
      { path: 'evil/pwned', content: 'x' },
      { path: '/abs', content: 'abs' },
    ],
  ]);
  await pushBuilt(ecr, 'exp/app', viaLink, 'symlink');
  // A tar larger than any pipe buffer, so a reader that stops early closes the pipe under the writer.
  const big = await buildImage([
    [
      { path: 'zeros.bin', content: Buffer.alloc(4 * 1024 * 1024) },
      { path: 'small', content: 's' },
    ],
  ]);
  await pushBuilt(ecr, 'exp/app', big, 'big');
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
    expect(JSON.parse(res.stdout).data).toMatchObject({
      digest: image.manifest.digest,
      format: 'directory',
      layers: 2,
      output: join(work, 'rootfs'),
    });
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
    const before = snapshot(join(work, 'rootfs'));
    const res = await cli(['export', 'exp/app:v1', 'rootfs', '--cache-dir', join(work, 'c'), '--json']);
    expect(res).toExitWith(8);
    expect(JSON.parse(res.stdout).error.code).toBe('OUTPUT_ERROR');
    expect(JSON.parse(res.stdout).error.hint).toContain('never deletes');
    expect(snapshot(join(work, 'rootfs'))).toEqual(before);
  });

  test('an empty directory is filled; a symlink as the target is refused and what it points to is untouched', async () => {
    mkdirSync(join(work, 'empty-dir'));
    expect(await cli(['export', 'exp/app:v1', 'empty-dir', '--cache-dir', join(work, 'c'), '-q'])).toExitWith(0);
    expect(readFileSync(join(work, 'empty-dir/etc/b'), 'utf8')).toBe('b2');
    mkdirSync(join(work, 'linked-empty'));
    symlinkSync(join(work, 'linked-empty'), join(work, 'via-link'));
    const res = await cli(['export', 'exp/app:v1', 'via-link', '--cache-dir', join(work, 'c'), '--json']);
    expect(res).toExitWith(8);
    expect(JSON.parse(res.stdout).error.code).toBe('OUTPUT_ERROR');
    expect(readlinkSync(join(work, 'via-link'))).toBe(join(work, 'linked-empty'));
    expect(readdirSync(join(work, 'linked-empty'))).toEqual([]);
  });

  test('a directory that gains files while the export runs keeps them, and the export fails cleanly', async () => {
    const dir = join(work, 'filled-meanwhile');
    mkdirSync(dir);
    const gate = await startGate();
    try {
      const running = cli(['export', 'exp/app:v1', dir, '--cache-dir', join(work, 'gate-cache'), '--json'], {
        HTTP_PROXY: gate.url,
        NO_PROXY: '',
      });
      await gate.held; // the export has checked the target and is downloading
      writeFileSync(join(dir, 'mine.txt'), 'mine');
      gate.release();
      const res = await running;
      expect(res).toExitWith(8);
      expect(JSON.parse(res.stdout).error).toMatchObject({
        code: 'OUTPUT_ERROR',
        message: expect.stringContaining(dir),
      });
      expect(readdirSync(dir)).toEqual(['mine.txt']);
      expect(readFileSync(join(dir, 'mine.txt'), 'utf8')).toBe('mine');
      expect(tempsIn(work)).toEqual([]);
    } finally {
      gate.release();
      await gate.close();
    }
  });

  test('FILE.tar: an earlier tar is replaced, any other existing file is not', async () => {
    expect(await cli(['export', 'exp/app:v1', 'again.tar', '--cache-dir', join(work, 'c'), '-q'])).toExitWith(0);
    const res = await cli(['export', 'exp/app:v1', 'again.tar', '--cache-dir', join(work, 'c'), '--json']);
    expect(res).toExitWith(0);
    expect(JSON.parse(res.stdout).data).toMatchObject({ format: 'tar', output: join(work, 'again.tar') });
    expect((await readTar(join(work, 'again.tar'))).map((e) => e.name)).toContain('etc/b');
    writeFileSync(join(work, 'notes.tar'), 'my notes, not a tar');
    const refused = await cli(['export', 'exp/app:v1', 'notes.tar', '--cache-dir', join(work, 'c'), '--json']);
    expect(refused).toExitWith(8);
    expect(JSON.parse(refused.stdout).error.code).toBe('OUTPUT_ERROR');
    expect(readFileSync(join(work, 'notes.tar'), 'utf8')).toBe('my notes, not a tar');
    expect(tempsIn(work)).toEqual([]);
  });

  test('a write that fails (file-size limit) is OUTPUT_ERROR naming the target, with nothing left behind', async () => {
    expect(await cli(['export', 'exp/app:big', 'big-first', '--cache-dir', join(work, 'c'), '-q'])).toExitWith(0); // fills the cache
    const out = join(work, 'too-big');
    // 1024 blocks is 512 KiB in dash and 1 MiB in bash: either way below the 4 MiB file.
    const r = spawnSync(
      'sh',
      [
        '-c',
        `ulimit -f 1024 && exec "${process.execPath}" "${BIN}" export exp/app:big "${out}" --cache-dir "${join(work, 'c')}" --json`,
      ],
      { env: testEnv(serve.endpoint), encoding: 'utf8', timeout: 60_000 },
    );
    expect({ code: r.status, stdout: r.stdout, stderr: r.stderr }).toExitWith(8);
    const err = JSON.parse(r.stdout).error;
    expect(err.code).toBe('OUTPUT_ERROR');
    expect(err.message).toContain(`${out}/zeros.bin`);
    expect(err.message).not.toContain('ecrx-tmp');
    expect(existsSync(out)).toBe(false);
    expect(tempsIn(work)).toEqual([]);
  });

  test('export - | head: the closed pipe ends the export quietly with 141, and its temporary rootfs is removed', async () => {
    const tmp = join(work, 'pipe-tmp');
    mkdirSync(tmp);
    const res = await pipeToHead(
      ['export', 'exp/app:big', '-', '--cache-dir', join(work, 'c')],
      1000,
      testEnv(serve.endpoint, { TMPDIR: tmp }),
    );
    expect(res.stderr).not.toMatch(/EPIPE|Error|^\s+at /m);
    expect(res.status).toBe(141);
    expect(readdirSync(tmp)).toEqual([]);
    const whole = await cli(['export', 'exp/app:big', '-', '--cache-dir', join(work, 'c'), '-q'], { TMPDIR: tmp });
    expect(whole).toExitWith(0);
    expect((await readTar(whole.stdoutBytes)).map((e) => [e.name, e.size])).toEqual([
      ['small', 1],
      ['zeros.bin', 4 * 1024 * 1024],
    ]);
    expect(readdirSync(tmp)).toEqual([]);
  });
});

describeWithTool('umoci', 'export matches umoci unpack', () => {
  test('same files, modes and links', async () => {
    const bundle = join(work, 'bundle');
    const r = spawnSync('umoci', ['unpack', '--rootless', '--image', `${join(work, 'layout')}:v1`, bundle], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const ours = join(work, 'rootfs-for-umoci');
    expect(await cli(['export', 'exp/app:v1', ours, '--cache-dir', join(work, 'c'), '-q'])).toExitWith(0);
    expect(snapshot(ours)).toEqual(snapshot(join(bundle, 'rootfs')));
  });
});
