/**
 * A copy killed with SIGKILL continues where it stopped: its download side keeps a partial in the cache, so the
 * next run fetches again at most one range of what the killed run received, streams the rest to the destination,
 * and the destination ends up with the image under the source's digest. The source serve's download connections
 * are paced so that the 48 MiB layer takes long enough to be killed several times; its log says what it sent.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { BatchGetImageCommand } from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../../helpers/serve.js';
import { blobBytesSent, downloadsSettled, partialBytes as partialOf } from '../../helpers/resume-log.js';
import { BIN, runCli, testEnv } from '../../helpers/cli.js';
import { pushSlowImage } from '../../helpers/slow-image.js';
import { createRepo, sdk } from '../../helpers/ecr.js';

const LAYER = 48 << 20;
const RANGE = 16 << 20;

let work: string;
let src: Serve;
let dst: Serve;
let layerDigest: string;
let topDigest: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ecrx-copy-resume-'));
  src = await startServe(['--bandwidth-per-connection', '4MiB/s']);
  dst = await startServe([]);
  topDigest = await pushSlowImage(src.endpoint, work, 'resume/copy', 1, LAYER);
  const blobs = join(work, 'layout-resume-copy', 'blobs', 'sha256');
  layerDigest = `sha256:${readdirSync(blobs).find((h) => statSync(join(blobs, h)).size > LAYER)}`;
  expect(layerDigest).toMatch(/^sha256:[a-f0-9]{64}$/);
  const ecr = sdk(dst.endpoint);
  await createRepo(ecr, 'mirror/copy');
  ecr.destroy();
}, 120_000);
afterAll(async () => {
  await src?.dispose();
  await dst?.dispose();
  rmSync(work, { recursive: true, force: true });
});

const layerBytesSent = () => blobBytesSent(src, layerDigest);
const settled = () => downloadsSettled(src);
const partialBytes = (cacheDir: string) => partialOf(cacheDir, layerDigest);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('copy killed with SIGKILL at three random points re-fetches at most one range each time, then lands the same digest', async () => {
  const cacheDir = join(work, 'cache');
  const env = { ...testEnv(src.endpoint) };
  const args = [
    'copy',
    'resume/copy:v1',
    'mirror/copy:v1',
    '--to-endpoint-url',
    dst.endpoint,
    '--cache-dir',
    cacheDir,
    '--json',
  ];
  let kept = 0;
  for (let kill = 0; kill < 3; kill++) {
    const sentBefore = layerBytesSent();
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: 'ignore' });
    const exited = once(child, 'exit');
    for (let i = 0; i < 400 && partialBytes(cacheDir) < kept + (1 << 20); i++) await sleep(25);
    await sleep(Math.floor(Math.random() * 700));
    child.kill('SIGKILL');
    await exited;
    await settled();
    const now = partialBytes(cacheDir);
    expect(now).toBeGreaterThan(kept);
    expect(layerBytesSent() - sentBefore - (now - kept)).toBeLessThanOrEqual(RANGE);
    kept = now;
  }
  const sentBefore = layerBytesSent();
  const res = await runCli(args, { env });
  expect(res).toExitWith(0);
  await settled();
  const data = JSON.parse(res.stdout).data;
  expect(data.digest).toBe(topDigest);
  expect(data.bytesReused).toBe(kept);
  // The last run fetched only what the partial lacked.
  expect(layerBytesSent() - sentBefore).toBe(
    statSync(join(work, 'layout-resume-copy', 'blobs', 'sha256', layerDigest.slice(7))).size - kept,
  );
  const ecr = sdk(dst.endpoint);
  try {
    const got = await ecr.send(
      new BatchGetImageCommand({ repositoryName: 'mirror/copy', imageIds: [{ imageTag: 'v1' }] }),
    );
    expect(got.images?.[0]?.imageId?.imageDigest).toBe(topDigest);
  } finally {
    ecr.destroy();
  }
  expect(readdirSync(join(cacheDir, 'partial-v1'))).toEqual([]);
}, 240_000);
