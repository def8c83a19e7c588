/** Real tools accept what ecrx pull writes: skopeo inspects and copies all three formats, umoci unpacks the layout. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, readlinkSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe, type Serve } from '../../helpers/serve.js';
import { runCli, testEnv } from '../../helpers/cli.js';
import { describeWithTool } from '../../helpers/tools.js';
import { sdk, createRepo, pushBuilt } from '../../helpers/ecr.js';
import { buildImage, type BuiltImage } from '../../../src/oci/build.js';

let serve: Serve;
let work: string;
let image: BuiltImage;

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

async function pullAs(format: string, out: string) {
  const res = await runCli(
    ['pull', 'interop/app:v1', '--format', format, '-o', out, '--cache-dir', join(work, 'cache'), '-q'],
    { env: testEnv(serve.endpoint) },
  );
  expect(res).toExitWith(0);
}

beforeAll(async () => {
  serve = await startServe();
  work = mkdtempSync(join(tmpdir(), 'ecrx-interop-'));
  const ecr = sdk(serve.endpoint);
  await createRepo(ecr, 'interop/app');
  image = await buildImage([
    [
      { path: 'etc/', type: 'directory' },
      { path: 'etc/os-release', content: 'NAME=ecrx-test\n' },
      { path: 'bin/', type: 'directory' },
      { path: 'bin/run', content: '#!/bin/sh\necho hi\n', mode: 0o755 },
    ],
    [
      { path: 'etc/link', type: 'symlink', linkname: 'os-release' },
      { path: 'data/', type: 'directory' },
      { path: 'data/file', content: 'layer two\n' },
    ],
  ]);
  await pushBuilt(ecr, 'interop/app', image, 'v1');
  ecr.destroy();
});
afterAll(async () => {
  await serve?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

describeWithTool('skopeo', 'skopeo reads what ecrx pull writes', () => {
  test.each([
    ['oci', 'layout', (p: string) => `oci:${p}:v1`],
    ['oci-archive', 'image.oci.tar', (p: string) => `oci-archive:${p}`],
    ['docker-archive', 'image.docker.tar', (p: string) => `docker-archive:${p}`],
  ])('%s: inspect shows the layers, copy to a dir keeps the digests', async (format, name, transport) => {
    const out = join(work, name);
    await pullAs(format, out);
    const info = JSON.parse(run('skopeo', ['inspect', '--raw', transport(out)]));
    const cfg = JSON.parse(run('skopeo', ['inspect', '--config', transport(out)]));
    expect(cfg.rootfs.diff_ids).toEqual(image.layers.map((l) => l.diffId));
    if (format !== 'docker-archive') {
      // OCI transports hand back our manifest untouched.
      expect(info.layers.map((l: { digest: string }) => l.digest)).toEqual(image.layers.map((l) => l.digest));
    }
    const dir = join(work, `${name}-copied`);
    run('skopeo', ['copy', '--quiet', transport(out), `dir:${dir}`]);
    const copiedManifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(copiedManifest.config.digest).toBe(image.config.digest);
  });
});

describeWithTool('podman', 'podman loads the docker-archive ecrx pull writes', () => {
  test('podman load names the image from RepoTags and has its config', async () => {
    const out = join(work, 'for-podman.tar');
    await pullAs('docker-archive', out);
    const loaded = run('podman', ['load', '-i', out]);
    const name = '000000000000.dkr.ecr.us-east-1.amazonaws.com/interop/app:v1';
    expect(loaded).toContain(`Loaded image: ${name}`);
    try {
      const info = JSON.parse(run('podman', ['image', 'inspect', name]))[0];
      expect(`sha256:${info.Id}`).toBe(image.config.digest);
      expect(info.RootFS.Layers).toEqual(image.layers.map((l) => l.diffId));
    } finally {
      spawnSync('podman', ['rmi', '-f', name]);
    }
  });
});

describeWithTool('umoci', 'umoci unpacks the OCI layout ecrx pull writes', () => {
  test('files, modes and symlinks arrive', async () => {
    const out = join(work, 'umoci-layout');
    await pullAs('oci', out);
    const bundle = join(work, 'bundle');
    run('umoci', ['unpack', '--rootless', '--image', `${out}:v1`, bundle]);
    const rootfs = join(bundle, 'rootfs');
    expect(readFileSync(join(rootfs, 'etc/os-release'), 'utf8')).toBe('NAME=ecrx-test\n');
    expect(statSync(join(rootfs, 'bin/run')).mode & 0o777).toBe(0o755);
    expect(readlinkSync(join(rootfs, 'etc/link'))).toBe('os-release');
    expect(readFileSync(join(rootfs, 'data/file'), 'utf8')).toBe('layer two\n');
  });
});
