/** `ecrx pull` as a subprocess against a real `ecrx serve`. */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ECRClient } from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../../helpers/serve.js';
import { runCli, testEnv } from '../../helpers/cli.js';
import { sdk, createRepo, pushBuilt, putManifest, sha256 } from '../../helpers/ecr.js';
import { listFiles, readTar, sha256File } from '../../helpers/files.js';
import { buildImage, buildIndex, type BuiltImage } from '../../../src/oci/build.js';
import { BlobCache } from '../../../src/store/blob-cache.js';

let serve: Serve;
let ecr: ECRClient;
let work: string;
let image: BuiltImage;
let amd: BuiltImage;
let arm: BuiltImage;
let indexDigest: string;

const env = () => testEnv(serve.endpoint);
const pull = (args: string[], extra: { env?: NodeJS.ProcessEnv } = {}) =>
  runCli(['pull', ...args], { env: extra.env ?? env(), cwd: work });
const countLog = (op: string) =>
  serve
    .log()
    .split('\n')
    .filter((l) => l.includes(` ${op} `)).length;

/** countLog once the server's log has stopped growing (its lines come through a pipe, a little after the answers). */
async function settledCount(op: string): Promise<number> {
  let last = serve.log();
  for (;;) {
    await new Promise((r) => setTimeout(r, 150));
    if (serve.log() === last) return countLog(op);
    last = serve.log();
  }
}

beforeAll(async () => {
  serve = await startServe();
  ecr = sdk(serve.endpoint);
  work = mkdtempSync(join(tmpdir(), 'ecrx-pull-'));
  await createRepo(ecr, 'team/app');
  image = await buildImage([
    [
      { path: 'etc/', type: 'directory' },
      { path: 'etc/hello.txt', content: 'hello\n' },
    ],
    [
      { path: 'bin/', type: 'directory' },
      { path: 'bin/tool', content: Buffer.alloc(2 * 1024 * 1024, 7), mode: 0o755 },
    ],
  ]);
  await pushBuilt(ecr, 'team/app', image, '1.0');
  amd = await buildImage([[{ path: 'arch', content: 'amd64' }]], { architecture: 'amd64' });
  arm = await buildImage([[{ path: 'arch', content: 'arm64' }]], { architecture: 'arm64', variant: 'v8' });
  await pushBuilt(ecr, 'team/app', amd);
  await pushBuilt(ecr, 'team/app', arm);
  const index = buildIndex([amd, arm]);
  indexDigest = index.digest;
  await putManifest(ecr, 'team/app', index.bytes, 'multi');
});

