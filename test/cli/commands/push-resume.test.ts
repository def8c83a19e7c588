/**
 * Push resume across runs: a real `ecrx push` SIGKILLed part-way leaves a journal beside its cache, and the next
 * push continues each unfinished upload where ECR has it instead of from byte 0. Against a real `ecrx serve` with
 * latency on every call, so that kills land while parts are in flight.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  BatchGetImageCommand,
  BatchCheckLayerAvailabilityCommand,
  InitiateLayerUploadCommand,
  UploadLayerPartCommand,
  CompleteLayerUploadCommand,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../../helpers/serve.js';
import { BIN, runCli, testEnv } from '../../helpers/cli.js';
import { sdk, createRepo, sha256 } from '../../helpers/ecr.js';
import { buildImage, writeLayout, type BuiltImage } from '../../../src/oci/build.js';

const MiB = 1024 * 1024;
/** What `ecrx serve` answers as partSize. */
const PART = 10 * MiB;

let work: string;
let twoLayers: BuiltImage;
let oneLayer: BuiltImage;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ecrx-push-resume-'));
  // Random bytes do not compress: each layer is about 51 MiB, six parts of ECR's 10 MiB (stored, gzip level 0).
  twoLayers = await buildImage(
    [[{ path: 'a.bin', content: randomBytes(51 * MiB) }], [{ path: 'b.bin', content: randomBytes(51 * MiB) }]],
    { gzipLevel: 0 },
  );
  oneLayer = await buildImage([[{ path: 'c.bin', content: randomBytes(31 * MiB) }]], { gzipLevel: 0 });
  await writeLayout(join(work, 'two'), [twoLayers], { refName: 'v1' });
  await writeLayout(join(work, 'one'), [oneLayer], { refName: 'v1' });
}, 60_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const partsOf = (size: number) => Math.ceil(size / PART);
const lines = (s: Serve, pattern: RegExp) =>
  s
    .log()
    .split('\n')
    .filter((l) => pattern.test(l)).length;
