/**
 * `ecrx export` of an image whose layers are zstd-compressed (as `buildah --compression-format zstd` and
 * `docker buildx --output compression=zstd` push them), compressed here by the zstd CLI, on this runtime: through
 * fzstd on Node 20, node:zlib where it has zstd (both paths are also checked alone in test/oci/decompress.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ECRClient } from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../../helpers/serve.js';
import { runCli, testEnv } from '../../helpers/cli.js';
import { describeWithTool } from '../../helpers/tools.js';
import { sdk, createRepo, putManifest, uploadBlob } from '../../helpers/ecr.js';
import { listFiles } from '../../helpers/files.js';
import { tarOf, type FileSpec } from '../../../src/oci/build.js';
import { sha256Digest } from '../../../src/oci/manifest.js';
import { MediaType } from '../../../src/oci/media-types.js';

let serve: Serve;
let ecr: ECRClient;
let work: string;

const layers: FileSpec[][] = [
  [
    { path: 'etc/', type: 'directory' },
    { path: 'etc/os-release', content: 'ID=zstd\n' },
    { path: 'usr/', type: 'directory' },
    { path: 'usr/share/', type: 'directory' },
    { path: 'usr/share/words', content: 'zstandard compresses this line well\n'.repeat(40_000) },
  ],
  [
    { path: 'etc/.wh.os-release', content: '' },
    { path: 'bin/', type: 'directory' },
    { path: 'bin/app', content: '#!/bin/sh\necho hi\n', mode: 0o755 },
  ],
];

const zstd = (data: Buffer) => {
  const r = spawnSync('zstd', ['-q', '-c', '-3'], { input: data, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(String(r.stderr));
  return r.stdout;
};

describeWithTool('zstd', 'export of zstd layers', () => {
  beforeAll(async () => {
    serve = await startServe();
    ecr = sdk(serve.endpoint);
    work = mkdtempSync(join(tmpdir(), 'ecrx-zstd-export-'));
    await createRepo(ecr, 'z/app');
    const tars = await Promise.all(layers.map((l) => tarOf(l)));
    const blobs = tars.map((t) => zstd(t));
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: tars.map((t) => sha256Digest(t)) },
        config: {},
      }),
    );
    for (const b of [config, ...blobs]) await uploadBlob(ecr, 'z/app', b);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: sha256Digest(config), size: config.length },
      layers: blobs.map((b) => ({ mediaType: MediaType.ociLayerZstd, digest: sha256Digest(b), size: b.length })),
    });
    await putManifest(ecr, 'z/app', Buffer.from(manifest), 'zstd');
  });
  afterAll(async () => {
    ecr?.destroy();
    await serve?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('the zstd layers unpack, whiteouts applied, byte for byte', async () => {
    const out = join(work, 'rootfs');
    const res = await runCli(['export', 'z/app:zstd', out], {
      env: testEnv(serve.endpoint, { ECRX_CACHE_DIR: join(work, 'cache') }),
      cwd: work,
    });
    expect(res).toExitWith(0);
    expect(listFiles(out).filter((f) => !f.endsWith('/'))).toEqual(
      expect.arrayContaining(['bin/app', 'usr/share/words']),
    );
    expect(listFiles(out)).not.toContain('etc/os-release');
    expect(readFileSync(join(out, 'usr/share/words'), 'utf8')).toBe(
      'zstandard compresses this line well\n'.repeat(40_000),
    );
    expect(readFileSync(join(out, 'bin/app'), 'utf8')).toBe('#!/bin/sh\necho hi\n');
    expect(statSync(join(out, 'bin/app')).mode & 0o777).toBe(0o755);
  });
});
