/**
 * Images made by real tools (umoci builds a layout, skopeo turns it into a docker-archive) pushed by ecrx, then read
 * back through the AWS CLI (batch-get-image, get-download-url-for-layer and a download), byte for byte.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe, type Serve } from '../../helpers/serve.js';
import { runCli, testEnv } from '../../helpers/cli.js';
import { describeWithTool, hasTool } from '../../helpers/tools.js';
import { sdk, createRepo } from '../../helpers/ecr.js';
import type { ImageManifest } from '../../../src/oci/manifest.js';

let serve: Serve;
let work: string;

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: env ?? process.env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

const aws = (...args: string[]) =>
  JSON.parse(
    run(
      'aws',
      ['--endpoint-url', serve.endpoint, '--region', 'us-east-1', '--output', 'json', 'ecr', ...args],
      testEnv(undefined, { AWS_PAGER: '', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' }),
    ),
  );

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Reads the pushed image back through the AWS CLI and checks every blob's bytes against its digest. */
async function readBackWithAwsCli(
  repository: string,
  tag: string,
): Promise<{ manifest: ImageManifest; digest: string; blobs: Map<string, Buffer> }> {
  const got = aws('batch-get-image', '--repository-name', repository, '--image-ids', `imageTag=${tag}`);
  const text: string = got.images[0].imageManifest;
  const digest: string = got.images[0].imageId.imageDigest;
  expect(sha256(Buffer.from(text, 'utf8'))).toBe(digest);
  const manifest = JSON.parse(text) as ImageManifest;
  const blobs = new Map<string, Buffer>();
  for (const d of [manifest.config, ...manifest.layers]) {
    const url = aws(
      'get-download-url-for-layer',
      '--repository-name',
      repository,
      '--layer-digest',
      d.digest,
    ).downloadUrl;
    const bytes = Buffer.from(await (await fetch(url)).arrayBuffer());
    expect(sha256(bytes)).toBe(d.digest);
    expect(bytes.length).toBe(d.size);
    blobs.set(d.digest, bytes);
  }
  return { manifest, digest, blobs };
}

const tools = ['umoci', 'skopeo', 'aws'];
describeWithTool(
  tools.find((t) => !hasTool(t)) ?? 'aws',
  'images built by umoci and skopeo, pushed by ecrx, read back by the AWS CLI',
  () => {
    beforeAll(async () => {
      serve = await startServe();
      work = mkdtempSync(join(tmpdir(), 'ecrx-push-interop-'));
      const c = sdk(serve.endpoint);
      await createRepo(c, 'interop/umoci');
      await createRepo(c, 'interop/skopeo');
      c.destroy();
      const layout = join(work, 'layout');
      run('umoci', ['init', '--layout', layout]);
      run('umoci', ['new', '--image', `${layout}:v1`]);
      writeFileSync(join(work, 'hello.txt'), 'hello from umoci\n');
      run('umoci', ['insert', '--rootless', '--image', `${layout}:v1`, join(work, 'hello.txt'), '/hello.txt']);
      run('skopeo', ['copy', '--quiet', `oci:${layout}:v1`, `docker-archive:${join(work, 'classic.tar')}:app:v1`]);
    });
    afterAll(async () => {
      await serve?.dispose();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    test('an umoci layout arrives byte for byte', async () => {
      const layout = join(work, 'layout');
      const res = await runCli(
        ['push', `${layout}:v1`, 'interop/umoci:v1', '--cache-dir', join(work, 'cache'), '--json'],
        { env: testEnv(serve.endpoint) },
      );
      expect(res).toExitWith(0);
      const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
      const localDigest = index.manifests[0].digest;
      const { digest, blobs } = await readBackWithAwsCli('interop/umoci', 'v1');
      expect(digest).toBe(localDigest);
      for (const [d, bytes] of blobs)
        expect(readFileSync(join(layout, 'blobs', 'sha256', d.slice(7))).equals(bytes)).toBe(true);
    });

    test('a docker-archive written by skopeo arrives with gzip layers whose content matches the config', async () => {
      const res = await runCli(
        ['push', join(work, 'classic.tar'), 'interop/skopeo:v1', '--cache-dir', join(work, 'cache'), '--json'],
        { env: testEnv(serve.endpoint) },
      );
      expect(res).toExitWith(0);
      const { manifest, blobs } = await readBackWithAwsCli('interop/skopeo', 'v1');
      const config = JSON.parse(blobs.get(manifest.config.digest)!.toString('utf8'));
      const { gunzipSync } = await import('node:zlib');
      const diffIds = manifest.layers.map((l: { digest: string }) => sha256(gunzipSync(blobs.get(l.digest)!)));
      expect(diffIds).toEqual(config.rootfs.diff_ids);
      // and skopeo itself can read the original archive's config, which is the one ECR now holds
      const original = JSON.parse(
        run('skopeo', ['inspect', '--config', `docker-archive:${join(work, 'classic.tar')}`]),
      );
      expect(original.rootfs.diff_ids).toEqual(config.rootfs.diff_ids);
    });
  },
);
