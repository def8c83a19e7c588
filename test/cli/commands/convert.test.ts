/**
 * `ecrx convert`: layout, OCI archive and docker-archive into each other, digests kept, checked by real tools
 * (skopeo reads every output, umoci unpacks a layout); the same target safety as pull's outputs.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, testEnv } from '../../helpers/cli.js';
import { describeWithTool } from '../../helpers/tools.js';
import { buildImage, buildIndex, writeLayout, type BuiltBlob, type BuiltImage } from '../../../src/oci/build.js';

let work: string;
let image: BuiltImage;
let amd: BuiltImage;
let arm: BuiltImage;
let index: BuiltBlob;

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

const convert = (...args: string[]) =>
  runCli(['convert', ...args, '--cache-dir', join(work, 'cache')], { env: testEnv(), cwd: work });
const sha = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ecrx-convert-'));
  image = await buildImage([
    [
      { path: 'etc/', type: 'directory' },
      { path: 'etc/os-release', content: 'NAME=ecrx-convert\n' },
      { path: 'bin/', type: 'directory' },
      { path: 'bin/run', content: '#!/bin/sh\necho hi\n', mode: 0o755 },
    ],
    [
      { path: 'etc/link', type: 'symlink', linkname: 'os-release' },
      { path: 'data/', type: 'directory' },
      { path: 'data/file', content: 'layer two\n' },
    ],
  ]);
  await writeLayout(join(work, 'layout'), [image], { refName: 'v1' });
  amd = await buildImage([[{ path: 'arch', content: 'amd64\n' }]], { architecture: 'amd64' });
  arm = await buildImage([[{ path: 'arch', content: 'arm64\n' }]], { architecture: 'arm64' });
  index = buildIndex([amd, arm]);
  await writeLayout(join(work, 'multi'), [amd, arm], { index, refName: 'multi' });
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describeWithTool('skopeo', 'convert keeps digests, as skopeo reads them', () => {
  test('layout -> oci-archive -> docker-archive -> layout: same manifest, config and layers all the way', async () => {
    expect(await convert('layout', 'image.tar')).toExitWith(0);
    const raw = run('skopeo', ['inspect', '--raw', `oci-archive:${join(work, 'image.tar')}`]);
    expect(sha(raw)).toBe(image.manifest.digest);

    expect(await convert('image.tar', 'image.docker.tar', '--format', 'docker-archive')).toExitWith(0);
    const cfg = JSON.parse(run('skopeo', ['inspect', '--config', `docker-archive:${join(work, 'image.docker.tar')}`]));
    expect(cfg.rootfs.diff_ids).toEqual(image.layers.map((l) => l.diffId));

    const back = await convert('image.docker.tar', 'back', '--json');
    expect(back).toExitWith(0);
    const data = JSON.parse(back.stdout).data;
    expect(data.digest).toBe(image.manifest.digest);
    expect(data.sourceFormat).toBe('docker-archive');
    const index = JSON.parse(readFileSync(join(work, 'back', 'index.json'), 'utf8'));
    expect(index.manifests[0].digest).toBe(image.manifest.digest);
    const manifest = readFileSync(join(work, 'back', 'blobs', 'sha256', image.manifest.digest.slice(7)));
    expect(manifest.equals(image.manifest.bytes)).toBe(true);
  });

  test('an index stays whole into an OCI archive; a docker-archive takes the platform asked for', async () => {
    expect(await convert('multi', 'multi.tar')).toExitWith(0);
    const raw = run('skopeo', ['inspect', '--raw', `oci-archive:${join(work, 'multi.tar')}`]);
    expect(sha(raw)).toBe(index.digest);

    const refused = await convert('multi', 'multi.docker.tar', '--format', 'docker-archive');
    expect(refused).toExitWith(2);
    expect(refused.stderr).toContain('--platform');
    expect(existsSync(join(work, 'multi.docker.tar'))).toBe(false);

    expect(
      await convert('multi', 'arm.docker.tar', '--format', 'docker-archive', '--platform', 'linux/arm64'),
    ).toExitWith(0);
    const cfg = JSON.parse(run('skopeo', ['inspect', '--config', `docker-archive:${join(work, 'arm.docker.tar')}`]));
    expect(cfg.architecture).toBe('arm64');
    expect(cfg.rootfs.diff_ids).toEqual(arm.layers.map((l) => l.diffId));
  });
});

describeWithTool('umoci', 'umoci unpacks a layout converted from an archive', () => {
  test('files, modes and symlinks arrive', async () => {
    expect(await convert('layout', 'for-umoci.tar')).toExitWith(0);
    expect(await convert('for-umoci.tar', 'umoci-layout')).toExitWith(0);
    const bundle = join(work, 'bundle');
    run('umoci', ['unpack', '--rootless', '--image', `${join(work, 'umoci-layout')}:v1`, bundle]);
    const rootfs = join(bundle, 'rootfs');
    expect(readFileSync(join(rootfs, 'etc/os-release'), 'utf8')).toBe('NAME=ecrx-convert\n');
    expect(readFileSync(join(rootfs, 'data/file'), 'utf8')).toBe('layer two\n');
  });
});

describe('convert target safety', () => {
  test('a directory ecrx did not write is refused and left as it was; an earlier ecrx output is replaced', async () => {
    mkdirSync(join(work, 'mine'));
    writeFileSync(join(work, 'mine', 'notes.txt'), 'mine\n');
    const refused = await convert('layout', 'mine');
    expect(refused).toExitWith(8);
    expect(refused.stderr).toContain('OUTPUT_ERROR');
    expect(readdirSync(join(work, 'mine'))).toEqual(['notes.txt']);

    expect(await convert('layout', 'again.tar')).toExitWith(0);
    const second = await convert('layout', 'again.tar');
    expect(second).toExitWith(0);
    expect(second.stderr).toContain('replacing earlier ecrx output');
  });

  test('the source as its own target is refused', async () => {
    const same = await convert('layout', 'layout');
    expect(same).toExitWith(2);
    expect(same.stderr).toContain('is the source itself');
  });

  test('a blob that does not match its digest fails the conversion with nothing written and no temporary left', async () => {
    const bad = join(work, 'bad');
    await writeLayout(bad, [image], { refName: 'v1' });
    const layer = image.layers[1];
    const file = join(bad, 'blobs', 'sha256', layer.digest.slice(7));
    const bytes = readFileSync(file);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(file, bytes);
    const before = readdirSync(work).sort();
    const r = await convert('bad', 'bad.tar');
    expect(r).toExitWith(5);
    expect(r.stderr).toContain('INVALID_IMAGE');
    expect(r.stderr).toContain(layer.digest);
    expect(readdirSync(work).sort()).toEqual(before);
  });
});
