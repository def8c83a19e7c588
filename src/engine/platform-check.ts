/** Holding a single-platform image to `--platform` once its config is in the cache, before any layer moves. */
import { CorruptBlobError, type BlobCache } from '../store/blob-cache.js';
import type { ImageSet } from '../oci/image-set.js';
import { platformOfConfig, requirePlatform } from '../oci/platform.js';
import { MAX_CONFIG_BYTES } from '../oci/limits.js';

export async function configPlatform(
  set: ImageSet,
  cache: BlobCache,
  wanted: string | undefined,
  what: string,
): Promise<string | undefined> {
  const config = set.images[0].manifest.config;
  // A config too large to be one declares no platform we would read into memory.
  // readBytes checks the digest: a corrupt config is removed and thrown as CorruptBlobError (as is one that vanished),
  // for the caller to fetch it again.
  const read = () =>
    cache
      .readBytes(config.digest)
      .catch((err) => Promise.reject(err?.code === 'ENOENT' ? new CorruptBlobError(config.digest) : err));
  const bytes = config.size <= MAX_CONFIG_BYTES ? await read() : undefined;
  return requirePlatform(wanted, bytes && platformOfConfig(bytes), what);
}

/** The config to fetch ahead of the layers: only when a platform was asked for and the image has just one. */
export const configToCheckFirst = (set: ImageSet, resolvedPlatform: string | undefined, wanted: string | undefined) =>
  !resolvedPlatform && wanted && wanted !== 'all' ? [set.images[0].manifest.config] : [];
