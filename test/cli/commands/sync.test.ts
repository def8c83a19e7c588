/**
 * `ecrx sync` through the built CLI against a real `ecrx serve`: plan errors at their line and column, the dry run,
 * a run that copies what is missing and reports what cannot be read, a rerun that writes nothing, and shards that
 * together cover the plan exactly once.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchGetImageCommand,
  DescribeRepositoriesCommand,
  GetAuthorizationTokenCommand,
  ListImageReferrersCommand,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../../helpers/serve.js';
import { BIN, runCli, testEnv, type CliResult } from '../../helpers/cli.js';
import { createRepo, pushBuilt, putManifest, sdk, uploadBlob } from '../../helpers/ecr.js';
import { asSubject, spdxSbom, type Artifact } from '../../helpers/artifacts.js';
import { buildImage, buildIndex, type BuiltImage } from '../../../src/oci/build.js';

let serve: Serve;
let ecr: ECRClient;
let work: string;
const images: Record<string, BuiltImage> = {};
let indexDigest: string;
let sbom: Artifact;

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runCli([...args, '--cache-dir', join(work, 'cache')], { env: testEnv(serve.endpoint, env), cwd: work });
const json = (stdout: string) => JSON.parse(stdout);
const logLines = () => serve.log().split('\n');
let marks = 0;
/**
 * A point in the emulator's log with every call made before it logged: a marker call (GetAuthorizationToken, which
 * sync never makes) whose line is waited for, since a line lands on the log pipe after its response.
 */
async function logMark(): Promise<number> {
  const n = ++marks;
  await ecr.send(new GetAuthorizationTokenCommand({}));
  for (;;) {
    const at = logLines().flatMap((l, i) => (/ GetAuthorizationToken /.test(l) ? [i] : []));
    if (at.length >= n) return at[n - 1];
    await new Promise((r) => setTimeout(r, 20));
  }
}
/** The API operations logged between two marks. */
const callsBetween = (from: number, to: number) =>
  logLines()
    .slice(from + 1, to)
    .map((l) => l.split(' ')[1]);
const WRITES = ['PutImage', 'InitiateLayerUpload', 'UploadLayerPart', 'CompleteLayerUpload', 'CreateRepository'];
/** Runs `body` and returns the API operations it made. */
async function callsOf(body: () => Promise<void>): Promise<string[]> {
  const from = await logMark();
  await body();
  return callsBetween(from, await logMark());
}

const PLAN = `# mirror the src repositories
target: mirror/{repo}
create: {tagMutability: IMMUTABLE, scanOnPush: true}
sync:
  - source: src/app
    tags: ["v*"]
  - source: src/app
    semver: "^1"
    newest: 2
  - source: src/app:multi
    target: mirror/multi
  - source: 127.0.0.1:9/library/alpine:3.20   # a registry with nothing listening: NETWORK_ERROR
    target: mirror/alpine
`;

