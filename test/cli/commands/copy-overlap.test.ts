/**
 * copy runs on the one engine: each blob is uploaded as soon as it is in the cache, while the others still
 * download, instead of every blob being downloaded before the first upload (the old copy took the sum of both).
 * With one blob at a time (-j 1) the order is exact, so the serve's request log shows it without any timing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe, type Serve } from '../../helpers/serve.js';
import { runCli, testEnv } from '../../helpers/cli.js';
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
    .map((line) => line.split(' ')[1])
    .filter((op) => op === 'GetDownloadUrlForLayer' || op === 'CompleteLayerUpload');
  // Four blobs (config and three layers), each downloaded and then uploaded before the next one starts.
  expect(ops).toEqual([
    'GetDownloadUrlForLayer',
    'CompleteLayerUpload',
    'GetDownloadUrlForLayer',
    'CompleteLayerUpload',
    'GetDownloadUrlForLayer',
    'CompleteLayerUpload',
    'GetDownloadUrlForLayer',
    'CompleteLayerUpload',
  ]);
});
