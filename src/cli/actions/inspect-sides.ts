/**
 * Where `ecrx inspect` reads an image: ECR (BatchGetImage, the config through the cache, referrers counted through
 * the ECR API) or another registry (the manifest GET, the config through the cache; referrers unknown). Each gives
 * the top manifest as stored, the one image for a platform, and its config bytes.
 */
import { formatReference, registryHost } from '../../core/reference.js';
import { fetchRoot } from '../../ecr/batch-get.js';
import { EcrSource } from '../../sources/ecr.js';
import type { ImageSource } from '../../sources/source.js';
import { parseManifest, type ParsedManifest } from '../../oci/manifest.js';
import type { ImageEntry } from '../../oci/image-set.js';
import { formatRegistryReference } from '../../registry/reference.js';
import { cached, type StoreFiller } from '../../engine/cached.js';
import { countReferrers } from '../../engine/referrers.js';
import type { Reporter } from '../../report/reporter.js';
import { openCache } from '../session.js';
import { openSide, registrySource, type ImageArg, type RegistryFlags } from '../image-arg.js';
import type { EcrFlags } from '../common.js';

export interface InspectSide {
  reporter: Reporter;
  /** The reference as the user would write it back. */
  shown: string;
  root: { digest: string; bytes: Buffer };
  parsed: ParsedManifest;
  /** The fields every JSON result starts with. */
  base: { image: string; repository: string; tag: string | null } & Record<string, string | null>;
  /** The image for a platform (the only one, for a single manifest). */
  image(platform: string | undefined, signal: AbortSignal): Promise<ImageEntry>;
  /** The image's config bytes, through the cache. */
  config(image: ImageEntry, flags: { cacheDir?: string }, signal: AbortSignal): Promise<Buffer>;
  /** How many referrers the manifest has; null when it cannot be told. */
  referrers(digest: string, signal: AbortSignal): Promise<number | null>;
  close(): Promise<void>;
}

/** The config, fetched into the cache by the source's own fill (or a verified read) and read back verified. */
async function configThrough(
  source: ImageSource & Partial<StoreFiller>,
  image: ImageEntry,
  flags: { cacheDir?: string },
  signal: AbortSignal,
): Promise<Buffer> {
  const cache = openCache(flags);
  await cached(source, cache).prepare!(image.manifest.config, { signal });
  return cache.readBytes(image.manifest.config.digest);
}

export async function openInspectSide(
  arg: ImageArg,
  flags: EcrFlags & RegistryFlags,
  signal: AbortSignal,
): Promise<InspectSide> {
  const { reporter, ecr } = await openSide(arg, flags, 'inspect');
  try {
    if (arg.kind === 'ecr') {
      const ref = arg.ref;
      reporter.phase(`resolving ${formatReference(ref)}`);
      const { root, parsed } = await fetchRoot(ecr!, ref, signal);
      const region = await ecr!.region();
      // One source for the image and its config: a layer ECR has archived is then named by its image.
      const source = new EcrSource(ecr!, ref);
      return {
        reporter,
        shown: formatReference(ref),
        root,
        parsed,
        base: {
          image: `${registryHost(root.registryId, region, ref.fips)}/${formatReference({ repository: ref.repository, tag: ref.tag })}`,
          registryId: root.registryId,
          repository: ref.repository,
          tag: ref.tag ?? null,
        },
        image: async (platform, s) => (await source.resolve({ platform, signal: s })).set.images[0],
        config: (image, f, s) => configThrough(source, image, f, s),
        referrers: (digest, s) => countReferrers(ecr!, ref.repository, digest, s),
        close: async () => ecr!.destroy(),
      };
    }
    const ref = arg.ref;
    const shown = formatRegistryReference(ref);
    const source = registrySource(shown, flags, reporter);
    reporter.phase(`resolving ${shown}`);
    const root = await source.client.getManifest(ref.repository, ref.digest ?? ref.tag!, signal);
    return {
      reporter,
      shown,
      root,
      parsed: parseManifest(root.bytes, root.mediaType || undefined),
      base: {
        image: formatRegistryReference({ ...ref, digest: undefined }),
        registry: ref.registry,
        repository: ref.repository,
        tag: ref.tag ?? null,
      },
      image: async (platform, s) => (await source.resolve({ platform, signal: s })).set.images[0],
      config: (image, f, s) => configThrough(source, image, f, s),
      referrers: async () => null,
      close: () => source.close(),
    };
  } catch (err) {
    reporter.stop();
    ecr?.destroy();
    throw err;
  }
}
