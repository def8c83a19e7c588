/** Holding a single-platform image to `--platform` once its config is in the cache, before any layer moves. */
import type { BlobCache } from '../cache/blob-cache.js';
import type { ImageSet } from '../image/image-set.js';
import { platformOfConfig, requirePlatform } from '../oci/platform.js';
import { MAX_CONFIG_BYTES } from '../oci/limits.js';

export async function configPlatform(set: ImageSet, cache: BlobCache, wanted: string | undefined, what: string): Promise<string | undefined> {
  const config = set.images[0].manifest.config;
  // A config too large to be one declares no platform we would read into memory.
  const bytes = config.size <= MAX_CONFIG_BYTES ? await cache.readBytes(config.digest).catch(() => undefined) : undefined;
  return requirePlatform(wanted, bytes && platformOfConfig(bytes), what);
}

/** The config to fetch ahead of the layers: only when a platform was asked for and the image has just one. */
export const configToCheckFirst = (set: ImageSet, resolvedPlatform: string | undefined, wanted: string | undefined) =>
  !resolvedPlatform && wanted && wanted !== 'all' ? [set.images[0].manifest.config] : [];
