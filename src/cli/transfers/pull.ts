/** `ecrx pull`, the CLI side: flags checked before the network, the engine run with a reporter, the result printed. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { EcrxError } from '../../core/errors.js';
import { formatReference } from '../../core/reference.js';
import { formatRegistryReference } from '../../registry/reference.js';
import { openSide, parseImageArg, sourceOf, type RegistryFlags } from '../image-arg.js';
import { BlobCache, defaultCacheDir } from '../../store/blob-cache.js';
import { openCache } from '../session.js';
import type { EcrFlags } from '../common.js';
import { formatBytes, formatDuration, plural } from '../../report/format.js';
import { printNote, printSuccess } from '../output.js';
import { parsePlatform } from '../../oci/platform.js';
import { planOutput } from '../../sinks/output-target.js';
import { scratchPrefix } from '../../sinks/temp-names.js';
import { pullImage, type OutputFormat } from '../../engine/pull.js';

export type { OutputFormat };

export interface PullFlags extends EcrFlags, RegistryFlags {
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

export function defaultOutputName(
  ref: { repository: string; tag?: string; digest?: string },
  format: OutputFormat,
): string {
  const name = ref.repository.slice(ref.repository.lastIndexOf('/') + 1);
  const suffix = ref.tag ?? `sha256-${ref.digest!.slice(7, 19)}`;
  return `${name}-${suffix}${format === 'oci' ? '' : '.tar'}`;
}

export async function pull(refText: string, flags: PullFlags, signal: AbortSignal): Promise<void> {
  const started = Date.now();
  // Everything that can be refused without the network is refused first.
  const arg = parseImageArg(refText);
  const { ref } = arg;
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
  if (flags.referrers && arg.kind === 'registry')
    throw new EcrxError(
      'VALIDATION_ERROR',
      '--referrers reads the referrers ECR lists; it is not available for another registry',
      {
        hint: 'Pull the image without --referrers.',
      },
    );
  const output = toStdout ? '-' : resolvePath(flags.output ?? defaultOutputName(ref, format));
  const cacheRoot = flags.cache === false ? undefined : resolvePath(flags.cacheDir ?? defaultCacheDir());
  // Where the output goes is settled before the first API call: a refusal costs no download.
  const plan = toStdout ? undefined : await planOutput(output, format === 'oci' ? 'directory' : 'file', { cacheRoot });

  const { reporter, ecr } = await openSide(arg, flags, 'pull');
  // --no-cache: a store of this run's own beside the output (or in TMPDIR for stdout), removed at the end.
  const scratch =
    flags.cache === false
      ? mkdtempSync(toStdout ? join(tmpdir(), '.ecrx-nocache-') : scratchPrefix(dirname(output)))
      : undefined;
  try {
    const cache = scratch ? new BlobCache(scratch) : openCache(flags);
    const side = await sourceOf(arg, ecr, flags, reporter);
    const r = await pullImage({
      source: side.source,
      tags: () => (ref.tag ? [`${side.host}/${ref.repository}:${ref.tag}`] : []),
      format,
      plan,
      stream: process.stdout,
      platform: flags.platform,
      concurrency: flags.concurrency,
      cache,
      referrers: flags.referrers && arg.kind === 'ecr' && ecr ? { ecr, repository: arg.ref.repository } : undefined,
      events: reporter,
      signal,
    });
    reporter.stop();
    const { set, layers, bytesDownloaded, bytesReused, referrers, platform } = r;
    const cachedCount = layers.filter((l) => l.cached).length;
    const data = {
      image: `${side.host}/${formatReference({ repository: ref.repository, tag: ref.tag })}`,
      ...(arg.kind === 'ecr' ? { registryId: side.registryId() } : { registry: arg.ref.registry }),
      repository: ref.repository,
      tag: ref.tag ?? null,
      digest: set.top.digest,
      mediaType: set.top.mediaType,
      platform: platform ?? null,
      output,
      format,
      replaced: r.replaced,
      layers,
      bytesDownloaded,
      bytesReused,
      ...(referrers ? { referrers } : {}),
      durationMs: Date.now() - started,
    };
    const shown = arg.kind === 'ecr' ? formatReference(arg.ref) : formatRegistryReference(arg.ref);
    if (!toStdout) {
      printSuccess(
        flags,
        data,
        () =>
          `Pulled ${shown} ${set.top.digest}${platform ? ` (${platform})` : ''} to ${output} [${format}]: ${plural(layers.length, 'blob')}, ${layers.length - cachedCount} downloaded (${formatBytes(bytesDownloaded)}), ${cachedCount} cached${referrers ? `, ${plural(referrers.length, 'referrer')}` : ''}, in ${formatDuration(data.durationMs)}`,
      );
    } else if (!flags.quiet) {
      printNote(flags, `Pulled ${shown} ${set.top.digest} to stdout [${format}] in ${formatDuration(data.durationMs)}`);
    }
  } finally {
    reporter.stop();
    ecr?.destroy();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}
