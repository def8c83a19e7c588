/**
 * Many small blobs at -j 16: every in-flight request adds an abort listener to the signal it is given, so a
 * signal shared by all transfers went past Node's limit of 10 and the CLI printed MaxListenersExceededWarning
 * even with -q. Each transfer now has its own signal; the real CLI's stderr must stay free of the warning.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ECRClient } from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../helpers/serve.js';
import { runCli, testEnv } from '../helpers/cli.js';
import { sdk, createRepo, pushImage, makeImage } from '../helpers/ecr.js';

let serve: Serve;
let ecr: ECRClient;
let work: string;

beforeAll(async () => {
  serve = await startServe();
  ecr = sdk(serve.endpoint);
  work = mkdtempSync(join(tmpdir(), 'ecrx-listeners-'));
  await createRepo(ecr, 'many');
  await createRepo(ecr, 'copy');
  await pushImage(ecr, 'many', makeImage(Array.from({ length: 60 }, (_, i) => 200 + i)), 'v1');
});

afterAll(async () => {
  ecr?.destroy();
  await serve?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

const run = (args: string[]) => runCli(args, { env: testEnv(serve.endpoint), cwd: work });

test('pull and push of 61 small blobs at -j 16 print no MaxListenersExceededWarning', async () => {
  const pulled = await run(['pull', 'many:v1', '-o', 'layout', '--cache-dir', join(work, 'c1'), '-j', '16', '-q']);
  expect(pulled).toExitWith(0);
  expect(pulled.stderr).not.toMatch(/MaxListenersExceededWarning|abort listeners/);
  // The uploads all missing in 'copy', so 61 of them run 16 at a time.
  const pushed = await run(['push', 'layout', 'copy:v1', '--cache-dir', join(work, 'c2'), '-j', '16', '-q']);
  expect(pushed).toExitWith(0);
  expect(pushed.stderr).not.toMatch(/MaxListenersExceededWarning|abort listeners/);
  expect(
    serve
      .log()
      .split('\n')
      .filter((l) => l.includes(' CompleteLayerUpload 200 ')).length,
  ).toBeGreaterThanOrEqual(61 + 61);
});