beforeAll(async () => {
  serve = await startServe();
  ecr = sdk(serve.endpoint);
  work = mkdtempSync(join(tmpdir(), 'ecrx-sync-'));
  await createRepo(ecr, 'src/app');
  for (const tag of ['v1', 'v2', '1.0', '1.1', '1.2', '2.0']) {
    images[tag] = await buildImage([[{ path: 'f', content: `image ${tag}` }]]);
    await pushBuilt(ecr, 'src/app', images[tag], tag);
  }
  const amd = await buildImage([[{ path: 'p', content: 'amd' }]], { architecture: 'amd64' });
  const arm = await buildImage([[{ path: 'p', content: 'arm' }]], { architecture: 'arm64' });
  await pushBuilt(ecr, 'src/app', amd);
  await pushBuilt(ecr, 'src/app', arm);
  const index = buildIndex([amd, arm]);
  indexDigest = index.digest;
  await putManifest(ecr, 'src/app', index.bytes, 'multi');
  // An SBOM of v1: a referrer, untagged, whose subject is v1.
  sbom = spdxSbom(asSubject(images.v1));
  for (const b of sbom.blobs) await uploadBlob(ecr, 'src/app', b.bytes);
  await putManifest(ecr, 'src/app', sbom.manifest.bytes);
  writeFileSync(join(work, 'plan.yaml'), PLAN);
});
afterAll(async () => {
  ecr?.destroy();
  await serve?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('a plan with mistakes: every one at plan.yaml:LINE:COL, exit 2, nothing called', async () => {
  writeFileSync(
    join(work, 'bad.yaml'),
    `sync:
  - source: src/app
    target: mirror/app
    tags: ["v*", 1.2]
  - source: src/app:v1
    traget: x
`,
  );
  let res!: CliResult;
  let j!: CliResult;
  const calls = await callsOf(async () => {
    res = await cli(['sync', 'bad.yaml']);
    j = await cli(['sync', 'bad.yaml', '--json']);
  });
  expect(calls).toEqual([]);
  expect(res).toExitWith(2);
  expect(res.stdout).toBe('');
  expect(res.stderr).toContain(
    'ecrx: error VALIDATION_ERROR: bad.yaml:4:18: sync[0].tags[1]: write it as a quoted string ("1.2"): YAML reads it as a number',
  );
  expect(res.stderr).toContain("bad.yaml:6:5: sync[1].traget: unknown key (did you mean 'target'?)");
  expect(res.stderr).toContain('hint: Fix the plan at the places named');
  expect(j).toExitWith(2);
  const err = json(j.stdout).error;
  expect(err.code).toBe('VALIDATION_ERROR');
  expect(err.details.problems[0]).toEqual({
    line: 4,
    column: 18,
    path: 'sync[0].tags[1]',
    message: 'write it as a quoted string ("1.2"): YAML reads it as a number',
  });
  const shard = await cli(['sync', 'plan.yaml', '--shard', '2/2']);
  expect(shard).toExitWith(2);
  expect(shard.stderr).toContain('Shard index 2 is out of range for 2 shards: indexes run from 0 to 1');
});

test('--dry-run lists each image with its size, names what cannot be read, and writes nothing', async () => {
  let res!: CliResult;
  let human!: CliResult;
  const calls = await callsOf(async () => {
    res = await cli(['sync', 'plan.yaml', '--dry-run', '--json']);
    human = await cli(['sync', 'plan.yaml', '--dry-run']);
  });
  expect(calls).toContain('DescribeImages');
  expect(calls.filter((op) => WRITES.includes(op))).toEqual([]);
  expect(res).toExitWith(10);
  const out = json(res.stdout);
  expect(out.success).toBe(false);
  expect(out.error.code).toBe('SYNC_INCOMPLETE');
  const byImage = Object.fromEntries(out.data.images.map((i: { source: string }) => [i.source, i]));
  expect(Object.keys(byImage).sort()).toEqual(
    [
      'src/app:v2',
      'src/app:v1',
      'src/app:1.2',
      'src/app:1.1',
      'src/app:multi',
      '127.0.0.1:9/library/alpine:3.20',
    ].sort(),
  );
  expect(byImage['src/app:v1']).toMatchObject({
    target: 'mirror/src/app',
    tag: 'v1',
    digest: images.v1.manifest.digest,
    error: null,
  });
  expect(byImage['src/app:v1'].bytes).toBeGreaterThan(0);
  expect(byImage['src/app:multi']).toMatchObject({ target: 'mirror/multi', digest: indexDigest });
  expect(byImage['127.0.0.1:9/library/alpine:3.20'].error.code).toBe('NETWORK_ERROR');
  expect(human).toExitWith(10);
  expect(human.stdout).toMatch(/^SOURCE +TARGET +SIZE$/m);
  expect(human.stdout).toMatch(/^src\/app:1\.2 +mirror\/src\/app:1\.2 +\d+ B$/m);
  expect(human.stdout).toMatch(/Dry run: 6 images would be synced, .* nothing was written\.$/m);
});

test('a run copies every readable image, creates targets as asked, reports the rest; a rerun writes nothing', async () => {
  const res = await cli(['sync', 'plan.yaml', '--json']);
  expect(res).toExitWith(10);
  const out = json(res.stdout);
  expect(out.error).toMatchObject({
    code: 'SYNC_INCOMPLETE',
    message: '1 image of 6 failed to sync; the others are in place',
  });
  expect(out.data.totals).toMatchObject({ images: 6, moved: 5, skipped: 0, failed: 1 });
  const failed = out.data.images.filter((i: { error: unknown }) => i.error);
  expect(failed).toHaveLength(1);
  expect(failed[0]).toMatchObject({ source: '127.0.0.1:9/library/alpine:3.20', error: { code: 'NETWORK_ERROR' } });
  for (const tag of ['v1', 'v2', '1.1', '1.2']) {
    const got = await ecr.send(
      new BatchGetImageCommand({ repositoryName: 'mirror/src/app', imageIds: [{ imageTag: tag }] }),
    );
    expect(got.images?.[0].imageId?.imageDigest).toBe(images[tag].manifest.digest);
  }
  const notPicked = await ecr.send(
    new BatchGetImageCommand({
      repositoryName: 'mirror/src/app',
      imageIds: [{ imageTag: '1.0' }, { imageTag: '2.0' }],
    }),
  );
  expect(notPicked.images).toHaveLength(0);
  const multi = await ecr.send(
    new BatchGetImageCommand({ repositoryName: 'mirror/multi', imageIds: [{ imageTag: 'multi' }] }),
  );
  expect(multi.images?.[0].imageId?.imageDigest).toBe(indexDigest);
  const repo = (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['mirror/src/app'] })))
    .repositories?.[0];
  expect(repo).toMatchObject({ imageTagMutability: 'IMMUTABLE', imageScanningConfiguration: { scanOnPush: true } });

  let again!: CliResult;
  const calls = await callsOf(async () => {
    again = await cli(['sync', 'plan.yaml']);
  });
  expect(calls).toContain('DescribeImages');
  expect(calls.filter((op) => WRITES.includes(op))).toEqual([]);
  expect(again).toExitWith(10);
  expect(again.stdout).toMatch(/^src\/app:v1 +mirror\/src\/app:v1 +[0-9a-f]{12} +- +up to date$/m);
  expect(again.stdout).toMatch(/^6 images: 0 copied \(0 B\), 5 up to date, 1 failed, in /m);
  expect(again.stderr).toContain('ecrx: error SYNC_INCOMPLETE: 1 image of 6 failed to sync');
});