/** The journal's entries left in a cache directory. */
const journal = (cache: string) => {
  const dir = join(cache, 'uploads-v1');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts `ecrx push` and SIGKILLs it when `until` says so (or when it ends on its own first). */
async function pushKilled(
  serve: Serve,
  args: string[],
  until: (running: () => boolean) => Promise<unknown>,
): Promise<void> {
  const child = spawn(process.execPath, [BIN, 'push', ...args], {
    env: testEnv(serve.endpoint),
    cwd: work,
    stdio: 'ignore',
  });
  const exited = once(child, 'exit');
  const running = () => child.exitCode === null && child.signalCode === null;
  await Promise.race([until(running), exited]);
  child.kill('SIGKILL');
  await exited;
}

async function pushedDigest(ecr: ECRClient, repositoryName: string, imageTag: string) {
  const out = await ecr.send(new BatchGetImageCommand({ repositoryName, imageIds: [{ imageTag }] }));
  return out.images?.[0]?.imageId?.imageDigest;
}

test('a push killed at random points many times re-sends at most one part per blob in flight, then finishes verified', async () => {
  const serve = await startServe(['--latency', '100']);
  const ecr = sdk(serve.endpoint);
  try {
    await createRepo(ecr, 'resume/kills');
    const cache = join(work, 'cache-kills');
    const args = ['two', 'resume/kills:v1', '--cache-dir', cache, '-j', '2'];
    // Each run is killed at a random moment after ECR accepted 3 more parts, so every kill lands mid-push with
    // progress to lose: a push that started again from byte 0 would re-send those parts and break the bound below.
    const kills = 3;
    const journalled: number[] = [];
    for (let i = 0; i < kills; i++) {
      const accepted = lines(serve, / UploadLayerPart 200 /) + 3;
      await pushKilled(serve, args, async (running) => {
        while (running() && lines(serve, / UploadLayerPart 200 /) < accepted) await sleep(10);
        await sleep(Math.random() * 200);
      });
      journalled.push(journal(cache).length);
    }
    // The killed runs left their unfinished uploads in the journal.
    expect(Math.max(...journalled)).toBeGreaterThan(0);
    const done = await runCli(['push', ...args, '--json'], { env: testEnv(serve.endpoint), cwd: work });
    expect(done).toExitWith(0);
    // --json accounts for every byte of what this run uploaded: sent now, or reused from an upload a killed run
    // left open. (A journal entry may also be stale: a run killed between CompleteLayerUpload and clearing it.)
    const data = JSON.parse(done.stdout).data as {
      bytesUploaded: number;
      bytesReused: number;
      layers: { size: number; uploaded: boolean }[];
    };
    const uploadedSizes = data.layers.filter((l) => l.uploaded).reduce((n, l) => n + l.size, 0);
    expect(data.bytesUploaded + data.bytesReused).toBe(uploadedSizes);

    // Every part the runs sent, whole or cut short by a kill (a body cut before its operation was read is logged as
    // `?`), against the parts the blobs need: each kill may cost one part per upload in flight (-j 2), no more.
    const needed = partsOf(twoLayers.layers[0].size) + partsOf(twoLayers.layers[1].size) + 1;
    const sent = lines(serve, / UploadLayerPart /) + lines(serve, / \? /);
    expect(sent).toBeLessThanOrEqual(needed + kills * 2);
    expect(sent).toBeGreaterThanOrEqual(needed);

    // The image is there, by its digest, and pulls back with every blob verified; no journal entry is left.
    expect(await pushedDigest(ecr, 'resume/kills', 'v1')).toBe(twoLayers.manifest.digest);
    const pulled = await runCli(
      ['pull', 'resume/kills:v1', '-o', 'pulled-kills', '--cache-dir', join(work, 'pc'), '-q'],
      {
        env: testEnv(serve.endpoint),
        cwd: work,
      },
    );
    expect(pulled).toExitWith(0);
    // No journal entry stands in the way: any left (a kill between CompleteLayerUpload and clearing the entry) names
    // a blob the repository now has, which the next push skips without looking at the journal.
    const blobs = [twoLayers.config.digest, ...twoLayers.layers.map((l) => l.digest)];
    for (const name of journal(cache))
      expect(blobs).toContain(JSON.parse(readFileSync(join(cache, 'uploads-v1', name), 'utf8')).digest);
    const again = await runCli(['push', ...args], { env: testEnv(serve.endpoint), cwd: work });
    expect(again).toExitWith(0);
    expect(again.stderr).not.toMatch(/retrying|warning/i);
  } finally {
    ecr.destroy();
    await serve.dispose();
  }
}, 120_000);

test('an upload ECR has forgotten (expired) is started afresh without an error', async () => {
  const serve = await startServe(['--latency', '50', '--upload-expiry', '2']);
  const ecr = sdk(serve.endpoint);
  try {
    await createRepo(ecr, 'resume/expired');
    const cache = join(work, 'cache-expired');
    const args = ['one', 'resume/expired:v1', '--cache-dir', cache, '-j', '1'];
    // Killed once the journal says ECR has at least one part of the layer.
    await pushKilled(serve, args, async (running) => {
      while (running()) {
        const [entry] = journal(cache);
        if (entry && JSON.parse(readFileSync(join(cache, 'uploads-v1', entry), 'utf8')).offset > 0) return;
        await sleep(20);
      }
    });
    expect(journal(cache)).toHaveLength(1);
    const initiated = lines(serve, / InitiateLayerUpload 200 /);
    await sleep(3000); // past --upload-expiry
    const done = await runCli(['push', ...args, '--json'], { env: testEnv(serve.endpoint), cwd: work });
    expect(done).toExitWith(0);
    expect(JSON.parse(done.stdout).data.bytesReused).toBe(0); // the upload was gone: nothing reused
    expect(done.stderr).not.toMatch(/UploadNotFound|retrying|warning/i);
    // The journal's upload was asked for and refused as unknown, then a new one was initiated and completed.
    expect(lines(serve, / UploadLayerPart 400 UploadNotFoundException /)).toBe(1);
    expect(lines(serve, / InitiateLayerUpload 200 /)).toBeGreaterThan(initiated);
    expect(await pushedDigest(ecr, 'resume/expired', 'v1')).toBe(oneLayer.manifest.digest);
    expect(journal(cache)).toEqual([]);
  } finally {
    ecr.destroy();
    await serve.dispose();
  }
}, 60_000);

test('--no-resume continues nothing: the unfinished upload is started again from byte 0', async () => {
  const serve = await startServe(['--latency', '50']);
  const ecr = sdk(serve.endpoint);
  try {
    await createRepo(ecr, 'resume/fresh');
    const cache = join(work, 'cache-fresh');
    const args = ['one', 'resume/fresh:v1', '--cache-dir', cache, '-j', '1'];
    await pushKilled(serve, args, async (running) => {
      while (running() && journal(cache).length === 0) await sleep(20);
    });
    const initiated = lines(serve, / InitiateLayerUpload 200 /);
    const partsBefore = lines(serve, / UploadLayerPart 200 /);
    const done = await runCli(['push', ...args, '--no-resume'], { env: testEnv(serve.endpoint), cwd: work });
    expect(done).toExitWith(0);
    // The layer was initiated again and its parts sent from byte 0: the journal's upload was never asked about.
    expect(lines(serve, / InitiateLayerUpload 200 /)).toBeGreaterThan(initiated);
    expect(lines(serve, / UploadLayerPart 400 /)).toBe(0);
    expect(lines(serve, / UploadLayerPart 200 /) - partsBefore).toBeGreaterThanOrEqual(
      partsOf(oneLayer.layers[0].size),
    );
    // The new upload replaced the old entry and was cleared when it completed.
    expect(journal(cache)).toEqual([]);
    expect(await pushedDigest(ecr, 'resume/fresh', 'v1')).toBe(oneLayer.manifest.digest);
  } finally {
    ecr.destroy();
    await serve.dispose();
  }
}, 60_000);

test('ecrx serve lets another client continue an upload, and answers an out-of-order part with where it stands', async () => {
  const serve = await startServe();
  const first = sdk(serve.endpoint);
  const second = sdk(serve.endpoint, { accessKeyId: 'AKIAECRXTESTKEY00002', secretAccessKey: 'another-secret' });
  try {
    await createRepo(first, 'resume/shared');
    const data = randomBytes(6 * MiB);
    const cut = 5 * MiB;
    const repositoryName = 'resume/shared';
    const { uploadId } = await first.send(new InitiateLayerUploadCommand({ repositoryName }));
    await first.send(
      new UploadLayerPartCommand({
        repositoryName,
        uploadId,
        partFirstByte: 0,
        partLastByte: cut - 1,
        layerPartBlob: data.subarray(0, cut),
      }),
    );
    // The second client sends a part that skips ahead: refused, with the last byte the upload has.
    const refused = await second
      .send(
        new UploadLayerPartCommand({
          repositoryName,
          uploadId,
          partFirstByte: cut + 10,
          partLastByte: data.length - 1,
          layerPartBlob: data.subarray(cut + 10),
        }),
      )
      .then(
        () => undefined,
        (err: unknown) => err as { name?: string; lastValidByteReceived?: number; uploadId?: string },
      );
    expect(refused).toMatchObject({ name: 'InvalidLayerPartException', lastValidByteReceived: cut - 1, uploadId });
    // ...then continues from there and completes the upload the first client began.
    await second.send(
      new UploadLayerPartCommand({
        repositoryName,
        uploadId,
        partFirstByte: cut,
        partLastByte: data.length - 1,
        layerPartBlob: data.subarray(cut),
      }),
    );
    const digest = sha256(data);
    await second.send(new CompleteLayerUploadCommand({ repositoryName, uploadId, layerDigests: [digest] }));
    const check = await first.send(new BatchCheckLayerAvailabilityCommand({ repositoryName, layerDigests: [digest] }));
    expect(check.layers?.[0]).toMatchObject({
      layerDigest: digest,
      layerAvailability: 'AVAILABLE',
      layerSize: data.length,
    });
  } finally {
    first.destroy();
    second.destroy();
    await serve.dispose();
  }
}, 60_000);
