/**
 * A registry or an image must not be able to drive the terminal: repository names, tags, server error messages,
 * config fields and index platforms carrying escape sequences (retitle the window, clear the screen, move the
 * cursor to fake a line), C1 controls and bidi overrides are printed with their control characters made visible.
 * JSON output escapes them as JSON does and keeps the exact value. One table of cases, against a hostile ECR
 * endpoint written here (for what a real one would refuse to store) and a real `ecrx serve` (for image content).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { runCli, testEnv } from '../helpers/cli.js';
import { startServe, type Serve } from '../helpers/serve.js';
import { createRepo, putManifest, pushBuilt, sdk } from '../helpers/ecr.js';
import { buildImage, buildIndex } from '../../src/oci/build.js';

/** Retitles the window, clears the screen, and writes a fake success line over the real one. */
const EVIL = '\u001b]0;pwned\u0007\u001b[2J\u001b[1A\u001b[2KPulled ok\u009b31m\u202eevil';
/** Raw control characters a terminal would act on (newline and tab excepted). */
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

let work: string;
let hostile: Server;
let hostileUrl: string;
let serve: Serve;

/** An ECR endpoint whose names, tags and errors are hostile. */
function hostileEcr(): Server {
  return createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const op = String(req.headers['x-amz-target'] ?? '')
        .split('.')
        .pop();
      const input = body ? JSON.parse(body) : {};
      const reply = (status: number, doc: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(doc));
      };
      const digest = `sha256:${'a'.repeat(64)}`;
      if (input.repositoryName === 'broken/app')
        return reply(400, { __type: 'RepositoryNotFoundException', message: `The repository ${EVIL} does not exist` });
      switch (op) {
        case 'DescribeRepositories':
          return reply(200, {
            repositories: [
              {
                repositoryName: `team/${EVIL}`,
                repositoryUri: `000000000000.dkr.ecr.us-east-1.amazonaws.com/team/${EVIL}`,
                registryId: '000000000000',
                createdAt: 1767225600,
                imageTagMutability: 'MUTABLE',
              },
            ],
          });
        case 'ListImages':
          return reply(200, { imageIds: [{ imageDigest: digest, imageTag: `v1${EVIL}` }] });
        case 'DescribeImages':
          return reply(200, {
            imageDetails: [
              {
                registryId: '000000000000',
                repositoryName: input.repositoryName,
                imageDigest: digest,
                imageTags: [`v1${EVIL}`],
                imageSizeInBytes: 1234,
                imagePushedAt: 1767225600,
                imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
              },
            ],
          });
        default:
          return reply(500, { __type: 'ServerException', message: `no ${op} here: ${EVIL}` });
      }
    });
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ecrx-hostile-term-'));
  hostile = hostileEcr().listen(0, '127.0.0.1');
  await once(hostile, 'listening');
  hostileUrl = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;

  serve = await startServe();
  const ecr = sdk(serve.endpoint);
  await createRepo(ecr, 'img/app');
  // Image content is not checked by ECR: the config's os, created and entrypoint, and an index's platforms.
  const single = await buildImage([[{ path: 'a', content: 'a' }]], {
    os: `linux${EVIL}`,
    architecture: 'amd64',
    created: `2026${EVIL}`,
    entrypoint: [`/bin/sh${EVIL}`],
  });
  await pushBuilt(ecr, 'img/app', single, 'single');
  const other = await buildImage([[{ path: 'b', content: 'b' }]], { os: 'linux', architecture: `arm64${EVIL}` });
  await pushBuilt(ecr, 'img/app', other);
  const index = buildIndex([single, other]);
  await putManifest(ecr, 'img/app', index.bytes, 'multi');
  ecr.destroy();
});

afterAll(async () => {
  hostile?.close();
  await serve?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

const strings = (v: unknown): string[] =>
  typeof v === 'string' ? [v] : v && typeof v === 'object' ? Object.values(v).flatMap(strings) : [];

type Case = [name: string, endpoint: () => string, args: string[], exit: number, where: 'stdout' | 'stderr'];

const cases: Case[] = [
  ['repository names in `repos`', () => hostileUrl, ['repos'], 0, 'stdout'],
  ['tags in the `tags` table', () => hostileUrl, ['tags', 'team/app'], 0, 'stdout'],
  ['tags with -q', () => hostileUrl, ['tags', 'team/app', '-q'], 0, 'stdout'],
  ['a server error message', () => hostileUrl, ['tags', 'broken/app'], 3, 'stderr'],
  ['config os, created and entrypoint in `inspect`', () => serve.endpoint, ['inspect', 'img/app:single'], 0, 'stdout'],
  ['index platforms in `inspect`', () => serve.endpoint, ['inspect', 'img/app:multi'], 0, 'stdout'],
  [
    'the platform in the pull summary and its progress lines',
    () => serve.endpoint,
    ['pull', 'img/app:single', '-o', 'PULLED', '--cache-dir', 'CACHE'],
    0,
    'stdout',
  ],
  [
    'a platform named in an error',
    () => serve.endpoint,
    ['pull', 'img/app:multi', '--platform', 'linux/s390x', '-o', 'NEVER', '--cache-dir', 'CACHE'],
    3,
    'stderr',
  ],
];

const paths = (a: string[], n: number) =>
  a.map((x) =>
    x === 'PULLED'
      ? join(work, `pulled-${n}`)
      : x === 'CACHE'
        ? join(work, 'cache')
        : x === 'NEVER'
          ? join(work, 'never')
          : x,
  );

describe.each(cases)('%s', (_name, endpoint, args, exit, where) => {
  test('human output shows the control characters as text, and acts on none', async () => {
    const res = await runCli(paths(args, 1), { env: testEnv(endpoint()) });
    expect(res).toExitWith(exit);
    expect(res.stdout).not.toMatch(RAW_CONTROL);
    expect(res.stderr).not.toMatch(RAW_CONTROL);
    // The hostile value is shown, escaped, where it belongs: ESC as \x1b, C1 CSI as \x9b, the bidi override as \u202e.
    const shown = where === 'stdout' ? res.stdout : res.stderr;
    expect(shown).toContain('\\x1b]0;pwned\\x07\\x1b[2J\\x1b[1A\\x1b[2KPulled ok\\x9b31m\\u202eevil');
  });
});

// The same cases as JSON (-q has no JSON form of its own: it is the tags case again).
describe.each(cases.filter(([, , args]) => !args.includes('-q')))('%s', (_name, endpoint, args, exit) => {
  test('--json keeps the exact value, escaped as JSON', async () => {
    const res = await runCli([...paths(args, 2), '--json'], { env: testEnv(endpoint()) });
    expect(res).toExitWith(exit);
    expect(res.stdout).not.toMatch(RAW_CONTROL);
    expect(res.stdout).toContain('\\u001b]0;pwned\\u0007');
    expect(res.stdout).toContain('\\u009b31m\\u202eevil');
    // Parsed back, the value is exactly what the registry sent.
    expect(strings(JSON.parse(res.stdout)).some((v) => v.includes(EVIL))).toBe(true);
  });
});
