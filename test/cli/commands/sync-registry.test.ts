/**
 * `ecrx sync` from a real registry (Debian's docker-registry on loopback) into a real `ecrx serve`, through the
 * built CLI: 30 images (several tags, one multi-arch, one with a referrer in the tag schema), the run killed
 * part-way with SIGKILL, rerun to completion, rerun again with zero write calls (from serve's request log), every
 * target digest equal to its source's; and 4 shards at once under ECR's quotas covering every image exactly once.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchGetImageCommand,
  GetAuthorizationTokenCommand,
  ListImageReferrersCommand,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../../helpers/serve.js';
import { BIN, runCli, testEnv, type CliResult } from '../../helpers/cli.js';
import { sdk } from '../../helpers/ecr.js';
import { asSubject, spdxSbom, type Artifact } from '../../helpers/artifacts.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { describeWithTool } from '../../helpers/tools.js';
import { pushThrough, sha } from '../../registry/push-read.js';
import { buildImage, buildIndex, type BuiltImage } from '../../../src/oci/build.js';
import { RegistrySink } from '../../../src/sinks/registry.js';
import { RegistryClient } from '../../../src/registry/client.js';
import { MediaType } from '../../../src/oci/media-types.js';

const anon = { credentials: null } as const;
const WRITES = ['PutImage', 'InitiateLayerUpload', 'UploadLayerPart', 'CompleteLayerUpload', 'CreateRepository'];
const json = (stdout: string) => JSON.parse(stdout);

/** An artifact as a BuiltImage, for pushThrough: its first blob is the config, the others its layers. */
const asImage = (a: Artifact): BuiltImage =>
  ({ manifest: a.manifest, config: a.blobs[0], layers: a.blobs.slice(1) }) as unknown as BuiltImage;

