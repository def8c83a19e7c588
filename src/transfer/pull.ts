/** `ecrx pull`: resolve in ECR, fill the cache, write the chosen format. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve as resolvePath } from 'node:path';
import { EcrxError } from '../core/errors.js';
import { formatReference, parseReference, registryHost, type ImageRef } from '../core/reference.js';
import { BlobCache } from '../cache/blob-cache.js';
import { openCache, openSession } from './session.js';
import type { EcrFlags } from '../cli/common.js';
import { formatBytes, formatDuration, plural } from '../ui/format.js';
import { printNote, printSuccess } from '../cli/output.js';
import { resolveFromEcr } from './ecr-source.js';
import { fetchBlobs } from './fetch-blobs.js';
import { dockerArchiveEntries, ociLayoutEntries } from '../formats/entries.js';
import { writeDirectory, writeTar, writeTarFile } from '../formats/write.js';
import { parsePlatform, formatPlatform } from '../oci/platform.js';
import type { ImageSet } from '../image/image-set.js';

export type OutputFormat = 'oci' | 'oci-archive' | 'docker-archive';

export interface PullFlags extends EcrFlags {
  output?: string;
  format?: OutputFormat;
  platform?: string;
  concurrency: number;
  cacheDir?: string;
  cache?: boolean;
}

const FORMATS: OutputFormat[] = ['oci', 'oci-archive', 'docker-archive'];

export function defaultOutputName(ref: ImageRef, format: OutputFormat): string {
  const name = ref.repository.slice(ref.repository.lastIndexOf('/') + 1);
  const suffix = ref.tag ?? `sha256-${ref.digest!.slice(7, 19)}`;
  return `${name}-${suffix}${format === 'oci' ? '' : '.tar'}`;
}

export async function pull(refText: string, flags: PullFlags, signal: AbortSignal): Promise<void> {
  const started = Date.now();
  // Everything that can be refused without the network is refused first.
  const ref = parseReference(refText);
  const toStdout = flags.output === '-';
  const format: OutputFormat = flags.format ?? (toStdout ? 'oci-archive' : 'oci');
  if (!FORMATS.includes(format)) {
    throw new EcrxError('VALIDATION_ERROR', `Unknown --format '${format}'`, { hint: `Use one of ${FORMATS.join(', ')}.` });
  }
  if (toStdout && format === 'oci') throw new EcrxError('VALIDATION_ERROR', 'An OCI layout directory cannot be written to stdout', { hint: 'Use --format oci-archive or docker-archive with -o -.' });
  if (toStdout && flags.json) throw new EcrxError('VALIDATION_ERROR', '-o - and --json both want stdout', { hint: 'Write the archive to a file with -o FILE to get the JSON result.' });
  if (toStdout && process.stdout.isTTY) throw new EcrxError('VALIDATION_ERROR', 'Refusing to write a tar archive to a terminal', { hint: 'Redirect stdout (-o - > image.tar) or use -o FILE.' });
  if (flags.platform && flags.platform !== 'all') parsePlatform(flags.platform);
  if (format === 'docker-archive' && flags.platform === 'all') {
    throw new EcrxError('VALIDATION_ERROR', 'A docker-archive holds one platform; --platform all needs --format oci or oci-archive');
  }
  const output = toStdout ? '-' : resolvePath(flags.output ?? defaultOutputName(ref, format));

  const { reporter, ecr } = await openSession(flags, 'pull', ref);
  let scratch: string | undefined;
  try {
    reporter.phase(`resolving ${formatReference(ref)}`);
    const resolved = await resolveFromEcr(ecr, ref, flags.platform, signal);
    const { set } = resolved;
    if (flags.cache === false) scratch = mkdtempSync(resolvePath(toStdout ? tmpdir() : dirname(output), '.ecrx-nocache-'));
    const cache = scratch ? new BlobCache(scratch) : openCache(flags);
    let bytesDownloaded = 0;
    reporter.phase(`fetching ${plural(set.blobs.length, 'blob')}`);
    const results = await fetchBlobs({
      ecr,
      repository: ref.repository,
      blobs: set.blobs,
      images: set.images,
      cache,
      concurrency: flags.concurrency,
      reporter,
      signal,
      onBytes: (n) => (bytesDownloaded += n),
    });
    const platform = resolved.platform ?? (await singlePlatform(set, cache, flags.platform, ref));

    const region = await ecr.region();
    const host = registryHost(resolved.registryId, region, ref.fips);
    const repoTags = ref.tag ? [`${host}/${ref.repository}:${ref.tag}`] : [];
    const entries = format === 'docker-archive' ? dockerArchiveEntries(set, cache, repoTags) : ociLayoutEntries(set, cache, { refName: ref.tag });
    reporter.phase(`writing ${format}`);
    if (signal.aborted) throw signal.reason;
    if (toStdout) await writeTar(entries, process.stdout);
    else if (format === 'oci') await writeDirectory(entries, output);
    else await writeTarFile(entries, output);
    reporter.stop();

    const layers = set.blobs.map((d) => ({ digest: d.digest, size: d.size, mediaType: d.mediaType, cached: results.get(d.digest)?.cached ?? false }));
    const cachedCount = layers.filter((l) => l.cached).length;
    const data = {
      image: `${host}/${formatReference({ repository: ref.repository, tag: ref.tag })}`,
      registryId: resolved.registryId,
      repository: ref.repository,
      tag: ref.tag ?? null,
      digest: set.top.digest,
      mediaType: set.top.mediaType,
      platform: platform ?? null,
      output,
      format,
      layers,
      bytesDownloaded,
      durationMs: Date.now() - started,
    };
    if (!toStdout) {
      printSuccess(flags, data, () =>
        `Pulled ${formatReference(ref)} ${set.top.digest}${platform ? ` (${platform})` : ''} to ${output} [${format}]: ${plural(layers.length, 'blob')}, ${layers.length - cachedCount} downloaded (${formatBytes(bytesDownloaded)}), ${cachedCount} cached, in ${formatDuration(data.durationMs)}`,
      );
    } else if (!flags.quiet) {
      printNote(flags, `Pulled ${formatReference(ref)} ${set.top.digest} to stdout [${format}] in ${formatDuration(data.durationMs)}`);
    }
  } finally {
    reporter.stop();
    ecr.destroy();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

/** For a single-platform image: its platform from the config, refused when --platform asked for another. */
async function singlePlatform(set: ImageSet, cache: BlobCache, wanted: string | undefined, ref: ImageRef): Promise<string | undefined> {
  let config: any;
  try {
    config = JSON.parse((await cache.readBytes(set.images[0].manifest.config.digest)).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof config?.os !== 'string' || typeof config?.architecture !== 'string') return undefined;
  const actual = { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
  if (wanted && wanted !== 'all') {
    const want = parsePlatform(wanted);
    const sameVariant = !want.variant || want.variant === actual.variant || (want.architecture === 'arm64' && want.variant === 'v8' && !actual.variant);
    if (want.os !== actual.os || want.architecture !== actual.architecture || !sameVariant) {
      throw new EcrxError('PLATFORM_NOT_FOUND', `${formatReference(ref)} is a single-platform image for ${formatPlatform(actual)}, not ${wanted}`, {
        details: { wanted, available: [formatPlatform(actual)] },
        hint: `Drop --platform, or use --platform ${formatPlatform(actual)}.`,
      });
    }
  }
  return formatPlatform(actual);
}

