/**
 * Bad input: each case a clear message, its documented code and exit code, and nothing partial left.
 * Secrets: no credential, token, Authorization header or pre-signed query in any output of these runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PutImageCommand } from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../helpers/serve.js';
import { BIN, runCli, testEnv, type CliResult } from '../helpers/cli.js';
import { sdk, createRepo, pushBuilt, uploadBlob } from '../helpers/ecr.js';
import { tarDirectory } from '../helpers/images.js';
import { buildImage, writeLayout, type BuiltImage } from '../../src/oci/build.js';

const SECRET = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY';
const ACCESS = 'AKIAIOSFODNN7EXAMPLE';
const TOKEN = 'FwoGZXIvYXdzEXAMPLESESSIONTOKEN0123456789';

let serve: Serve;
let strict: Serve;
let work: string;
let image: BuiltImage;
const outputs: string[] = [];

const env = (endpoint = serve.endpoint, extra: NodeJS.ProcessEnv = {}) =>
  testEnv(endpoint, { AWS_ACCESS_KEY_ID: ACCESS, AWS_SECRET_ACCESS_KEY: SECRET, AWS_SESSION_TOKEN: TOKEN, ...extra });
async function cli(args: string[], e = env()): Promise<CliResult> {
  const r = await runCli(args, { env: e, cwd: work });
  outputs.push(`$ ecrx ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
  return r;
}

beforeAll(async () => {
  serve = await startServe();
  strict = await startServe(['--access-key-id', 'AKIASTRICT0000000001', '--secret-access-key', 'the-right-secret']);
  work = mkdtempSync(join(tmpdir(), 'ecrx-bad-'));
  const ecr = sdk(serve.endpoint);
  await createRepo(ecr, 'bad/app');
  await createRepo(ecr, 'bad/frozen', 'IMMUTABLE');
  image = await buildImage([[{ path: 'f', content: randomBytes(64 * 1024) }]]);
  await pushBuilt(ecr, 'bad/app', image, 'v1');
  await pushBuilt(ecr, 'bad/frozen', image, 'v1');
  // A manifest whose bytes are fine JSON but not an image manifest, and an index whose child is missing.
  const cfg = await uploadBlob(ecr, 'bad/app', Buffer.from('{}'));
  await ecr.send(
    new PutImageCommand({
      repositoryName: 'bad/app',
      imageTag: 'weird',
      imageManifest: JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cfg, size: 2 },
        layers: [],
      }),
    }),
  );
  ecr.destroy();
  await writeLayout(join(work, 'layout'), [image], { refName: 'v1' });
  mkdirSync(join(work, 'empty-dir'));
  writeFileSync(join(work, 'not-json-layout-marker'), '');
  await tarDirectory(join(work, 'layout'), join(work, 'good.tar'));
  const good = readFileSync(join(work, 'good.tar'));
  writeFileSync(join(work, 'truncated.tar'), good.subarray(0, 3000));
  writeFileSync(join(work, 'random.bin'), randomBytes(4096));
  writeFileSync(join(work, 'empty.tar'), Buffer.alloc(0));
  mkdirSync(join(work, 'archive-src', 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(work, 'archive-src', 'hello.txt'), 'hi');
  await tarDirectory(join(work, 'archive-src'), join(work, 'not-image.tar'));
  // An archive with ../ and absolute paths
  const tar = await import('tar-stream');
  for (const [name, entry] of [
    ['dotdot.tar', '../evil'],
    ['abs.tar', '/etc/evil'],
  ] as const) {
    const pack = tar.pack();
    const chunks: Buffer[] = [];
    pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
    const done = new Promise<void>((r) => pack.on('end', () => r()));
    pack.entry({ name: entry }, 'x');
    pack.finalize();
    await done;
    writeFileSync(join(work, name), Buffer.concat(chunks));
  }
});
afterAll(async () => {
  await serve?.dispose();
  await strict?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

type Case = [
  name: string,
  args: () => string[],
  exit: number,
  code: string,
  message: RegExp,
  envOverride?: () => NodeJS.ProcessEnv,
];

const D = `sha256:${'0'.repeat(64)}`;
const cases: Case[] = [
  ['uppercase repository', () => ['pull', 'Bad/App:1'], 2, 'VALIDATION_ERROR', /not a valid repository name/],
  ['short digest', () => ['pull', 'bad/app@sha256:abc'], 2, 'VALIDATION_ERROR', /not a digest/],
  [
    'digest of another algorithm',
    () => ['pull', `bad/app@sha512:${'a'.repeat(128)}`],
    2,
    'VALIDATION_ERROR',
    /not a digest/,
  ],
  ['bad tag', () => ['pull', 'bad/app:-x'], 2, 'VALIDATION_ERROR', /not a valid tag/],
  [
    'a non-ECR registry',
    () => ['tag', 'ghcr.io/org/app:1', 'v2'],
    2,
    'UNSUPPORTED_REGISTRY',
    /ghcr\.io, which is not an Amazon ECR registry/,
  ],
  [
    'a URL scheme',
    () => ['pull', 'https://123456789012.dkr.ecr.us-east-1.amazonaws.com/app'],
    2,
    'VALIDATION_ERROR',
    /prefix/,
  ],
  ['bad platform', () => ['pull', 'bad/app:v1', '--platform', 'linux'], 2, 'VALIDATION_ERROR', /Invalid platform/],
  [
    'docker-archive with all platforms',
    () => ['pull', 'bad/app:v1', '--format', 'docker-archive', '--platform', 'all'],
    2,
    'VALIDATION_ERROR',
    /one platform/,
  ],
  [
    'OCI directory to stdout',
    () => ['pull', 'bad/app:v1', '--format', 'oci', '-o', '-'],
    2,
    'VALIDATION_ERROR',
    /cannot be written to stdout/,
  ],
  ['bad registry id', () => ['pull', 'bad/app:v1', '--registry-id', '12'], 2, 'VALIDATION_ERROR', /12-digit/],
  [
    'bad endpoint url',
    () => ['pull', 'bad/app:v1', '--endpoint-url', 'ftp://x'],
    2,
    'VALIDATION_ERROR',
    /http\(s\) URL/,
  ],
  ['unknown repository', () => ['pull', 'bad/none:v1'], 3, 'REPOSITORY_NOT_FOUND', /bad\/none/],
  ['unknown tag', () => ['pull', 'bad/app:nope'], 3, 'IMAGE_NOT_FOUND', /bad\/app:nope/],
  ['unknown digest', () => ['pull', `bad/app@${D}`], 3, 'IMAGE_NOT_FOUND', /not found/],
  [
    'tag and digest that disagree',
    () => ['pull', `bad/app:v1@${D}`],
    3,
    'IMAGE_NOT_FOUND',
    /does not point at the digest/,
  ],
  [
    'platform that does not exist',
    () => ['pull', 'bad/app:v1', '--platform', 'linux/s390x'],
    3,
    'PLATFORM_NOT_FOUND',
    /single-platform image for linux\/amd64/,
  ],
  [
    'wrong access key',
    () => ['tags', 'bad/app'],
    4,
    'AUTH_ERROR',
    /security token included in the request is invalid/,
    () => env(strict.endpoint),
  ],
  [
    'wrong secret',
    () => ['repos'],
    4,
    'AUTH_ERROR',
    /signature/,
    () => env(strict.endpoint, { AWS_ACCESS_KEY_ID: 'AKIASTRICT0000000001' }),
  ],
  [
    'no credentials at all against real AWS',
    () => ['repos', '--region', 'us-east-1'],
    4,
    'AUTH_ERROR',
    /credential/i,
    () => {
      const e = testEnv(undefined, {
        HOME: '/nonexistent-ecrx',
        AWS_CONFIG_FILE: '/nonexistent-ecrx/c',
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent-ecrx/k',
        AWS_EC2_METADATA_DISABLED: 'true',
      });
      delete e.AWS_ACCESS_KEY_ID;
      delete e.AWS_SECRET_ACCESS_KEY;
      return e;
    },
  ],
  ['an empty image (no layers) is fine, but inspect shows it', () => ['inspect', 'bad/app:weird', '--raw'], 0, '', /./],
  ['push: missing source', () => ['push', join(work, 'missing'), 'bad/app:x'], 2, 'VALIDATION_ERROR', /does not exist/],
  [
    'push: empty directory',
    () => ['push', join(work, 'empty-dir'), 'bad/app:x'],
    5,
    'INVALID_IMAGE',
    /not an OCI image layout/,
  ],
  [
    'push: truncated archive',
    () => ['push', join(work, 'truncated.tar'), 'bad/app:x'],
    5,
    'INVALID_IMAGE',
    /truncated|could not be read/,
  ],
  [
    'push: random bytes',
    () => ['push', join(work, 'random.bin'), 'bad/app:x'],
    5,
    'INVALID_IMAGE',
    /not a tar archive/,
  ],
  ['push: empty file', () => ['push', join(work, 'empty.tar'), 'bad/app:x'], 5, 'INVALID_IMAGE', /empty/],
  [
    'push: a tar that is not an image',
    () => ['push', join(work, 'not-image.tar'), 'bad/app:x'],
    5,
    'INVALID_IMAGE',
    /not an image/,
  ],
  [
    'push: ../ path in archive',
    () => ['push', join(work, 'dotdot.tar'), 'bad/app:x'],
    5,
    'INVALID_IMAGE',
    /unsafe path/,
  ],
  [
    'push: absolute path in archive',
    () => ['push', join(work, 'abs.tar'), 'bad/app:x'],
    5,
    'INVALID_IMAGE',
    /unsafe path/,
  ],
  [
    'push: unknown layout name',
    () => ['push', `${join(work, 'layout')}:nope`, 'bad/app:x'],
    3,
    'IMAGE_NOT_FOUND',
    /no image named 'nope'/,
  ],
  [
    'push: digest that is not the source',
    () => ['push', join(work, 'layout'), `bad/app@${D}`],
    5,
    'DIGEST_MISMATCH',
    /names digest/,
  ],
  [
    'push: the same image again to an immutable tag is fine',
    () => ['push', join(work, 'good.tar'), 'bad/frozen:v1', '-t', 'v1'],
    0,
    '',
    /./,
  ],
  [
    'push: bad extra tag',
    () => ['push', join(work, 'layout'), 'bad/app:x', '-t', '.bad'],
    2,
    'VALIDATION_ERROR',
    /Invalid tag/,
  ],
  [
    'export into a non-empty directory',
    () => ['export', 'bad/app:v1', join(work, 'layout')],
    8,
    'OUTPUT_ERROR',
    /not an empty directory/,
  ],
  ['rm without tag or digest', () => ['rm', 'bad/app'], 2, 'VALIDATION_ERROR', /names no tag or digest/],
  [
    'a bad --max-attempts',
    () => ['pull', 'bad/app:v1', '--max-attempts', '0'],
    2,
    'VALIDATION_ERROR',
    /--max-attempts <n>' argument '0' is invalid\. must be a whole number from 1 to 100/,
  ],
  [
    'a bad --concurrency',
    () => ['push', join(work, 'layout'), 'bad/app:x', '-j', '65'],
    2,
    'VALIDATION_ERROR',
    /--concurrency <n>' argument '65' is invalid/,
  ],
  ['an unknown option', () => ['tags', 'bad/app', '--colour'], 2, 'VALIDATION_ERROR', /unknown option '--colour'/],
  ['a missing argument', () => ['copy', 'bad/app:v1'], 2, 'VALIDATION_ERROR', /missing required argument 'dst-image'/],
  [
    'a bad AWS_MAX_ATTEMPTS',
    () => ['tags', 'bad/app'],
    2,
    'VALIDATION_ERROR',
    /AWS_MAX_ATTEMPTS must be a whole number/,
    () => env(serve.endpoint, { AWS_MAX_ATTEMPTS: 'many' }),
  ],
  [
    'cache prune with a bad size',
    () => ['cache', 'prune', '--max-size', 'lots'],
    2,
    'VALIDATION_ERROR',
    /Invalid size/,
  ],
  [
    'serve with a bad account id',
    () => ['serve', '--account-id', '42', '--port', '0'],
    2,
    'VALIDATION_ERROR',
    /12 digits/,
  ],
];

describe('bad input', () => {
  test.each(cases.map((c) => ({ name: c[0], c })))('$name', async ({ c }) => {
    const [, args, exit, code, message, envOverride] = c;
    const before = readdirSync(work).sort();
    const argv = args();
    const takesCache = ['pull', 'push', 'export', 'cache'].includes(argv[0]);
    const r = await cli(
      [...argv, '--json', ...(takesCache ? ['--cache-dir', join(work, 'cache')] : [])],
      envOverride?.(),
    );
    expect(r).toExitWith(exit);
    if (exit !== 0) {
      const doc = JSON.parse(r.stdout);
      expect(doc.success).toBe(false);
      expect(doc.error.code).toBe(code);
      expect(doc.error.message).toMatch(message);
      expect(r.stdout.trim().split('\n')).toHaveLength(1);
    }
    // nothing partial left beside the work
    expect(readdirSync(work).filter((n) => n.includes('.ecrx-'))).toEqual([]);
    expect(
      readdirSync(work)
        .sort()
        .filter((n) => !before.includes(n) && n !== 'cache'),
    ).toEqual([]);
  });

  test('a full disk (ENOSPC) while writing is DISK_FULL, exit 8', () => {
    const r = spawnSync(
      'sh',
      [
        '-c',
        `"${process.execPath}" "${BIN}" pull bad/app:v1 --format oci-archive -o - --cache-dir "${join(work, 'cache')}" > /dev/full`,
      ],
      { env: env(), encoding: 'utf8' },
    );
    outputs.push(r.stderr);
    expect(r.status).toBe(8);
    expect(r.stderr).toContain('DISK_FULL');
  });

  test('an unwritable output path is refused with a local-I/O code', async () => {
    const r = await cli([
      'pull',
      'bad/app:v1',
      '-o',
      '/proc/ecrx-cannot-write-here',
      '--json',
      '--cache-dir',
      join(work, 'cache'),
    ]);
    expect(r).toExitWith(8);
    expect(['PERMISSION_DENIED', 'OUTPUT_ERROR', 'DISK_FULL']).toContain(JSON.parse(r.stdout).error.code);
    expect(existsSync('/proc/ecrx-cannot-write-here')).toBe(false);
  });

  test('a port already in use for serve is PORT_IN_USE, exit 8', async () => {
    const port = new URL(serve.endpoint).port;
    const r = await cli(['serve', '--port', port, '--json']);
    expect(r).toExitWith(8);
    expect(JSON.parse(r.stdout).error.code).toBe('PORT_IN_USE');
  });

  test('serve says so when it does not bind loopback', async () => {
    const child = (await import('node:child_process')).spawn(
      process.execPath,
      [BIN, 'serve', '--host', '0.0.0.0', '--port', '0', '--in-memory'],
      { env: env() },
    );
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGTERM');
    await new Promise((r) => child.on('close', r));
    expect(err).toContain('not loopback');
  });
});

describe('secrets', () => {
  test('downloads never carry AWS credentials, and no output of this suite shows a secret', async () => {
    const r = await cli([
      'pull',
      'bad/app:v1',
      '-o',
      join(work, 'secret-pull'),
      '--debug',
      '--cache-dir',
      join(work, 'secret-cache'),
    ]);
    expect(r).toExitWith(0);
    await cli(['push', join(work, 'layout'), 'bad/app:secret', '--debug', '--cache-dir', join(work, 'secret-cache')]);
    await cli(['login', '--docker-config', join(work, 'dc.json'), '--debug']);
    expect(serve.log()).not.toContain('credentials-in-request');
    expect(serve.log()).toMatch(/GET blob 200/);
    const all = outputs.join('\n');
    for (const secret of [
      SECRET,
      ACCESS,
      TOKEN,
      'X-Amz-Signature',
      'X-Amz-Credential',
      'X-Amz-Security-Token',
      'the-right-secret',
    ]) {
      expect({ secret, found: all.includes(secret) }).toEqual({ secret, found: false });
    }
    expect(all).not.toMatch(/authorization: AWS4/i);
  });
});
