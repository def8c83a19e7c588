/** Several ecrx processes at once, and copy under the fault matrix. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BatchGetImageCommand, ListImagesCommand } from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../helpers/serve.js';
import { runCli, testEnv } from '../helpers/cli.js';
import { sdk, createRepo, pushBuilt } from '../helpers/ecr.js';
import { sha256File } from '../helpers/files.js';
import { buildImage, writeLayout, type BuiltImage } from '../../src/oci/build.js';

let serve: Serve;
let work: string;
let image: BuiltImage;

beforeAll(async () => {
  serve = await startServe();
  work = mkdtempSync(join(tmpdir(), 'ecrx-conc-'));
  const ecr = sdk(serve.endpoint);
  await createRepo(ecr, 'conc/app');
  await createRepo(ecr, 'conc/many');
  image = await buildImage([
    [{ path: 'a', content: randomBytes(3 * 1024 * 1024) }],
    [{ path: 'b', content: randomBytes(2 * 1024 * 1024) }],
  ]);
  await pushBuilt(ecr, 'conc/app', image, 'v1');
  ecr.destroy();
});
afterAll(async () => {
  await serve?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('two ecrx processes pulling the same image into one cache both succeed', async () => {
  const cache = join(work, 'shared-cache');
  const [a, b] = await Promise.all(
    ['one', 'two'].map((n) =>
      runCli(['pull', 'conc/app:v1', '-o', join(work, n), '--cache-dir', cache, '--json'], {
        env: testEnv(serve.endpoint),
      }),
    ),
  );
  expect([a.code, b.code]).toEqual([0, 0]);
  for (const n of ['one', 'two'])
    for (const blob of [image.config, ...image.layers])
      expect(sha256File(join(work, n, 'blobs', 'sha256', blob.digest.slice(7)))).toBe(blob.digest);
  const verify = await runCli(['cache', 'verify', '--cache-dir', cache, '--json']);
  expect(JSON.parse(verify.stdout).data).toMatchObject({ checked: 3, removed: [] });
});

test('eight concurrent pushers to one repository lose nothing', async () => {
  const images = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      buildImage([
        [{ path: `f${i}`, content: randomBytes(6 * 1024 * 1024 + i) }],
        [{ path: 'shared', content: 'same in every image' }],
      ]),
    ),
  );
  await Promise.all(images.map((img, i) => writeLayout(join(work, `src${i}`), [img])));
  const results = await Promise.all(
    images.map((_, i) =>
      runCli(['push', join(work, `src${i}`), `conc/many:t${i}`, '--cache-dir', join(work, `pc${i}`), '--json'], {
        env: testEnv(serve.endpoint),
      }),
    ),
  );
  expect(results.map((r) => r.code)).toEqual(Array(8).fill(0));
  const ecr = sdk(serve.endpoint);
  const listed = await ecr.send(new ListImagesCommand({ repositoryName: 'conc/many' }));
  expect(listed.imageIds!.map((i) => i.imageTag).sort()).toEqual(images.map((_, i) => `t${i}`).sort());
  const got = await ecr.send(
    new BatchGetImageCommand({
      repositoryName: 'conc/many',
      imageIds: images.map((img) => ({ imageDigest: img.manifest.digest })),
    }),
  );
  expect(got.failures).toEqual([]);
  ecr.destroy();
  for (const [i, img] of images.entries()) {
    const out = join(work, `back${i}`);
    expect(
      await runCli(['pull', `conc/many:t${i}`, '-o', out, '--cache-dir', join(work, 'back-cache'), '-q'], {
        env: testEnv(serve.endpoint),
      }),
    ).toExitWith(0);
    for (const blob of img.layers)
      expect(sha256File(join(out, 'blobs', 'sha256', blob.digest.slice(7)))).toBe(blob.digest);
  }
});

describe('copy under faults', () => {
  test.each<[string, string[], RegExp]>([
    ['cut downloads', ['--fault-cut', '0.3', '--fault-seed', '66'], /GET blob 20[06] cut at byte/],
    [
      'throttling and 5xx',
      ['--fault-throttle', '0.2', '--fault-server-error', '0.1', '--fault-seed', '66'],
      /ThrottlingException|ServerException/,
    ],
    [
      'S3 SlowDown and expired URLs',
      ['--fault-slowdown', '0.1', '--fault-expire', '0.2', '--fault-seed', '66'],
      /GET blob (503 SlowDown|403 AccessDenied)/,
    ],
    [
      'URLs that really expire after 2 s on a slow link',
      ['--url-ttl', '2', '--fault-bandwidth', String(512 * 1024), '--fault-cut', '0.5', '--fault-seed', '66'],
      /GET blob 403 AccessDenied/,
    ],
    [
      'lost part responses and layer lag',
      ['--fault-lose-part-response', '0.3', '--fault-layer-lag', '1000', '--fault-seed', '66'],
      /ResponseLost|LayersNotFoundException/,
    ],
  ])('%s: the copy has the same digest', async (_n, faults, fired) => {
    const clean = await startServe();
    const ecr = sdk(clean.endpoint);
    await createRepo(ecr, 'src/app');
    await createRepo(ecr, 'dst/app');
    await pushBuilt(ecr, 'src/app', image, 'v1');
    ecr.destroy();
    await clean.stop();
    const faulty = await startServe(faults, clean.dataDir);
    try {
      const r = await runCli(
        ['copy', 'src/app:v1', 'dst/app:v1', '--cache-dir', join(work, `copy-${faults[0]}`), '--json'],
        { env: testEnv(faulty.endpoint) },
      );
      expect(r).toExitWith(0);
      expect(JSON.parse(r.stdout).data.digest).toBe(image.manifest.digest);
      const check = sdk(faulty.endpoint);
      let got;
      for (let i = 0; i < 20 && !got; i++) {
        got = await check
          .send(new BatchGetImageCommand({ repositoryName: 'dst/app', imageIds: [{ imageTag: 'v1' }] }))
          .catch(() => undefined);
      }
      check.destroy();
      expect(got!.images![0].imageId!.imageDigest).toBe(image.manifest.digest);
      expect(faulty.log()).toMatch(fired); // the fault really happened during the copy
    } finally {
      await faulty.dispose();
      rmSync(faulty.dataDir, { recursive: true, force: true });
    }
  });
});
