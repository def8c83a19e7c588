/**
 * What a CI log shows (stderr not a terminal): a long pull and a long push each print a start line, a line per
 * blob start and finish, a heartbeat every ECRX_PROGRESS_INTERVAL seconds (shortened here), and the summary;
 * never a carriage return or an escape code.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, testEnv } from '../helpers/cli.js';
import { startServe, type Serve } from '../helpers/serve.js';
import { pushSlowImage } from '../helpers/slow-image.js';
import { createRepo, sdk } from '../helpers/ecr.js';

let work: string;
let serve: Serve;
let digest: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ecrx-ci-log-'));
  serve = await startServe(['--fault-bandwidth', String(1024 * 1024)]);
  digest = await pushSlowImage(serve.endpoint, work, 'ci/app', 3, 2 * 1024 * 1024);
});

afterAll(async () => {
  await serve?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

const CONTROL = /[\r\u001b\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

function expectPlainLog(text: string): void {
  expect(text).not.toMatch(CONTROL);
}

test('a long pull: start line, blob lines, periodic progress with totals, rate and ETA, then the summary', async () => {
  const res = await runCli(['pull', 'ci/app:v1', '-o', join(work, 'pulled'), '--cache-dir', join(work, 'pull-cache')], {
    env: testEnv(serve.endpoint, { ECRX_PROGRESS_INTERVAL: '0.25' }),
  });
  expect(res).toExitWith(0);
  const lines = res.stderr.trimEnd().split('\n');
  expect(lines[0]).toBe('pull: resolving ci/app:v1');
  expect(lines).toContain('pull: fetching 4 blobs');
  expect(lines.filter((l) => /^pull: [0-9a-f]{12} layer \d\/3 2\.0 MiB started$/.test(l))).toHaveLength(3);
  expect(
    lines.filter((l) => /^pull: [0-9a-f]{12} layer \d\/3 2\.0 MiB done in [\d.]+m?s \([\d.]+ (KiB|MiB)\/s\)$/.test(l)),
  ).toHaveLength(3);
  const beats = lines.filter((l) => l.startsWith('pull: progress: '));
  expect(beats.length).toBeGreaterThanOrEqual(2);
  for (const b of beats)
    expect(b).toMatch(
      /^pull: progress: \d\/4 blobs downloaded, [\d.]+ (B|KiB|MiB) of 6\.0 MiB \(\d+%\), [\d.]+ (B|KiB|MiB)\/s(, ETA \S+)?$/,
    );
  expect(beats.some((b) => /, ETA \d/.test(b))).toBe(true);
  expect(res.stdout).toMatch(
    new RegExp(
      `^Pulled ci/app:v1 ${digest} \\(linux/amd64\\) to \\S+ \\[oci\\]: 4 blobs, 4 downloaded \\(6\\.0 MiB\\), 0 cached, in [\\d.]+m?s\\n$`,
    ),
  );
  expectPlainLog(res.stderr);
  expectPlainLog(res.stdout.replace(/\n/g, ''));
});

test('a long push (ECR slow to see new layers): start line, blob lines, periodic lines while PutImage waits, the summary', async () => {
  const lagging = await startServe(['--fault-layer-lag', '1500'], serve.dataDir);
  try {
    const ecr = sdk(lagging.endpoint);
    await createRepo(ecr, 'ci/other');
    ecr.destroy();
    const res = await runCli(
      ['push', join(work, 'layout-ci-app'), 'ci/other:v2', '--cache-dir', join(work, 'push-cache-2')],
      {
        env: testEnv(lagging.endpoint, { ECRX_PROGRESS_INTERVAL: '0.25' }),
      },
    );
    expect(res).toExitWith(0);
    const lines = res.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^push: reading \S+layout-ci-app$/);
    expect(lines).toContain('push: checking 4 blobs in ci/other');
    expect(
      lines.filter((l) => /^push: [0-9a-f]{12} (config|layer \d\/3) [\d.]+ (B|KiB|MiB) started$/.test(l)),
    ).toHaveLength(4);
    expect(
      lines.filter((l) =>
        /^push: [0-9a-f]{12} (config|layer \d\/3) [\d.]+ (B|KiB|MiB) done in [\d.]+m?s \([\d.]+ (B|KiB|MiB)\/s\)$/.test(
          l,
        ),
      ),
    ).toHaveLength(4);
    // While ECR does not yet see the new layers, PutImage is retried and the log keeps a heartbeat.
    expect(
      lines.filter((l) => /^push: still PutImage ci\/other:v2 \([\d.]+m?s\)$/.test(l)).length,
    ).toBeGreaterThanOrEqual(2);
    expect(res.stdout).toMatch(
      new RegExp(
        `^Pushed oci-layout \\S+ to ci/other as v2 ${digest}: 4 blobs, 4 uploaded \\(6\\.0 MiB\\), 0 already there, in [\\d.]+m?s\\n$`,
      ),
    );
    expectPlainLog(res.stderr);
    expectPlainLog(res.stdout.replace(/\n/g, ''));
  } finally {
    await lagging.stop();
  }
});

test('ECRX_PROGRESS_INTERVAL must be a number of seconds: a bad value is a usage error naming the variable', async () => {
  const res = await runCli(['pull', 'ci/app:v1', '-o', join(work, 'never'), '--cache-dir', join(work, 'pull-cache')], {
    env: testEnv(serve.endpoint, { ECRX_PROGRESS_INTERVAL: 'often' }),
  });
  expect(res).toExitWith(2);
  expect(res.stderr).toContain("ECRX_PROGRESS_INTERVAL must be a number of seconds from 0 to 86400, got 'often'");
});
