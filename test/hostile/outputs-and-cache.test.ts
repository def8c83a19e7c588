/**
 * Issue 11: never touch what is not ours, never trust bytes we have not checked. Each case is the real CLI against
 * a real `ecrx serve`, in a sandbox of its own, and reads as one line of the promise:
 *
 * Outputs
 *   - refused (the table `refusals`): exit code and error code, a message naming the user's path (never a temporary
 *     name) with a hint, no stack trace, not one request to the registry, and not one byte of the sandbox changed;
 *   - accepted (the table `accepted`): only the target changes, nothing temporary is left, and replacing an earlier
 *     ecrx output says so;
 *   - a write that fails after the checks names the user's path.
 * Cache
 *   - a blob corrupted in place, or a link posing as one, is never copied into an output nor pushed: it is found on
 *     use, removed, downloaded again; an output never shares an inode with the cache;
 *   - junk where blobs live (directories, FIFOs, links, odd names, temp files of dead processes) breaks neither
 *     `cache ls` nor `prune` nor `verify`, and what is not ecrx's is left alone; looking never creates a cache.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  accessSync,
  constants,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ECRClient } from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../helpers/serve.js';
import { BIN, runCli, testEnv, type CliResult } from '../helpers/cli.js';
import { sdk, createRepo, pushBuilt } from '../helpers/ecr.js';
import { readTar, sha256File } from '../helpers/files.js';
import { tarDirectory } from '../helpers/images.js';
import { buildImage, type BuiltImage } from '../../src/oci/build.js';

let serve: Serve;
/** A second `ecrx serve` with the same image that only refused runs talk to: any request at all shows in its log. */
let watch: Serve;
let watchLog = '';
let ecr: ECRClient;
let work: string;
let image: BuiltImage;
const IMG = 'hostile/app:v1';
/** A pid no process has: what a killed ecrx leaves behind looks like this. */
const DEAD_PID = 3999999;

