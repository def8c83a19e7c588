/** Pulls under injected faults end with the same bytes as a clean pull. */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startServe, type Serve } from '../../helpers/serve.js';
import { spawnSync } from 'node:child_process';
import { BIN, runCli, testEnv, type CliResult } from '../../helpers/cli.js';
import { sdk, createRepo, pushBuilt } from '../../helpers/ecr.js';
import { sha256File } from '../../helpers/files.js';
import { buildImage, type BuiltImage } from '../../../src/oci/build.js';

let work: string;
let image: BuiltImage;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ecrx-pull-faults-'));
  // Incompressible layers of a few MiB, so cuts land mid-body.
  image = await buildImage([
    [{ path: 'a.bin', content: randomBytes(3 * 1024 * 1024) }],
    [{ path: 'b.bin', content: randomBytes(2 * 1024 * 1024) }],
    [{ path: 'c.bin', content: randomBytes(1024 * 1024) }],
    [{ path: 'd.txt', content: 'small' }],
  ]);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function pullUnder(
  faults: string[],
  name: string,
  extra: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<{ serve: Serve; res: CliResult }> {
  // Seed a clean emulator, then restart it on the same data with the faults switched on.
  const clean = await startServe();
  const ecr = sdk(clean.endpoint);
  await createRepo(ecr, 'faulty/app');
  await pushBuilt(ecr, 'faulty/app', image, 'v1');
  ecr.destroy();
  await clean.stop();
  const serve = await startServe(faults, clean.dataDir);
  const res = await runCli(
    [
      'pull',
      'faulty/app:v1',
      '-o',
      join(work, name),
      '--cache-dir',
      join(work, `cache-${name}`),
      '--json',
      '-j',
      '4',
      ...extra,
    ],
    { env: testEnv(serve.endpoint, env) },
  );
  return { serve, res };
}

/** Stops a faulty emulator and removes the data directory it was restarted on (not its own, so dispose keeps it). */
async function dispose(serve: Serve): Promise<void> {
  await serve.dispose();
  rmSync(serve.dataDir, { recursive: true, force: true });
}

function expectSameBytes(dir: string) {
  for (const b of [image.manifest, image.config, ...image.layers])
    expect(sha256File(join(dir, 'blobs', 'sha256', b.digest.slice(7)))).toBe(b.digest);
}

// Seed 66's first draw is 0.145, so the first request of each run meets its fault whatever the order of the rest.
const cases: [string, string[], RegExp][] = [
  ['cut downloads (30%)', ['--fault-cut', '0.3', '--fault-seed', '66'], /GET blob 20[06] cut at byte/],
  [
    'throttling (20%) and server errors (10%)',
    ['--fault-throttle', '0.2', '--fault-server-error', '0.1', '--fault-seed', '66'],
    /(ThrottlingException|ServerException)/,
  ],
  ['S3 503 SlowDown (30%)', ['--fault-slowdown', '0.3', '--fault-seed', '66'], /GET blob 503 SlowDown/],
  ['expired URLs', ['--fault-expire', '0.4', '--fault-seed', '66'], /GET blob 403 AccessDenied/],
];

describe('pull under faults', () => {
  test.each(cases)('%s ends with identical bytes', async (_name, faults, fired) => {
    const name = faults.join('_').replace(/[^a-z0-9]+/gi, '-');
    const { serve, res } = await pullUnder(faults, name);
    try {
      expect(res).toExitWith(0);
      expect(JSON.parse(res.stdout).data.digest).toBe(image.manifest.digest);
      expectSameBytes(join(work, name));
      // The fault really happened during this run (a check that can fail).
      expect(serve.log()).toMatch(fired);
    } finally {
      await dispose(serve);
    }
  });

  test('URLs that really expire mid-transfer (1 s TTL on a slow, cut link) are renewed', async () => {
    const { serve, res } = await pullUnder(
      ['--url-ttl', '1', '--fault-cut', '1', '--fault-bandwidth', String(1024 * 1024), '--fault-seed', '66'],
      'really-expire',
    );
    try {
      expect(res).toExitWith(0);
      expectSameBytes(join(work, 'really-expire'));
      expect(serve.log()).toMatch(/GET blob 403 AccessDenied/);
    } finally {
      await dispose(serve);
    }
  });

  test('a cut download resumes with Range instead of starting over', async () => {
    const { serve, res } = await pullUnder(['--fault-cut', '0.5', '--fault-seed', '66'], 'range');
    try {
      expect(res).toExitWith(0);
      expectSameBytes(join(work, 'range'));
      expect(serve.log()).toMatch(/GET blob 206/);
    } finally {
      await dispose(serve);
    }
  });

  test('a download that never moves a byte gives up after --max-attempts tries: exit 6, nothing left behind', async () => {
    const { serve, res } = await pullUnder(['--fault-slowdown', '1'], 'stalled', ['--max-attempts', '3']);
    try {
      expect(res).toExitWith(6);
      const err = JSON.parse(res.stdout).error;
      expect(err.code).toBe('NETWORK_ERROR');
      expect(err.message).toMatch(/failed 3 times without moving a byte; last: SlowDown/);
      expect(err.hint).toMatch(/run the same command again/);
      // Three tries of each blob, no more.
      const tries = serve.log().match(/GET blob 503 SlowDown/g) ?? [];
      expect(tries.length).toBeGreaterThanOrEqual(3);
      expect(tries.length).toBeLessThanOrEqual(3 * 4);
      expect(existsSync(join(work, 'stalled'))).toBe(false);
      expect(readdirSync(join(work, 'cache-stalled', 'tmp'))).toEqual([]);
    } finally {
      await dispose(serve);
    }
  });

  test('ECR throttling that never stops gives up after AWS_MAX_ATTEMPTS calls with THROTTLED (exit 6)', async () => {
    const { serve, res } = await pullUnder(['--fault-throttle', '1'], 'throttled', [], { AWS_MAX_ATTEMPTS: '2' });
    try {
      expect(res).toExitWith(6);
      expect(JSON.parse(res.stdout).error).toMatchObject({
        code: 'THROTTLED',
        details: { awsError: 'ThrottlingException' },
      });
      expect(serve.log().match(/BatchGetImage/g)).toHaveLength(2);
      expect(existsSync(join(work, 'throttled'))).toBe(false);
    } finally {
      await dispose(serve);
    }
  });

  test('a write that fails mid-download (file-size limit) stops the pull with exit 8 and leaves nothing behind', async () => {
    const { serve } = await pullUnder([], 'fsize-seed');
    try {
      const out = join(work, 'fsize');
      const cache = join(work, 'cache-fsize');
      // 1024 blocks is 512 KiB in dash and 1 MiB in bash: either way below the 2 and 3 MiB layers.
      const r = spawnSync(
        'sh',
        [
          '-c',
          `ulimit -f 1024 && exec "${process.execPath}" "${BIN}" pull faulty/app:v1 -o "${out}" --cache-dir "${cache}" --json`,
        ],
        { env: testEnv(serve.endpoint), encoding: 'utf8', timeout: 60_000 },
      );
      expect({ code: r.status, stdout: r.stdout, stderr: r.stderr }).toExitWith(8);
      const err = JSON.parse(r.stdout).error;
      expect(err.code).toBe('OUTPUT_ERROR');
      expect(err.message).toMatch(/File too large/);
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(join(cache, 'tmp'))).toEqual([]);
      for (const l of image.layers.filter((b) => b.size > 1024 * 1024))
        expect(existsSync(join(cache, 'blobs-v1', 'sha256', l.digest.slice(7)))).toBe(false);
    } finally {
      await dispose(serve);
    }
  });
});
