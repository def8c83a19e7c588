/**
 * Issue 11: never touch what is not ours, never trust bytes we have not checked. Each case below is the real CLI
 * against a real `ecrx serve` or a tiny hostile loopback server, with the exit code and error code it must give.
 * A refused push must be refused before its first InitiateLayerUpload; a refused pull leaves nothing in the cache
 * or the output; no run prints a stack trace.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ListImagesCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../helpers/serve.js';
import { BIN, runCli, testEnv, type CliResult } from '../helpers/cli.js';
import { sdk, createRepo } from '../helpers/ecr.js';
import { listFiles } from '../helpers/files.js';
import { hostileImage, startHostileEcr, type HostileEcr, type HostileImage } from '../helpers/hostile-ecr.js';
import { tarOf } from '../../src/oci/build.js';
import { unreachable } from '../../src/ecr/errors.js';

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const MiB = 1024 * 1024;
const STACK = /^\s+at .+:\d+:\d+\)?$/m;

let work: string;
let serve: Serve;
let ecr: ECRClient;
let hostile: HostileEcr;
let pulled: HostileImage;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ecrx-hostile-'));
  serve = await startServe();
  ecr = sdk(serve.endpoint);
  pulled = hostileImage(randomBytes(64 * 1024));
  hostile = await startHostileEcr(pulled);
});
afterAll(async () => {
  ecr?.destroy();
  await serve?.dispose();
  await hostile?.close();
  for (const s of sockets) await new Promise((r) => s.close(r));
  if (work) rmSync(work, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------------------
// Crafted sources
// ---------------------------------------------------------------------------------------------------------------

interface Layout {
  dir: string;
  manifest: Buffer;
  blob: (digest: string) => string;
  config: Buffer;
  layer: Buffer;
}

/** An OCI layout with one small layer; `tweak` may change the manifest document before it is written. */
function layout(name: string, opts: { layer?: Buffer; manifestBytes?: (doc: object) => Buffer } = {}): Layout {
  const dir = join(work, name);
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const layer = opts.layer ?? randomBytes(4096);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [sha256(layer)] },
      config: {},
    }),
  );
  const doc = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
  };
  const manifest = opts.manifestBytes ? opts.manifestBytes(doc) : Buffer.from(JSON.stringify(doc));
  const blob = (d: string) => join(blobs, d.slice(7));
  for (const b of [config, layer, manifest]) writeFileSync(blob(sha256(b)), b);
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: doc.mediaType, digest: sha256(manifest), size: manifest.length }],
    }),
  );
  return { dir, manifest, blob, config, layer };
}

/** Replaces a layout file by a FIFO (opening it for reading would block until a writer comes). */
function fifoAt(path: string): void {
  rmSync(path, { force: true });
  execFileSync('mkfifo', [path]);
}

const sockets: net.Server[] = [];

/** Replaces a layout file by a unix socket's file: bound at a short path (sun_path is 108 bytes), then moved. */
async function socketAt(path: string): Promise<void> {
  rmSync(path, { force: true });
  const short = join(tmpdir(), `ecrx-s-${randomBytes(4).toString('hex')}`);
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(short, r));
  sockets.push(server);
  renameSync(short, path);
}

interface TarItem {
  name: string;
  body?: Buffer;
  /** For many identical entries: this many zero bytes, from one shared buffer. */
  zeros?: number;
}

/** Streams a tar of `items` into `sink` (a file or a child's stdin), never holding the whole archive. */
async function writeTar(items: Iterable<TarItem>, sink: NodeJS.WritableStream): Promise<void> {
  const tar = await import('tar-stream');
  const pack = tar.pack();
  const done = pipeline(pack, sink);
  const shared = new Map<number, Buffer>();
  for (const item of items) {
    const body =
      item.body ?? shared.get(item.zeros!) ?? shared.set(item.zeros!, Buffer.alloc(item.zeros!)).get(item.zeros!)!;
    await new Promise<void>((res, rej) =>
      pack.entry({ name: item.name, size: body.length }, body, (e) => (e ? rej(e) : res())),
    );
  }
  pack.finalize();
  await done;
}

