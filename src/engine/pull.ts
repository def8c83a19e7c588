/** `ecrx pull`: resolve in ECR, fill the cache, write the chosen format. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { EcrxError } from '../core/errors.js';
import { formatReference, parseReference, registryHost, type ImageRef } from '../core/reference.js';
import { BlobCache, CorruptBlobError, defaultCacheDir } from '../store/blob-cache.js';
import { openCache, openSession } from './session.js';
import type { EcrFlags } from '../cli/common.js';
import { formatBytes, formatDuration, plural } from '../report/format.js';
import { printNote, printSuccess } from '../cli/output.js';
import { resolveFromEcr } from '../sources/ecr.js';
import { fetchBlobs } from './fetch-blobs.js';
import { dockerArchiveEntries, ociLayoutEntries } from '../sinks/entries.js';
import { writeDirectory, writeTar, writeTarFile } from '../sinks/write.js';
import { parsePlatform } from '../oci/platform.js';
import { configPlatform, configToCheckFirst } from './platform-check.js';
import { fetchReferrers, referrerTree } from './referrers.js';
import { withReferrers } from '../sinks/referrers-layout.js';
import { planOutput } from '../sinks/output-target.js';
import { scratchPrefix } from '../sinks/temp-names.js';
import type { Descriptor } from '../oci/manifest.js';
import type { ImageSet } from '../oci/image-set.js';

export type OutputFormat = 'oci' | 'oci-archive' | 'docker-archive';

export interface PullFlags extends EcrFlags {
  output?: string;
  format?: OutputFormat;
  platform?: string;
  concurrency: number;
  cacheDir?: string;
  cache?: boolean;
  /** Also pull the image's referrers (signatures, SBOMs, attestations) into the layout. */
  referrers?: boolean;
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
    throw new EcrxError('VALIDATION_ERROR', `Unknown --format '${format}'`, {
      hint: `Use one of ${FORMATS.join(', ')}.`,
    });
  }
  if (toStdout && format === 'oci')
    throw new EcrxError('VALIDATION_ERROR', 'An OCI layout directory cannot be written to stdout', {
      hint: 'Use --format oci-archive or docker-archive with -o -.',
    });
  if (toStdout && flags.json)
    throw new EcrxError('VALIDATION_ERROR', '-o - and --json both want stdout', {
      hint: 'Write the archive to a file with -o FILE to get the JSON result.',
    });
  if (toStdout && process.stdout.isTTY)
    throw new EcrxError('VALIDATION_ERROR', 'Refusing to write a tar archive to a terminal', {
      hint: 'Redirect stdout (-o - > image.tar) or use -o FILE.',
    });
  if (flags.platform && flags.platform !== 'all') parsePlatform(flags.platform);
  if (format === 'docker-archive' && flags.platform === 'all') {
    throw new EcrxError(
      'VALIDATION_ERROR',
      'A docker-archive holds one platform; --platform all needs --format oci or oci-archive',
    );
  }
  if (flags.referrers && format === 'docker-archive') {
    throw new EcrxError(
      'VALIDATION_ERROR',
      '--referrers needs --format oci or oci-archive: a docker-archive has no place for them',
      { hint: 'Pull with --format oci (a layout directory) or oci-archive.' },
    );
  }
  const output = toStdout ? '-' : resolvePath(flags.output ?? defaultOutputName(ref, format));
  const cacheRoot = flags.cache === false ? undefined : resolvePath(flags.cacheDir ?? defaultCacheDir());
  // Where the output goes is settled before the first API call: a refusal costs no download.
  const plan = toStdout ? undefined : await planOutput(output, format === 'oci' ? 'directory' : 'file', { cacheRoot });

  const { reporter, ecr } = await openSession(flags, 'pull', ref);
  let scratch: string | undefined;
  try {
    reporter.phase(`resolving ${formatReference(ref)}`);
    const resolved = await resolveFromEcr(ecr, ref, flags.platform, signal);
    const { set } = resolved;
    if (flags.cache === false)
      scratch = mkdtempSync(toStdout ? join(tmpdir(), '.ecrx-nocache-') : scratchPrefix(dirname(output)));
    const cache = scratch ? new BlobCache(scratch) : openCache(flags);
    let bytesDownloaded = 0;
    const fetch = (blobs: Descriptor[], verifyHits: boolean) =>
      fetchBlobs({
        ecr,
        repository: ref.repository,
        blobs,
        images: set.images,
        cache,
        concurrency: flags.concurrency,
        reporter,
        signal,
        verifyHits,
        onBytes: (n) => (bytesDownloaded += n),
      });
    // A single-platform image's platform is in its config: with --platform, fetch that first (a cache hit re-hashed,
    // it is small) and check it before any layer moves.
    const checkFirst = configToCheckFirst(set, resolved.platform, flags.platform);
    const results = await fetch(checkFirst, true);
    if (checkFirst.length) await configPlatform(set, cache, flags.platform, formatReference(ref));
    reporter.phase(`fetching ${plural(set.blobs.length, 'blob')}`);
    // Into a file or directory every cached blob is hashed as it is copied; a stream cannot be taken back, so for
    // stdout they are checked first.
    for (const [digest, r] of await fetch(
      set.blobs.filter((b) => !results.has(b.digest)),
      toStdout,
    ))
      results.set(digest, r);
    const healing = healer(
      set,
      async (blob) => {
        for (const [digest, r] of await fetch([blob], false)) results.set(digest, r);
      },
      (text) => reporter.notice(text),
    );
    const platform =
      resolved.platform ?? (await healing(() => configPlatform(set, cache, flags.platform, formatReference(ref))));
    let referrers: Awaited<ReturnType<typeof fetchReferrers>> | undefined;
    if (flags.referrers) {
      reporter.phase('looking for referrers');
      const found = await referrerTree(
        ecr,
        ref.repository,
        set.manifests.map((m) => m.digest),
        { signal },
      );
      referrers = await fetchReferrers({
        ecr,
        repository: ref.repository,
        referrers: found,
        cache,
        concurrency: flags.concurrency,
        reporter,
        signal,
      });
    }

    const region = await ecr.region();
    const host = registryHost(resolved.registryId, region, ref.fips, ref.dualStack);
    const repoTags = ref.tag ? [`${host}/${ref.repository}:${ref.tag}`] : [];
    let entries =
      format === 'docker-archive'
        ? dockerArchiveEntries(set, cache, repoTags)
        : ociLayoutEntries(set, cache, { refName: ref.tag });
    if (referrers)
      entries = withReferrers(
        entries,
        referrers.map((r) => ({ subject: r.referrer.subject, artifactType: r.referrer.artifactType, set: r.set })),
        cache,
      );
    reporter.phase(`writing ${format}`);
    if (signal.aborted) throw signal.reason;
    const opts = {
      signal,
      onReplace: (target: string, previous: string) =>
        reporter.notice(`replacing earlier ecrx output at ${target} (${previous})`),
    };
    let replaced = false;
    if (!plan) await healing(() => writeTar(entries, process.stdout, { format, signal }), false);
    else if (plan.kind === 'directory') replaced = (await healing(() => writeDirectory(entries, plan, opts))).replaced;
    else replaced = (await healing(() => writeTarFile(entries, plan, format, opts))).replaced;
    reporter.stop();

    const layers = set.blobs.map((d) => ({
      digest: d.digest,
      size: d.size,
      mediaType: d.mediaType,
      cached: results.get(d.digest)?.cached ?? false,
    }));
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
      replaced,
      layers,
      bytesDownloaded,
      ...(referrers
        ? {
            referrers: referrers.map((r) => ({
              digest: r.referrer.digest,
              artifactType: r.referrer.artifactType,
              subject: r.referrer.subject,
            })),
          }
        : {}),
      durationMs: Date.now() - started,
    };
    if (!toStdout) {
      printSuccess(
        flags,
        data,
        () =>
          `Pulled ${formatReference(ref)} ${set.top.digest}${platform ? ` (${platform})` : ''} to ${output} [${format}]: ${plural(layers.length, 'blob')}, ${layers.length - cachedCount} downloaded (${formatBytes(bytesDownloaded)}), ${cachedCount} cached${referrers ? `, ${plural(referrers.length, 'referrer')}` : ''}, in ${formatDuration(data.durationMs)}`,
      );
    } else if (!flags.quiet) {
      printNote(
        flags,
        `Pulled ${formatReference(ref)} ${set.top.digest} to stdout [${format}] in ${formatDuration(data.durationMs)}`,
      );
    }
  } finally {
    reporter.stop();
    ecr.destroy();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * Runs a step that reads cached blobs. A blob found corrupt on the way was already removed from the cache: it is
 * fetched again and the step redone, once per blob. A step whose output cannot be taken back (stdout) is not.
 */
function healer(set: ImageSet, refetch: (blob: Descriptor) => Promise<void>, notice: (text: string) => void) {
  const healed = new Set<string>();
  return async <T>(step: () => Promise<T>, canRedo = true): Promise<T> => {
    for (;;) {
      try {
        return await step();
      } catch (err) {
        const blob =
          err instanceof CorruptBlobError && canRedo && !healed.has(err.digest)
            ? set.blobs.find((b) => b.digest === err.digest)
            : undefined;
        if (!blob) throw err;
        healed.add(blob.digest);
        const { actual } = err as CorruptBlobError;
        notice(
          `cache: ${blob.digest} ${actual ? `was corrupt (its content hashes to ${actual}): removed it` : 'vanished from the cache while in use'}, downloading it again`,
        );
        await refetch(blob);
      }
    }
  };
}
