/** The everyday commands through the built CLI against a real `ecrx serve`, JSON shapes asserted field by field. */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { BatchGetImageCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../../helpers/serve.js';
import { runCli, testEnv } from '../../helpers/cli.js';
import { sdk, createRepo, pushBuilt, putManifest } from '../../helpers/ecr.js';
import { startProxy } from '../../helpers/proxy.js';
import { buildImage, buildIndex, type BuiltImage } from '../../../src/oci/build.js';

let serve: Serve;
let ecr: ECRClient;
let work: string;
let v1: BuiltImage;
let v2: BuiltImage;
let amd: BuiltImage;
let arm: BuiltImage;
let indexDigest: string;

const cli = (args: string[], env?: NodeJS.ProcessEnv) =>
  runCli(args, { env: env ?? testEnv(serve.endpoint), cwd: work });
const json = (stdout: string) => JSON.parse(stdout);
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

beforeAll(async () => {
  serve = await startServe();
  ecr = sdk(serve.endpoint);
  work = mkdtempSync(join(tmpdir(), 'ecrx-cmds-'));
  await createRepo(ecr, 'cmd/app');
  await createRepo(ecr, 'cmd/copy-dst');
  v1 = await buildImage([[{ path: 'a', content: 'one' }]], { entrypoint: ['/a'], created: '2026-01-01T00:00:00Z' });
  await pushBuilt(ecr, 'cmd/app', v1, 'v1');
  await new Promise((r) => setTimeout(r, 15));
  v2 = await buildImage([[{ path: 'a', content: 'two' }], [{ path: 'b', content: 'three' }]], { entrypoint: ['/b'] });
  await pushBuilt(ecr, 'cmd/app', v2, 'v2');
  amd = await buildImage([[{ path: 'p', content: 'amd' }]], { architecture: 'amd64' });
  arm = await buildImage([[{ path: 'p', content: 'arm' }]], { architecture: 'arm64' });
  await pushBuilt(ecr, 'cmd/app', amd);
  await pushBuilt(ecr, 'cmd/app', arm);
  const index = buildIndex([amd, arm]);
  indexDigest = index.digest;
  await new Promise((r) => setTimeout(r, 15));
  await putManifest(ecr, 'cmd/app', index.bytes, 'multi');
});
afterAll(async () => {
  ecr?.destroy();
  await serve?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('inspect', () => {
  test('--json for an image', async () => {
    const res = await cli(['inspect', 'cmd/app:v2', '--json', '--cache-dir', join(work, 'c')]);
    expect(res).toExitWith(0);
    expect(json(res.stdout).data).toEqual({
      image: '000000000000.dkr.ecr.us-east-1.amazonaws.com/cmd/app:v2',
      registryId: '000000000000',
      repository: 'cmd/app',
      tag: 'v2',
      digest: v2.manifest.digest,
      indexDigest: null,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: v2.layers[0].size + v2.layers[1].size,
      platform: 'linux/amd64',
      created: '2026-01-01T00:00:00Z',
      entrypoint: ['/b'],
      cmd: null,
      config: { digest: v2.config.digest, size: v2.config.size, mediaType: 'application/vnd.oci.image.config.v1+json' },
      layers: v2.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })),
      referrers: 0,
    });
  });

  test('--raw prints the stored bytes exactly; an index lists its platforms', async () => {
    const raw = await cli(['inspect', 'cmd/app:v1', '--raw']);
    expect(raw).toExitWith(0);
    expect(raw.stdoutBytes.equals(v1.manifest.bytes)).toBe(true);
    expect(sha(raw.stdoutBytes)).toBe(v1.manifest.digest);
    const idx = await cli(['inspect', 'cmd/app:multi', '--json']);
    const data = json(idx.stdout).data;
    expect(data.digest).toBe(indexDigest);
    expect(data.platforms).toEqual([
      {
        platform: 'linux/amd64',
        digest: amd.manifest.digest,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        size: amd.manifest.size,
      },
      {
        platform: 'linux/arm64',
        digest: arm.manifest.digest,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        size: arm.manifest.size,
      },
    ]);
    const one = await cli([
      'inspect',
      'cmd/app:multi',
      '--platform',
      'linux/arm64',
      '--json',
      '--cache-dir',
      join(work, 'c'),
    ]);
    expect(json(one.stdout).data).toMatchObject({ digest: arm.manifest.digest, indexDigest, platform: 'linux/arm64' });
    const human = await cli(['inspect', 'cmd/app:v1', '--cache-dir', join(work, 'c')]);
    expect(human.stdout).toContain(`digest:     ${v1.manifest.digest}`);
    expect(human.stdout).toContain('entrypoint: ["/a"]');
  });
});

