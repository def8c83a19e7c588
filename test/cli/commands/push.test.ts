/** `ecrx push` as a subprocess against a real `ecrx serve`. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BatchGetImageCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../../helpers/serve.js';
import { runCli, testEnv } from '../../helpers/cli.js';
import { sdk, createRepo } from '../../helpers/ecr.js';
import { sha256File } from '../../helpers/files.js';
import { tarDirectory, classicDockerArchive } from '../../helpers/images.js';
import { buildImage, buildIndex, writeLayout, type BuiltImage, type FileSpec } from '../../../src/oci/build.js';

let serve: Serve;
let ecr: ECRClient;
let work: string;
let image: BuiltImage;
const files: FileSpec[][] = [
  [
    { path: 'etc/', type: 'directory' },
    { path: 'etc/motd', content: 'pushed by ecrx\n' },
  ],
  [{ path: 'opt/data.bin', content: randomBytes(256 * 1024) }],
];

const env = () => testEnv(serve.endpoint);
const cli = (args: string[], input?: Buffer) => runCli(args, { env: env(), cwd: work, input });
const countLog = (s: Serve, pattern: string) =>
  s
    .log()
    .split('\n')
    .filter((l) => l.includes(pattern)).length;

async function remoteManifest(repositoryName: string, imageTag: string) {
  const out = await ecr.send(new BatchGetImageCommand({ repositoryName, imageIds: [{ imageTag }] }));
  return out.images?.[0];
}

beforeAll(async () => {
  serve = await startServe();
  ecr = sdk(serve.endpoint);
  work = mkdtempSync(join(tmpdir(), 'ecrx-push-'));
  image = await buildImage(files);
  await writeLayout(join(work, 'layout'), [image], { refName: 'v1' });
  for (const r of [
    'push/layout',
    'push/archive',
    'push/docker',
    'push/classic',
    'push/stdin',
    'push/multi',
    'push/one',
    'push/bad',
  ])
    await createRepo(ecr, r);
  await createRepo(ecr, 'push/frozen', 'IMMUTABLE');
});
afterAll(async () => {
  ecr?.destroy();
  await serve?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('push', () => {
  test('an OCI layout, with the JSON envelope field by field, then a re-push that uploads nothing', async () => {
    const res = await cli([
      'push',
      join(work, 'layout'),
      'push/layout:1.0',
      '-t',
      'latest',
      '--cache-dir',
      join(work, 'cache'),
      '--json',
    ]);
    expect(res.stderr).toBe('');
    expect(res).toExitWith(0);
    const data = JSON.parse(res.stdout).data;
    const blobs = [image.config, ...image.layers];
    expect(data).toEqual({
      image: '000000000000.dkr.ecr.us-east-1.amazonaws.com/push/layout:1.0',
      registryId: '000000000000',
      repository: 'push/layout',
      tags: ['1.0', 'latest'],
      digest: image.manifest.digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      layers: blobs.map((b) => ({ digest: b.digest, size: b.size, uploaded: true })),
      bytesUploaded: blobs.reduce((n, b) => n + b.size, 0),
      bytesReused: 0,
      durationMs: expect.any(Number),
    });
    for (const tag of ['1.0', 'latest']) {
      const remote = await remoteManifest('push/layout', tag);
      expect(remote?.imageId?.imageDigest).toBe(image.manifest.digest);
      expect(Buffer.from(remote!.imageManifest!, 'utf8').equals(image.manifest.bytes)).toBe(true);
    }
    const again = await cli([
      'push',
      join(work, 'layout'),
      'push/layout:1.0',
      '--cache-dir',
      join(work, 'cache'),
      '--json',
    ]);
    expect(again).toExitWith(0);
    const d2 = JSON.parse(again.stdout).data;
    expect(d2.bytesUploaded).toBe(0);
    expect(d2.layers.every((l: { uploaded: boolean }) => !l.uploaded)).toBe(true);
  });

  test('round trip: push then pull is byte identical', async () => {
    const pulled = await cli([
      'pull',
      'push/layout:1.0',
      '-o',
      'roundtrip',
      '--cache-dir',
      join(work, 'rt-cache'),
      '--json',
    ]);
    expect(pulled).toExitWith(0);
    expect(JSON.parse(pulled.stdout).data.digest).toBe(image.manifest.digest);
    for (const b of [image.manifest, image.config, ...image.layers]) {
      expect(readFileSync(join(work, 'roundtrip', 'blobs', 'sha256', b.digest.slice(7))).equals(b.bytes)).toBe(true);
    }
  });

  test('an OCI archive, and a Docker 25+ docker-archive as ecrx pull writes it', async () => {
    await tarDirectory(join(work, 'layout'), join(work, 'layout.tar'));
    const oci = await cli([
      'push',
      join(work, 'layout.tar'),
      'push/archive:a',
      '--cache-dir',
      join(work, 'cache'),
      '--json',
    ]);
    expect(oci).toExitWith(0);
    expect(JSON.parse(oci.stdout).data.digest).toBe(image.manifest.digest);

    expect(
      await cli([
        'pull',
        'push/layout:1.0',
        '--format',
        'docker-archive',
        '-o',
        'docker25.tar',
        '--cache-dir',
        join(work, 'cache'),
        '-q',
      ]),
    ).toExitWith(0);
    const docker = await cli([
      'push',
      join(work, 'docker25.tar'),
      'push/docker:d',
      '--cache-dir',
      join(work, 'cache2'),
      '--json',
    ]);
    expect(docker).toExitWith(0);
    expect(JSON.parse(docker.stdout).data.digest).toBe(image.manifest.digest);
  });

  test('a classic docker-archive: layers gzipped, mapping remembered so a second push compresses nothing', async () => {
    const archive = join(work, 'classic.tar');
    await classicDockerArchive(archive, image, files, 'myapp:1');
    const cache = join(work, 'classic-cache');
    const res = await cli(['push', archive, 'push/classic:1', '--cache-dir', cache, '--json']);
    expect(res).toExitWith(0);
    const data = JSON.parse(res.stdout).data;
    expect(data.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(data.layers[0].digest).toBe(image.config.digest);
    const remote = await remoteManifest('push/classic', '1');
    const manifest = JSON.parse(remote!.imageManifest!);
    expect(manifest.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual([
      'application/vnd.docker.image.rootfs.diff.tar.gzip',
      'application/vnd.docker.image.rootfs.diff.tar.gzip',
    ]);
    const mapping = join(cache, 'index-v1', 'gzip', image.layers[0].diffId.slice(7));
    expect(readFileSync(mapping, 'utf8')).toBe(`${manifest.layers[0].digest} ${manifest.layers[0].size}`);
    const compressed = join(cache, 'blobs-v1', 'sha256', manifest.layers[0].digest.slice(7));
    const before = statSync(compressed).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    const again = await cli(['push', archive, 'push/classic:1', '--cache-dir', cache, '--json']);
    expect(again).toExitWith(0);
    expect(JSON.parse(again.stdout).data.digest).toBe(data.digest);
    expect(statSync(compressed).mtimeMs).toBe(before);
  });

  test('an archive on stdin', async () => {
    const res = await cli(
      ['push', '-', 'push/stdin:s', '--cache-dir', join(work, 'stdin-cache'), '--json'],
      readFileSync(join(work, 'layout.tar')),
    );
    expect(res).toExitWith(0);
    expect(JSON.parse(res.stdout).data.digest).toBe(image.manifest.digest);
  });

  test('a multi-platform index: children by digest first, then the index; --platform pushes one child', async () => {
    const amd = await buildImage([[{ path: 'arch', content: 'amd64' }]], { architecture: 'amd64' });
    const arm = await buildImage([[{ path: 'arch', content: 'arm64' }]], { architecture: 'arm64' });
    const index = buildIndex([amd, arm]);
    await writeLayout(join(work, 'multi'), [amd, arm], { index });
    const res = await cli(['push', join(work, 'multi'), 'push/multi:m', '--cache-dir', join(work, 'cache'), '--json']);
    expect(res).toExitWith(0);
    expect(JSON.parse(res.stdout).data).toMatchObject({
      digest: index.digest,
      mediaType: 'application/vnd.oci.image.index.v1+json',
    });
    const got = await ecr.send(
      new BatchGetImageCommand({
        repositoryName: 'push/multi',
        imageIds: [{ imageDigest: amd.manifest.digest }, { imageDigest: arm.manifest.digest }, { imageTag: 'm' }],
      }),
    );
    expect(got.images!.map((i) => i.imageId!.imageDigest).sort()).toEqual(
      [amd.manifest.digest, arm.manifest.digest, index.digest].sort(),
    );
    // children went in before the index
    const log = serve
      .log()
      .split('\n')
      .filter((l) => l.includes('PutImage'));
    expect(log.length).toBeGreaterThanOrEqual(3);

    const one = await cli([
      'push',
      join(work, 'multi'),
      'push/one:arm',
      '--platform',
      'linux/arm64',
      '--cache-dir',
      join(work, 'cache'),
      '--json',
    ]);
    expect(one).toExitWith(0);
    expect(JSON.parse(one.stdout).data.digest).toBe(arm.manifest.digest);
    expect((await remoteManifest('push/one', 'arm'))?.imageId?.imageDigest).toBe(arm.manifest.digest);
  });

  test('an immutable tag is TAG_IMMUTABLE (exit 7) naming the tag; the same image again is fine', async () => {
    expect(
      await cli(['push', join(work, 'layout'), 'push/frozen:release', '--cache-dir', join(work, 'cache'), '-q']),
    ).toExitWith(0);
    expect(
      await cli(['push', join(work, 'layout'), 'push/frozen:release', '--cache-dir', join(work, 'cache'), '-q']),
    ).toExitWith(0);
    const other = await buildImage([[{ path: 'other', content: 'x' }]]);
    await writeLayout(join(work, 'other'), [other]);
    const res = await cli([
      'push',
      join(work, 'other'),
      'push/frozen:release',
      '--cache-dir',
      join(work, 'cache'),
      '--json',
    ]);
    expect(res).toExitWith(7);
    const e = JSON.parse(res.stdout).error;
    expect(e.code).toBe('TAG_IMMUTABLE');
    expect(e.message).toContain("'release'");
  });

  test('sources that are not images are refused before anything is uploaded', async () => {
    const before = countLog(serve, 'InitiateLayerUpload');
    const broken = join(work, 'broken');
    await writeLayout(broken, [image]);
    rmSync(join(broken, 'blobs', 'sha256', image.layers[1].digest.slice(7)));
    const tampered = join(work, 'tampered');
    await writeLayout(tampered, [image]);
    const victim = join(tampered, 'blobs', 'sha256', image.layers[1].digest.slice(7));
    const bytes = readFileSync(victim);
    bytes[10] ^= 1;
    writeFileSync(victim, bytes);
    await tarDirectory(tampered, join(work, 'tampered.tar'));
    const badJson = join(work, 'badjson');
    await writeLayout(badJson, [image]);
    writeFileSync(join(badJson, 'index.json'), '{not json');
    writeFileSync(join(work, 'notimage.bin'), randomBytes(2048));
    const full = readFileSync(join(work, 'layout.tar'));
    writeFileSync(join(work, 'truncated.tar'), full.subarray(0, Math.floor(full.length / 2)));

    const cases: [string, RegExp][] = [
      [broken, /missing blob/],
      [tampered, /does not match its digest/],
      [join(work, 'tampered.tar'), /does not match its digest/],
      [badJson, /not valid JSON/],
      [join(work, 'notimage.bin'), /not a tar archive/],
      [join(work, 'truncated.tar'), /truncated|could not be read/],
    ];
    for (const [src, message] of cases) {
      const res = await cli(['push', src, 'push/bad:x', '--cache-dir', join(work, 'bad-cache'), '--json']);
      expect({ src, code: res.code }).toEqual({ src, code: 5 });
      const e = JSON.parse(res.stdout).error;
      expect(e.code).toBe('INVALID_IMAGE');
      expect(e.message).toMatch(message);
    }
    expect(countLog(serve, 'InitiateLayerUpload')).toBe(before);
    expect(countLog(serve, 'PutImage')).toBeGreaterThan(0);
    const missing = await cli(['push', join(work, 'nope'), 'push/bad:x', '--json']);
    expect(missing).toExitWith(2);
    expect(existsSync(join(work, 'nope'))).toBe(false);
  });

  test('an unknown repository is REPOSITORY_NOT_FOUND with a hint', async () => {
    const res = await cli(['push', join(work, 'layout'), 'no/such:1', '--cache-dir', join(work, 'cache'), '--json']);
    expect(res).toExitWith(3);
    expect(JSON.parse(res.stdout).error.code).toBe('REPOSITORY_NOT_FOUND');
  });
});

describe('push under faults', () => {
  let big: BuiltImage;
  beforeAll(async () => {
    big = await buildImage([
      [{ path: 'big.bin', content: randomBytes(23 * 1024 * 1024) }],
      [{ path: 'small', content: 'x' }],
    ]);
    await writeLayout(join(work, 'big'), [big], { refName: 'v1' });
  });

  async function pushUnder(faults: string[]) {
    // Create the repository on a clean emulator, then restart it on the same data with the faults on.
    const clean = await startServe();
    const c = sdk(clean.endpoint);
    await createRepo(c, 'faulty/push');
    c.destroy();
    await clean.stop();
    const s = await startServe(faults, clean.dataDir);
    const res = await runCli(
      ['push', join(work, 'big'), 'faulty/push:v1', '--cache-dir', join(work, 'cache'), '--json'],
      { env: testEnv(s.endpoint) },
    );
    return { s, res };
  }

  test.each([
    [
      'throttling and 5xx',
      ['--fault-throttle', '0.2', '--fault-server-error', '0.1', '--fault-seed', '66'],
      /ThrottlingException|ServerException/,
    ],
    [
      'lost UploadLayerPart responses',
      ['--fault-lose-part-response', '0.5', '--fault-seed', '66'],
      /UploadLayerPart 0 ResponseLost/,
    ],
    ['LayersNotFound for a second after upload', ['--fault-layer-lag', '1000'], /PutImage 400 LayersNotFoundException/],
  ])('%s: the same digest, no blob restarted from byte 0', async (_n, faults, fired) => {
    const { s, res } = await pushUnder(faults);
    try {
      expect(res).toExitWith(0);
      expect(JSON.parse(res.stdout).data.digest).toBe(big.manifest.digest);
      expect(s.log()).toMatch(fired);
      // One InitiateLayerUpload per blob that landed: nothing was started over.
      const initiated = s
        .log()
        .split('\n')
        .filter((l) => / InitiateLayerUpload 200 /.test(l)).length;
      expect(initiated).toBe(3);
      const pulled = await runCli(
        [
          'pull',
          'faulty/push:v1',
          '-o',
          join(work, `pulled-${faults[0]}`),
          '--cache-dir',
          join(work, `pc-${faults[0]}`),
          '-q',
        ],
        { env: testEnv(s.endpoint) },
      );
      expect(pulled).toExitWith(0);
      for (const b of [big.config, ...big.layers])
        expect(sha256File(join(work, `pulled-${faults[0]}`, 'blobs', 'sha256', b.digest.slice(7)))).toBe(b.digest);
    } finally {
      await s.dispose();
      rmSync(s.dataDir, { recursive: true, force: true });
    }
  });
});
