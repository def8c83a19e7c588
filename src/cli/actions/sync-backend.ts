/**
 * The backend `ecrx sync` runs. Into ECR: ECR sources through the ECR copy backend (sync-ecr.ts), sources in any
 * other registry through the distribution API (sync-registry.ts). With --to-dir, either kind of source into a
 * directory of OCI layouts; with --from-dir, that directory into ECR (sync-dir.ts).
 */
import { EcrxError } from '../../core/errors.js';
import type { BlobCache } from '../../store/blob-cache.js';
import type { SyncBackend } from '../../sync/run.js';
import { openCache } from '../session.js';
import { ecrBackend, Sessions, type SyncFlags } from './sync-ecr.js';
import { ecrTarget, sideBackend, type SourceSide } from './sync-move.js';
import { isRegistrySource, registrySource } from './sync-registry.js';

export type ClosableBackend = SyncBackend & { close(): Promise<void> };

export interface BackendFlags extends SyncFlags {
  insecure?: boolean;
  toDir?: string;
  fromDir?: string;
}

/** Each call to the backend of the source it names. */
export function dispatch(pick: (source: string) => ClosableBackend, all: ClosableBackend[]): ClosableBackend {
  return {
    listTags: (repository, signal) => pick(repository).listTags(repository, signal),
    check: async (job, signal) => pick(job.source).check?.(job, signal),
    runJob: (job, signal) => pick(job.source).runJob(job, signal),
    describe: (job, signal) => pick(job.source).describe(job, signal),
    throttledMs: () => all.reduce((n, b) => n + (b.throttledMs?.() ?? 0), 0),
    close: async () => {
      for (const b of all) await b.close();
    },
  };
}

/** Registry sources and ECR sources side by side, each job to the side its source is on. */
function anySource(registry: SourceSide, ecr: SourceSide): SourceSide {
  const pick = (text: string) => (isRegistrySource(text) ? registry : ecr);
  return {
    listTags: (repository, signal) => pick(repository).listTags(repository, signal),
    open: (job, digest) => pick(job.source).open(job, digest),
    referrers: (job, subjects, signal) => pick(job.source).referrers(job, subjects, signal),
    close: async () => {
      await registry.close();
      await ecr.close();
    },
  };
}

export async function syncBackend(flags: BackendFlags): Promise<ClosableBackend> {
  let cache: BlobCache | undefined;
  const cacheOf = () => (cache ??= openCache(flags));
  if (flags.toDir && flags.fromDir)
    throw new EcrxError('VALIDATION_ERROR', '--to-dir and --from-dir go to the two sides of an air gap, not together', {
      hint: 'Run `ecrx sync PLAN --to-dir DIR` where the sources are, then `ecrx sync PLAN --from-dir DIR` where ECR is.',
    });
  // The air gap's layout readers and writers load only for --to-dir and --from-dir (start-up time).
  if (flags.toDir) {
    const { dirTarget, ecrSource } = await import('./sync-dir.js');
    return sideBackend(
      anySource(registrySource(flags, cacheOf), ecrSource(new Sessions(flags), cacheOf)),
      dirTarget(flags.toDir),
      flags.concurrency,
    );
  }
  if (flags.fromDir) {
    const { dirSource } = await import('./sync-dir.js');
    return sideBackend(dirSource(flags.fromDir), ecrTarget(new Sessions(flags), cacheOf), flags.concurrency);
  }
  const ecr = ecrBackend(flags);
  const registry = sideBackend(
    registrySource(flags, cacheOf),
    ecrTarget(new Sessions(flags), cacheOf),
    flags.concurrency,
  );
  return dispatch((source) => (isRegistrySource(source) ? registry : ecr), [ecr, registry]);
}