test("4 shards side by side under ECR's quotas cover every image exactly once; the index from the engine variable", async () => {
  writeFileSync(
    join(work, 'shards.yaml'),
    `shards: 4
target: sharded/{name}
sync:
  - source: src/app
    tags: ["*"]
`,
  );
  // The same data, served with ECR's per-operation rates enforced (ThrottlingException over them).
  const quotas = await startServe(['--quotas', 'ecr'], serve.dataDir);
  try {
    const shard = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      runCli(['sync', 'shards.yaml', '--json', '--cache-dir', join(work, 'cache-shards'), ...args], {
        env: testEnv(quotas.endpoint, env),
        cwd: work,
      });
    const runs = await Promise.all([
      shard([], { JOB_COMPLETION_INDEX: '0' }),
      shard([], { AWS_BATCH_JOB_ARRAY_INDEX: '1' }),
      shard(['--shard', '2/4']),
      shard(['--shard', '4'], { JOB_COMPLETION_INDEX: '3' }),
    ]);
    const seen: string[] = [];
    runs.forEach((r, i) => {
      expect(r).toExitWith(0);
      const data = json(r.stdout).data;
      expect(data.shard).toEqual({ index: i, count: 4 });
      expect(data.totals.failed).toBe(0);
      seen.push(...data.images.map((img: { source: string }) => img.source));
    });
    expect(seen.sort()).toEqual(['1.0', '1.1', '1.2', '2.0', 'multi', 'v1', 'v2'].map((t) => `src/app:${t}`).sort());
    const missing = await shard([]);
    expect(missing).toExitWith(2);
    expect(json(missing.stdout).error.message).toContain('4 shards, but no shard index');
  } finally {
    await quotas.stop();
  }
});

