/**
 * `ecrx serve --quotas ecr`: ECR's default request rates as token buckets. The real client, which paces each
 * operation under its quota, must finish a pull and a push of many small blobs without being throttled; a burst beyond a rate must be answered
 * ThrottlingException exactly as ECR answers it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe, type Serve } from '../helpers/serve.js';
import { runCli, testEnv } from '../helpers/cli.js';
import { sdk, createRepo, pushImage, makeImage } from '../helpers/ecr.js';
import { rawCall } from '../helpers/raw-api.js';

let serve: Serve;
let work: string;
const LAYERS = 150;
const TAGS = Array.from({ length: 24 }, (_, i) => `t${i}`);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ecrx-quotas-'));
  // Set up without quotas (the test's own SDK client does not retry), then serve the same data under them.
  const setup = await startServe([], join(work, 'data'));
  const ecr = sdk(setup.endpoint);
  await createRepo(ecr, 'many');
  await createRepo(ecr, 'copy');
  await pushImage(ecr, 'many', makeImage(Array.from({ length: LAYERS }, (_, i) => 100 + i)), 'v1');
  ecr.destroy();
  await setup.stop();
  serve = await startServe(['--quotas', 'ecr'], join(work, 'data'));
});

afterAll(async () => {
  await serve?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const run = (args: string[]) => runCli(args, { env: testEnv(serve.endpoint), cwd: work });
const throttled = (op: string) =>
  serve
    .log()
    .split('\n')
    .filter((l) => l.includes(` ${op} 400 ThrottlingException `)).length;

test('a pull and a push of many small blobs finish under ECR quotas, the client pacing itself under them', async () => {
  const pulled = await run(['pull', 'many:v1', '-o', 'layout', '--cache-dir', join(work, 'c1'), '-j', '16', '-q']);
  expect(pulled).toExitWith(0);
  // 25 tags put one after another would go past PutImage's 10/s; the client's pacing keeps them under it.
  // (The direct burst in the next test shows what going past a rate is answered.)
  const tagArgs = TAGS.flatMap((t) => ['-t', t]);
  const pushed = await run([
    'push',
    'layout',
    'copy:v1',
    ...tagArgs,
    '--cache-dir',
    join(work, 'c2'),
    '-j',
    '16',
    '-q',
  ]);
  expect(pushed).toExitWith(0);
  expect(throttled('PutImage')).toBe(0);
  const listed = await run(['tags', 'copy', '--json']);
  expect(listed).toExitWith(0);
  expect(listed.stdout).toContain('"t23"');
});

test("a burst beyond PutImage's 10/s is answered ThrottlingException exactly as ECR does", async () => {
  // PutImage's quota is the lowest (10/s), so 60 calls at once exceed it however slowly a busy machine sends them.
  // The quota is checked before the body is read: calls let through fail validation (no manifest), which is fine.
  const answers = await Promise.all(
    Array.from({ length: 60 }, () => rawCall(serve.endpoint, 'PutImage', { repositoryName: 'copy' })),
  );
  const isThrottle = (a: { body: unknown }) => (a.body as { __type?: string }).__type === 'ThrottlingException';
  const refused = answers.filter(isThrottle);
  expect(answers.filter((a) => !isThrottle(a)).length).toBeGreaterThan(0);
  expect(refused.length).toBeGreaterThan(0);
  for (const a of refused) {
    expect(a.status).toBe(400);
    expect(a.body).toEqual({ __type: 'ThrottlingException', message: 'Rate exceeded' });
  }
  // Operations without a quota are never refused.
  const listings = await Promise.all(
    Array.from({ length: 50 }, () => rawCall(serve.endpoint, 'DescribeRepositories', {})),
  );
  expect(listings.every((a) => a.status === 200)).toBe(true);
});