/** A classic `docker save` archive's entries: one real layer, a config (optionally padded), manifest.json. */
async function classicEntries(opts: { configPadding?: number } = {}): Promise<{ first: TarItem[]; manifest: TarItem }> {
  const layerTar = await tarOf([{ path: 'hello.txt', content: 'hostile neighbours\n' }]);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [sha256(layerTar)] },
      config: {},
      ...(opts.configPadding ? { padding: 'x'.repeat(opts.configPadding) } : {}),
    }),
  );
  const configName = `${sha256(config).slice(7)}.json`;
  const id = 'a'.repeat(64);
  return {
    first: [
      { name: `${id}/layer.tar`, body: layerTar },
      { name: `${id}/VERSION`, body: Buffer.from('1.0') },
      { name: configName, body: config },
    ],
    manifest: {
      name: 'manifest.json',
      body: Buffer.from(
        JSON.stringify([{ Config: configName, RepoTags: ['hostile:v1'], Layers: [`${id}/layer.tar`] }]),
      ),
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Running the CLI
// ---------------------------------------------------------------------------------------------------------------

const initiated = () =>
  serve
    .log()
    .split('\n')
    .filter((l) => l.includes(' InitiateLayerUpload ')).length;

/** Waits until `ecrx serve` has logged every request made so far (its log is written after each answer). */
async function logSettled(repositoryName: string): Promise<void> {
  const lists = () =>
    serve
      .log()
      .split('\n')
      .filter((l) => l.includes(' ListImages ')).length;
  const before = lists();
  await ecr.send(new ListImagesCommand({ repositoryName }));
  for (let i = 0; i < 100 && lists() === before; i++) await new Promise((r) => setTimeout(r, 20));
}

function expectCleanFailure(r: CliResult, exit: number, code: string, message: RegExp): void {
  expect(r).toExitWith(exit);
  const doc = JSON.parse(r.stdout);
  expect(doc.success).toBe(false);
  expect(doc.error.code).toBe(code);
  expect(doc.error.message).toMatch(message);
  expect(r.stdout.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(STACK);
}

const cacheLeftovers = (cache: string) =>
  existsSync(cache) ? listFiles(cache).filter((f) => !f.startsWith('index-v1/')) : [];

// ---------------------------------------------------------------------------------------------------------------
// Push: what a source may hold, and what is refused before anything is uploaded
// ---------------------------------------------------------------------------------------------------------------

interface PushCase {
  name: string;
  /** Builds the source; returns the argument for `ecrx push` and, for a refusal, the path the message must name. */
  source: () => Promise<{ arg: string; names?: string }>;
  exit: number;
  code: string;
  message: RegExp;
}

let n = 0;
const fresh = () => `case-${++n}`;

const pushCases: PushCase[] = [
  {
    name: 'a blob that is a FIFO, the manifest claiming 0 bytes for it',
    source: async () => {
      const l = layout(fresh(), { layer: Buffer.alloc(0) });
      fifoAt(l.blob(sha256(l.layer)));
      return { arg: l.dir, names: l.blob(sha256(l.layer)) };
    },
    exit: 5,
    code: 'INVALID_IMAGE',
    message: /is a FIFO.*not a regular file/,
  },
  {
    name: 'a blob that is a FIFO, the manifest claiming a real size',
    source: async () => {
      const l = layout(fresh());
      fifoAt(l.blob(sha256(l.layer)));
      return { arg: l.dir, names: l.blob(sha256(l.layer)) };
    },
    exit: 5,
    code: 'INVALID_IMAGE',
    message: /is a FIFO/,
  },
  {
    name: 'the manifest blob is a FIFO',
    source: async () => {
      const l = layout(fresh());
      fifoAt(l.blob(sha256(l.manifest)));
      return { arg: l.dir, names: l.blob(sha256(l.manifest)) };
    },
    exit: 5,
    code: 'INVALID_IMAGE',
    message: /is a FIFO/,
  },
  {
    name: 'index.json is a FIFO',
    source: async () => {
      const l = layout(fresh());
      fifoAt(join(l.dir, 'index.json'));
      return { arg: l.dir, names: join(l.dir, 'index.json') };
    },
    exit: 5,
    code: 'INVALID_IMAGE',
    message: /index\.json is a FIFO/,
  },
  {
    name: 'a blob that is a unix socket',
    source: async () => {
      const l = layout(fresh());
      await socketAt(l.blob(sha256(l.config)));
      expect(lstatSync(l.blob(sha256(l.config))).isSocket()).toBe(true);
      return { arg: l.dir, names: l.blob(sha256(l.config)) };
    },
    exit: 5,
    code: 'INVALID_IMAGE',
    message: /is a socket/,
  },
  {
    name: 'a blob that is a directory',
    source: async () => {
      const l = layout(fresh());
      rmSync(l.blob(sha256(l.layer)));
      mkdirSync(l.blob(sha256(l.layer)));
      return { arg: l.dir, names: l.blob(sha256(l.layer)) };
    },
    exit: 5,
    code: 'INVALID_IMAGE',
    message: /is a directory/,
  },
  {
    name: 'a blob that is a symlink to a device outside the layout (/dev/zero)',
    source: async () => {
      const l = layout(fresh(), { layer: Buffer.alloc(0) });
      rmSync(l.blob(sha256(l.layer)));
      symlinkSync('/dev/zero', l.blob(sha256(l.layer)));
      return { arg: l.dir, names: l.blob(sha256(l.layer)) };
    },
    exit: 5,
    code: 'INVALID_IMAGE',
    message: /outside the layout/,
  },
  {
    name: 'a blob that is a symlink to a regular file outside the layout',
    source: async () => {
      const l = layout(fresh());
      const outside = join(work, `${fresh()}-outside`);
      writeFileSync(outside, l.layer);
      rmSync(l.blob(sha256(l.layer)));
      symlinkSync(outside, l.blob(sha256(l.layer)));
      return { arg: l.dir, names: l.blob(sha256(l.layer)) };
    },
    exit: 5,
    code: 'INVALID_IMAGE',
    message: /outside the layout/,
  },
  {
    name: 'blobs/sha256 itself a symlink to a directory outside the layout',
    source: async () => {
      const l = layout(fresh());
      const elsewhere = join(work, `${fresh()}-elsewhere`);
      execFileSync('mv', [join(l.dir, 'blobs', 'sha256'), elsewhere]);
      symlinkSync(elsewhere, join(l.dir, 'blobs', 'sha256'));
      return { arg: l.dir, names: l.blob(sha256(l.manifest)) };
    },
    exit: 5,
    code: 'INVALID_IMAGE',
    message: /outside the layout/,
  },
  {
    name: 'a blob that is a symlink to a FIFO inside the layout',
    source: async () => {
      const l = layout(fresh());
      fifoAt(join(l.dir, 'pipe'));
      rmSync(l.blob(sha256(l.layer)));
      symlinkSync('../../pipe', l.blob(sha256(l.layer)));
      return { arg: l.dir, names: l.blob(sha256(l.layer)) };
    },
    exit: 5,
    code: 'INVALID_IMAGE',
    message: /is a FIFO/,
  },
  {
    name: 'index.json naming a "digest" that climbs out of blobs/',
    source: async () => {
      const l = layout(fresh());
      writeFileSync(
        join(l.dir, 'index.json'),
        JSON.stringify({
          schemaVersion: 2,
          manifests: [
            {
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              digest: 'sha256:../../../../../../etc/passwd',
              size: 10,
            },
          ],
        }),
      );
      return { arg: l.dir, names: l.dir };
    },
    exit: 5,
    code: 'INVALID_IMAGE',
    message: /not a sha256 digest/,
  },
  {
    name: 'a 4.5 MiB manifest (ECR takes 4 MiB)',
    source: async () => {
      const l = layout(fresh(), {
        manifestBytes: (doc) => Buffer.from(JSON.stringify({ ...doc, annotations: { pad: 'x'.repeat(4.5 * MiB) } })),
      });
      return { arg: l.dir, names: l.dir };
    },
    exit: 5,
    code: 'INVALID_IMAGE',
    message: /manifest .* is 47\d{5} bytes.*4 MiB/,
  },
  {
    name: 'a manifest that is not UTF-8',
    source: async () => {
      const l = layout(fresh(), {
        manifestBytes: (doc) => {
          const text = Buffer.from(JSON.stringify({ ...doc, annotations: { note: '@@' } }));
          const at = text.indexOf('@@');
          text[at] = 0xff; // not UTF-8 anywhere: a lone 0xff 0xfe inside a JSON string
          text[at + 1] = 0xfe;
          return text;
        },
      });
      return { arg: l.dir, names: l.dir };
    },
    exit: 5,
    code: 'INVALID_IMAGE',
    message: /not valid UTF-8/,
  },
  {
    name: 'a docker-archive whose config is 12 MiB (configs are read up to 8 MiB)',
    source: async () => {
      const { first, manifest } = await classicEntries({ configPadding: 12 * MiB });
      const file = join(work, `${fresh()}.tar`);
      const { createWriteStream } = await import('node:fs');
      await writeTar([...first, manifest], createWriteStream(file));
      return { arg: file, names: file };
    },
    exit: 5,
    code: 'INVALID_IMAGE',
    message: /config .* is 12\d{6} bytes.*8 MiB/,
  },
  {
    name: 'an archive whose index.json is over 4 MiB',
    source: async () => {
      const file = join(work, `${fresh()}.tar`);
      const { createWriteStream } = await import('node:fs');
      await writeTar(
        [
          { name: 'oci-layout', body: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
          { name: 'index.json', body: Buffer.from(JSON.stringify({ manifests: [], pad: 'x'.repeat(5 * MiB) })) },
        ],
        createWriteStream(file),
      );
      return { arg: file, names: file };
    },
    exit: 5,
    code: 'INVALID_IMAGE',
    message: /index\.json is 5\d{6} bytes.*4 MiB/,
  },
  {
    name: 'a symlinked blob inside the layout is fine',
    source: async () => {
      const l = layout(fresh());
      const d = sha256(l.layer);
      writeFileSync(join(l.dir, 'layer.bin'), l.layer);
      rmSync(l.blob(d));
      symlinkSync('../../layer.bin', l.blob(d));
      return { arg: l.dir };
    },
    exit: 0,
    code: '',
    message: /./,
  },
];

describe('push refuses what it must not read or cannot send, before any upload', () => {
  test.each(pushCases.map((c) => ({ name: c.name, c })))('$name', async ({ c }) => {
    const repo = `hostile/push-${++n}`;
    await createRepo(ecr, repo);
    const { arg, names } = await c.source();
    const cache = join(work, `cache-${n}`);
    await logSettled(repo);
    const before = initiated();
    const r = await runCli(['push', arg, `${repo}:v1`, '--json', '--cache-dir', cache, '--max-attempts', '2'], {
      env: testEnv(serve.endpoint),
      timeoutMs: 30_000,
    });
    await logSettled(repo);
    if (c.exit === 0) {
      expect(r).toExitWith(0);
      expect(JSON.parse(r.stdout).data.layers.every((l: { uploaded: boolean }) => l.uploaded)).toBe(true);
      return;
    }
    expectCleanFailure(r, c.exit, c.code, c.message);
    expect(JSON.parse(r.stdout).error.message).toContain(names!);
    expect(initiated()).toBe(before);
    expect(cacheLeftovers(join(cache, 'tmp'))).toEqual([]);
  });
});

describe('push: memory and lost responses', () => {
  /** Peak RSS (VmHWM) of a child, polled from /proc while it runs. */
  function peakRss(pid: number): { stop: () => number } {
    let peak = 0;
    const read = () => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) * 1024);
      } catch {
        // the child has exited
      }
    };
    const timer = setInterval(read, 20);
    return { stop: () => (clearInterval(timer), read(), peak) };
  }

  test('an archive on stdin with 3000 entries of 400 KiB that are not the image pushes in bounded memory', async () => {
    const repo = 'hostile/memory';
    await createRepo(ecr, repo);
    const cache = join(work, 'cache-memory');
    const child = spawn(process.execPath, [BIN, 'push', '-', `${repo}:v1`, '--json', '--cache-dir', cache], {
      env: testEnv(serve.endpoint),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const rss = peakRss(child.pid!);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    const { first, manifest } = await classicEntries();
    // 100 strangers before manifest.json (nobody knows yet what is needed), 2900 after (known not to be).
    const junk = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => ({
        name: `junk/${String(from + i).padStart(4, '0')}.bin`,
        zeros: 400 * 1024,
      }));
    await writeTar([...first, ...junk(0, 100), manifest, ...junk(100, 2900)], child.stdin);
    const code = await exited;
    const peak = rss.stop();
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(stdout).data.layers).toHaveLength(2);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThan(300 * MiB);
    expect(cacheLeftovers(join(cache, 'tmp'))).toEqual([]);
    // Only the image went into the cache: two blobs (config, gzipped layer) beside the uncompressed layer.
    expect(cacheLeftovers(cache).filter((f) => f.startsWith('blobs-v1/'))).toHaveLength(3);
  });

  test('every part response lost at random: a push of 8 parts with --max-attempts 3 still completes', async () => {
    const lossy = await startServe(['--fault-lose-part-response', '0.8', '--fault-seed', '11']);
    try {
      const lossyEcr = sdk(lossy.endpoint);
      await createRepo(lossyEcr, 'hostile/lossy');
      lossyEcr.destroy();
      const l = layout('lossy', { layer: randomBytes(75 * MiB + 123) });
      const r = await runCli(
        ['push', l.dir, 'hostile/lossy:v1', '--json', '--cache-dir', join(work, 'cache-lossy'), '--max-attempts', '3'],
        { env: testEnv(lossy.endpoint) },
      );
      expect(r).toExitWith(0);
      expect(JSON.parse(r.stdout).data.digest).toBe(sha256(l.manifest));
      // The fault really fired, more often than the attempts allowed in a row.
      expect(
        lossy
          .log()
          .split('\n')
          .filter((x) => x.includes('ResponseLost')).length,
      ).toBeGreaterThan(3);
    } finally {
      await lossy.dispose();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Network: an endpoint that is not there
// ---------------------------------------------------------------------------------------------------------------

describe('an endpoint that is not there', () => {
  test('a closed loopback port fails at once with NETWORK_ERROR and a hint, after one attempt', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const r = await runCli(['tags', 'hostile/any', '--json', '--debug', '--endpoint-url', `http://127.0.0.1:${port}`], {
      env: testEnv(),
    });
    expect(r).toExitWith(6);
    const doc = JSON.parse(r.stdout);
    expect(doc.error.code).toBe('NETWORK_ERROR');
    expect(doc.error.message).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}.*connection refused`));
    expect(doc.error.hint).toMatch(/is the endpoint running\? check --endpoint-url/i);
    expect(r.stderr.split('\n').filter((l) => /^debug: ecr ListImages - /.test(l))).toHaveLength(1);
    expect(r.stderr).not.toMatch(/retrying/);
  });

  test('a bad ECRX_READ_TIMEOUT is a usage error before any request', async () => {
    const r = await runCli(['tags', 'hostile/any', '--json'], {
      env: testEnv('http://127.0.0.1:1', { ECRX_READ_TIMEOUT: 'soon' }),
    });
    expectCleanFailure(r, 2, 'VALIDATION_ERROR', /ECRX_READ_TIMEOUT must be a number of seconds/);
  });

  // Which connection failures are final (pure logic: the DNS cases cannot be staged on a loopback-only machine).
  test.each([
    ['ECONNREFUSED on 127.0.0.1: final', { code: 'ECONNREFUSED', address: '127.0.0.1', port: 1 }, true],
    ['ECONNREFUSED on ::1: final', { code: 'ECONNREFUSED', address: '::1', port: 1 }, true],
    [
      'ENOTFOUND, a name that does not resolve: final',
      { code: 'ENOTFOUND', hostname: 'api.ecr.nowhere-1.amazonaws.com' },
      true,
    ],
    [
      'ECONNREFUSED from a remote host (a restarting load balancer): retried',
      { code: 'ECONNREFUSED', address: '10.0.0.1', port: 443 },
      false,
    ],
    [
      'EAI_AGAIN, a resolver that did not answer: retried',
      { code: 'EAI_AGAIN', hostname: 'api.ecr.us-east-1.amazonaws.com' },
      false,
    ],
    ['ECONNRESET: retried', { code: 'ECONNRESET' }, false],
  ])('%s', (_name, err, final) => {
    const verdict = unreachable(Object.assign(new Error('x'), err));
    expect(Boolean(verdict)).toBe(final);
    if (final) expect(verdict!.hint).toMatch(/--endpoint-url/);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Pull from a hostile server: download URLs and blobs that lie
// ---------------------------------------------------------------------------------------------------------------

interface PullCase {
  name: string;
  /** The repository `hostile/<mode>` picks the server's behaviour (see test/helpers/hostile-ecr.ts). */
  mode: string;
  exit: number;
  code: string;
  message: RegExp;
}

const pullCases: PullCase[] = [
  {
    name: 'a blob served with more bytes than its descriptor',
    mode: 'long',
    exit: 5,
    code: 'SIZE_MISMATCH',
    message: /should be \d+ bytes/,
  },
  {
    name: 'a blob served with fewer bytes, Range ignored',
    mode: 'short',
    exit: 5,
    code: 'SIZE_MISMATCH',
    message: /should be \d+ bytes/,
  },
  {
    name: 'a blob served with the wrong bytes',
    mode: 'wrong',
    exit: 5,
    code: 'DIGEST_MISMATCH',
    message: /wrong content/,
  },
  {
    name: 'a Content-Length that promises the whole blob and a server that hangs up halfway',
    mode: 'length-lies-long',
    exit: 6,
    code: 'NETWORK_ERROR',
    message: /without moving a byte/,
  },
  {
    name: 'a Content-Length shorter than the blob it then writes',
    mode: 'length-lies-short',
    exit: 5,
    code: 'SIZE_MISMATCH',
    message: /should be \d+ bytes/,
  },
  {
    name: 'a download that stalls forever after its headers',
    mode: 'stall-body',
    exit: 6,
    code: 'NETWORK_ERROR',
    message: /no data .* for 1s/,
  },
  {
    name: 'a download that never answers',
    mode: 'stall-headers',
    exit: 6,
    code: 'NETWORK_ERROR',
    message: /no data .* for 1s/,
  },
  {
    name: 'a download that fails with 500 forever',
    mode: 'error-500',
    exit: 6,
    code: 'NETWORK_ERROR',
    message: /HTTP 500/,
  },
  {
    name: 'a redirect loop',
    mode: 'redirect-loop',
    exit: 6,
    code: 'NETWORK_ERROR',
    message: /redirected more than 5 times/,
  },
  {
    name: 'a redirect to a file:// URL',
    mode: 'redirect-file',
    exit: 6,
    code: 'SERVICE_ERROR',
    message: /unsupported scheme 'file:'/,
  },
  {
    name: 'a download URL that is file:// (to the right bytes, even)',
    mode: 'url-file',
    exit: 6,
    code: 'SERVICE_ERROR',
    message: /unsupported scheme 'file:'/,
  },
  {
    name: 'a download URL that is ftp://',
    mode: 'url-ftp',
    exit: 6,
    code: 'SERVICE_ERROR',
    message: /unsupported scheme 'ftp:'/,
  },
  {
    name: 'a download URL that is data:',
    mode: 'url-data',
    exit: 6,
    code: 'SERVICE_ERROR',
    message: /unsupported scheme 'data:'/,
  },
  {
    name: 'a download URL that is not a URL',
    mode: 'url-garbage',
    exit: 6,
    code: 'SERVICE_ERROR',
    message: /not a valid URL/,
  },
  {
    name: 'a manifest whose bytes do not match the digest the API gives',
    mode: 'manifest-digest',
    exit: 5,
    code: 'DIGEST_MISMATCH',
    message: /does not match its digest/,
  },
  { name: 'a redirect to a good URL is followed', mode: 'redirect-good', exit: 0, code: '', message: /./ },
];

describe('pull from a server that lies', () => {
  beforeAll(() => {
    const config = [...pulled.blobs.values()][0];
    const file = join(work, 'the-right-bytes');
    writeFileSync(file, config);
    hostile.urls.set('file', `file://${file}`);
    hostile.urls.set('ftp', 'ftp://127.0.0.1:1/blob');
    hostile.urls.set('data', `data:application/octet-stream;base64,${config.toString('base64')}`);
    hostile.urls.set('garbage', 'http//not a url');
  });

  test.each(pullCases.map((c) => ({ name: c.name, c })))('$name', async ({ c }) => {
    const dir = mkdtempSync(join(work, 'pull-'));
    const cache = join(dir, 'cache');
    const out = join(dir, 'out');
    const env = testEnv(hostile.endpoint, { ECRX_READ_TIMEOUT: '1' });
    const r = await runCli(
      ['pull', `hostile/${c.mode}:v1`, '-o', out, '--json', '--cache-dir', cache, '--max-attempts', '2', '-j', '1'],
      { env, timeoutMs: 60_000 },
    );
    if (c.exit === 0) {
      expect(r).toExitWith(0);
      expect(JSON.parse(r.stdout).data.digest).toBe(pulled.digest);
      expect(existsSync(join(out, 'index.json'))).toBe(true);
      return;
    }
    expectCleanFailure(r, c.exit, c.code, c.message);
    expect(JSON.parse(r.stdout).error.message).not.toContain('X-Amz-Signature');
    // Nothing in the output, nothing in the cache, no temporary file anywhere. A network failure that left good
    // bytes keeps them as a partial for the next run (never as a blob), and `cache ls` lists it.
    expect(readdirSync(dir).filter((f) => f !== 'cache')).toEqual([]);
    const partials = cacheLeftovers(cache).filter((f) => f.startsWith('partial-v1/'));
    expect(cacheLeftovers(cache).filter((f) => !f.startsWith('partial-v1/'))).toEqual([]);
    if (c.code !== 'NETWORK_ERROR') expect(partials).toEqual([]);
    const listed = JSON.parse((await runCli(['cache', 'ls', '--cache-dir', cache, '--json'])).stdout).data.partials;
    expect(listed.length * 2).toBe(partials.length);
  });
});