test('when ECR throttles, every image still lands and the report says the quotas set the pace', async () => {
  // The same images, served by an endpoint that answers ThrottlingException to 30% of calls.
  const dir = mkdtempSync(join(tmpdir(), 'ecrx-sync-throttle-'));
  const seed = await startServe([], dir);
  const seedEcr = sdk(seed.endpoint);
  try {
    await createRepo(seedEcr, 'src/app');
    for (const tag of ['v1', 'v2', '1.1']) await pushBuilt(seedEcr, 'src/app', images[tag], tag);
  } finally {
    seedEcr.destroy();
    await seed.stop();
  }
  const throttled = await startServe(['--fault-throttle', '0.3', '--fault-seed', '7'], dir);
  try {
    writeFileSync(join(work, 'throttled.yaml'), 'sync:\n  - {source: src/app, tags: ["*"], target: throttled/app}\n');
    const run = (extra: string[]) =>
      runCli(['sync', 'throttled.yaml', '--cache-dir', join(work, 'cache-throttled'), ...extra], {
        env: testEnv(throttled.endpoint),
        cwd: work,
      });
    const res = await run([]);
    expect(res).toExitWith(0);
    expect(res.stdout).toMatch(/^3 images: 3 copied \(.*\), 0 up to date, 0 failed, in /m);
    expect(res.stdout).toMatch(/^ECR's API quotas set the pace: .* spent waiting on them/m);
    expect(throttled.log()).toContain('ThrottlingException');
    const again = await run(['--json']);
    expect(again).toExitWith(0);
    expect(json(again.stdout).data.totals).toMatchObject({ images: 3, moved: 0, skipped: 3, failed: 0 });
  } finally {
    await throttled.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("referrers: true copies an image's referrers, and a rerun finishes referrers a cut-off run left behind", async () => {
  writeFileSync(
    join(work, 'referrers.yaml'),
    'referrers: true\nsync:\n  - {source: src/app:v1, target: signed/app}\n  - {source: src/app:v2, target: signed/app}\n',
  );
  const referrersOf = async (repositoryName: string) =>
    (
      await ecr.send(
        new ListImageReferrersCommand({ repositoryName, subjectId: { imageDigest: images.v1.manifest.digest } }),
      )
    ).referrers?.map((r) => r.digest);
  // As a run cut off after the image and before its SBOM would have left it: the image there, the referrer not.
  await createRepo(ecr, 'signed/app');
  await pushBuilt(ecr, 'signed/app', images.v1, 'v1');
  expect(await referrersOf('signed/app')).toEqual([]);
  const res = await cli(['sync', 'referrers.yaml', '--json']);
  expect(res).toExitWith(0);
  expect(json(res.stdout).data.totals).toMatchObject({ images: 2, moved: 2, skipped: 0, failed: 0 });
  expect(await referrersOf('signed/app')).toEqual([sbom.manifest.digest]);
  let again!: CliResult;
  const calls = await callsOf(async () => {
    again = await cli(['sync', 'referrers.yaml', '--json']);
  });
  expect(calls).toContain('ListImageReferrers');
  expect(calls.filter((op) => WRITES.includes(op))).toEqual([]);
  expect(again).toExitWith(0);
  expect(json(again.stdout).data.totals).toMatchObject({ images: 2, moved: 0, skipped: 2, failed: 0 });
});

test('Ctrl-C part-way: exit 130 after the images in flight stop; the rerun moves only the rest, digests equal', async () => {
  // A slow link, one image at a time, so the run is still going when the first image is reported done.
  const slow = await startServe(['--latency', '40'], serve.dataDir);
  const slowEcr = sdk(slow.endpoint);
  try {
    writeFileSync(join(work, 'cut.yaml'), 'sync:\n  - {source: src/app, tags: ["*"], target: cut/app}\n');
    const args = ['sync', 'cut.yaml', '-j', '1', '--cache-dir', join(work, 'cache-cut')];
    const child = spawn(process.execPath, [BIN, ...args], { env: testEnv(slow.endpoint), cwd: work });
    let stderr = '';
    let interrupted = false;
    child.stdout.resume();
    child.stderr.on('data', (d) => {
      stderr += d;
      // The first image's line: interrupt then, with the other six still to go.
      if (!interrupted && /^copied .*: src\/app:/m.test(stderr)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect(interrupted).toBe(true);
    expect(code).toBe(130);
    expect(stderr).toContain('ecrx: error INTERRUPTED');
    const rerun = await runCli([...args, '--json'], { env: testEnv(slow.endpoint), cwd: work });
    expect(rerun).toExitWith(0);
    const totals = json(rerun.stdout).data.totals;
    expect(totals.images).toBe(7);
    expect(totals.failed).toBe(0);
    expect(totals.skipped).toBeGreaterThanOrEqual(1);
    expect(totals.moved).toBeLessThan(7);
    for (const tag of ['v1', 'v2', '1.0', '1.1', '1.2', '2.0']) {
      const got = await slowEcr.send(
        new BatchGetImageCommand({ repositoryName: 'cut/app', imageIds: [{ imageTag: tag }] }),
      );
      expect(got.images?.[0].imageId?.imageDigest).toBe(images[tag].manifest.digest);
    }
    const multi = await slowEcr.send(
      new BatchGetImageCommand({ repositoryName: 'cut/app', imageIds: [{ imageTag: 'multi' }] }),
    );
    expect(multi.images?.[0].imageId?.imageDigest).toBe(indexDigest);
  } finally {
    slowEcr.destroy();
    await slow.stop();
  }
});
