/**
 * Opening whatever `ecrx push` was given, told apart by content rather than by name: an OCI layout directory, or a
 * tar archive (OCI archive, Docker 25+ docker-archive, classic docker-archive; plain or gzip) from a file or stdin.
 * Everything is checked before anything is uploaded.
 */
import { platformOfConfig, requirePlatform } from '../oci/platform.js';
import { createReadStream, existsSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { EcrxError } from '../core/errors.js';
import type { BlobCache } from '../store/blob-cache.js';
import type { ImageSet } from '../oci/image-set.js';
import { ingestArchive, releaseArchive, type IngestedArchive } from './archive.js';
import { hashRegular, layoutFile, readRegular, type LayoutFile } from './layout-files.js';
import { checkDocumentSize, MAX_METADATA_BYTES } from '../oci/limits.js';
import { classicDockerImage } from './docker-classic.js';
import { readLayoutImage, type BlobReader } from './oci-layout.js';

export type SourceKind = 'oci-layout' | 'oci-archive' | 'docker-archive';

export interface OpenedSource {
  kind: SourceKind;
  set: ImageSet;
  /** Where each blob's bytes are on disk. */
  pathOf: (digest: string) => string;
  /** A name the source gave the image (ref name annotation or RepoTags). */
  names: string[];
  platform?: string;
  /** Re-hashes the given blobs, for sources whose blobs were not verified on the way in (directories). */
  verify?: (digests: string[]) => Promise<void>;
  /** The OCI layout behind the source, for finding the referrers it holds (push --referrers). */
  layout?: { indexJson: Buffer; reader: BlobReader; where: string };
}

export interface OpenOptions {
  platform?: string;
  signal?: AbortSignal;
  stdin?: NodeJS.ReadableStream;
  onBytes?: (n: number) => void;
}

/** `PATH` or `PATH:NAME`; the path wins when it exists as written. */
export function splitSource(arg: string): { path: string; name?: string } {
  if (arg === '-' || existsSync(arg)) return { path: arg };
  const colon = arg.lastIndexOf(':');
  if (colon > 0 && existsSync(arg.slice(0, colon))) return { path: arg.slice(0, colon), name: arg.slice(colon + 1) };
  return { path: arg };
}

/** Blobs of a layout directory, each checked to be a regular file inside it before it is opened (layout-files.ts). */
function dirReader(dir: string): BlobReader {
  const found = new Map<string, LayoutFile | undefined>();
  const file = (d: string) => {
    if (!found.has(d)) found.set(d, layoutFile(dir, join('blobs', 'sha256', d.slice(7))));
    return found.get(d);
  };
  return {
    path: (d) => file(d)?.path,
    size: (d) => file(d)?.size,
    read: (d) => readRegular(file(d)!.path, join(dir, 'blobs', 'sha256', d.slice(7))),
  };
}

function cacheReader(cache: BlobCache): BlobReader {
  return {
    path: (d) => (cache.has(d) ? cache.path(d) : undefined),
    size: (d) => cache.sizeOf(d),
    read: (d) => cache.readBytes(d),
  };
}

export async function openSource(arg: string, cache: BlobCache, opts: OpenOptions = {}): Promise<OpenedSource> {
  const { path, name } = splitSource(arg);
  const where = path === '-' ? 'stdin' : path;
  if (path !== '-') {
    const st = await fsp.stat(path).catch(() => undefined);
    if (!st)
      throw new EcrxError('VALIDATION_ERROR', `${path} does not exist`, {
        hint: 'Give an OCI layout directory, an OCI archive, a docker-archive, or - for an archive on stdin.',
      });
    if (st.isDirectory()) return openLayoutDir(path, name, opts);
  }
  const input = path === '-' ? (opts.stdin ?? process.stdin) : createReadStream(path, { highWaterMark: 1 << 20 });
  const { Readable } = await import('node:stream');
  const ingested = await ingestArchive(
    input instanceof Readable ? input : Readable.from(input as AsyncIterable<Buffer>),
    cache,
    {
      signal: opts.signal,
      onBytes: opts.onBytes,
      where,
    },
  );
  try {
    return await imageFromArchive(ingested, cache, where, name, opts);
  } finally {
    await releaseArchive(ingested);
  }
}

async function imageFromArchive(
  ingested: IngestedArchive,
  cache: BlobCache,
  where: string,
  name: string | undefined,
  opts: OpenOptions,
): Promise<OpenedSource> {
  const indexJson = ingested.files.get('index.json');
  if (indexJson) {
    const { set, refName, platform } = await readLayoutImage(cacheReader(cache), indexJson, where, {
      name,
      platform: opts.platform,
    });
    const docker = ingested.files.has('manifest.json');
    return {
      kind: docker ? 'docker-archive' : 'oci-archive',
      set,
      pathOf: (d) => cache.path(d),
      names: refName ? [refName] : [],
      platform,
      layout: { indexJson, reader: cacheReader(cache), where },
    };
  }
  if (ingested.files.has('manifest.json')) {
    const { set, repoTags } = await classicDockerImage(ingested, cache, where, name, opts.signal);
    // The config was size-checked and read on ingest; the same platform rule as every other source.
    const platform = opts.platform
      ? requirePlatform(
          opts.platform,
          platformOfConfig(await cache.readBytes(set.images[0].manifest.config.digest)),
          where,
        )
      : undefined;
    return { kind: 'docker-archive', set, pathOf: (d) => cache.path(d), names: repoTags, platform };
  }
  throw new EcrxError('INVALID_IMAGE', `${where} is a tar archive but not an image (no index.json or manifest.json)`, {
    hint: 'Give an OCI archive (skopeo copy ... oci-archive:FILE) or a docker-archive (docker save).',
  });
}

async function openLayoutDir(dir: string, name: string | undefined, opts: OpenOptions): Promise<OpenedSource> {
  const index = layoutFile(dir, 'index.json');
  if (!existsSync(join(dir, 'oci-layout')) || !index) {
    throw new EcrxError(
      'INVALID_IMAGE',
      `${dir} is a directory but not an OCI image layout (no oci-layout and index.json)`,
      { hint: 'Create one with `ecrx pull` or `skopeo copy ... oci:DIR`.' },
    );
  }
  checkDocumentSize(index.size, MAX_METADATA_BYTES, join(dir, 'index.json'));
  const reader = dirReader(dir);
  const indexJson = await readRegular(index.path, join(dir, 'index.json'));
  const { set, refName, platform } = await readLayoutImage(reader, indexJson, dir, { name, platform: opts.platform });
  // The blobs a push will send are re-hashed before any upload (a layout on disk may have been changed by hand);
  // those the repository already has are never read, so a re-push costs no pass over the layers.
  const verify = async (digests: string[]) => {
    const { default: pLimit } = await import('p-limit');
    const limit = pLimit(2);
    await Promise.all(
      digests.map((d) =>
        limit(async () => {
          const actual = await hashRegular(reader.path(d)!, join(dir, 'blobs', 'sha256', d.slice(7)), opts.signal);
          if (actual !== d) {
            throw new EcrxError(
              'INVALID_IMAGE',
              `${dir}: blob ${d} does not match its digest (its content hashes to ${actual})`,
              { details: { expected: d, actual } },
            );
          }
        }),
      ),
    );
  };
  return {
    kind: 'oci-layout',
    set,
    pathOf: (d) => reader.path(d)!,
    names: refName ? [refName] : [],
    platform,
    verify,
    layout: { indexJson, reader, where: dir },
  };
}
