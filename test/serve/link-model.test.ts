/**
 * `ecrx serve`'s link model: --latency, --bandwidth-per-connection, --bandwidth-total. Only lower bounds on
 * delays the server itself adds are asserted (never how fast anything is).
 */
import { type ECRClient, GetAuthorizationTokenCommand, GetDownloadUrlForLayerCommand } from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../helpers/serve.js';
import { runCli } from '../helpers/cli.js';
import { sdk, createRepo, pushImage, makeImage, sha256 } from '../helpers/ecr.js';

const KiB = 1024;
let serve: Serve;
let ecr: ECRClient;
let layers: Buffer[];

beforeAll(async () => {
  // Each connection at 512 KiB/s, all downloads together at 768 KiB/s, 200 ms before every answer.
  serve = await startServe([
    '--latency',
    '200',
    '--bandwidth-per-connection',
    '512KiB/s',
    '--bandwidth-total',
    '768KiB',
  ]);
  ecr = sdk(serve.endpoint);
  await createRepo(ecr, 'link/app');
  const img = makeImage([512 * KiB, 512 * KiB]);
  layers = img.layers;
  await pushImage(ecr, 'link/app', img, 'v1');
});

afterAll(async () => {
  ecr?.destroy();
  await serve?.dispose();
});

const urlOf = async (layer: Buffer) =>
  (await ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName: 'link/app', layerDigest: sha256(layer) })))
    .downloadUrl!;

/** Downloads a URL and says when its headers came and when its body ended, in ms from the start. */
async function timedDownload(url: string, t0: number) {
  const res = await fetch(url);
  const firstByte = Date.now() - t0;
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, firstByte, done: Date.now() - t0, digest: sha256(body) };
}

test('--latency: every API answer takes at least the latency, and the log shows it', async () => {
  const t0 = Date.now();
  await ecr.send(new GetAuthorizationTokenCommand({}));
  expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
  // The log line is written just after the answer: wait for it to reach the test.
  let line: string | undefined;
  for (let i = 0; i < 100 && !line; i++) {
    line = serve
      .log()
      .split('\n')
      .find((l) => / GetAuthorizationToken 200 \d+ms$/.test(l));
    if (!line) await new Promise((r) => setTimeout(r, 20));
  }
  expect(line).toBeDefined();
  expect(Number(/ (\d+)ms$/.exec(line!)![1])).toBeGreaterThanOrEqual(200);
});

test("--latency and --bandwidth-per-connection: a download's first byte waits the latency, its body its connection's rate", async () => {
  const url = await urlOf(layers[0]);
  const d = await timedDownload(url, Date.now());
  expect(d.status).toBe(200);
  expect(d.digest).toBe(sha256(layers[0]));
  expect(d.firstByte).toBeGreaterThanOrEqual(200);
  // 512 KiB at 512 KiB/s: a second, after the latency (the 768 KiB/s total alone would allow 0.67 s).
  expect(d.done).toBeGreaterThanOrEqual(200 + 1000 - 20);
});

test('--bandwidth-total: two downloads at once share the total rate', async () => {
  const [a, b] = await Promise.all(layers.map(urlOf));
  const t0 = Date.now();
  const both = await Promise.all([timedDownload(a, t0), timedDownload(b, t0)]);
  expect(both.map((d) => d.digest)).toEqual(layers.map(sha256));
  // 1 MiB through 768 KiB/s: 1.33 s after the latency, where each connection's own rate alone would allow 1 s.
  expect(Math.max(...both.map((d) => d.done))).toBeGreaterThanOrEqual(200 + 1333 - 20);
});

test('rates are checked, and --fault-bandwidth is the same setting as --bandwidth-per-connection', async () => {
  const bad = await runCli(['serve', '--port', '0', '--in-memory', '--bandwidth-per-connection', 'fast']);
  expect(bad).toExitWith(2);
  expect(bad.stderr).toMatch(/--bandwidth-per-connection.*must be a byte rate such as 50MB\/s/);
  const both = await runCli([
    'serve',
    '--port',
    '0',
    '--in-memory',
    '--fault-bandwidth',
    '1000',
    '--bandwidth-per-connection',
    '2000',
  ]);
  expect(both).toExitWith(2);
  expect(both.stderr).toMatch(/--fault-bandwidth is the older name of --bandwidth-per-connection/);
  const quotas = await runCli(['serve', '--port', '0', '--in-memory', '--quotas', 's3']);
  expect(quotas).toExitWith(2);
  expect(quotas.stderr).toMatch(/--quotas.*ecr/);
});
