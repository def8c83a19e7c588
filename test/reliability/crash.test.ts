/**
 * SIGKILL at 20 moments of a pull and of a push: afterwards the cache holds no bad blob, nothing half-written sits
 * under the final name, and the same command completes and reuses what was already moved. Ctrl-C exits 130 promptly
 * and leaves no temporary file.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BatchGetImageCommand } from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../helpers/serve.js';
import { BIN, runCli, testEnv } from '../helpers/cli.js';
import { sdk, createRepo, pushBuilt } from '../helpers/ecr.js';
import { sha256File } from '../helpers/files.js';
import { buildImage, writeLayout, type BuiltImage } from '../../src/oci/build.js';

let serve: Serve;
let work: string;
let image: BuiltImage;

/** Starts ecrx, kills it with `signal` after `ms`, and resolves with its exit. */
function runAndKill(
  args: string[],
  ms: number | (() => boolean),
  signal: NodeJS.Signals = 'SIGKILL',
): Promise<{
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  stdout: string;
  afterSignalMs: number;
  pid: number;
}> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: testEnv(serve.endpoint), cwd: work });
    let stderr = '';
    let stdout = '';
    let sentAt = 0;
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => (stdout += d));
    const kill = () => {
      sentAt = Date.now();
      child.kill(signal);
    };
    // A number is a moment in ms; a function is polled, and the kill comes as soon as it says so.
    const when = ms;
    const t =
      typeof when === 'number'
        ? setTimeout(kill, when)
        : setInterval(() => {
            if (!sentAt && when()) kill();
          }, 5);
    child.on('close', (code, sig) => {
      clearTimeout(t);
      clearInterval(t);
      resolve({ code, signal: sig, stderr, stdout, afterSignalMs: sentAt ? Date.now() - sentAt : -1, pid: child.pid! });
    });
  });
}

function expectNoTempLeft(dir: string) {
  expect(readdirSync(dir).filter((n) => n.includes('.ecrx-'))).toEqual([]);
}