const env = () => testEnv(serve.endpoint);
const STACK = /\n\s+at .+[:(]\d+:\d+|^\s*at .+:\d+:\d+/m;
const downloads = () =>
  serve
    .log()
    .split('\n')
    .filter((l) => l.includes(' GetDownloadUrlForLayer ')).length;
const layer = () => image.layers[0];
const cacheBlob = (cache: string, digest: string) => join(cache, 'blobs-v1', 'sha256', digest.slice(7));
const outBlob = (out: string, digest: string) => join(out, 'blobs', 'sha256', digest.slice(7));
const allBlobs = () => [image.manifest, image.config, ...image.layers];

beforeAll(async () => {
  serve = await startServe();
  watch = await startServe();
  ecr = sdk(serve.endpoint);
  work = mkdtempSync(join(tmpdir(), 'ecrx-hostile-'));
  await createRepo(ecr, 'hostile/app');
  await createRepo(ecr, 'hostile/pushed');
  // Three layers under 512 KiB each and over 1 MiB together: a file-size limit can stop the archive, not the cache.
  image = await buildImage([0, 1, 2].map((i) => [{ path: `l${i}.bin`, content: randomBytes(400 * 1024) }]));
  await pushBuilt(ecr, 'hostile/app', image, 'v1');
  const w = sdk(watch.endpoint);
  await createRepo(w, 'hostile/app');
  await pushBuilt(w, 'hostile/app', image, 'v1');
  w.destroy();
  // Log lines arrive after the responses: wait for the last one before taking the baseline.
  for (let i = 0; i < 500 && !watch.log().includes(' PutImage '); i++) await new Promise((r) => setTimeout(r, 20));
  watchLog = watch.log();
  expect(watchLog).toContain(' PutImage ');
  expect(() => process.kill(DEAD_PID, 0)).toThrow();
});

afterAll(async () => {
  ecr?.destroy();
  await serve?.dispose();
  await watch?.dispose();
  if (work) {
    spawnSync('chattr', ['-R', '-i', work], { stdio: 'ignore' });
    rmSync(work, { recursive: true, force: true });
  }
});

/** Everything under `dir`, never following a link or opening a FIFO: kind, inode, size, content, link target. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    const path = rel ? join(dir, rel) : dir;
    const st = lstatSync(path);
    const kind = st.isFile()
      ? 'file'
      : st.isDirectory()
        ? 'dir'
        : st.isSymbolicLink()
          ? 'link'
          : st.isFIFO()
            ? 'fifo'
            : st.isSocket()
              ? 'socket'
              : 'other';
    let what = `${kind} ino=${st.ino} mode=${(st.mode & 0o7777).toString(8)}`;
    if (st.isFile()) what += ` ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
    if (st.isSymbolicLink()) what += ` -> ${readlinkSync(path)}`;
    out[rel || '.'] = what;
    if (st.isDirectory()) for (const name of readdirSync(path).sort()) walk(rel ? join(rel, name) : name);
  };
  walk('');
  return out;
}

const tempNames = (dir: string) =>
  Object.keys(snapshot(dir)).filter(
    (p) => p.includes('.ecrx-tmp') || p.includes('.ecrx-old') || p.includes('.ecrx-nocache'),
  );
const box = () => mkdtempSync(join(work, 'box-'));
const pull = (args: string[], o: { cwd?: string; timeoutMs?: number; endpoint?: string } = {}) =>
  runCli(['pull', IMG, ...args], {
    env: testEnv(o.endpoint ?? serve.endpoint),
    cwd: o.cwd,
    timeoutMs: o.timeoutMs ?? 60_000,
  });

function userFiles(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'thesis.tex'), 'three years of work\n');
  mkdirSync(join(dir, 'photos'));
  writeFileSync(join(dir, 'photos', 'cat.jpg'), randomBytes(2048));
  return dir;
}

/** Makes `dir` unwritable even for root (chattr +i), or fails loudly: this case must never silently not run. */
function unwritable(dir: string): void {
  chmodSync(dir, 0o555);
  const writable = () => {
    try {
      accessSync(dir, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (writable()) spawnSync('chattr', ['+i', dir], { stdio: 'ignore' });
  if (writable()) throw new Error(`cannot make ${dir} unwritable here (neither chmod nor chattr +i works)`);
}

async function earlierEcrxLayout(at: string, cache: string): Promise<void> {
  expect(await pull(['-o', at, '--cache-dir', cache, '-q'])).toExitWith(0);
}

function expectLayout(out: string) {
  expect(JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')).manifests[0].digest).toBe(image.manifest.digest);
  for (const b of allBlobs()) expect(sha256File(outBlob(out, b.digest))).toBe(b.digest);
}

async function expectArchive(file: string | Buffer) {
  const files = (await readTar(file)).filter((e) => e.type === 'file');
  for (const b of allBlobs())
    expect(files.find((e) => e.name === `blobs/sha256/${b.digest.slice(7)}`)?.sha256).toBe(b.digest);
}

function expectCleanFailure(res: CliResult, exit: number, code: string, path: string) {
  expect(res).toExitWith(exit);
  expect(res.stderr).not.toMatch(STACK);
  const err = JSON.parse(res.stdout).error;
  expect(err.code).toBe(code);
  expect(err.message).toContain(path);
  expect(err.hint).toEqual(expect.any(String));
  expect(JSON.stringify(err)).not.toMatch(/\.ecrx-(tmp|old)/);
  return err;
}

interface Refusal {
  name: string;
  /** Builds the situation in the sandbox; returns the pull arguments, the path the message must name, and more. */
  setup: (
    b: string,
  ) =>
    | Promise<{ args: string[]; names: string; cwd?: string; cleanup?: () => void }>
    | { args: string[]; names: string; cwd?: string; cleanup?: () => void };
  exit: number;
  code: string;
  message: RegExp;
}

const refusals: Refusal[] = [
  {
    name: "-o . in a directory of the user's files",
    setup: (b) => ({ args: ['-o', '.'], cwd: userFiles(join(b, 'home')), names: join(b, 'home') }),
    exit: 8,
    code: 'OUTPUT_ERROR',
    message: /already exists and is not an earlier ecrx output: it is a directory ecrx did not write/,
  },
  {
    name: "-o DIR, an existing directory of the user's files",
    setup: (b) => ({ args: ['-o', userFiles(join(b, 'docs'))], names: join(b, 'docs') }),
    exit: 8,
    code: 'OUTPUT_ERROR',
    message: /already exists and is not an earlier ecrx output/,
  },
  {
    name: '-o DIR, an OCI layout another tool wrote (no ecrx marker)',
    setup: (b) => {
      const dir = join(b, 'skopeo-layout');
      mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
      writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
      writeFileSync(join(dir, 'index.json'), '{"schemaVersion":2,"manifests":[]}');
      return { args: ['-o', dir], names: dir };
    },
    exit: 8,
    code: 'OUTPUT_ERROR',
    message: /has no \.ecrx-output marker/,
  },
  {
    name: '-o DIR, an earlier ecrx layout the user added a file to',
    setup: async (b) => {
      const dir = join(b, 'layout');
      await earlierEcrxLayout(dir, join(b, 'seed-cache'));
      writeFileSync(join(dir, 'NOTES.md'), 'my notes about this image\n');
      return { args: ['-o', dir], names: dir };
    },
    exit: 8,
    code: 'OUTPUT_ERROR',
    message: /holds NOTES\.md, which ecrx did not write/,
  },
  {
    name: '-o DIR, an earlier ecrx layout whose index.json another tool rewrote',
    setup: async (b) => {
      const dir = join(b, 'layout');
      await earlierEcrxLayout(dir, join(b, 'seed-cache'));
      const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
      index.manifests.push({ ...index.manifests[0], annotations: { 'org.opencontainers.image.ref.name': 'mine' } });
      writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
      return { args: ['-o', dir], names: dir };
    },
    exit: 8,
    code: 'OUTPUT_ERROR',
    message: /its index\.json was changed after ecrx wrote it/,
  },
  {
    name: '-o DIR, an earlier ecrx layout holding a symbolic link',
    setup: async (b) => {
      const dir = join(b, 'layout');
      await earlierEcrxLayout(dir, join(b, 'seed-cache'));
      symlinkSync(userFiles(join(b, 'outside')), join(dir, 'blobs', 'shortcut'));
      return { args: ['-o', dir], names: dir };
    },
    exit: 8,
    code: 'OUTPUT_ERROR',
    message: /holds blobs\/shortcut \(a symbolic link\)/,
  },
  {
    name: "--format oci-archive -o FILE, a file of the user's",
    setup: (b) => {
      writeFileSync(join(b, 'report.pdf'), randomBytes(4096));
      return { args: ['--format', 'oci-archive', '-o', join(b, 'report.pdf')], names: join(b, 'report.pdf') };
    },
    exit: 8,
    code: 'OUTPUT_ERROR',
    message: /is a file ecrx did not write/,
  },
  {
    name: '--format docker-archive -o FILE.tar, a tar another tool wrote',
    setup: async (b) => {
      await tarDirectory(userFiles(join(b, 'src')), join(b, 'backup.tar'));
      return { args: ['--format', 'docker-archive', '-o', join(b, 'backup.tar')], names: join(b, 'backup.tar') };
    },
    exit: 8,
    code: 'OUTPUT_ERROR',
    message: /is a file ecrx did not write/,
  },
  {
    name: '--format oci -o FILE, an existing regular file',
    setup: (b) => {
      writeFileSync(join(b, 'app'), 'a file, not a directory\n');
      return { args: ['-o', join(b, 'app')], names: join(b, 'app') };
    },
    exit: 8,
    code: 'OUTPUT_ERROR',
    message: /is a file, and --format oci writes an OCI layout/,
  },
  {
    name: '--format oci-archive -o DIR, an existing directory',
    setup: (b) => ({ args: ['--format', 'oci-archive', '-o', userFiles(join(b, 'dir'))], names: join(b, 'dir') }),
    exit: 8,
    code: 'OUTPUT_ERROR',
    message: /is a directory, and this format writes an archive/,
  },
  {
    name: '-o LINK, a symbolic link to a directory elsewhere',
    setup: (b) => {
      symlinkSync(userFiles(join(b, 'elsewhere')), join(b, 'link'));
      return { args: ['-o', join(b, 'link')], names: join(b, 'link') };
    },
    exit: 8,
    code: 'OUTPUT_ERROR',
    message: /is a symbolic link \(to .*elsewhere\); ecrx neither replaces a link nor writes through one/,
  },
  {
    name: '--format oci-archive -o LINK, a symbolic link to a file elsewhere',
    setup: (b) => {
      mkdirSync(join(b, 'elsewhere'));
      writeFileSync(join(b, 'elsewhere', 'precious.tar'), 'not yours\n');
      symlinkSync(join(b, 'elsewhere', 'precious.tar'), join(b, 'app.tar'));
      return { args: ['--format', 'oci-archive', '-o', join(b, 'app.tar')], names: join(b, 'app.tar') };
    },
    exit: 8,
    code: 'OUTPUT_ERROR',
    message: /is a symbolic link/,
  },
  {
    name: '-o LINK, a dangling symbolic link',
    setup: (b) => {
      symlinkSync(join(b, 'nowhere'), join(b, 'dangling'));
      return { args: ['-o', join(b, 'dangling')], names: join(b, 'dangling') };
    },
    exit: 8,
    code: 'OUTPUT_ERROR',
    message: /is a symbolic link/,
  },
  {
    name: '--format oci-archive -o FIFO (refused at once, never opened)',
    setup: (b) => {
      expect(spawnSync('mkfifo', [join(b, 'pipe')]).status).toBe(0);
      return { args: ['--format', 'oci-archive', '-o', join(b, 'pipe')], names: join(b, 'pipe') };
    },
    exit: 8,
    code: 'OUTPUT_ERROR',
    message: /is a FIFO, not a place for an archive/,
  },
  {
    name: '-o SOCKET, a Unix socket',
    setup: async (b) => {
      const server: Server = createServer();
      await new Promise<void>((r) => server.listen(join(b, 'sock'), r));
      return { args: ['-o', join(b, 'sock')], names: join(b, 'sock'), cleanup: () => void server.close() };
    },
    exit: 8,
    code: 'OUTPUT_ERROR',
    message: /is a socket/,
  },
  {
    name: '-o inside the blob cache',
    setup: (b) => {
      mkdirSync(join(b, 'cache'));
      return { args: ['-o', join(b, 'cache', 'out'), '--cache-dir', join(b, 'cache')], names: join(b, 'cache', 'out') };
    },
    exit: 8,
    code: 'OUTPUT_ERROR',
    message: /is inside the blob cache/,
  },
  {
    name: '-o a directory that would hold the blob cache',
    setup: (b) => ({ args: ['-o', join(b, 'out'), '--cache-dir', join(b, 'out', 'cache')], names: join(b, 'out') }),
    exit: 8,
    code: 'OUTPUT_ERROR',
    message: /holds the blob cache/,
  },
  {
    name: '-o inside the blob cache reached through a symbolic link',
    setup: (b) => {
      mkdirSync(join(b, 'cache'));
      symlinkSync(join(b, 'cache'), join(b, 'via'));
      return { args: ['-o', join(b, 'via', 'out'), '--cache-dir', join(b, 'cache')], names: join(b, 'via', 'out') };
    },
    exit: 8,
    code: 'OUTPUT_ERROR',
    message: /is inside the blob cache/,
  },
  {
    name: '-o in a directory that does not exist',
    setup: (b) => ({ args: ['-o', join(b, 'no', 'such', 'out')], names: join(b, 'no', 'such') }),
    exit: 8,
    code: 'OUTPUT_ERROR',
    message: /the directory .*no\/such does not exist/,
  },
  {
    name: '-o under a path whose parent is a file',
    setup: (b) => {
      writeFileSync(join(b, 'file.txt'), 'x');
      return { args: ['-o', join(b, 'file.txt', 'out')], names: join(b, 'file.txt') };
    },
    exit: 8,
    code: 'OUTPUT_ERROR',
    message: /is not a directory/,
  },
  {
    name: '-o in a directory ecrx may not write to',
    setup: (b) => {
      mkdirSync(join(b, 'locked'));
      unwritable(join(b, 'locked'));
      return {
        args: ['-o', join(b, 'locked', 'out')],
        names: join(b, 'locked', 'out'),
        cleanup: () => spawnSync('chattr', ['-i', join(b, 'locked')]),
      };
    },
    exit: 8,
    code: 'PERMISSION_DENIED',
    message: /no permission to create files in/,
  },
  {
    name: '-o an earlier ecrx layout that is the current directory',
    setup: async (b) => {
      const dir = join(b, 'layout');
      await earlierEcrxLayout(dir, join(b, 'seed-cache'));
      return { args: ['-o', '.'], cwd: dir, names: dir };
    },
    exit: 8,
    code: 'OUTPUT_ERROR',
    message: /is \(or holds\) the current directory/,
  },
];

describe('outputs: refused before any request, and not one byte of the sandbox changed', () => {
  afterAll(() => expect(watch.log()).toBe(watchLog)); // a late log line would still show here
  test.each(refusals.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const b = box();
    const { args, names, cwd, cleanup } = await c.setup(b);
    try {
      const withCache = args.includes('--cache-dir') ? args : [...args, '--cache-dir', join(b, 'cache')];
      const before = snapshot(b);
      const json = await pull([...withCache, '--json'], { cwd: cwd ?? b, timeoutMs: 20_000, endpoint: watch.endpoint });
      const err = expectCleanFailure(json, c.exit, c.code, names);
      expect(err.message).toMatch(c.message);
      expect(json.stderr).toBe('');
      const human = await pull(withCache, { cwd: cwd ?? b, timeoutMs: 20_000, endpoint: watch.endpoint });
      expect(human).toExitWith(c.exit);
      expect(human.stderr).toMatch(new RegExp(`^ecrx: error ${c.code}: .+\\n  hint: .+\\n$`));
      expect(human.stdout).toBe('');
      expect(watch.log()).toBe(watchLog);
      expect(snapshot(b)).toEqual(before);
    } finally {
      cleanup?.();
    }
  });
});

interface Accepted {
  name: string;
  /** Builds the situation; returns the arguments, the target, and the checks for afterwards. */
  setup: (b: string) => Promise<{
    args: string[];
    target: string;
    cwd?: string;
    check: (res: CliResult) => Promise<void> | void;
    gone?: string[];
    left?: string[];
  }>;
}

const accepted: Accepted[] = [
  {
    name: 'an earlier ecrx layout is replaced, and the user is told',
    setup: async (b) => {
      const out = join(b, 'app');
      await earlierEcrxLayout(out, join(b, 'seed-cache'));
      const ino = statSync(out).ino;
      return {
        args: ['-o', out],
        target: out,
        check: (res) => {
          expect(res.stderr).toContain(`replacing earlier ecrx output at ${out} (oci)`);
          expect(statSync(out).ino).not.toBe(ino);
          expectLayout(out);
        },
      };
    },
  },
  {
    name: 'an earlier ecrx oci-archive is replaced by a docker-archive, and the user is told',
    setup: async (b) => {
      const out = join(b, 'app.tar');
      expect(await pull(['--format', 'oci-archive', '-o', out, '--cache-dir', join(b, 'seed-cache'), '-q'])).toExitWith(
        0,
      );
      return {
        args: ['--format', 'docker-archive', '-o', out],
        target: out,
        check: async (res) => {
          expect(res.stderr).toContain(`replacing earlier ecrx output at ${out} (oci-archive)`);
          expect((await readTar(out)).map((e) => e.name)).toContain('manifest.json');
          await expectArchive(out);
        },
      };
    },
  },
  {
    name: 'an empty directory is filled in place (same inode: it may be a mount point)',
    setup: async (b) => {
      const out = join(b, 'empty');
      mkdirSync(out);
      const ino = statSync(out).ino;
      return {
        args: ['-o', out],
        target: out,
        check: (res) => {
          expect(res.stderr).not.toContain('replacing');
          expect(statSync(out).ino).toBe(ino);
          expectLayout(out);
        },
      };
    },
  },
  {
    name: '-o . in an empty directory fills it',
    setup: async (b) => {
      const out = join(b, 'here');
      mkdirSync(out);
      return { args: ['-o', '.'], target: out, cwd: out, check: () => expectLayout(out) };
    },
  },
  {
    name: 'an empty directory holding only what a killed ecrx left in it is filled',
    setup: async (b) => {
      const out = join(b, 'mnt');
      mkdirSync(join(out, `.ecrx-tmp-${DEAD_PID}-0123abcd`, 'blobs'), { recursive: true });
      return {
        args: ['-o', out],
        target: out,
        check: () => expect(readdirSync(out).sort()).toEqual(['.ecrx-output', 'blobs', 'index.json', 'oci-layout']),
      };
    },
  },
  {
    name: 'into a directory reached through a symbolic link: written there, the link stays a link',
    setup: async (b) => {
      mkdirSync(join(b, 'real'));
      symlinkSync(join(b, 'real'), join(b, 'via'));
      return {
        args: ['-o', join(b, 'via', 'app')],
        target: join(b, 'real', 'app'),
        check: () => {
          expect(lstatSync(join(b, 'via')).isSymbolicLink()).toBe(true);
          expectLayout(join(b, 'real', 'app'));
        },
      };
    },
  },
  {
    name: "what a killed ecrx left beside the output is swept; a live run's and other names are not",
    setup: async (b) => {
      const out = join(b, 'app');
      mkdirSync(join(b, `.app.ecrx-tmp-${DEAD_PID}-0123abcd`, 'blobs'), { recursive: true });
      writeFileSync(join(b, `.app.ecrx-old-${DEAD_PID}-89abcdef`), 'x');
      const keep = [
        `.app.ecrx-tmp-${process.pid}-0123abcd`,
        `.other.ecrx-tmp-${DEAD_PID}-0123abcd`,
        `.app.ecrx-tmp-${DEAD_PID}-not-ours`,
      ];
      for (const k of keep) writeFileSync(join(b, k), 'keep');
      return {
        args: ['-o', out],
        target: out,
        check: () => expectLayout(out),
        gone: [`.app.ecrx-tmp-${DEAD_PID}-0123abcd`, `.app.ecrx-old-${DEAD_PID}-89abcdef`],
        left: keep,
      };
    },
  },
  {
    name: '--no-cache beside an existing file: scratch removed, the file untouched',
    setup: async (b) => {
      writeFileSync(join(b, 'keep.txt'), 'keep');
      const out = join(b, 'nc');
      return { args: ['-o', out, '--no-cache'], target: out, check: () => expectLayout(out) };
    },
  },
];

describe('outputs: accepted, and only the target changes', () => {
  test.each(accepted.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const b = box();
    const { args, target, cwd, check, gone = [], left = [] } = await c.setup(b);
    const cache = join(b, 'cache');
    const before = snapshot(b);
    const res = await pull([...args, '--cache-dir', cache], { cwd: cwd ?? b });
    expect(res).toExitWith(0);
    expect(res.stderr).not.toMatch(STACK);
    await check(res);
    const after = snapshot(b);
    const rel = (p: string) => p.slice(b.length + 1);
    const under = (p: string, dir: string) => p === dir || p.startsWith(`${dir}/`);
    const untouched = (snap: Record<string, string>) =>
      Object.fromEntries(
        Object.entries(snap).filter(([p]) => p !== '.' && ![rel(target), 'cache', ...gone].some((d) => under(p, d))),
      );
    expect(untouched(after)).toEqual(untouched(before));
    expect(after['.']).toBe(before['.']); // the sandbox itself is the same directory
    for (const g of gone) expect(existsSync(join(b, g))).toBe(false);
    expect(tempNames(b).sort()).toEqual([...left].sort());
  });
});

describe('outputs: a write that fails after the checks', () => {
  test("names the user's path, not the temporary file, and leaves nothing (file-size limit while writing the archive)", async () => {
    const b = box();
    const out = join(b, 'big.tar');
    const cache = join(b, 'cache');
    // 1024 blocks is 512 KiB in dash and 1 MiB in bash: each blob fits, the archive does not.
    const r = spawnSync(
      'sh',
      [
        '-c',
        `ulimit -f 1024 && exec "${process.execPath}" "${BIN}" pull ${IMG} --format oci-archive -o "${out}" --cache-dir "${cache}" --json`,
      ],
      { env: env(), encoding: 'utf8', timeout: 60_000 },
    );
    const err = expectCleanFailure(
      { code: r.status, signal: null, stdout: r.stdout, stderr: r.stderr, stdoutBytes: Buffer.from(r.stdout) },
      8,
      'OUTPUT_ERROR',
      out,
    );
    expect(err.message).toMatch(/File too large/);
    expect(existsSync(out)).toBe(false);
    expect(tempNames(b)).toEqual([]);
  });
});

describe('cache: a bad blob is found on use, removed and downloaded again, never spread', () => {
  test.each([
    ['an OCI layout', ['--format', 'oci'], (out: string) => expectLayout(out)],
    ['an OCI archive', ['--format', 'oci-archive'], (out: string) => expectArchive(out)],
    ['a docker-archive', ['--format', 'docker-archive'], (out: string) => expectArchive(out)],
  ] as const)('a layer corrupted in place (same size) is not copied into %s', async (_what, format, check) => {
    const b = box();
    const cache = join(b, 'cache');
    await earlierEcrxLayout(join(b, 'first'), cache);
    const victim = cacheBlob(cache, layer().digest);
    const bytes = readFileSync(victim);
    bytes[100] ^= 0xff;
    writeFileSync(victim, bytes);
    const before = downloads();
    const second = await pull([...format, '-o', join(b, 'second'), '--cache-dir', cache], { cwd: b });
    expect(second).toExitWith(0);
    await check(join(b, 'second'));
    expect(sha256File(victim)).toBe(layer().digest);
    expect(second.stderr).toMatch(
      new RegExp(
        `cache: ${layer().digest} was corrupt \\(its content hashes to sha256:[0-9a-f]{64}\\): removed it, downloading it again`,
      ),
    );
    expect(second.stderr).not.toMatch(STACK);
    expect(downloads() - before).toBe(1); // only the bad layer
    expect(tempNames(b)).toEqual([]);
  });

  test('to stdout (-o -), cached blobs are checked before the first byte leaves', async () => {
    const b = box();
    const cache = join(b, 'cache');
    await earlierEcrxLayout(join(b, 'first'), cache);
    const victim = cacheBlob(cache, layer().digest);
    const bytes = readFileSync(victim);
    bytes[7] ^= 0x01;
    writeFileSync(victim, bytes);
    const res = await pull(['--format', 'oci-archive', '-o', '-', '--cache-dir', cache]);
    expect(res).toExitWith(0);
    await expectArchive(res.stdoutBytes);
    expect(sha256File(victim)).toBe(layer().digest);
    expect(res.stderr).toContain(`cache: ${layer().digest} was corrupt`);
  });

  test('a corrupt config is not read for the platform: fetched again, and the platform is right', async () => {
    const b = box();
    const cache = join(b, 'cache');
    await earlierEcrxLayout(join(b, 'first'), cache);
    const victim = cacheBlob(cache, image.config.digest);
    writeFileSync(victim, readFileSync(victim).toString('latin1').replace('amd64', 'arm64'));
    const res = await pull(['-o', join(b, 'second'), '--cache-dir', cache, '--json']);
    expect(res).toExitWith(0);
    const data = JSON.parse(res.stdout).data;
    expect(data.platform).toBe('linux/amd64');
    expect(data.layers.find((l: { digest: string }) => l.digest === image.config.digest).cached).toBe(false);
    expectLayout(join(b, 'second'));
    expect(sha256File(victim)).toBe(image.config.digest);
  });

  test('a symbolic link posing as a cached blob is neither followed nor copied; its target is untouched', async () => {
    const b = box();
    const cache = join(b, 'cache');
    await earlierEcrxLayout(join(b, 'first'), cache);
    mkdirSync(join(b, 'outside'));
    const secret = join(b, 'outside', 'secret');
    writeFileSync(secret, randomBytes(layer().size));
    const secretHash = sha256File(secret);
    rmSync(cacheBlob(cache, layer().digest));
    symlinkSync(secret, cacheBlob(cache, layer().digest));
    const res = await pull(['-o', join(b, 'second'), '--cache-dir', cache, '--json']);
    expect(res).toExitWith(0);
    expectLayout(join(b, 'second'));
    expect(lstatSync(outBlob(join(b, 'second'), layer().digest)).isFile()).toBe(true);
    expect(lstatSync(cacheBlob(cache, layer().digest)).isFile()).toBe(true);
    expect(sha256File(secret)).toBe(secretHash);
  });

  test('an output never shares an inode with the cache: editing a pulled file cannot reach the cache', async () => {
    const b = box();
    const cache = join(b, 'cache');
    const out = join(b, 'first');
    await earlierEcrxLayout(out, cache);
    for (const d of [image.config, ...image.layers]) {
      const o = statSync(outBlob(out, d.digest));
      expect(o.nlink).toBe(1);
      expect(o.ino).not.toBe(statSync(cacheBlob(cache, d.digest)).ino);
    }
    const edited = readFileSync(outBlob(out, layer().digest));
    edited[0] ^= 0xff;
    writeFileSync(outBlob(out, layer().digest), edited);
    expect(sha256File(cacheBlob(cache, layer().digest))).toBe(layer().digest);
    const verify = await runCli(['cache', 'verify', '--cache-dir', cache, '--json']);
    expect(JSON.parse(verify.stdout).data.removed).toEqual([]);
  });

  test('a corrupt cached blob does not block a later push: it is taken again from the archive', async () => {
    const b = box();
    const cache = join(b, 'cache');
    const archive = join(b, 'app.tar');
    expect(await pull(['--format', 'oci-archive', '-o', archive, '--cache-dir', cache, '-q'])).toExitWith(0);
    const victim = cacheBlob(cache, layer().digest);
    const bytes = readFileSync(victim);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(victim, bytes);
    const push = await runCli(['push', archive, 'hostile/pushed:v1', '--cache-dir', cache, '--json'], { env: env() });
    expect(push).toExitWith(0);
    expect(JSON.parse(push.stdout).data.digest).toBe(image.manifest.digest);
    expect(sha256File(victim)).toBe(layer().digest);
    const back = await runCli(
      ['pull', 'hostile/pushed:v1', '-o', join(b, 'back'), '--cache-dir', join(b, 'fresh-cache'), '-q'],
      { env: env() },
    );
    expect(back).toExitWith(0);
    expectLayout(join(b, 'back'));
  });
});

describe("cache: junk where blobs live breaks nothing, and what is not ecrx's is left alone", () => {
  /** A real cache with every kind of junk beside its blobs; returns what must survive. */
  async function junkyCache(b: string) {
    const cache = join(b, 'cache');
    await earlierEcrxLayout(join(b, 'first'), cache);
    const blobs = join(cache, 'blobs-v1', 'sha256');
    const hex = (c: string) => c.repeat(64);
    mkdirSync(join(blobs, hex('a')));
    writeFileSync(join(blobs, hex('a'), 'inside'), 'x');
    expect(spawnSync('mkfifo', [join(blobs, hex('b'))]).status).toBe(0);
    mkdirSync(join(b, 'outside'));
    writeFileSync(join(b, 'outside', 'keep.txt'), 'keep me');
    symlinkSync(join(b, 'outside', 'keep.txt'), join(blobs, hex('c')));
    writeFileSync(join(blobs, 'notes.txt'), 'odd name');
    writeFileSync(join(blobs, `${hex('d')}.partial`), 'odd name');
    const tmp = join(cache, 'tmp');
    const dead = `0123456789ab.${DEAD_PID}.0123456789ab.tmp`;
    const live = `0123456789ab.${process.pid}.0123456789ab.tmp`;
    writeFileSync(join(tmp, dead), 'left by a killed pull');
    writeFileSync(join(tmp, live), 'a pull still going');
    writeFileSync(join(tmp, 'README'), 'not a name ecrx makes');
    return {
      cache,
      blobs,
      tmp,
      dead,
      live,
      junk: [hex('a'), hex('b'), hex('c'), 'notes.txt', `${hex('d')}.partial`].sort(),
    };
  }

  test('cache ls lists the blobs and names the junk (a FIFO is never opened)', async () => {
    const b = box();
    const j = await junkyCache(b);
    const ls = await runCli(['cache', 'ls', '--cache-dir', j.cache, '--json'], { timeoutMs: 20_000 });
    expect(ls).toExitWith(0);
    const data = JSON.parse(ls.stdout).data;
    expect(data.count).toBe(1 + image.layers.length);
    expect(data.exists).toBe(true);
    expect(data.junk.map((x: { name: string }) => x.name).sort()).toEqual(j.junk);
    expect(data.junk.find((x: { name: string }) => x.name === 'b'.repeat(64)).kind).toBe('FIFO');
    expect(existsSync(join(j.tmp, j.dead))).toBe(false);
    expect(existsSync(join(j.tmp, j.live))).toBe(true);
    expect(existsSync(join(j.tmp, 'README'))).toBe(true);
  });

  test('cache verify checks the blobs, removes the junk (a link, not its target), and keeps what is not its own', async () => {
    const b = box();
    const j = await junkyCache(b);
    const verify = await runCli(['cache', 'verify', '--cache-dir', j.cache, '--json'], { timeoutMs: 20_000 });
    expect(verify).toExitWith(0);
    const data = JSON.parse(verify.stdout).data;
    expect(data).toMatchObject({ checked: 1 + image.layers.length, removed: [] });
    expect(data.junkRemoved.map((x: { name: string }) => x.name).sort()).toEqual(j.junk);
    expect(readdirSync(j.blobs).sort()).toEqual([image.config, ...image.layers].map((d) => d.digest.slice(7)).sort());
    expect(readFileSync(join(b, 'outside', 'keep.txt'), 'utf8')).toBe('keep me');
    expect(readdirSync(j.tmp).sort()).toEqual([j.live, 'README'].sort());
    const human = await runCli(['cache', 'verify', '--cache-dir', j.cache], { timeoutMs: 20_000 });
    expect(human).toExitWith(0);
    expect(human.stderr).not.toMatch(STACK);
  });

  test('cache prune with a limit and without one works around the junk', async () => {
    const b = box();
    const j = await junkyCache(b);
    const some = await runCli(['cache', 'prune', '--max-size', '1', '--cache-dir', j.cache, '--json'], {
      timeoutMs: 20_000,
    });
    expect(some).toExitWith(0);
    expect(JSON.parse(some.stdout).data.removed).toHaveLength(1 + image.layers.length);
    const all = await runCli(['cache', 'prune', '--cache-dir', j.cache, '--json'], { timeoutMs: 20_000 });
    expect(all).toExitWith(0);
    expect(readdirSync(j.blobs)).toEqual([]);
    expect(readFileSync(join(b, 'outside', 'keep.txt'), 'utf8')).toBe('keep me');
  });

  test('cache ls on a mistyped --cache-dir does not create it', async () => {
    const b = box();
    const typo = join(b, 'cahce');
    const ls = await runCli(['cache', 'ls', '--cache-dir', typo, '--json']);
    expect(ls).toExitWith(0);
    expect(existsSync(typo)).toBe(false);
    expect(JSON.parse(ls.stdout).data).toMatchObject({ cacheDir: typo, exists: false, count: 0 });
    const human = await runCli(['cache', 'verify', '--cache-dir', typo]);
    expect(human).toExitWith(0);
    expect(human.stdout).toContain(`No blob cache at ${typo}`);
    expect(existsSync(typo)).toBe(false);
  });

  test("cache prune pointed at a directory of the user's creates nothing and removes nothing there", async () => {
    const b = box();
    const home = userFiles(join(b, 'home'));
    mkdirSync(join(home, 'tmp'));
    writeFileSync(join(home, 'tmp', 'draft.txt'), 'unsaved work');
    writeFileSync(join(home, 'tmp', 'x.1.y'), 'a name with a dead-looking pid');
    const before = snapshot(home);
    for (const cmd of ['ls', 'prune', 'verify']) {
      const r = await runCli(['cache', cmd, '--cache-dir', home, '--json']);
      expect(r).toExitWith(0);
      expect(JSON.parse(r.stdout).data.cacheDir).toBe(home);
    }
    expect(snapshot(home)).toEqual(before);
  });

  test('a --cache-dir that is a file is refused with OUTPUT_ERROR, exit 8', async () => {
    const b = box();
    writeFileSync(join(b, 'cachefile'), 'x');
    const r = await runCli(['cache', 'ls', '--cache-dir', join(b, 'cachefile'), '--json']);
    expectCleanFailure(r, 8, 'OUTPUT_ERROR', join(b, 'cachefile'));
  });
});