describe('tags and repos', () => {
  test('tags: newest first with digest, size and push time; alias ls', async () => {
    const res = await cli(['tags', 'cmd/app', '--json']);
    expect(res).toExitWith(0);
    const data = json(res.stdout).data;
    expect(data.repository).toBe('cmd/app');
    expect(data.tags.map((t: { tag: string | null }) => t.tag)).toEqual(['multi', 'v2', 'v1']);
    expect(data.tags[2]).toEqual({
      tag: 'v1',
      digest: v1.manifest.digest,
      size: v1.layers[0].size,
      pushedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      status: 'ACTIVE',
    });
    const ls = await cli(['ls', 'cmd/app']);
    expect(ls.stdout.split('\n').slice(0, 2)).toEqual([
      expect.stringMatching(/^TAG +DIGEST +SIZE +PUSHED$/),
      expect.stringMatching(/^multi\s+sha256:/),
    ]);
    const missing = await cli(['tags', 'cmd/none', '--json']);
    expect(missing).toExitWith(3);
    expect(json(missing.stdout).error.code).toBe('REPOSITORY_NOT_FOUND');
  });

  test('repos lists every repository', async () => {
    const res = await cli(['repos', '--json']);
    expect(res).toExitWith(0);
    const names = json(res.stdout).data.repositories.map((r: { name: string }) => r.name);
    expect(names).toEqual(expect.arrayContaining(['cmd/app', 'cmd/copy-dst']));
    expect(json(res.stdout).data.repositories[0]).toEqual({
      name: 'cmd/app',
      uri: '000000000000.dkr.ecr.us-east-1.amazonaws.com/cmd/app',
      registryId: '000000000000',
      createdAt: expect.any(String),
      tagMutability: 'MUTABLE',
    });
  });
});