beforeAll(async () => {
  serve = await startServe(['--fault-bandwidth', String(40 * 1024 * 1024)]);
  work = mkdtempSync(join(tmpdir(), 'ecrx-crash-'));
  const ecr = sdk(serve.endpoint);
  await createRepo(ecr, 'crash/app');
  await createRepo(ecr, 'crash/push');
  image = await buildImage(
    [
      [{ path: 'a.bin', content: randomBytes(6 * 1024 * 1024) }],
      [{ path: 'b.bin', content: randomBytes(5 * 1024 * 1024) }],
      [{ path: 'c.bin', content: randomBytes(4 * 1024 * 1024) }],
      [{ path: 'd.bin', content: randomBytes(12 * 1024 * 1024) }],
    ],
    { gzipLevel: 0 }, // random bytes: deflate would only spend seconds to store them as they are
  );
  await pushBuilt(ecr, 'crash/app', image, 'v1');
  ecr.destroy();
  await writeLayout(join(work, 'layout'), [image], { refName: 'v1' });
});
afterAll(async () => {
  await serve?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

const moments = Array.from({ length: 20 }, (_, i) => 60 + i * 45);

test('pull killed at 20 moments: no bad blob, no half output, and the rerun reuses what it had', async () => {
  const cache = join(work, 'pull-cache');
  const out = join(work, 'pulled');
  const killed: number[] = [];
  for (const ms of moments) {
    const r = await runAndKill(['pull', 'crash/app:v1', '-o', out, '--cache-dir', cache, '-q'], ms);
    killed.push(r.pid);
    if (r.signal === null) expect(r).toExitWith(0); // finished before the kill: fine
    const verify = await runCli(['cache', 'verify', '--cache-dir', cache, '--json']);
    expect(JSON.parse(verify.stdout).data.removed).toEqual([]);
    if (existsSync(out)) {
      for (const b of [image.manifest, image.config, ...image.layers])
        expect(sha256File(join(out, 'blobs', 'sha256', b.digest.slice(7)))).toBe(b.digest);
    }
    rmSync(out, { recursive: true, force: true });
    // SIGKILL cannot be cleaned up after: a run killed while writing leaves only its own hidden temporary output
    // (named with its pid), never anything under the final name; the next run into the same place removes it.
    for (const name of readdirSync(work).filter((n) => n.includes('.ecrx-')))
      expect(name).toMatch(new RegExp(`^\\.pulled\\.ecrx-tmp-(${killed.join('|')})-[0-9a-f]{8}$`));
  }
  const cachedBefore = readdirSync(join(cache, 'blobs-v1', 'sha256')).length;
  const final = await runCli(['pull', 'crash/app:v1', '-o', out, '--cache-dir', cache, '--json'], {
    env: testEnv(serve.endpoint),
    cwd: work,
  });
  expect(final).toExitWith(0);
  const data = JSON.parse(final.stdout).data;
  expect(data.layers.filter((l: { cached: boolean }) => l.cached)).toHaveLength(cachedBefore);
  expect(cachedBefore).toBeGreaterThan(0);
  for (const b of [image.manifest, image.config, ...image.layers])
    expect(sha256File(join(out, 'blobs', 'sha256', b.digest.slice(7)))).toBe(b.digest);
  // temporary files of killed runs are swept by the next run, in the cache and beside the output
  expect(readdirSync(join(cache, 'tmp'))).toEqual([]);
  expectNoTempLeft(work);
});

test('push killed at 20 moments: the rerun completes with the same digest and skips what landed', async () => {
  const cache = join(work, 'push-cache');
  for (const ms of moments) {
    const r = await runAndKill(['push', join(work, 'layout'), 'crash/push:v1', '--cache-dir', cache, '-q'], ms);
    if (r.signal === null) expect(r).toExitWith(0);
  }
  // On a slow machine every moment above may come before the first blob lands. One more run is killed only once
  // the emulator has completed an upload in it (or it finishes), so the rerun has something it must skip.
  const completes = () =>
    serve
      .log()
      .split('\n')
      .filter((l) => / CompleteLayerUpload 200 /.test(l)).length;
  const before = completes();
  const last = await runAndKill(
    ['push', join(work, 'layout'), 'crash/push:v1', '--cache-dir', cache, '-q'],
    () => completes() > before,
  );
  if (last.signal === null) expect(last).toExitWith(0);
  const final = await runCli(['push', join(work, 'layout'), 'crash/push:v1', '--cache-dir', cache, '--json'], {
    env: testEnv(serve.endpoint),
    cwd: work,
  });
  expect(final).toExitWith(0);
  const data = JSON.parse(final.stdout).data;
  expect(data.digest).toBe(image.manifest.digest);
  expect(data.layers.some((l: { uploaded: boolean }) => !l.uploaded)).toBe(true);
  const ecr = sdk(serve.endpoint);
  const got = await ecr.send(
    new BatchGetImageCommand({ repositoryName: 'crash/push', imageIds: [{ imageTag: 'v1' }] }),
  );
  ecr.destroy();
  expect(got.images![0].imageId!.imageDigest).toBe(image.manifest.digest);
});

test('Ctrl-C (SIGINT) stops a slow pull promptly, exits 130 and removes its temporary files', async () => {
  const slow = await startServe(['--fault-bandwidth', String(2 * 1024 * 1024)], serve.dataDir);
  try {
    const cache = join(work, 'int-cache');
    const child = spawn(
      process.execPath,
      [BIN, 'pull', 'crash/app:v1', '-o', join(work, 'int-out'), '--cache-dir', cache, '--json'],
      { env: testEnv(slow.endpoint), cwd: work },
    );
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    await new Promise((r) => setTimeout(r, 1500));
    const sent = Date.now();
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect(code).toBe(130);
    expect(Date.now() - sent).toBeLessThan(3000);
    expect(JSON.parse(stdout).error.code).toBe('INTERRUPTED');
    expect(readdirSync(join(cache, 'tmp'))).toEqual([]);
    expect(existsSync(join(work, 'int-out'))).toBe(false);
    expectNoTempLeft(work);
  } finally {
    await slow.stop();
  }
});
