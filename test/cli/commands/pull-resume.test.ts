/**
 * A pull killed with SIGKILL continues where it stopped on the next run: the real CLI against a real `ecrx serve`
 * whose download connections are paced, so a 48 MiB layer (three ranges) takes long enough to be killed several
 * times at random points. What the emulator sent is measured from its log (one `blob-sent` line per download
 * connection, with the bytes handed over), what the killed run kept from the partial's record in the cache.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { startServe, type Serve } from '../../helpers/serve.js';
import { blobBytesSent, downloadsSettled, partialBytes as partialOf } from '../../helpers/resume-log.js';
import { BIN, runCli, testEnv } from '../../helpers/cli.js';
import { pushSlowImage } from '../../helpers/slow-image.js';
import { sha256File } from '../../helpers/files.js';

const LAYER = 48 << 20;
const RANGE = 16 << 20;

let work: string;
let serve: Serve;
let layerDigest: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ecrx-pull-resume-'));
  serve = await startServe(['--bandwidth-per-connection', '4MiB/s']);
  await pushSlowImage(serve.endpoint, work, 'resume/app', 1, LAYER);
  // The layer is the one blob of the pushed layout bigger than LAYER (a tar of one file of LAYER random bytes).
  const hexes = readdirSync(join(blobsDir()));
  layerDigest = `sha256:${hexes.find((h) => statSize(join(blobsDir(), h)) > LAYER)}`;
  expect(layerDigest).toMatch(/^sha256:[a-f0-9]{64}$/);
}, 120_000);
afterAll(async () => {
  await serve?.dispose();
  rmSync(work, { recursive: true, force: true });
});

function statSize(path: string): number {
  return statSync(path).size;
}

const layerBytesSent = () => blobBytesSent(serve, layerDigest);
const settled = () => downloadsSettled(serve);
const partialBytes = (cacheDir: string) => partialOf(cacheDir, layerDigest);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('pull resumes across runs', () => {
  test('killed with SIGKILL at four random points, each next run re-fetches at most one range, then finishes verified', async () => {
    const cacheDir = join(work, 'cache-kill');
    const out = join(work, 'out-kill');
    const args = ['pull', 'resume/app:v1', '-o', out, '--cache-dir', cacheDir, '--json'];
    let kept = 0;
    for (let kill = 0; kill < 4; kill++) {
      const sentBefore = layerBytesSent();
      const child = spawn(process.execPath, [BIN, ...args], { env: testEnv(serve.endpoint), stdio: 'ignore' });
      const exited = once(child, 'exit');
      // Wait until this run has recorded progress of its own, then kill it a random moment later.
      for (let i = 0; i < 400 && partialBytes(cacheDir) < kept + (1 << 20); i++) await sleep(25);
      await sleep(Math.floor(Math.random() * 700));
      child.kill('SIGKILL');
      await exited;
      await settled();
      const now = partialBytes(cacheDir);
      const sent = layerBytesSent() - sentBefore;
      // What this run was sent but did not keep is what the next run fetches again: at most one range.
      expect(now).toBeGreaterThan(kept);
      expect(sent - (now - kept)).toBeLessThanOrEqual(RANGE);
      kept = now;
    }
    // The cache lists the partial, and the dead process's lock does not block the next run.
    const ls = await runCli(['cache', 'ls', '--cache-dir', cacheDir, '--json']);
    expect(ls.code).toBe(0);
    const partials = JSON.parse(ls.stdout).data.partials as { digest: string; bytes: number; inUse: boolean }[];
    expect(partials).toEqual([expect.objectContaining({ digest: layerDigest, bytes: kept, inUse: false })]);

    const sentBefore = layerBytesSent();
    const res = await runCli(args, { env: testEnv(serve.endpoint) });
    expect(res).toExitWith(0);
    await settled();
    // The last run fetched only what was missing.
    expect(layerBytesSent() - sentBefore).toBe(LAYER_SIZE() - kept);
    // --json says what the partial saved.
    expect(JSON.parse(res.stdout).data.bytesReused).toBe(kept);
    expect(sha256File(join(out, 'blobs', 'sha256', layerDigest.slice(7)))).toBe(layerDigest);
    expect(readdirSync(join(cacheDir, 'partial-v1'))).toEqual([]);
  }, 180_000);

  test('two pulls of the same image at once download the layer once', async () => {
    const cacheDir = join(work, 'cache-two');
    const sentBefore = layerBytesSent();
    const [a, b] = await Promise.all(
      ['a', 'b'].map((n) =>
        runCli(['pull', 'resume/app:v1', '-o', join(work, `out-two-${n}`), '--cache-dir', cacheDir, '--json'], {
          env: testEnv(serve.endpoint),
        }),
      ),
    );
    expect(a).toExitWith(0);
    expect(b).toExitWith(0);
    await settled();
    expect(layerBytesSent() - sentBefore).toBe(LAYER_SIZE());
    for (const n of ['a', 'b'])
      expect(sha256File(join(work, `out-two-${n}`, 'blobs', 'sha256', layerDigest.slice(7)))).toBe(layerDigest);
    expect(existsSync(join(cacheDir, 'partial-v1', `${layerDigest.slice(7)}.lock`))).toBe(false);
  }, 180_000);

  test('--no-resume discards a partial and fetches the layer whole; cache prune removes partials', async () => {
    const cacheDir = join(work, 'cache-no-resume');
    const args = ['pull', 'resume/app:v1', '-o', join(work, 'out-no-resume'), '--cache-dir', cacheDir, '--json'];
    const child = spawn(process.execPath, [BIN, ...args], { env: testEnv(serve.endpoint), stdio: 'ignore' });
    const exited = once(child, 'exit');
    for (let i = 0; i < 400 && partialBytes(cacheDir) < 2 << 20; i++) await sleep(25);
    child.kill('SIGKILL');
    await exited;
    await settled();
    expect(partialBytes(cacheDir)).toBeGreaterThan(0);

    const prune = await runCli(['cache', 'prune', '--cache-dir', cacheDir, '--json']);
    expect(prune).toExitWith(0);
    expect(JSON.parse(prune.stdout).data.partialsRemoved).toEqual([expect.objectContaining({ digest: layerDigest })]);
    expect(readdirSync(join(cacheDir, 'partial-v1'))).toEqual([]);

    // Kill again, then pull with --no-resume: the whole layer is sent again.
    const again = spawn(process.execPath, [BIN, ...args], { env: testEnv(serve.endpoint), stdio: 'ignore' });
    const againExited = once(again, 'exit');
    for (let i = 0; i < 400 && partialBytes(cacheDir) < 2 << 20; i++) await sleep(25);
    again.kill('SIGKILL');
    await againExited;
    await settled();
    const sentBefore = layerBytesSent();
    const res = await runCli([...args, '--no-resume'], { env: testEnv(serve.endpoint) });
    expect(res).toExitWith(0);
    await settled();
    expect(layerBytesSent() - sentBefore).toBe(LAYER_SIZE());
  }, 180_000);
});

const blobsDir = () => join(work, 'layout-resume-app', 'blobs', 'sha256');

describe('a server that ignores Range', () => {
  test('a large layer from `ecrx serve --fault-ignore-range 1` is read as one stream and verified', async () => {
    const plain = await startServe(['--fault-ignore-range', '1']);
    try {
      const dir = mkdtempSync(join(work, 'ignore-range-'));
      await pushSlowImage(plain.endpoint, dir, 'whole/app', 1, 40 << 20);
      const res = await runCli(
        ['pull', 'whole/app:v1', '-o', join(dir, 'out'), '--cache-dir', join(dir, 'cache'), '--json'],
        { env: testEnv(plain.endpoint) },
      );
      expect(res).toExitWith(0);
      // The probe asked for a range and got the whole blob (200); no 206 was ever served.
      // The config, the layer's ranged probe (answered whole, dropped) and the layer read whole from byte 0.
      expect((plain.log().match(/GET blob 200/g) ?? []).length).toBe(3);
      expect(plain.log()).not.toMatch(/GET blob 206/);
      const layout = join(dir, 'layout-whole-app', 'blobs', 'sha256');
      for (const hex of readdirSync(layout))
        expect(sha256File(join(dir, 'out', 'blobs', 'sha256', hex))).toBe(`sha256:${hex}`);
      expect(readdirSync(join(dir, 'cache', 'partial-v1'))).toEqual([]);
    } finally {
      await plain.dispose();
    }
  }, 120_000);
});

describe('memory', () => {
  test('a 512 MiB layer in 16 ranged connections (-j 16) peaks under 200 MB of resident memory', async () => {
    const fast = await startServe([]);
    try {
      const dir = mkdtempSync(join(work, 'rss-'));
      await pushSlowImage(fast.endpoint, dir, 'big/app', 1, 512 << 20);
      const child = spawn(
        process.execPath,
        [BIN, 'pull', 'big/app:v1', '-o', join(dir, 'out'), '--cache-dir', join(dir, 'cache'), '-j', '16', '-q'],
        { env: testEnv(fast.endpoint), stdio: 'ignore' },
      );
      let peak = 0;
      const poll = setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          if (m) peak = Math.max(peak, Number(m[1]) * 1024);
        } catch {
          // exited between two polls
        }
      }, 20);
      const [code] = await once(child, 'exit');
      clearInterval(poll);
      expect(code).toBe(0);
      expect(peak).toBeGreaterThan(0);
      expect(peak).toBeLessThan(200e6);
      expect((fast.log().match(/GET blob 206/g) ?? []).length).toBeGreaterThanOrEqual(32);
      rmSync(dir, { recursive: true, force: true });
    } finally {
      await fast.dispose();
    }
  }, 300_000);
});

function LAYER_SIZE(): number {
  return statSize(join(blobsDir(), layerDigest.slice(7)));
}
