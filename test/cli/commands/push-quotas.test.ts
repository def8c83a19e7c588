/**
 * A push of many small blobs under `ecrx serve --quotas ecr` (ECR's default request rates): the client paces each
 * operation under its quota, so the push finishes with no failure, no ThrottlingException and nothing on stderr
 * but progress, at any -j. (Without pacing, the tags' PutImage calls alone go past PutImage's 10/s.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BatchGetImageCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../../helpers/serve.js';
import { runCli, testEnv } from '../../helpers/cli.js';
import { sdk, createRepo } from '../../helpers/ecr.js';
import { buildImage, writeLayout, type BuiltImage } from '../../../src/oci/build.js';

let serve: Serve;
let ecr: ECRClient;
let work: string;
let image: BuiltImage;
const BLOBS = 200;
/** 20 tags are 21 PutImage calls one after another: well past PutImage's 10/s, unless paced. */
const TAGS = Array.from({ length: 20 }, (_, i) => ['-t', `t${i}`]).flat();

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ecrx-push-quotas-'));
  // 199 layers and a config: 200 blobs, each its own Initiate, part and Complete.
  image = await buildImage(
    Array.from({ length: BLOBS - 1 }, (_, i) => [{ path: `f${i}`, content: randomBytes(1024) }]),
  );
  await writeLayout(join(work, 'layout'), [image], { refName: 'v1' });
  serve = await startServe(['--quotas', 'ecr']);
  ecr = sdk(serve.endpoint);
}, 60_000);

afterAll(async () => {
  ecr?.destroy();
  await serve?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The most log lines of `op` answered 200 inside any one-second window, from the lines' timestamps. */
function peakPerSecond(op: string): number {
  const times = serve
    .log()
    .split('\n')
    .filter((l) => l.includes(` ${op} 200 `))
    .map((l) => Date.parse(l.split(' ')[0]))
    .sort((a, b) => a - b);
  let peak = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] >= 1000) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return peak;
}

test.each([1, 4, 16])(
  'a push of %p at a time of 200 small blobs finishes with no throttle and no warning',
  async (j) => {
    const repo = `quotas/j${j}`;
    await createRepo(ecr, repo);
    const args = ['push', 'layout', `${repo}:v1`, ...TAGS, '-j', String(j), '--cache-dir', join(work, `c${j}`)];
    const out = await runCli(args, {
      env: testEnv(serve.endpoint),
      cwd: work,
    });
    expect(out).toExitWith(0);
    expect(out.stderr).not.toMatch(/warning|retrying|throttl|fail/i);
    const got = await ecr.send(new BatchGetImageCommand({ repositoryName: repo, imageIds: [{ imageTag: 'v1' }] }));
    expect(got.images?.[0]?.imageId?.imageDigest).toBe(image.manifest.digest);
    // Paced under the quota, the server never had to refuse a call.
    expect(serve.log()).not.toContain('ThrottlingException');
    expect(peakPerSecond('InitiateLayerUpload')).toBeLessThanOrEqual(100);
    expect(peakPerSecond('CompleteLayerUpload')).toBeLessThanOrEqual(100);
    expect(peakPerSecond('PutImage')).toBeLessThanOrEqual(10);
  },
  120_000,
);

test('two pushes sharing the quotas are throttled, slow down and both finish', async () => {
  // Each process paces its 41 PutImage calls to 9/s, about 4.5 s, long enough for the two to overlap whatever
  // the load; together they go past ECR's 10/s, are refused, halve their rate and climb back, and neither fails.
  const tags = Array.from({ length: 40 }, (_, i) => ['-t', `s${i}`]).flat();
  const before = serve
    .log()
    .split('\n')
    .filter((l) => l.includes(' ThrottlingException')).length;
  const runs = await Promise.all(
    ['a', 'b'].map(async (name) => {
      await createRepo(ecr, `quotas/shared-${name}`);
      return runCli(
        [
          'push',
          'layout',
          `quotas/shared-${name}:v1`,
          ...tags,
          '-j',
          '16',
          '--cache-dir',
          join(work, `shared-${name}`),
        ],
        { env: testEnv(serve.endpoint), cwd: work },
      );
    }),
  );
  for (const r of runs) expect(r).toExitWith(0);
  const throttles =
    serve
      .log()
      .split('\n')
      .filter((l) => l.includes(' ThrottlingException')).length - before;
  expect(throttles).toBeGreaterThan(0);
  for (const name of ['a', 'b']) {
    const got = await ecr.send(
      new BatchGetImageCommand({ repositoryName: `quotas/shared-${name}`, imageIds: [{ imageTag: 'v1' }] }),
    );
    expect(got.images?.[0]?.imageId?.imageDigest).toBe(image.manifest.digest);
  }
}, 120_000);