test('against a local endpoint, no credentials and no region are needed (and it says so)', async () => {
  const home = mkdtempSync(join(work, 'home-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    NO_COLOR: '1',
    AWS_ENDPOINT_URL_ECR: serve.endpoint,
  };
  const res = await cli(['repos'], env);
  expect(res).toExitWith(0);
  expect(res.stdout).toMatch(/^cmd\/app\s/m);
  expect(res.stderr).toContain('using placeholder credentials for the local endpoint');
  expect(res.stderr).toContain('no AWS region configured: using us-east-1');
  // Real AWS never gets either: without an endpoint the missing region is an error.
  const real = await cli(['repos', '--json'], {
    ...env,
    AWS_ENDPOINT_URL_ECR: undefined,
    AWS_ACCESS_KEY_ID: 'AKIAECRXTESTKEY00001',
    AWS_SECRET_ACCESS_KEY: 'x',
  });
  expect(real).toExitWith(2);
  expect(json(real.stdout).error.message).toBe('No AWS region is configured');
});

describe('copy', () => {
  test('across repositories and accounts, keeping the digest, fetching only what the destination lacks', async () => {
    const res = await cli([
      'copy',
      'cmd/app:multi',
      'cmd/copy-dst:multi',
      '--json',
      '--cache-dir',
      join(work, 'copy-cache'),
    ]);
    expect(res).toExitWith(0);
    const data = json(res.stdout).data;
    expect(data).toMatchObject({ digest: indexDigest, platform: 'all', tags: ['multi'] });
    const got = await ecr.send(
      new BatchGetImageCommand({
        repositoryName: 'cmd/copy-dst',
        imageIds: [{ imageTag: 'multi' }, { imageDigest: amd.manifest.digest }, { imageDigest: arm.manifest.digest }],
      }),
    );
    expect(got.images).toHaveLength(3);

    // Another account, named by its URI: the emulator keeps a registry per account id.
    const other = sdk(serve.endpoint);
    await other.send(
      new (await import('@aws-sdk/client-ecr')).CreateRepositoryCommand({
        repositoryName: 'cmd/app',
        registryId: '111111111111',
      }),
    );
    other.destroy();
    const urlsBefore = serve
      .log()
      .split('\n')
      .filter((l) => l.includes('GetDownloadUrlForLayer')).length;
    const cross = await cli([
      'copy',
      'cmd/app:v2',
      '111111111111.dkr.ecr.us-east-1.amazonaws.com/cmd/app:v2',
      '--json',
      '--cache-dir',
      join(work, 'copy-cache2'),
    ]);
    expect(cross).toExitWith(0);
    expect(json(cross.stdout).data).toMatchObject({
      digest: v2.manifest.digest,
      destination: '111111111111.dkr.ecr.us-east-1.amazonaws.com/cmd/app:v2',
    });
    const urlsMid = serve
      .log()
      .split('\n')
      .filter((l) => l.includes('GetDownloadUrlForLayer')).length;
    expect(urlsMid - urlsBefore).toBe(3);
    // Again: the destination has every blob, so nothing is downloaded.
    const again = await cli([
      'copy',
      'cmd/app:v2',
      '111111111111.dkr.ecr.us-east-1.amazonaws.com/cmd/app:v2b',
      '--json',
      '--cache-dir',
      join(work, 'copy-cache3'),
    ]);
    expect(again).toExitWith(0);
    expect(
      serve
        .log()
        .split('\n')
        .filter((l) => l.includes('GetDownloadUrlForLayer')).length,
    ).toBe(urlsMid);
    expect(json(again.stdout).data.bytesDownloaded).toBe(0);
  });
});

describe('rm', () => {
  test('reports what was deleted; a failure exits non-zero with both lists', async () => {
    await pushBuilt(ecr, 'cmd/app', v1, 'to-delete');
    const res = await cli(['rm', 'cmd/app:to-delete', '--json']);
    expect(res).toExitWith(0);
    expect(json(res.stdout).data).toEqual({
      deleted: [{ repository: 'cmd/app', digest: v1.manifest.digest, tag: 'to-delete' }],
      failed: [],
    });
    const bad = await cli(['rm', 'cmd/app:nope', '--json']);
    expect(bad).toExitWith(3);
    const e = json(bad.stdout).error;
    expect(e.code).toBe('IMAGE_NOT_FOUND');
    expect(e.details.failed[0]).toEqual({
      image: 'cmd/app:nope',
      code: 'ImageNotFound',
      reason: 'Requested image not found',
    });
    const repoOnly = await cli(['rm', 'cmd/app', '--json']);
    expect(repoOnly).toExitWith(2);
  });
});

describe('login', () => {
  test('--print-password prints only the password; --docker-config writes the auth with mode 0600', async () => {
    const pw = await cli(['login', '--print-password']);
    expect(pw).toExitWith(0);
    expect(pw.stdout).toMatch(/^ecrx-serve\.000000000000\.\d+\n$/);
    const path = join(work, 'docker', 'config.json');
    const res = await cli(['login', '--docker-config', path, '--json']);
    expect(res).toExitWith(0);
    expect(json(res.stdout).data).toEqual({
      registry: '000000000000.dkr.ecr.us-east-1.amazonaws.com',
      dockerConfig: path,
      expiresAt: expect.any(String),
    });
    const config = JSON.parse(readFileSync(path, 'utf8'));
    const auth = Buffer.from(config.auths['000000000000.dkr.ecr.us-east-1.amazonaws.com'].auth, 'base64').toString();
    expect(auth).toMatch(/^AWS:ecrx-serve\.000000000000\.\d+$/);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(res.stdout).not.toContain(config.auths['000000000000.dkr.ecr.us-east-1.amazonaws.com'].auth);
  });
});

describe('cache', () => {
  test('ls, verify (a bad blob is removed and reported), prune', async () => {
    const cacheDir = join(work, 'cache-cmd');
    expect(await cli(['pull', 'cmd/app:v2', '-o', 'c-out', '--cache-dir', cacheDir, '-q'])).toExitWith(0);
    const ls = await cli(['cache', 'ls', '--cache-dir', cacheDir, '--json']);
    const data = json(ls.stdout).data;
    expect(data.count).toBe(3);
    expect(data.totalBytes).toBe(v2.config.size + v2.layers[0].size + v2.layers[1].size);
    const victim = join(cacheDir, 'blobs-v1', 'sha256', v2.layers[1].digest.slice(7));
    const bytes = readFileSync(victim);
    bytes[0] ^= 0xff;
    writeFileSync(victim, bytes);
    const verify = await cli(['cache', 'verify', '--cache-dir', cacheDir, '--json']);
    expect(verify).toExitWith(0);
    expect(json(verify.stdout).data).toEqual({
      cacheDir,
      checked: 3,
      removed: [{ digest: v2.layers[1].digest, actual: sha(bytes) }],
      junkRemoved: [],
    });
    expect(existsSync(victim)).toBe(false);
    const prune = await cli(['cache', 'prune', '--max-size', '1', '--cache-dir', cacheDir, '--json']);
    expect(json(prune.stdout).data.removed).toHaveLength(2);
    expect(readdirSync(join(cacheDir, 'blobs-v1', 'sha256'))).toEqual([]);
    const badDuration = await cli(['cache', 'prune', '--older-than', 'soon', '--cache-dir', cacheDir, '--json']);
    expect(badDuration).toExitWith(2);
  });
});

describe('proxy', () => {
  test('HTTP_PROXY carries the ECR API and the downloads; NO_PROXY bypasses it', async () => {
    const proxy = await startProxy();
    try {
      const env = testEnv(serve.endpoint, { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url, NO_PROXY: '' });
      const res = await cli(
        ['pull', 'cmd/app:v1', '-o', 'via-proxy', '--cache-dir', join(work, 'proxy-cache'), '--json'],
        env,
      );
      expect(res).toExitWith(0);
      expect(proxy.seen.some((l) => l.startsWith(`POST ${serve.endpoint}/`))).toBe(true);
      expect(proxy.seen.some((l) => l.startsWith(`GET ${serve.endpoint}/starport-layer-bucket/`))).toBe(true);
      const count = proxy.seen.length;
      const bypass = await cli(
        ['pull', 'cmd/app:v1', '-o', 'no-proxy', '--cache-dir', join(work, 'proxy-cache2'), '-q'],
        testEnv(serve.endpoint, { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' }),
      );
      expect(bypass).toExitWith(0);
      expect(proxy.seen.length).toBe(count);
    } finally {
      await proxy.close();
    }
  });
});

describe('debug output', () => {
  test('--debug shows the requests, never a signature, credential or pre-signed query', async () => {
    const res = await cli(['pull', 'cmd/app:v1', '-o', 'dbg', '--cache-dir', join(work, 'dbg-cache'), '--debug']);
    expect(res).toExitWith(0);
    expect(res.stderr).toContain('-> BatchGetImageCommand POST');
    expect(res.stderr).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/starport-layer-bucket\/\S+\?\[redacted\] -> 200/);
    for (const secret of [
      'X-Amz-Signature',
      'X-Amz-Credential',
      'AKIAECRXTESTKEY00001',
      'ecrx-test-secret-do-not-print',
      'Signature=',
    ])
      expect(res.stderr).not.toContain(secret);
  });
});
