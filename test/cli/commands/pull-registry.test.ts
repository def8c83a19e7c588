/**
 * pull and export read an OCI distribution registry reference through the registry source (a real docker-registry
 * on loopback, populated through the registry sink): every output read back by skopeo (and a layout unpacked by
 * umoci) with the registry's digests, a warm pull served from the cache, one platform picked from an index.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runCli, testEnv } from '../../helpers/cli.js';
import { describeWithTool } from '../../helpers/tools.js';
import { selfSignedCert, startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { buildImage, buildIndex, type BuiltBlob, type BuiltImage } from '../../../src/oci/build.js';
import { RegistrySink } from '../../../src/sinks/registry.js';
import { pushThrough } from '../../registry/push-read.js';
import { startServe, type Serve } from '../../helpers/serve.js';
import { createRepo, sdk } from '../../helpers/ecr.js';
import { BatchGetImageCommand } from '@aws-sdk/client-ecr';

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

const anon = { credentials: null } as const;

describeWithTool(['docker-registry', 'skopeo', 'umoci'], 'pull, export and copy with a registry', () => {
  let work: string;
  let reg: TestRegistry;
  let image: BuiltImage;
  let amd: BuiltImage;
  let arm: BuiltImage;
  let index: BuiltBlob;
  let serve: Serve;
  const env = () => testEnv(serve.endpoint, { DOCKER_CONFIG: join(work, 'docker') });
  const ecrx = (...args: string[]) => runCli([...args, '--cache-dir', join(work, 'cache')], { env: env(), cwd: work });

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'ecrx-pull-registry-'));
    mkdirSync(join(work, 'docker'));
    reg = await startRegistry();
    serve = await startServe();
    image = await buildImage([
      [
        { path: 'etc/', type: 'directory' },
        { path: 'etc/os-release', content: 'NAME=from-a-registry\n' },
      ],
      [{ path: 'data.bin', content: randomBytes(400_000) }],
    ]);
    await pushThrough(RegistrySink.open(`${reg.host}/team/app:1.0`, anon), [image], []);
    amd = await buildImage([[{ path: 'arch', content: 'amd64\n' }]], { architecture: 'amd64' });
    arm = await buildImage([[{ path: 'arch', content: 'arm64\n' }]], { architecture: 'arm64' });
    index = buildIndex([amd, arm]);
    await pushThrough(RegistrySink.open(`${reg.host}/team/multi:1`, anon), [amd, arm], [], index);
  });
  afterAll(async () => {
    await reg?.stop();
    await serve?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('into an OCI layout: skopeo reads the registry digest, umoci unpacks it, the JSON names the registry', async () => {
    const res = await ecrx('pull', `${reg.host}/team/app:1.0`, '-o', 'layout', '--json');
    expect(res).toExitWith(0);
    const data = JSON.parse(res.stdout).data;
    expect(data).toMatchObject({
      image: `${reg.host}/team/app:1.0`,
      registry: reg.host,
      repository: 'team/app',
      tag: '1.0',
      digest: image.manifest.digest,
      format: 'oci',
      replaced: false,
      bytesDownloaded: image.config.size + image.layers.reduce((n, l) => n + l.size, 0),
    });
    expect(data.layers.map((l: { digest: string }) => l.digest)).toEqual([
      image.config.digest,
      ...image.layers.map((l) => l.digest),
    ]);
    expect(data.layers.every((l: { cached: boolean }) => !l.cached)).toBe(true);
    expect(existsSync(join(work, 'layout', '.ecrx-output'))).toBe(true);
    const raw = run('skopeo', ['inspect', '--raw', `oci:${join(work, 'layout')}:1.0`]);
    expect(Buffer.from(raw).equals(image.manifest.bytes)).toBe(true);
    const bundle = join(work, 'bundle');
    run('umoci', ['unpack', '--rootless', '--image', `${join(work, 'layout')}:1.0`, bundle]);
    expect(readFileSync(join(bundle, 'rootfs', 'etc', 'os-release'), 'utf8')).toBe('NAME=from-a-registry\n');
  });

  test('a warm pull is served from the cache: nothing downloaded, every blob cached', async () => {
    const res = await ecrx('pull', `${reg.host}/team/app:1.0`, '-o', 'warm', '--json');
    expect(res).toExitWith(0);
    const data = JSON.parse(res.stdout).data;
    expect(data.bytesDownloaded).toBe(0);
    expect(data.layers.every((l: { cached: boolean }) => l.cached)).toBe(true);
    expect(run('skopeo', ['inspect', '--format', '{{.Digest}}', `oci:${join(work, 'warm')}:1.0`]).trim()).toBe(
      image.manifest.digest,
    );
  });

  test.each([
    ['oci-archive', 'oci-archive'],
    ['docker-archive', 'docker-archive'],
  ])('into a %s that skopeo reads, with the same config', async (format, transport) => {
    const out = join(work, `image-${format}.tar`);
    const res = await ecrx('pull', `${reg.host}/team/app@${image.manifest.digest}`, '--format', format, '-o', out);
    expect(res).toExitWith(0);
    const config = JSON.parse(run('skopeo', ['inspect', '--config', `${transport}:${out}`]));
    expect(config).toEqual(JSON.parse(image.config.bytes.toString('utf8')));
  });

  test('to stdout as an OCI archive', async () => {
    const res = await ecrx('pull', `${reg.host}/team/app:1.0`, '--format', 'oci-archive', '-o', '-');
    expect(res).toExitWith(0);
    expect(res.stdoutBytes.length).toBeGreaterThan(400_000);
    expect(res.stdoutBytes.includes(Buffer.from('oci-layout'))).toBe(true);
  });

  test('one platform of an index, by --platform; --platform all keeps the index digest', async () => {
    const one = await ecrx('pull', `${reg.host}/team/multi:1`, '--platform', 'linux/arm64', '-o', 'arm', '--json');
    expect(one).toExitWith(0);
    expect(JSON.parse(one.stdout).data).toMatchObject({ digest: arm.manifest.digest, platform: 'linux/arm64' });
    const all = await ecrx('pull', `${reg.host}/team/multi:1`, '--platform', 'all', '-o', 'all', '--json');
    expect(all).toExitWith(0);
    expect(JSON.parse(all.stdout).data).toMatchObject({ digest: index.digest, platform: 'all' });
    expect(run('skopeo', ['inspect', '--raw', `oci:${join(work, 'all')}:1`])).toBe(index.bytes.toString('utf8'));
  });

  test('--referrers is refused for a registry before any request; a missing image is IMAGE_NOT_FOUND', async () => {
    const refused = await ecrx('pull', `${reg.host}/team/app:1.0`, '--referrers', '-o', 'r', '--json');
    expect(refused).toExitWith(2);
    expect(JSON.parse(refused.stdout).error.code).toBe('VALIDATION_ERROR');
    const missing = await ecrx('pull', `${reg.host}/team/app:nope`, '-o', 'nope', '--json');
    expect(missing).toExitWith(3);
    expect(JSON.parse(missing.stdout).error.code).toBe('IMAGE_NOT_FOUND');
    expect(existsSync(join(work, 'nope'))).toBe(false);
  });

  test('inspect: an index lists its platforms, one platform shows its config, --raw is the stored bytes', async () => {
    const idx = await ecrx('inspect', `${reg.host}/team/multi:1`, '--json');
    expect(idx).toExitWith(0);
    expect(JSON.parse(idx.stdout).data).toMatchObject({
      image: `${reg.host}/team/multi:1`,
      registry: reg.host,
      digest: index.digest,
      platforms: [
        { platform: 'linux/amd64', digest: amd.manifest.digest },
        { platform: 'linux/arm64', digest: arm.manifest.digest },
      ],
      referrers: null,
    });
    const one = await ecrx('inspect', `${reg.host}/team/multi:1`, '--platform', 'linux/arm64', '--json');
    expect(one).toExitWith(0);
    expect(JSON.parse(one.stdout).data).toMatchObject({
      digest: arm.manifest.digest,
      indexDigest: index.digest,
      platform: 'linux/arm64',
      config: { digest: arm.config.digest },
      layers: [{ digest: arm.layers[0].digest }],
    });
    const raw = await ecrx('inspect', `${reg.host}/team/app:1.0`, '--raw');
    expect(raw).toExitWith(0);
    expect(raw.stdoutBytes.equals(image.manifest.bytes)).toBe(true);
  });

  test('export flattens a registry image into a directory', async () => {
    const res = await ecrx('export', `${reg.host}/team/app:1.0`, 'rootfs', '--json');
    expect(res).toExitWith(0);
    expect(JSON.parse(res.stdout).data).toMatchObject({
      image: `${reg.host}/team/app:1.0`,
      digest: image.manifest.digest,
    });
    expect(readFileSync(join(work, 'rootfs', 'etc', 'os-release'), 'utf8')).toBe('NAME=from-a-registry\n');
    expect(readFileSync(join(work, 'rootfs', 'data.bin')).length).toBe(400_000);
  });

  test('copy from the registry into ECR (ecrx serve): the same digest on both sides, a rerun moves nothing', async () => {
    const ecr = sdk(serve.endpoint);
    await createRepo(ecr, 'mirror/multi');
    const res = await ecrx('copy', `${reg.host}/team/multi:1`, 'mirror/multi:1', '--json');
    expect(res).toExitWith(0);
    const data = JSON.parse(res.stdout).data;
    expect(data).toMatchObject({ source: `${reg.host}/team/multi:1`, digest: index.digest, platform: 'all' });
    const got = await ecr.send(
      new BatchGetImageCommand({
        repositoryName: 'mirror/multi',
        imageIds: [{ imageTag: '1' }],
        acceptedMediaTypes: [JSON.parse(index.bytes.toString('utf8')).mediaType],
      }),
    );
    ecr.destroy();
    expect(got.images?.[0].imageId?.imageDigest).toBe(index.digest);
    expect(got.images?.[0].imageManifest).toBe(index.bytes.toString('utf8'));
    const again = await ecrx('copy', `${reg.host}/team/multi:1`, 'mirror/multi:1', '--json');
    expect(again).toExitWith(0);
    expect(JSON.parse(again.stdout).data.bytesUploaded).toBe(0);
    const pulled = await ecrx('pull', 'mirror/multi:1', '--platform', 'all', '-o', 'from-ecr', '--json');
    expect(pulled).toExitWith(0);
    expect(JSON.parse(pulled.stdout).data.digest).toBe(index.digest);
  });

  test('copy from ECR into the registry: skopeo reads the same digest there', async () => {
    const res = await ecrx('copy', 'mirror/multi:1', `${reg.host}/back/multi:2`, '--json');
    expect(res).toExitWith(0);
    expect(JSON.parse(res.stdout).data).toMatchObject({
      destination: `${reg.host}/back/multi:2`,
      digest: index.digest,
    });
    const raw = run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/back/multi:2`]);
    expect(raw).toBe(index.bytes.toString('utf8'));
  });

  test('copy --referrers with a registry side is refused before any request', async () => {
    const res = await ecrx('copy', `${reg.host}/team/app:1.0`, 'mirror/app:1', '--referrers', '--json');
    expect(res).toExitWith(2);
    expect(JSON.parse(res.stdout).error.code).toBe('VALIDATION_ERROR');
  });

  test('--insecure: a registry with a certificate nobody trusts is refused without it, read with it', async () => {
    const tls = await startRegistry({ tls: selfSignedCert(work) });
    try {
      const ca = readFileSync(join(work, '127.0.0.1.crt'));
      await pushThrough(RegistrySink.open(`${tls.host}/tls/app:1`, { ...anon, ca }), [image], []);
      const noCa = { ...env(), SSL_CERT_FILE: '', NODE_EXTRA_CA_CERTS: '' };
      const run = (...args: string[]) =>
        runCli([...args, '--cache-dir', join(work, 'tls-cache'), '--json'], { env: noCa, cwd: work });
      const refused = await run('pull', `${tls.host}/tls/app:1`, '-o', 'tls-refused');
      expect(refused).toExitWith(6);
      expect(JSON.parse(refused.stdout).error.code).toBe('NETWORK_ERROR');
      expect(existsSync(join(work, 'tls-refused'))).toBe(false);
      const insecure = await run('pull', `${tls.host}/tls/app:1`, '-o', 'tls-insecure', '--insecure');
      expect(insecure).toExitWith(0);
      expect(JSON.parse(insecure.stdout).data.digest).toBe(image.manifest.digest);
      const inspected = await run('inspect', `${tls.host}/tls/app:1`, '--insecure');
      expect(inspected).toExitWith(0);
      expect(JSON.parse(inspected.stdout).data.digest).toBe(image.manifest.digest);
    } finally {
      await tls.stop();
    }
  });
});