afterAll(async () => {
  ecr?.destroy();
  await serve?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

function expectLayoutHolds(dir: string, img: BuiltImage) {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  expect(JSON.parse(readFileSync(join(dir, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
  expect(index.manifests[0].digest).toBe(img.manifest.digest);
  for (const b of [img.manifest, img.config, ...img.layers]) {
    expect(sha256File(join(dir, 'blobs', 'sha256', b.digest.slice(7)))).toBe(b.digest);
  }
}

describe('pull', () => {
  test('by tag into an OCI layout, with the JSON envelope field by field', async () => {
    const cache = join(work, 'cache-a');
    const res = await pull(['team/app:1.0', '-o', 'out-a', '--cache-dir', cache, '--json']);
    expect(res.stderr).toBe('');
    expect(res).toExitWith(0);
    const doc = JSON.parse(res.stdout);
    expect(doc.success).toBe(true);
    expect(doc.data).toEqual({
      image: '000000000000.dkr.ecr.us-east-1.amazonaws.com/team/app:1.0',
      registryId: '000000000000',
      repository: 'team/app',
      tag: '1.0',
      digest: image.manifest.digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      platform: 'linux/amd64',
      output: join(work, 'out-a'),
      format: 'oci',
      replaced: false,
      layers: [image.config, ...image.layers].map((b) => ({
        digest: b.digest,
        size: b.size,
        mediaType: b.mediaType,
        cached: false,
      })),
      bytesDownloaded: image.config.size + image.layers.reduce((n, l) => n + l.size, 0),
      bytesReused: 0,
      durationMs: expect.any(Number),
    });
    expectLayoutHolds(join(work, 'out-a'), image);
    const index = JSON.parse(readFileSync(join(work, 'out-a', 'index.json'), 'utf8'));
    expect(index.manifests[0].annotations['org.opencontainers.image.ref.name']).toBe('1.0');
    // no temporary names left beside the output
    expect(readdirSync(work).filter((n) => n.includes('ecrx-tmp'))).toEqual([]);
  });

  test('a cached re-pull makes no GetDownloadUrlForLayer call; a cold one, one per blob (URLs asked ahead, never twice)', async () => {
    const cache = join(work, 'cache-b');
    const cold = await settledCount('GetDownloadUrlForLayer');
    expect(await pull(['team/app:1.0', '-o', 'out-b1', '--cache-dir', cache, '-q'])).toExitWith(0);
    expect((await settledCount('GetDownloadUrlForLayer')) - cold).toBe(1 + image.layers.length);
    const before = countLog('GetDownloadUrlForLayer');
    const res = await pull(['team/app:1.0', '-o', 'out-b2', '--cache-dir', cache, '--json']);
    expect(res).toExitWith(0);
    expect(countLog('GetDownloadUrlForLayer')).toBe(before);
    const data = JSON.parse(res.stdout).data;
    expect(data.bytesDownloaded).toBe(0);
    expect(data.layers.every((l: { cached: boolean }) => l.cached)).toBe(true);
    expectLayoutHolds(join(work, 'out-b2'), image);

    // One layer gone from the cache: only its URL is asked for, ahead or not.
    const gone = image.layers[1].digest;
    rmSync(new BlobCache(cache).path(gone));
    const partial = await settledCount('GetDownloadUrlForLayer');
    const again = await pull(['team/app:1.0', '-o', 'out-b3', '--cache-dir', cache, '--json']);
    expect(again).toExitWith(0);
    expect((await settledCount('GetDownloadUrlForLayer')) - partial).toBe(1);
    const layers = JSON.parse(again.stdout).data.layers as { digest: string; cached: boolean }[];
    expect(layers.filter((l) => !l.cached).map((l) => l.digest)).toEqual([gone]);
    expectLayoutHolds(join(work, 'out-b3'), image);
  });

  test('by digest, and a tag and digest that disagree', async () => {
    const res = await pull([
      `team/app@${image.manifest.digest}`,
      '-o',
      'by-digest',
      '--cache-dir',
      join(work, 'c'),
      '--json',
    ]);
    expect(res).toExitWith(0);
    expect(JSON.parse(res.stdout).data).toMatchObject({ digest: image.manifest.digest, tag: null });
    expectLayoutHolds(join(work, 'by-digest'), image);
    const bad = await pull([`team/app:1.0@${amd.manifest.digest}`, '-o', 'bad', '--json']);
    expect(bad).toExitWith(3);
    expect(JSON.parse(bad.stdout).error.code).toBe('IMAGE_NOT_FOUND');
    expect(existsSync(join(work, 'bad'))).toBe(false);
  });

  test('oci-archive holds the same layout as one tar', async () => {
    const res = await pull([
      'team/app:1.0',
      '--format',
      'oci-archive',
      '-o',
      'app.tar',
      '--cache-dir',
      join(work, 'c'),
    ]);
    expect(res).toExitWith(0);
    const entries = await readTar(join(work, 'app.tar'));
    const files = entries.filter((e) => e.type === 'file');
    expect(files.map((e) => e.name).sort()).toEqual(
      [
        'blobs/sha256/' + image.config.digest.slice(7),
        ...image.layers.map((l) => 'blobs/sha256/' + l.digest.slice(7)),
        'blobs/sha256/' + image.manifest.digest.slice(7),
        'index.json',
        'oci-layout',
      ].sort(),
    );
    for (const e of files.filter((f) => f.name.startsWith('blobs/')))
      expect(e.sha256).toBe(`sha256:${e.name.slice(13)}`);
  });

  test('docker-archive has manifest.json and repositories with RepoTags from the reference', async () => {
    const res = await pull([
      'team/app:1.0',
      '--format',
      'docker-archive',
      '-o',
      'docker.tar',
      '--cache-dir',
      join(work, 'c'),
    ]);
    expect(res).toExitWith(0);
    const entries = await readTar(join(work, 'docker.tar'));
    const manifest = JSON.parse(entries.find((e) => e.name === 'manifest.json')!.body!.toString());
    expect(manifest).toEqual([
      {
        Config: `blobs/sha256/${image.config.digest.slice(7)}`,
        RepoTags: ['000000000000.dkr.ecr.us-east-1.amazonaws.com/team/app:1.0'],
        Layers: image.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`),
      },
    ]);
    const repositories = JSON.parse(entries.find((e) => e.name === 'repositories')!.body!.toString());
    expect(Object.keys(repositories)).toEqual(['000000000000.dkr.ecr.us-east-1.amazonaws.com/team/app']);
    const index = JSON.parse(entries.find((e) => e.name === 'index.json')!.body!.toString());
    expect(index.manifests[0].annotations['io.containerd.image.name']).toBe(
      '000000000000.dkr.ecr.us-east-1.amazonaws.com/team/app:1.0',
    );
  });

  test('-o - streams an archive to stdout and nothing else', async () => {
    const res = await pull([
      'team/app:1.0',
      '-o',
      '-',
      '--format',
      'docker-archive',
      '--cache-dir',
      join(work, 'c'),
      '-q',
    ]);
    expect(res).toExitWith(0);
    const entries = await readTar(res.stdoutBytes);
    expect(entries.map((e) => e.name)).toContain('manifest.json');
  });

  test('an index: the host platform by default, --platform picks, all keeps every child, no match lists what exists', async () => {
    const c = join(work, 'c');
    const arm64 = await pull([
      'team/app:multi',
      '--platform',
      'linux/arm64',
      '-o',
      'multi-arm',
      '--cache-dir',
      c,
      '--json',
    ]);
    expect(arm64).toExitWith(0);
    expect(JSON.parse(arm64.stdout).data).toMatchObject({ digest: arm.manifest.digest, platform: 'linux/arm64/v8' });
    expectLayoutHolds(join(work, 'multi-arm'), arm);

    const all = await pull(['team/app:multi', '--platform', 'all', '-o', 'multi-all', '--cache-dir', c, '--json']);
    expect(all).toExitWith(0);
    expect(JSON.parse(all.stdout).data).toMatchObject({
      digest: indexDigest,
      platform: 'all',
      mediaType: 'application/vnd.oci.image.index.v1+json',
    });
    const files = listFiles(join(work, 'multi-all'));
    for (const b of [amd.manifest, arm.manifest, amd.config, arm.config, ...amd.layers, ...arm.layers])
      expect(files).toContain(`blobs/sha256/${b.digest.slice(7)}`);
    expect(files).toContain(`blobs/sha256/${indexDigest.slice(7)}`);

    const none = await pull(['team/app:multi', '--platform', 'linux/s390x', '-o', 'none', '--json']);
    expect(none).toExitWith(3);
    const err = JSON.parse(none.stdout).error;
    expect(err.code).toBe('PLATFORM_NOT_FOUND');
    expect(err.message).toContain('linux/amd64');
    expect(err.message).toContain('linux/arm64/v8');
    expect(existsSync(join(work, 'none'))).toBe(false);
  });

  test('invalid references fail before any network call with exit 2', async () => {
    const offline = testEnv('http://127.0.0.1:9'); // nothing listens there: a network call would fail differently
    for (const bad of ['UPPER/case', 'repo:bad tag', 'repo@sha256:123', 'a', '']) {
      const res = await pull([bad, '--json'], { env: offline });
      expect(res).toExitWith(2);
      const e = JSON.parse(res.stdout).error;
      expect(e.code).toBe('VALIDATION_ERROR');
      expect(e.hint).toContain('for example');
    }
    // another registry's reference is not invalid: it is read from that registry (here nothing listens there)
    const other = await pull(['127.0.0.1:9/library/nginx', '--json'], { env: offline });
    expect(other).toExitWith(6);
    expect(JSON.parse(other.stdout).error).toMatchObject({
      code: 'NETWORK_ERROR',
      details: { registry: '127.0.0.1:9' },
    });
  });

  test('not found: image, repository; each with its code and exit code', async () => {
    const img = await pull(['team/app:nope', '--json']);
    expect(img).toExitWith(3);
    const e = JSON.parse(img.stdout).error;
    expect(e).toMatchObject({ code: 'IMAGE_NOT_FOUND' });
    expect(e.message).toContain('team/app:nope');
    const repo = await pull(['no/such-repo:1', '--json']);
    expect(repo).toExitWith(3);
    expect(JSON.parse(repo.stdout).error.code).toBe('REPOSITORY_NOT_FOUND');
    const human = await pull(['team/app:nope']);
    expect(human.stderr).toContain('IMAGE_NOT_FOUND');
    expect(human.stdout).toBe('');
  });

  test('plain progress lines on stderr when not a terminal, no ANSI codes', async () => {
    const res = await pull(['team/app:1.0', '-o', 'plain', '--cache-dir', join(work, 'plain-cache')]);
    expect(res).toExitWith(0);
    expect(res.stderr).toMatch(/pull: [0-9a-f]{12} layer 2\/2 [\d.]+ (B|KiB) started/);
    expect(res.stderr).toMatch(/done in/);
    expect(res.stderr).not.toMatch(/\u001b\[/);
    expect(res.stdout).toMatch(/^Pulled team\/app:1\.0 sha256:[0-9a-f]{64} \(linux\/amd64\)/);
  });

  test('a blob whose bytes do not match its digest is refused: nothing in the cache or the output', async () => {
    const repo = 'corrupt/app';
    await createRepo(ecr, repo);
    const bad = await buildImage([[{ path: 'x', content: 'original content' }]]);
    await pushBuilt(ecr, repo, bad, 'v1');
    // Corrupt the emulator's stored copy of the layer, keeping its size.
    const stored = join(serve.dataDir, 'blobs', 'sha256', bad.layers[0].digest.slice(7));
    const bytes = readFileSync(stored);
    bytes[bytes.length - 5] ^= 0xff;
    writeFileSync(stored, bytes);
    const cache = join(work, 'corrupt-cache');
    const res = await pull([`${repo}:v1`, '-o', 'corrupt-out', '--cache-dir', cache, '--json']);
    expect(res).toExitWith(5);
    const e = JSON.parse(res.stdout).error;
    expect(e.code).toBe('DIGEST_MISMATCH');
    expect(e.details.expected).toBe(bad.layers[0].digest);
    expect(e.details.actual).toBe(sha256(bytes));
    expect(existsSync(join(work, 'corrupt-out'))).toBe(false);
    expect(existsSync(join(cache, 'blobs-v1', 'sha256', bad.layers[0].digest.slice(7)))).toBe(false);
    expect(readdirSync(join(cache, 'tmp'))).toEqual([]);
  });

  test('a pull that fails while download URLs are asked for ahead prints nothing after its error', async () => {
    // Pushed through a quick serve; pulled through one on the same data where every API call takes 150 ms, so
    // when the corrupt layer fails, URLs for the layers after it are in flight.
    const data = mkdtempSync(join(tmpdir(), 'ecrx-ahead-'));
    const quick = await startServe([], data);
    const quickEcr = sdk(quick.endpoint);
    const many = await buildImage(Array.from({ length: 40 }, (_, i) => [{ path: `f${i}`, content: `layer ${i}\n` }]));
    try {
      await createRepo(quickEcr, 'ahead/app');
      await pushBuilt(quickEcr, 'ahead/app', many, 'v1');
    } finally {
      quickEcr.destroy();
      await quick.dispose();
    }
    const slow = await startServe(['--latency', '150'], data);
    try {
      const stored = join(slow.dataDir, 'blobs', 'sha256', many.layers[0].digest.slice(7));
      const bytes = readFileSync(stored);
      bytes[bytes.length - 5] ^= 0xff;
      writeFileSync(stored, bytes);
      const res = await runCli(
        ['pull', 'ahead/app:v1', '-o', 'ahead-out', '-j', '8', '--cache-dir', join(work, 'ahead')],
        {
          env: testEnv(slow.endpoint),
          cwd: work,
        },
      );
      expect(res).toExitWith(5);
      const lines = res.stderr.trimEnd().split('\n');
      const error = lines.findIndex((l) => l.startsWith('ecrx: error DIGEST_MISMATCH'));
      expect(error).toBeGreaterThanOrEqual(0);
      // The error and its hint are the last words: no retry or progress line from a request still going.
      expect(lines.slice(error + 1).every((l) => /^\s+hint: /.test(l))).toBe(true);
      expect(existsSync(join(work, 'ahead-out'))).toBe(false);
    } finally {
      await slow.dispose();
      rmSync(data, { recursive: true, force: true });
    }
  });

  test.each([
    // The download's Content-Length announces the wrong size: refused before a byte is read, the size named.
    [
      'longer',
      (b: Buffer) => Buffer.concat([b, Buffer.from('extra bytes')]),
      /should be \d+ bytes but the registry's copy has \d+/,
    ],
    ['shorter', (b: Buffer) => b.subarray(0, b.length - 7), /should be \d+ bytes but the registry's copy has \d+/],
  ])(
    'a stored blob %s than its descriptor is SIZE_MISMATCH: nothing in the cache or the output',
    async (how, change, message) => {
      const repo = `sized-${how}/app`;
      await createRepo(ecr, repo);
      const img = await buildImage([[{ path: 'x', content: `content for the ${how} case` }]]);
      await pushBuilt(ecr, repo, img, 'v1');
      const stored = join(serve.dataDir, 'blobs', 'sha256', img.layers[0].digest.slice(7));
      writeFileSync(stored, change(readFileSync(stored)));
      const cache = join(work, `sized-${how}-cache`);
      const res = await pull([`${repo}:v1`, '-o', `sized-${how}-out`, '--cache-dir', cache, '--json']);
      expect(res).toExitWith(5);
      const e = JSON.parse(res.stdout).error;
      expect(e.code).toBe('SIZE_MISMATCH');
      expect(e.message).toMatch(message);
      expect(existsSync(join(work, `sized-${how}-out`))).toBe(false);
      expect(existsSync(join(cache, 'blobs-v1', 'sha256', img.layers[0].digest.slice(7)))).toBe(false);
      expect(readdirSync(join(cache, 'tmp'))).toEqual([]);
    },
  );

  test('an existing output is replaced only on success', async () => {
    const target = join(work, 'keep-me');
    expect(await pull(['team/app:1.0', '-o', target, '--cache-dir', join(work, 'c'), '-q'])).toExitWith(0);
    const fail = await pull(['team/app:nope', '-o', target, '-q']);
    expect(fail).toExitWith(3);
    expectLayoutHolds(target, image);
  });
});
