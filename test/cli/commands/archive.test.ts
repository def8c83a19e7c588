/**
 * Archived images through the CLI against `ecrx serve --restore-delay 2`: a pull of an archived image exits 9 with
 * IMAGE_ARCHIVED and the restore hint, `tags --status` finds it, `restore --wait` brings it back, and then it pulls.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ECRClient } from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../../helpers/serve.js';
import { runCli, testEnv } from '../../helpers/cli.js';
import { sdk, createRepo, pushBuilt, putManifest } from '../../helpers/ecr.js';
import { buildImage, buildIndex, type BuiltImage } from '../../../src/oci/build.js';

let serve: Serve;
let ecr: ECRClient;
let work: string;
let img: BuiltImage;
let other: BuiltImage;

const cli = (args: string[]) =>
  runCli(args, { env: testEnv(serve.endpoint, { ECRX_CACHE_DIR: join(work, 'cache') }), cwd: work });
const json = (stdout: string) => JSON.parse(stdout);

beforeAll(async () => {
  serve = await startServe(['--restore-delay', '2']);
  ecr = sdk(serve.endpoint);
  work = mkdtempSync(join(tmpdir(), 'ecrx-archive-'));
  await createRepo(ecr, 'old/app');
  img = await buildImage([[{ path: 'etc/release', content: '2023' }]]);
  other = await buildImage([[{ path: 'etc/release', content: '2026' }]]);
  await pushBuilt(ecr, 'old/app', img, '2023');
  await pushBuilt(ecr, 'old/app', other, '2026');
});
afterAll(async () => {
  ecr?.destroy();
  await serve?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('archive, then pull exits 9 with IMAGE_ARCHIVED and the hint to restore; restore --wait, then pull works', async () => {
  const archived = await cli(['archive', 'old/app:2023', '--json']);
  expect(archived).toExitWith(0);
  expect(json(archived.stdout).data).toMatchObject({ digest: img.manifest.digest, imageStatus: 'ARCHIVED' });

  const pull = await cli(['pull', 'old/app:2023', '-o', join(work, 'out')]);
  expect(pull).toExitWith(9);
  expect(pull.stderr).toContain('ecrx: error IMAGE_ARCHIVED: Image old/app:2023 is archived');
  expect(pull.stderr).toContain('hint: Restore it with `ecrx restore old/app:2023` and retry in about 20 minutes');
  const pullJson = await cli(['pull', 'old/app:2023', '-o', join(work, 'out'), '--json']);
  expect(pullJson).toExitWith(9);
  expect(json(pullJson.stdout).error).toMatchObject({
    code: 'IMAGE_ARCHIVED',
    details: { imageStatus: 'ARCHIVED', restoreMinutes: 20 },
  });

  // a pasted URI is named back as pasted; copy and inspect say the same
  const uri = `000000000000.dkr.ecr.us-east-1.amazonaws.com/old/app:2023`;
  const copy = await cli(['copy', uri, 'old/app:copy']);
  expect(copy).toExitWith(9);
  expect(copy.stderr).toContain(`\`ecrx restore ${uri}\``);
  expect(await cli(['inspect', 'old/app:2023'])).toExitWith(9);

  const active = await cli(['tags', 'old/app', '--json']);
  expect(json(active.stdout).data.tags.map((t: { tag: string | null }) => t.tag)).toEqual(['2026']);
  const listed = await cli(['tags', 'old/app', '--status', 'archived', '--json']);
  expect(json(listed.stdout).data.tags).toEqual([
    expect.objectContaining({ tag: '2023', digest: img.manifest.digest, status: 'ARCHIVED' }),
  ]);
  const all = await cli(['tags', 'old/app', '--status', 'all']);
  expect(all.stdout).toMatch(/2023 .* ARCHIVED/);
  expect(all.stdout).toMatch(/2026 .* ACTIVE/);
  // the digest of an archived image is still there to be read
  const digest = await cli(['digest', 'old/app:2023']);
  expect(digest.stdout).toBe(`${img.manifest.digest}\n`);

  const restored = await cli(['restore', 'old/app:2023', '--wait', '--json']);
  expect(restored).toExitWith(0);
  expect(json(restored.stdout).data).toMatchObject({ digest: img.manifest.digest, imageStatus: 'ACTIVE' });
  const again = await cli(['pull', 'old/app:2023', '-o', join(work, 'out'), '--json']);
  expect(again).toExitWith(0);
  expect(json(again.stdout).data.digest).toBe(img.manifest.digest);
});

test('while a restore runs, a pull says it is being restored; without --wait restore returns ACTIVATING', async () => {
  expect(await cli(['archive', 'old/app:2026'])).toExitWith(0);
  const restore = await cli(['restore', 'old/app:2026', '--json']);
  expect(json(restore.stdout).data.imageStatus).toBe('ACTIVATING');
  const pull = await cli(['pull', 'old/app:2026', '-o', join(work, 'out2')]);
  expect(pull).toExitWith(9);
  expect(pull.stderr).toContain('is being restored from the archive and cannot be pulled yet');
  expect(pull.stderr).toContain('`ecrx restore old/app:2026 --wait`');
  expect(await cli(['restore', 'old/app:2026', '--wait'])).toExitWith(0);
  expect(await cli(['pull', 'old/app:2026', '-o', join(work, 'out2')])).toExitWith(0);
});

test('an image archived while its layers download fails with IMAGE_ARCHIVED, not a missing layer', async () => {
  // eight layers at 64 KiB/s, each download taking over a second: the image is archived underneath them. Download
  // URLs are asked for a little ahead (two with -j 1), so the URLs of the later layers are asked for after it.
  const slow = await startServe(['--restore-delay', '0', '--fault-bandwidth', '65536']);
  const slowEcr = sdk(slow.endpoint);
  try {
    await createRepo(slowEcr, 'old/slow');
    // incompressible layers, so the gzip stays as large as the content
    const noise = await buildImage(
      Array.from({ length: 8 }, (_, i) => [{ path: `l${i}`, content: randomBytes(100_000) }]),
    );
    await pushBuilt(slowEcr, 'old/slow', noise, 'v1');
    const pulling = runCli(['pull', 'old/slow:v1', '-o', join(work, 'slow'), '-j', '1', '--json'], {
      env: testEnv(slow.endpoint, { ECRX_CACHE_DIR: join(work, 'cache-slow') }),
      cwd: work,
    });
    while (!/GetDownloadUrlForLayer 200/.test(slow.log())) await new Promise((r) => setTimeout(r, 20));
    const archive = await runCli(['archive', 'old/slow:v1'], { env: testEnv(slow.endpoint) });
    expect(archive).toExitWith(0);
    const res = await pulling;
    expect(res).toExitWith(9);
    expect(json(res.stdout).error).toMatchObject({
      code: 'IMAGE_ARCHIVED',
      message: `Image old/slow@${noise.manifest.digest} is archived`,
    });
    expect(slow.log()).toContain('GetDownloadUrlForLayer 400 LayerInaccessibleException');
  } finally {
    slowEcr.destroy();
    await slow.dispose();
  }
});

test('an index archives with its children; a child alone cannot change class (STORAGE_CLASS_UNSUPPORTED, exit 7)', async () => {
  const amd = await buildImage([[{ path: 'p', content: 'amd' }]], { architecture: 'amd64' });
  const arm = await buildImage([[{ path: 'p', content: 'arm' }]], { architecture: 'arm64' });
  await pushBuilt(ecr, 'old/app', amd);
  await pushBuilt(ecr, 'old/app', arm);
  const index = buildIndex([amd, arm]);
  await putManifest(ecr, 'old/app', index.bytes, 'multi');
  const child = await cli(['archive', `old/app@${amd.manifest.digest}`]);
  expect(child).toExitWith(7);
  expect(child.stderr).toContain('STORAGE_CLASS_UNSUPPORTED');
  expect(await cli(['archive', 'old/app:multi'])).toExitWith(0);
  const pull = await cli(['pull', `old/app@${arm.manifest.digest}`, '-o', join(work, 'child')]);
  expect(pull).toExitWith(9);
  const missing = await cli(['archive', 'old/app:nope']);
  expect(missing).toExitWith(3);
});
