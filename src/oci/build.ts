/**
 * Builds small real images in code: each layer a gzip-compressed tar of files, directories and symlinks, the
 * config with matching diff_ids, written as an OCI layout. Used by the demo and by the tests, so that real tools
 * (umoci, skopeo) can unpack what ecrx moves.
 */

import { gzipSync } from 'node:zlib';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { MediaType } from './media-types.js';
import { sha256Digest } from '../core/digest.js';

export interface FileSpec {
  path: string;
  content?: string | Buffer;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  linkname?: string;
  mode?: number;
}

export interface BuiltBlob {
  digest: string;
  size: number;
  bytes: Buffer;
  mediaType: string;
}

export interface BuiltImage {
  config: BuiltBlob;
  layers: (BuiltBlob & { diffId: string })[];
  manifest: BuiltBlob;
  platform: { os: string; architecture: string; variant?: string };
}

/** A deterministic tar of `files` (mtime 0, root owner). */
export async function tarOf(files: FileSpec[]): Promise<Buffer> {
  const tar = await import('tar-stream');
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const f of files) {
    const type = f.type ?? 'file';
    const header: Partial<import('tar-stream').Header> & { name: string } = {
      name: f.path,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      uname: 'root',
      gname: 'root',
      type,
    };
    if (type === 'file') {
      const body = Buffer.isBuffer(f.content) ? f.content : Buffer.from(f.content ?? '');
      header.mode = f.mode ?? 0o644;
      header.size = body.length;
      await new Promise<void>((res, rej) => pack.entry(header, body, (e) => (e ? rej(e) : res())));
    } else {
      header.mode = f.mode ?? (type === 'directory' ? 0o755 : 0o777);
      if (f.linkname) header.linkname = f.linkname;
      await new Promise<void>((res, rej) => pack.entry(header, (e) => (e ? rej(e) : res())));
    }
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

export interface BuildOptions {
  os?: string;
  architecture?: string;
  variant?: string;
  entrypoint?: string[];
  docker?: boolean;
  created?: string;
  /**
   * zlib level of the layers' gzip (default 6). Layers of random bytes take 0: they do not compress, and deflate
   * spends seconds per 100 MiB finding that out only to write stored blocks anyway.
   */
  gzipLevel?: number;
}

/** A blob of `bytes` under its digest. */
const blobOf = (bytes: Buffer, mediaType: string): BuiltBlob => ({
  digest: sha256Digest(bytes),
  size: bytes.length,
  bytes,
  mediaType,
});

export async function buildImage(layerFiles: FileSpec[][], opts: BuildOptions = {}): Promise<BuiltImage> {
  const docker = Boolean(opts.docker);
  const layers = [];
  for (const files of layerFiles) {
    const tar = await tarOf(files);
    const gz = gzipSync(tar, { level: opts.gzipLevel ?? 6 });
    layers.push({
      ...blobOf(gz, docker ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip),
      diffId: sha256Digest(tar),
    });
  }
  const platform = {
    os: opts.os ?? 'linux',
    architecture: opts.architecture ?? 'amd64',
    ...(opts.variant ? { variant: opts.variant } : {}),
  };
  const config = configOf(opts, platform, layers);
  const manifestDoc = {
    schemaVersion: 2,
    mediaType: docker ? MediaType.dockerManifest : MediaType.ociManifest,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const manifest = blobOf(Buffer.from(JSON.stringify(manifestDoc)), manifestDoc.mediaType);
  return { config, layers, manifest, platform };
}

/** The image config: the platform, an entrypoint, and one diff_id and history entry a layer. */
function configOf(opts: BuildOptions, platform: BuiltImage['platform'], layers: { diffId: string }[]): BuiltBlob {
  const configDoc = {
    created: opts.created ?? '2026-01-01T00:00:00Z',
    ...platform,
    config: {
      Entrypoint: opts.entrypoint ?? ['/bin/sh'],
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((_, i) => ({
      created: opts.created ?? '2026-01-01T00:00:00Z',
      created_by: `ecrx build layer ${i + 1}`,
    })),
  };
  return blobOf(Buffer.from(JSON.stringify(configDoc)), opts.docker ? MediaType.dockerConfig : MediaType.ociConfig);
}

/** An index over several built images. */
export function buildIndex(images: BuiltImage[], docker = false): BuiltBlob {
  const doc = {
    schemaVersion: 2,
    mediaType: docker ? MediaType.dockerManifestList : MediaType.ociIndex,
    manifests: images.map((img) => ({
      mediaType: img.manifest.mediaType,
      digest: img.manifest.digest,
      size: img.manifest.size,
      platform: img.platform,
    })),
  };
  return blobOf(Buffer.from(JSON.stringify(doc)), doc.mediaType);
}

/** Writes images (and an optional index over them) as an OCI layout directory. */
export async function writeLayout(
  dir: string,
  images: BuiltImage[],
  opts: { index?: BuiltBlob; refName?: string } = {},
): Promise<void> {
  const blobs = join(dir, 'blobs', 'sha256');
  await fsp.mkdir(blobs, { recursive: true });
  const put = (b: { digest: string; bytes: Buffer }) => fsp.writeFile(join(blobs, b.digest.slice(7)), b.bytes);
  for (const img of images) {
    await put(img.config);
    for (const l of img.layers) await put(l);
    await put(img.manifest);
  }
  const top = opts.index ?? images[0].manifest;
  if (opts.index) await put(opts.index);
  await fsp.writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const annotations = opts.refName ? { 'org.opencontainers.image.ref.name': opts.refName } : undefined;
  await fsp.writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [
        { mediaType: top.mediaType, digest: top.digest, size: top.size, ...(annotations ? { annotations } : {}) },
      ],
    }),
  );
}
