/**
 * One platform rule for every command: `--platform X` on a single-platform image for another platform fails with
 * PLATFORM_NOT_FOUND (exit 3) before any layer moves; only the small config is read to learn the image's platform.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ECRClient } from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../helpers/serve.js';
import { runCli, testEnv } from '../helpers/cli.js';
import { sdk, createRepo, pushBuilt } from '../helpers/ecr.js';
import { buildImage, writeLayout, type BuiltImage } from '../../src/oci/build.js';
import { classicDockerArchive } from '../helpers/images.js';

let serve: Serve;
let ecr: ECRClient;
let work: string;
let amd: BuiltImage;

beforeAll(async () => {
  serve = await startServe();
  ecr = sdk(serve.endpoint);
  work = mkdtempSync(join(tmpdir(), 'ecrx-hostile-platform-'));
  await createRepo(ecr, 'plat/app');
  await createRepo(ecr, 'plat/dst');
  const files = [[{ path: 'big', content: randomBytes(2 * 1024 * 1024) }], [{ path: 'small', content: 'x' }]];
  amd = await buildImage(files, { architecture: 'amd64' });
  await pushBuilt(ecr, 'plat/app', amd, 'v1');
  await writeLayout(join(work, 'layout'), [amd]);
  await classicDockerArchive(join(work, 'classic.tar'), amd, files, 'plat/app:v1');
});
afterAll(async () => {
  await serve.dispose();
  rmSync(work, { recursive: true, force: true });
});

const cli = (args: string[]) => runCli([...args, '--json'], { env: testEnv(serve.endpoint), cwd: work });
const count = (text: string, re: RegExp) => (text.match(re) ?? []).length;
/** The server's log once it has stopped growing: its lines reach us through a pipe, a little after the responses. */
async function settledLog(): Promise<string> {
  let last = serve.log();
  for (;;) {
    await new Promise((r) => setTimeout(r, 150));
    if (serve.log() === last) return last;
    last = serve.log();
  }
}

const cases: { name: string; args: () => string[]; output?: string; downloads?: number }[] = [
  {
    name: 'push of an OCI layout',
    args: () => ['push', join(work, 'layout'), 'plat/dst:l', '--platform', 'linux/s390x'],
    downloads: 0,
  },
  {
    name: 'push of a classic docker-archive',
    args: () => [
      'push',
      join(work, 'classic.tar'),
      'plat/dst:c',
      '--platform',
      'linux/arm64',
      '--cache-dir',
      join(work, 'c-push'),
    ],
    downloads: 0,
  },
  {
    name: 'pull',
    args: () => [
      'pull',
      'plat/app:v1',
      '--platform',
      'linux/s390x',
      '-o',
      'p-out',
      '--cache-dir',
      join(work, 'c-pull'),
    ],
    output: 'p-out',
  },
  {
    name: 'pull as docker-archive',
    args: () => [
      'pull',
      'plat/app:v1',
      '--platform',
      'linux/arm64',
      '--format',
      'docker-archive',
      '-o',
      'p.tar',
      '--cache-dir',
      join(work, 'c-pull2'),
    ],
    output: 'p.tar',
  },
  {
    name: 'export',
    args: () => ['export', 'plat/app:v1', 'e-out', '--platform', 'linux/s390x', '--cache-dir', join(work, 'c-export')],
    output: 'e-out',
  },
  {
    name: 'copy',
    args: () => [
      'copy',
      'plat/app:v1',
      'plat/dst:v1',
      '--platform',
      'linux/s390x',
      '--cache-dir',
      join(work, 'c-copy'),
    ],
  },
];

describe('--platform on a single-platform image of another platform', () => {
  test.each(cases)('$name: exit 3 PLATFORM_NOT_FOUND, no layer moved', async ({ args, output, downloads = 1 }) => {
    const before = await settledLog();
    const res = await cli(args());
    expect(res).toExitWith(3);
    const err = JSON.parse(res.stdout).error;
    expect(err.code).toBe('PLATFORM_NOT_FOUND');
    expect(err.message).toContain('single-platform image for linux/amd64');
    expect(err.details.available).toEqual(['linux/amd64']);
    const during = (await settledLog()).slice(before.length);
    // Only the config, and only where it comes from ECR.
    expect(count(during, /GetDownloadUrlForLayer 200/g)).toBe(downloads);
    expect(count(during, /GET blob 200/g)).toBe(downloads);
    expect(during).not.toMatch(/InitiateLayerUpload|PutImage/);
    if (output) expect(existsSync(join(work, output))).toBe(false);
  });

  test('the matching platform, given explicitly, pulls as usual and reports it', async () => {
    const res = await cli([
      'pull',
      'plat/app:v1',
      '--platform',
      'linux/amd64',
      '-o',
      'ok-out',
      '--cache-dir',
      join(work, 'c-ok'),
    ]);
    expect(res).toExitWith(0);
    const data = JSON.parse(res.stdout).data;
    expect(data.platform).toBe('linux/amd64');
    expect(data.layers.map((l: { cached: boolean }) => l.cached)).toEqual([false, false, false]);
  });
});
