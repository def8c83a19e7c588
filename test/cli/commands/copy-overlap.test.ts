/**
 * copy runs on the one engine: each blob is uploaded while it downloads, and while the others still download,
 * instead of every blob being downloaded before the first upload (the old copy took the sum of both). With one
 * blob at a time (-j 1) the order is exact, so the serve's request log shows it without any timing: a slow source
 * link (--bandwidth-per-connection) keeps a large blob downloading while its first parts are already uploaded,
 * and "GET blob-sent" marks when the source closed a download, with the bytes it handed over.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe, type Serve } from '../../helpers/serve.js';
import { runCli, testEnv } from '../../helpers/cli.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { BatchCheckLayerAvailabilityCommand } from '@aws-sdk/client-ecr';
import { sdk, createRepo, pushBuilt, randomData } from '../../helpers/ecr.js';
import { buildImage, type BuiltImage } from '../../../src/oci/build.js';

let serve: Serve;
let work: string;
let image: BuiltImage;

beforeAll(async () => {
  serve = await startServe();
  work = mkdtempSync(join(tmpdir(), 'ecrx-copy-overlap-'));
  const ecr = sdk(serve.endpoint);
  await createRepo(ecr, 'overlap/src');
  await createRepo(ecr, 'overlap/dst');
  image = await buildImage([
    [{ path: 'one.bin', content: randomData(256 * 1024) }],
    [{ path: 'two.bin', content: randomData(256 * 1024) }],
    [{ path: 'three.bin', content: randomData(256 * 1024) }],
  ]);
  await pushBuilt(ecr, 'overlap/src', image, 'v1');
  ecr.destroy();
});
afterAll(async () => {
  await serve?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The server's log once it has stopped growing: its lines reach us through a pipe, a little after the responses. */
async function settledLog(): Promise<string> {
  let last = serve.log();
  for (;;) {
    await new Promise((r) => setTimeout(r, 150));
    if (serve.log() === last) return last;
    last = serve.log();
  }
}

test('the first blob is uploaded before the last one is downloaded, and the copy keeps the digest', async () => {
  const before = (await settledLog()).length;
  const res = await runCli(
    ['copy', 'overlap/src:v1', 'overlap/dst:v1', '-j', '1', '--json', '--cache-dir', join(work, 'cache')],
    { env: testEnv(serve.endpoint) },
  );
  expect(res).toExitWith(0);
  const data = JSON.parse(res.stdout).data;
  expect(data.digest).toBe(image.manifest.digest);
  expect(data.layers.every((l: { uploaded: boolean }) => l.uploaded)).toBe(true);
  expect(data.bytesDownloaded).toBe(image.config.size + image.layers.reduce((n, l) => n + l.size, 0));

  const ops = (await settledLog())
    .slice(before)
    .split('\n')
    .map((line) => line.split(' ').slice(1, 3))
    .map(([op, what]) => (op === 'GET' && what === 'blob' ? 'download' : op))
    .filter((op) => op === 'download' || op === 'CompleteLayerUpload');
  // Four blobs (config and three layers), each downloaded and then uploaded before the next download starts. (The
  // download URLs are asked for a little ahead, so the GETs, not GetDownloadUrlForLayer, mark a download.)
  expect(ops).toEqual([
    'download',
    'CompleteLayerUpload',
    'download',
    'CompleteLayerUpload',
    'download',
    'CompleteLayerUpload',
    'download',
    'CompleteLayerUpload',
  ]);
});

