/** `ecrx convert`, the CLI side: the target settled before anything is read, the engine run, the result printed. */
import { resolve as resolvePath } from 'node:path';
import { EcrxError } from '../../core/errors.js';
import { parsePlatform } from '../../oci/platform.js';
import { defaultCacheDir } from '../../store/blob-cache.js';
import { planOutput } from '../../sinks/output-target.js';
import { splitSource } from '../../sources/open.js';
import type { LocalFormat } from '../../sinks/local.js';
import { convertImage } from '../../engine/convert.js';
import { formatBytes, formatDuration, plural } from '../../report/format.js';
import { reporterKind } from '../../report/reporter.js';
import { createReporter } from '../../report/create-reporter.js';
import { printSuccess } from '../output.js';
import { openCache } from '../session.js';

export interface ConvertFlags {
  format?: LocalFormat;
  platform?: string;
  concurrency: number;
  cacheDir?: string;
  json?: boolean;
  quiet?: boolean;
}

export async function convert(sourceArg: string, targetArg: string, flags: ConvertFlags, signal: AbortSignal) {
  const started = Date.now();
  const format: LocalFormat = flags.format ?? (targetArg.endsWith('.tar') ? 'oci-archive' : 'oci');
  if (flags.platform && flags.platform !== 'all') parsePlatform(flags.platform);
  if (format === 'docker-archive' && flags.platform === 'all')
    throw new EcrxError(
      'VALIDATION_ERROR',
      'A docker-archive holds one platform; --platform all needs oci or oci-archive',
    );
  if (targetArg === '-')
    throw new EcrxError('VALIDATION_ERROR', 'convert writes a file or a directory, not stdout', {
      hint: 'Give a target path; `ecrx pull -o -` streams an archive from ECR.',
    });
  const output = resolvePath(targetArg);
  const { path: sourcePath } = splitSource(sourceArg);
  if (sourcePath !== '-' && resolvePath(sourcePath) === output)
    throw new EcrxError('VALIDATION_ERROR', `${targetArg} is the source itself`, {
      hint: 'Convert into a new path, then rename it if you want it in place.',
    });
  const cacheRoot = resolvePath(flags.cacheDir ?? defaultCacheDir());
  const plan = await planOutput(output, format === 'oci' ? 'directory' : 'file', { cacheRoot });
  const reporter = await createReporter(reporterKind(flags), 'convert');
  try {
    const r = await convertImage({
      source: sourceArg,
      plan,
      format,
      store: openCache(flags),
      platform: flags.platform ?? (format === 'docker-archive' ? undefined : 'all'),
      concurrency: flags.concurrency,
      events: reporter,
      signal,
    });
    reporter.stop();
    const data = {
      source: sourceArg,
      sourceFormat: r.sourceKind,
      output,
      format,
      digest: r.set.top.digest,
      mediaType: r.set.top.mediaType,
      platform: r.platform ?? null,
      names: r.names,
      replaced: r.replaced,
      blobs: r.blobs.map((b) => ({ digest: b.digest, size: b.size, mediaType: b.mediaType })),
      bytesWritten: r.bytesMoved,
      durationMs: Date.now() - started,
    };
    printSuccess(
      flags,
      data,
      () =>
        `Converted ${r.sourceKind} ${sourceArg} to ${format} ${output} ${r.set.top.digest}${r.platform && r.platform !== 'all' ? ` (${r.platform})` : ''}: ${plural(r.blobs.length, 'blob')} (${formatBytes(r.bytesMoved)}), in ${formatDuration(data.durationMs)}`,
    );
  } finally {
    reporter.stop();
  }
}
