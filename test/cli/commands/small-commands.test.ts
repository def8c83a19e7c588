/**
 * The small commands people reach for, through the CLI against `ecrx serve`: tag (no blob moves; immutable tags
 * explained with their exclusion filters), digest (the digest and nothing else), copy --all-tags, repos create,
 * and the dual-stack endpoint and hosts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BatchGetImageCommand,
  DescribeRepositoriesCommand,
  ListImagesCommand,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../../helpers/serve.js';
import { runCli, testEnv } from '../../helpers/cli.js';
import { sdk, createRepo, pushBuilt, putManifest } from '../../helpers/ecr.js';
import { buildImage, buildIndex, type BuiltImage } from '../../../src/oci/build.js';

let serve: Serve;
let ecr: ECRClient;
let work: string;
let one: BuiltImage;
let two: BuiltImage;
let indexDigest: string;

const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
  runCli(args, { env: testEnv(serve.endpoint, { ECRX_CACHE_DIR: join(work, 'cache'), ...extra }), cwd: work });
const json = (stdout: string) => JSON.parse(stdout);

beforeAll(async () => {
  serve = await startServe();
  ecr = sdk(serve.endpoint);
  work = mkdtempSync(join(tmpdir(), 'ecrx-small-'));
  await createRepo(ecr, 'small/app');
  one = await buildImage([[{ path: 'v', content: '1' }]]);
  two = await buildImage([[{ path: 'v', content: '2' }]]);
  await pushBuilt(ecr, 'small/app', one, '1.0');
  await pushBuilt(ecr, 'small/app', two, '2.0');
  const amd = await buildImage([[{ path: 'p', content: 'amd' }]], { architecture: 'amd64' });
  const arm = await buildImage([[{ path: 'p', content: 'arm' }]], { architecture: 'arm64' });
  await pushBuilt(ecr, 'small/app', amd);
  await pushBuilt(ecr, 'small/app', arm);
  const index = buildIndex([amd, arm]);
  indexDigest = index.digest;
  await putManifest(ecr, 'small/app', index.bytes, 'multi');
});
afterAll(async () => {
  ecr?.destroy();
  await serve?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

const tagsOf = async (repositoryName: string, digest: string) =>
  ((await ecr.send(new ListImagesCommand({ repositoryName }))).imageIds ?? [])
    .filter((i) => i.imageDigest === digest)
    .map((i) => i.imageTag)
    .sort();

test('digest prints the digest and nothing else, for a tag, an index, and a digest that exists', async () => {
  const res = await cli(['digest', 'small/app:1.0']);
  expect(res).toExitWith(0);
  expect(res.stdout).toBe(`${one.manifest.digest}\n`);
  expect(res.stderr).toBe('');
  expect((await cli(['digest', 'small/app:multi'])).stdout).toBe(`${indexDigest}\n`);
  expect((await cli(['digest', `small/app@${two.manifest.digest}`])).stdout).toBe(`${two.manifest.digest}\n`);
  const j = await cli(['digest', 'small/app:1.0', '--json']);
  expect(json(j.stdout).data).toEqual({
    image: 'small/app:1.0',
    repository: 'small/app',
    tag: '1.0',
    digest: one.manifest.digest,
    mediaType: one.manifest.mediaType,
    status: 'ACTIVE',
    registryId: '000000000000',
  });
  const missing = await cli(['digest', 'small/app:none']);
  expect(missing).toExitWith(3);
  expect(missing.stdout).toBe('');
  expect(await cli(['digest', `small/app@sha256:${'0'.repeat(64)}`])).toExitWith(3);
});

test('tag adds tags with the same manifest bytes and moves no blob', async () => {
  const before = serve
    .log()
    .split('\n')
    .filter((l) => /UploadLayerPart|InitiateLayerUpload|blob/.test(l)).length;
  const res = await cli(['tag', 'small/app:1.0', 'stable', '1', '--json']);
  expect(res).toExitWith(0);
  expect(json(res.stdout).data).toEqual({
    image: 'small/app:1.0',
    repository: 'small/app',
    digest: one.manifest.digest,
    mediaType: one.manifest.mediaType,
    tags: [
      { tag: 'stable', status: 'tagged' },
      { tag: '1', status: 'tagged' },
    ],
  });
  expect(
    serve
      .log()
      .split('\n')
      .filter((l) => /UploadLayerPart|InitiateLayerUpload|blob/.test(l)).length,
  ).toBe(before);
  expect(await tagsOf('small/app', one.manifest.digest)).toEqual(['1', '1.0', 'stable']);
  const got = await ecr.send(
    new BatchGetImageCommand({ repositoryName: 'small/app', imageIds: [{ imageTag: 'stable' }] }),
  );
  expect(got.images?.[0].imageManifest).toBe(one.manifest.bytes.toString('utf8'));
  // an index is tagged as the index; a tag it already has is reported, not refused
  const idx = await cli(['tag', 'small/app:multi', 'multi', 'all-platforms']);
  expect(idx).toExitWith(0);
  expect(idx.stdout).toContain(
    `Tagged small/app@${indexDigest} as multi (already), all-platforms (manifest only: no blob moved)`,
  );
  // a tag moves on a mutable repository
  expect(await cli(['tag', 'small/app:2.0', 'stable'])).toExitWith(0);
  expect(await tagsOf('small/app', two.manifest.digest)).toEqual(['2.0', 'stable']);
  expect(await cli(['tag', 'small/app:1.0', '-bad'])).toExitWith(2);
});

test('tag on an immutable repository explains which tags may move (exclusion filters)', async () => {
  const created = await cli([
    'repos',
    'create',
    'small/locked',
    '--tag-mutability',
    'IMMUTABLE_WITH_EXCLUSION',
    '--mutability-exclusion',
    'dev-*',
    '--mutability-exclusion',
    'latest',
    '--json',
  ]);
  expect(created).toExitWith(0);
  await pushBuilt(ecr, 'small/locked', one, 'release');
  await pushBuilt(ecr, 'small/locked', two, 'next');
  expect(await cli(['tag', 'small/locked:release', 'dev-1', 'latest'])).toExitWith(0);
  expect(await cli(['tag', 'small/locked:next', 'dev-1', 'latest'])).toExitWith(0); // exempt tags move
  const res = await cli(['tag', 'small/locked:next', 'dev-2', 'release', '--json']);
  expect(res).toExitWith(7);
  expect(json(res.stdout).error).toEqual({
    code: 'TAG_IMMUTABLE',
    message:
      "Tag 'release' already exists in small/locked on another image, and tags are immutable in small/locked except those matching 'dev-*', 'latest'",
    hint: "Use a new tag, or one that matches an exclusion filter ('dev-*', 'latest'), which may move.",
    details: {
      tagged: ['dev-2'],
      failedTag: 'release',
      repository: 'small/locked',
      digest: two.manifest.digest,
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      exclusionFilters: ['dev-*', 'latest'],
    },
  });
  expect(await tagsOf('small/locked', two.manifest.digest)).toEqual(['dev-1', 'dev-2', 'latest', 'next']);
});

test('repos create sets mutability, scan on push and encryption, and refuses what ECR would', async () => {
  const res = await cli([
    'repos',
    'create',
    'small/kms',
    '--tag-mutability',
    'immutable',
    '--scan-on-push',
    '--encryption',
    'KMS',
    '--kms-key',
    'alias/ecr',
    '--json',
  ]);
  expect(res).toExitWith(0);
  expect(json(res.stdout).data).toEqual({
    name: 'small/kms',
    uri: '000000000000.dkr.ecr.us-east-1.amazonaws.com/small/kms',
    registryId: '000000000000',
    tagMutability: 'IMMUTABLE',
    mutabilityExclusions: [],
    scanOnPush: true,
    encryption: 'KMS',
    kmsKey: 'alias/ecr',
  });
  const repo = (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['small/kms'] }))).repositories![0];
  expect(repo).toMatchObject({
    imageTagMutability: 'IMMUTABLE',
    imageScanningConfiguration: { scanOnPush: true },
    encryptionConfiguration: { encryptionType: 'KMS', kmsKey: 'alias/ecr' },
  });

  const again = await cli(['repos', 'create', 'small/kms']);
  expect(again).toExitWith(7);
  expect(again.stderr).toContain('ALREADY_EXISTS: Repository small/kms already exists');
  for (const [args, message] of [
    [['repos', 'create', 'Small'], 'Invalid repository name'],
    [
      ['repos', 'create', 'small/x', '--tag-mutability', 'MUTABLE_WITH_EXCLUSION'],
      'needs at least one --mutability-exclusion',
    ],
    [['repos', 'create', 'small/x', '--mutability-exclusion', 'a*'], 'goes with --tag-mutability'],
    [['repos', 'create', 'small/x', '--kms-key', 'k'], '--kms-key goes with --encryption KMS'],
    [['repos', 'create', 'small/x', '--encryption', 'ROT13'], '--encryption must be one of AES256, KMS, KMS_DSSE'],
  ] as const) {
    const r = await cli([...args]);
    expect(r).toExitWith(2);
    expect(r.stderr).toContain(message);
  }
  // `repos` alone still lists
  expect(
    json((await cli(['repos', '--json'])).stdout).data.repositories.map((r: { name: string }) => r.name),
  ).toContain('small/kms');
});

test('copy --all-tags copies each image once with all its tags, and names the archived ones it skipped', async () => {
  expect(await cli(['archive', 'small/app:2.0'])).toExitWith(0);
  const res = await cli(['copy', '--all-tags', 'small/app', 'small/backup', '--json']);
  expect(res).toExitWith(3); // the destination does not exist yet
  await createRepo(ecr, 'small/backup');
  const ok = await cli(['copy', '--all-tags', 'small/app', 'small/backup', '--json']);
  expect(ok).toExitWith(0);
  const data = json(ok.stdout).data;
  expect(data.images.map((i: { digest: string; tags: string[] }) => [i.digest, [...i.tags].sort()]).sort()).toEqual(
    [
      [one.manifest.digest, ['1', '1.0']],
      [indexDigest, ['all-platforms', 'multi']],
    ].sort(),
  );
  expect(data.skippedArchived).toEqual([
    { digest: two.manifest.digest, tags: expect.arrayContaining(['2.0', 'stable']) },
  ]);
  expect(await tagsOf('small/backup', one.manifest.digest)).toEqual(['1', '1.0']);
  expect(await tagsOf('small/backup', indexDigest)).toEqual(['all-platforms', 'multi']);
  const text = await cli(['copy', '--all-tags', 'small/app', 'small/backup']);
  expect(text.stdout).toContain('Copied 2 images (4 tags) from small/app to small/backup: 0 blobs transferred');
  expect(text.stdout).toContain('Skipped 1 archived images');
  const oneImage = await cli(['copy', '--all-tags', 'small/app:1.0', 'small/backup']);
  expect(oneImage).toExitWith(2);
  expect(oneImage.stderr).toContain('--all-tags copies whole repositories');
});

test('dual-stack: pasted dkr-ecr hosts work, and --dual-stack / AWS_USE_DUALSTACK_ENDPOINT pick ecr.<region>.api.aws', async () => {
  const pulled = await cli([
    'pull',
    '000000000000.dkr-ecr.us-east-1.on.aws/small/app:1.0',
    '-o',
    join(work, 'ds'),
    '--json',
    '--endpoint-url',
    serve.endpoint,
  ]);
  expect(pulled).toExitWith(0);
  expect(json(pulled.stdout).data.image).toBe('000000000000.dkr-ecr.us-east-1.on.aws/small/app:1.0');

  // With no endpoint given, the SDK's choice of host shows in the CONNECT a proxy receives (refused, so nothing
  // leaves this machine).
  const seen: string[] = [];
  const proxy = http.createServer((_req, res) => res.writeHead(502).end());
  proxy.on('connect', (req, socket) => {
    seen.push(String(req.url));
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  try {
    const env = (extra: NodeJS.ProcessEnv) => ({ ...testEnv(undefined, { HTTPS_PROXY: proxyUrl, ...extra }) });
    const flag = await runCli(['tags', 'small/app', '--dual-stack', '--max-attempts', '1', '--region', 'eu-west-1'], {
      env: env({}),
    });
    expect(flag).toExitWith(6);
    const viaEnv = await runCli(['tags', 'small/app', '--max-attempts', '1', '--region', 'eu-west-1'], {
      env: env({ AWS_USE_DUALSTACK_ENDPOINT: 'true' }),
    });
    expect(viaEnv).toExitWith(6);
    const pasted = await runCli(
      ['digest', '123456789012.dkr-ecr.ap-south-1.on.aws/small/app:1', '--max-attempts', '1'],
      { env: env({}) },
    );
    expect(pasted).toExitWith(6);
    const classic = await runCli(['tags', 'small/app', '--max-attempts', '1', '--region', 'eu-west-1'], {
      env: env({}),
    });
    expect(classic).toExitWith(6);
    // and AWS_USE_DUALSTACK_ENDPOINT does not get in the way of a custom endpoint such as ecrx serve
    expect(await cli(['digest', 'small/app:1.0', '--dual-stack'], { AWS_USE_DUALSTACK_ENDPOINT: 'true' })).toExitWith(
      0,
    );
    expect(seen).toEqual([
      'ecr.eu-west-1.api.aws:443',
      'ecr.eu-west-1.api.aws:443',
      'ecr.ap-south-1.api.aws:443',
      'api.ecr.eu-west-1.amazonaws.com:443',
    ]);
  } finally {
    await new Promise<void>((r) => proxy.close(() => r()));
  }
});

test('references to ECR Public and other registries are named for what they are (UNSUPPORTED_REGISTRY, exit 2)', async () => {
  // pull, inspect, export and copy read other registries (pull-registry.test.ts); the ECR-only commands name them.
  const pub = await cli(['tag', 'public.ecr.aws/docker/library/alpine:3.20', 'x', '--json']);
  expect(pub).toExitWith(2);
  expect(json(pub.stdout).error).toMatchObject({
    code: 'UNSUPPORTED_REGISTRY',
    details: { registry: 'public.ecr.aws', registryKind: 'ecr-public', repository: 'docker/library/alpine' },
  });
  const other = await cli(['push', 'layout-dir', 'ghcr.io/org/app:1']);
  expect(other).toExitWith(2);
  expect(other.stderr).toContain("'ghcr.io/org/app:1' names the registry ghcr.io, which is not an Amazon ECR registry");
});