describeWithTool(['docker-registry', 'skopeo'], 'ecrx sync from a registry', () => {
  let reg: TestRegistry;
  let work: string;
  /** source reference -> the digest it names. */
  const expected = new Map<string, string>();
  let sbom: Artifact;
  let signed: BuiltImage;
  /** The layer every image of lib/app and lib/tools shares. */
  let baseLayer: string;

  const plan = () => `target: mirror/{repo}
sync:
  - source: ${reg.host}/lib/app
    tags: ["*"]
  - source: ${reg.host}/lib/tools
    tags: ["t*"]
  - source: ${reg.host}/lib/multi:1
  - source: ${reg.host}/lib/signed:1
    referrers: true
`;

  beforeAll(async () => {
    reg = await startRegistry({ accessLog: true });
    work = mkdtempSync(join(tmpdir(), 'ecrx-sync-registry-'));
    // One base layer shared by every image of lib/app and lib/tools: downloaded once per run.
    const base = [{ path: 'etc/base', content: 'base layer '.repeat(5000) }];
    const push = async (repo: string, tag: string, images: BuiltImage[], index?: ReturnType<typeof buildIndex>) => {
      const sink = RegistrySink.open(`${reg.host}/${repo}`, anon);
      await pushThrough(sink, images, [tag], index);
      sink.close();
      expected.set(`${reg.host}/${repo}:${tag}`, (index ?? images[0].manifest).digest);
    };
    for (let i = 0; i < 20; i++) {
      const image = await buildImage([base, [{ path: 'app', content: `app ${i}` }]]);
      baseLayer = image.layers[0].digest;
      await push('lib/app', `1.${i}`, [image]);
    }
    for (let i = 0; i < 8; i++)
      await push('lib/tools', `t${i}`, [await buildImage([base, [{ path: 'tool', content: `tool ${i}` }]])]);
    const amd = await buildImage([[{ path: 'p', content: 'amd' }]], { architecture: 'amd64' });
    const arm = await buildImage([[{ path: 'p', content: 'arm' }]], { architecture: 'arm64' });
    await push('lib/multi', '1', [amd, arm], buildIndex([amd, arm]));
    signed = await buildImage([[{ path: 's', content: 'signed' }]]);
    await push('lib/signed', '1', [signed]);
    // Its SBOM, by digest, listed in the tag schema's index (docker-registry 2.8 has no referrers API).
    sbom = spdxSbom(asSubject(signed));
    const sink = RegistrySink.open(`${reg.host}/lib/signed`, anon);
    await pushThrough(sink, [asImage(sbom)], []);
    sink.close();
    const client = new RegistryClient({ registry: reg.host, credentials: null });
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        manifests: [
          {
            mediaType: sbom.manifest.mediaType,
            digest: sbom.manifest.digest,
            size: sbom.manifest.size,
            artifactType: sbom.artifactType,
          },
        ],
      }),
    );
    await client.putManifest('lib/signed', `sha256-${signed.manifest.digest.slice(7)}`, index, MediaType.ociIndex);
    client.close();
    writeFileSync(join(work, 'plan.yaml'), plan());
  });
  afterAll(async () => {
    await reg?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Every image of the plan at its target under its tag with the source's digest, and the SBOM beside its image. */
  async function expectMirrored(ecr: ECRClient) {
    for (const [source, digest] of expected) {
      const [, repo, tag] = /^[^/]+\/(.+):([^:]+)$/.exec(source)!;
      const got = await ecr.send(
        new BatchGetImageCommand({ repositoryName: `mirror/${repo}`, imageIds: [{ imageTag: tag }] }),
      );
      expect({ source, digest: got.images?.[0]?.imageId?.imageDigest }).toEqual({ source, digest });
    }
    const refs = await ecr.send(
      new ListImageReferrersCommand({
        repositoryName: 'mirror/lib/signed',
        subjectId: { imageDigest: signed.manifest.digest },
      }),
    );
    expect(refs.referrers?.map((r) => r.digest)).toEqual([sbom.manifest.digest]);
  }

  test('30 images: killed part-way, rerun to completion, rerun with zero writes, every digest equal', async () => {
    expect(expected.size).toBe(30);
    const serve: Serve = await startServe(['--latency', '10']);
    const ecr = sdk(serve.endpoint);
    const cache = join(work, 'cache-kill');
    const args = ['sync', 'plan.yaml', '-j', '2', '--cache-dir', cache];
    try {
      const child = spawn(process.execPath, [BIN, ...args], { env: testEnv(serve.endpoint), cwd: work });
      let stderr = '';
      let killed = false;
      child.stdout.resume();
      child.stderr.on('data', (d) => {
        stderr += d;
        // A few images in: SIGKILL, so nothing of ecrx gets to clean up or finish.
        if (!killed && (stderr.match(/^copied /gm) ?? []).length >= 3) {
          killed = true;
          child.kill('SIGKILL');
        }
      });
      const [code, signal] = await new Promise<[number | null, string | null]>((r) =>
        child.on('close', (c, s) => r([c, s])),
      );
      expect(killed).toBe(true);
      expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });

      const rerun = await runCli([...args, '--json'], { env: testEnv(serve.endpoint), cwd: work });
      expect(rerun).toExitWith(0);
      const totals = json(rerun.stdout).data.totals;
      expect(totals).toMatchObject({ images: 30, failed: 0 });
      expect(totals.skipped).toBeGreaterThanOrEqual(3);
      expect(totals.moved).toBe(30 - totals.skipped);
      await expectMirrored(ecr);

      const lines = () => serve.log().split('\n');
      // The log line of a call lands after its response: mark the log with a call sync never makes, and wait for it.
      const mark = async (n: number) => {
        await ecr.send(new GetAuthorizationTokenCommand({}));
        for (;;) {
          const at = lines().flatMap((l, i) => (/ GetAuthorizationToken /.test(l) ? [i] : []));
          if (at.length >= n) return at[n - 1];
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      const from = await mark(1);
      const again: CliResult = await runCli([...args, '--json'], { env: testEnv(serve.endpoint), cwd: work });
      const calls = lines()
        .slice(from + 1, await mark(2))
        .map((l) => l.split(' ')[1]);
      expect(again).toExitWith(0);
      expect(json(again.stdout).data.totals).toMatchObject({ images: 30, moved: 0, skipped: 30, failed: 0, bytes: 0 });
      expect(calls).toContain('DescribeImages');
      expect(calls).toContain('ListImageReferrers');
      expect(calls.filter((op) => WRITES.includes(op))).toEqual([]);
      for (const image of json(again.stdout).data.images) expect(image.sourceDigest).toBe(expected.get(image.source));
    } finally {
      ecr.destroy();
      await serve.dispose();
    }
  });

  test("4 shards at once under ECR's quotas: every image exactly once, none failed", async () => {
    const serve = await startServe(['--quotas', 'ecr']);
    const ecr = sdk(serve.endpoint);
    try {
      const runs = await Promise.all(
        [0, 1, 2, 3].map((i) =>
          runCli(['sync', 'plan.yaml', '--json', '--shard', `${i}/4`, '--cache-dir', join(work, `cache-shard-${i}`)], {
            env: testEnv(serve.endpoint),
            cwd: work,
          }),
        ),
      );
      const seen: string[] = [];
      runs.forEach((r, i) => {
        expect(r).toExitWith(0);
        const data = json(r.stdout).data;
        expect(data.shard).toEqual({ index: i, count: 4 });
        expect(data.totals.failed).toBe(0);
        expect(data.totals.skipped).toBe(0);
        seen.push(...data.images.map((img: { source: string }) => img.source));
      });
      expect(seen.sort()).toEqual([...expected.keys()].sort());
      await expectMirrored(ecr);
    } finally {
      ecr.destroy();
      await serve.dispose();
    }
  });

  test('--dry-run lists every image with its digest and size from the registry, and writes nothing', async () => {
    const serve = await startServe();
    try {
      const res = await runCli(['sync', 'plan.yaml', '--dry-run', '--json', '--cache-dir', join(work, 'cache-dry')], {
        env: testEnv(serve.endpoint),
        cwd: work,
      });
      expect(res).toExitWith(0);
      const items = json(res.stdout).data.images;
      expect(items).toHaveLength(30);
      for (const item of items) {
        expect(item.digest).toBe(expected.get(item.source));
        expect(item.bytes).toBeGreaterThan(0);
      }
      expect(serve.log()).not.toMatch(/ (PutImage|CreateRepository|InitiateLayerUpload) /);
    } finally {
      await serve.dispose();
    }
  });

  // Last: it stops the registry, to show the disconnected side never needs it.
  test('air gap: --to-dir from the registry, carried over, --from-dir into ECR: the same report, digests equal', async () => {
    const serve = await startServe();
    const ecr = sdk(serve.endpoint);
    const dir = join(work, 'carried');
    const run = (args: string[]) =>
      runCli(['sync', 'plan.yaml', '--json', '--cache-dir', join(work, 'cache-gap'), ...args], {
        env: testEnv(serve.endpoint),
        cwd: work,
      });
    const summary = (stdout: string) =>
      json(stdout)
        .data.images.map((i: { source: string; sourceDigest: string; target: string; tag: string }) =>
          [i.source, i.sourceDigest, i.target, i.tag].join(' '),
        )
        .sort();
    try {
      const logged = reg.log().length;
      const out = await run(['--to-dir', dir]);
      expect(out).toExitWith(0);
      // 28 images in two repositories share one layer: through the cache, it was downloaded once.
      const baseGets = reg
        .log()
        .slice(logged)
        .split('\n')
        .filter((l) => l.includes(`"GET /v2/`) && l.includes(`/blobs/${baseLayer} `));
      expect(baseGets).toHaveLength(1);
      expect(json(out.stdout).data.totals).toMatchObject({ images: 30, moved: 30, failed: 0 });
      // The connected side writes files only: not one ECR call.
      expect(serve.log()).toBe('');
      // One OCI layout per source repository, tags as ref names, readable by other tools.
      const host = reg.host.replace(':', '_');
      const app = join(dir, host, 'lib', 'app');
      const refNames = JSON.parse(readFileSync(join(app, 'index.json'), 'utf8')).manifests.map(
        (m: { annotations: Record<string, string> }) => m.annotations['org.opencontainers.image.ref.name'],
      );
      expect(refNames.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `1.${i}`).sort());
      const inspected = spawnSync('skopeo', ['inspect', '--raw', `oci:${app}:1.7`]);
      expect(inspected.status).toBe(0);
      expect(sha(inspected.stdout)).toBe(expected.get(`${reg.host}/lib/app:1.7`));
      const signedLayout = JSON.parse(readFileSync(join(dir, host, 'lib', 'signed', 'index.json'), 'utf8'));
      expect(signedLayout.manifests.map((m: { digest: string }) => m.digest).sort()).toEqual(
        [signed.manifest.digest, sbom.manifest.digest].sort(),
      );
      const outAgain = await run(['--to-dir', dir]);
      expect(outAgain).toExitWith(0);
      expect(json(outAgain.stdout).data.totals).toMatchObject({ images: 30, moved: 0, skipped: 30 });

      await reg.stop();
      const nowhere = await run(['--from-dir', join(work, 'not-carried')]);
      expect(nowhere).toExitWith(2);
      expect(json(nowhere.stdout).error.message).toContain('not-carried: no such directory');
      // A repository missing from the directory fails its entry (exit 10), never an empty success.
      writeFileSync(join(work, 'more.yaml'), `${plan()}  - source: ${reg.host}/lib/never\n    tags: ["*"]\n`);
      const partial = await runCli(
        ['sync', 'more.yaml', '--json', '--dry-run', '--from-dir', dir, '--cache-dir', join(work, 'cache-gap')],
        { env: testEnv(serve.endpoint), cwd: work },
      );
      expect(partial).toExitWith(10);
      const never = json(partial.stdout).data.images.filter((i: { error: unknown }) => i.error);
      expect(never).toEqual([expect.objectContaining({ source: `${reg.host}/lib/never` })]);
      expect(never[0].error.code).toBe('REPOSITORY_NOT_FOUND');
      const into = await run(['--from-dir', dir]);
      expect(into).toExitWith(0);
      expect(json(into.stdout).data.totals).toMatchObject({ images: 30, moved: 30, failed: 0 });
      expect(summary(into.stdout)).toEqual(summary(out.stdout));
      await expectMirrored(ecr);
      const before = serve.log().length;
      const intoAgain = await run(['--from-dir', dir]);
      // Every call of the rerun is in the log once a call made after it is.
      await ecr.send(new GetAuthorizationTokenCommand({}));
      while (!serve.log().includes(' GetAuthorizationToken ')) await new Promise((r) => setTimeout(r, 20));
      expect(intoAgain).toExitWith(0);
      expect(json(intoAgain.stdout).data.totals).toMatchObject({ images: 30, moved: 0, skipped: 30, failed: 0 });
      const calls = serve
        .log()
        .slice(before)
        .split('\n')
        .map((l) => l.split(' ')[1]);
      expect(calls).toContain('DescribeImages');
      expect(calls.filter((op) => WRITES.includes(op))).toEqual([]);
    } finally {
      ecr.destroy();
      await serve.dispose();
    }
  });
});