describe('within one blob, over a slow source link', () => {
  let slow: Serve;
  let big: BuiltImage;
  const MiB = 1024 * 1024;

  beforeAll(async () => {
    slow = await startServe(['--bandwidth-per-connection', '4MB/s']);
    const ecr = sdk(slow.endpoint);
    for (const repo of ['stream/src', 'stream/dst', 'corrupt/src', 'corrupt/dst']) await createRepo(ecr, repo);
    // Random bytes do not compress: a layer of about 18 MiB, two parts of ECR's 10 MiB.
    big = await buildImage([[{ path: 'big.bin', content: randomData(18 * MiB) }]]);
    await pushBuilt(ecr, 'stream/src', big, 'v1');
    await pushBuilt(ecr, 'corrupt/src', big, 'v1');
    ecr.destroy();
  });
  afterAll(async () => {
    await slow?.dispose();
  });

  async function settled(s: Serve): Promise<string> {
    let last = s.log();
    for (;;) {
      await new Promise((r) => setTimeout(r, 150));
      if (s.log() === last) return last;
      last = s.log();
    }
  }
  const opOf = (line: string) => line.split(' ').slice(1, 3).join(' ');
  const copy = (from: string, to: string, cache: string) =>
    runCli(['copy', from, to, '-j', '1', '--json', '--cache-dir', join(work, cache)], {
      env: testEnv(slow.endpoint),
    });

  test("a part of the layer reaches the destination before the source has sent that layer's last byte", async () => {
    const before = (await settled(slow)).length;
    const res = await copy('stream/src:v1', 'stream/dst:v1', 'stream-cache');
    expect(res).toExitWith(0);
    expect(JSON.parse(res.stdout).data.digest).toBe(big.manifest.digest);

    const lines = (await settled(slow)).slice(before).split('\n');
    const layer = big.layers[0];
    const sent = lines.findIndex(
      (l) =>
        opOf(l) === 'GET blob-sent' && l.includes(`200 ${layer.size} bytes of 0-${layer.size - 1} of ${layer.digest}`),
    );
    expect(sent).toBeGreaterThan(0);
    const upTo = lines.slice(0, sent).map(opOf);
    const parts = upTo.filter((op) => op.startsWith('UploadLayerPart 200')).length;
    const completes = upTo.filter((op) => op.startsWith('CompleteLayerUpload 200')).length;
    // One blob at a time: every blob completed so far had its parts; a part more than that is the layer's own,
    // sent while the source was still sending the layer.
    expect(parts).toBeGreaterThan(completes);
  });

  test('a layer whose source bytes are corrupt fails DIGEST_MISMATCH and is never completed at the destination', async () => {
    const layer = big.layers[0];
    // Corrupt the emulator's stored copy near its end, keeping the size: the first parts stream out before the
    // download's digest check can fail. The two repositories share the serve's blob store, so the destination is
    // asked about its own repository below.
    const stored = join(slow.dataDir, 'blobs', 'sha256', layer.digest.slice(7));
    const bytes = readFileSync(stored);
    bytes[bytes.length - 5] ^= 0xff;
    writeFileSync(stored, bytes);
    const before = (await settled(slow)).length;

    const res = await copy('corrupt/src:v1', 'corrupt/dst:v1', 'corrupt-cache');
    expect(res).toExitWith(5);
    const err = JSON.parse(res.stdout).error;
    expect(err.code).toBe('DIGEST_MISMATCH');
    expect(err.details.expected).toBe(layer.digest);

    const ops = (await settled(slow)).slice(before).split('\n').map(opOf);
    // The layer was being streamed: parts of it went out, more than the blobs that were completed.
    const parts = ops.filter((op) => op.startsWith('UploadLayerPart 200')).length;
    const completes = ops.filter((op) => op.startsWith('CompleteLayerUpload')).length;
    expect(parts).toBeGreaterThan(completes);
    const ecr = sdk(slow.endpoint);
    const out = await ecr.send(
      new BatchCheckLayerAvailabilityCommand({ repositoryName: 'corrupt/dst', layerDigests: [layer.digest] }),
    );
    ecr.destroy();
    // What ECR answers for a layer the repository does not hold: no AVAILABLE entry, a MissingLayerDigest failure.
    expect(out.layers ?? []).toEqual([]);
    expect(out.failures).toEqual([
      expect.objectContaining({ layerDigest: layer.digest, failureCode: 'MissingLayerDigest' }),
    ]);
    expect(readdirSync(join(work, 'corrupt-cache', 'tmp'))).toEqual([]);
  });
});
