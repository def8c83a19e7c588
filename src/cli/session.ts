/**
 * What every ECR-talking command starts with: a progress reporter, a connection, and the blob cache. CLI-side: it
 * reads flags and picks the reporter; the engine gets the connection and the events.
 */
import { BlobCache, defaultCacheDir } from '../store/blob-cache.js';
import { Ecr } from '../ecr/client.js';
import { connectionFor, type EcrFlags } from './common.js';
import type { ImageRef } from '../core/reference.js';
import { reporterKind, type Reporter } from '../report/reporter.js';
import { createReporter } from '../report/create-reporter.js';
import { setHttpDebug } from '../net/http.js';
import { printDebug } from './output.js';

/** Creates the reporter and the ECR connection that pull, push and copy all start with. */
export async function openSession(
  flags: EcrFlags,
  prefix: string,
  ref?: ImageRef,
): Promise<{ reporter: Reporter; ecr: Ecr }> {
  const reporter = await createReporter(reporterKind(flags), prefix);
  if (flags.debug) setHttpDebug(printDebug);
  const ecr = await Ecr.connect(connectionFor(flags, ref), {
    onRetry: (op, attempt, reason, delay) => reporter.retry(op, `${reason} (attempt ${attempt + 1}, in ${delay}ms)`),
    notice: (line) => reporter.notice(line),
    debug: flags.debug ? printDebug : undefined,
  });
  return { reporter, ecr };
}

export function openCache(flags: { cacheDir?: string }): BlobCache {
  const cache = new BlobCache(flags.cacheDir ?? defaultCacheDir());
  cache.sweepStaleTemp();
  return cache;
}
