/**
 * The backend `ecrx sync` runs: each image goes to the backend for its source, ECR sources to the ECR copy backend
 * (sync-ecr.ts), sources in any other registry through the distribution API (sync-registry.ts) into ECR.
 */
import type { BlobCache } from '../../store/blob-cache.js';
import type { SyncBackend } from '../../sync/run.js';
import { openCache } from '../session.js';
import { ecrBackend, Sessions, type SyncFlags } from './sync-ecr.js';
import { ecrTarget, sideBackend } from './sync-move.js';
import { isRegistrySource, registrySource } from './sync-registry.js';

export type ClosableBackend = SyncBackend & { close(): Promise<void> };

/** Each call to the backend of the source it names. */
export function dispatch(pick: (source: string) => ClosableBackend, all: ClosableBackend[]): ClosableBackend {
  return {
    listTags: (repository, signal) => pick(repository).listTags(repository, signal),
    runJob: (job, signal) => pick(job.source).runJob(job, signal),
    describe: (job, signal) => pick(job.source).describe(job, signal),
    throttledMs: () => all.reduce((n, b) => n + (b.throttledMs?.() ?? 0), 0),
    close: async () => {
      for (const b of all) await b.close();
    },
  };
}

export function syncBackend(flags: SyncFlags & { insecure?: boolean }): ClosableBackend {
  let cache: BlobCache | undefined;
  const cacheOf = () => (cache ??= openCache(flags));
  const ecr = ecrBackend(flags);
  const registry = sideBackend(
    registrySource(flags, cacheOf),
    ecrTarget(new Sessions(flags), cacheOf),
    flags.concurrency,
  );
  return dispatch((source) => (isRegistrySource(source) ? registry : ecr), [ecr, registry]);
}
