/**
 * An OCI distribution registry (Docker Hub, GHCR, Quay, public.ecr.aws, a private registry) as the source side of
 * a sync: one client per registry for the whole run (its tokens shared by every image), tags from the tags list,
 * images read through the blob cache, so a layer shared by many images is downloaded once per run.
 */
import { parseAnyReference } from '../../core/reference.js';
import { cached } from '../../engine/cached.js';
import { RegistryClient } from '../../registry/client.js';
import { parseRegistryReference, type RegistryRef } from '../../registry/reference.js';
import { registryReferrerTree } from '../../registry/referrers.js';
import { RegistrySource } from '../../sources/registry.js';
import type { BlobCache } from '../../store/blob-cache.js';
import type { SyncJob } from '../../sync/expand.js';
import { printDebug, printNote } from '../output.js';
import type { SourceSide } from './sync-move.js';
import type { SyncFlags } from './sync-ecr.js';
import type { IngestResult } from '../../store/ingest.js';

/** Whether a plan's source is in a registry other than private ECR (so read through the distribution API). */
export function isRegistrySource(text: string): boolean {
  const kind = parseAnyReference(text, { defaultTag: false }).registry?.kind;
  return kind === 'other' || kind === 'ecr-public';
}

export function registrySource(flags: SyncFlags & { insecure?: boolean }, cache: () => BlobCache): SourceSide {
  const clients = new Map<string, RegistryClient>();
  const clientOf = (registry: string) => {
    let c = clients.get(registry);
    if (!c)
      clients.set(
        registry,
        (c = new RegistryClient({
          registry,
          insecure: flags.insecure,
          onRetry: (what, reason) => printNote(flags, `${what}: ${reason}`),
          debug: flags.debug ? printDebug : undefined,
        })),
      );
    return c;
  };
  const refOf = (job: SyncJob) => parseRegistryReference(job.source, { defaultTag: false });
  // One download per blob per run, even when images sharing a layer are read at the same time.
  const fills = new Map<string, Promise<IngestResult>>();
  const sourceOf = (ref: RegistryRef) => {
    const source = new RegistrySource(ref, clientOf(ref.registry));
    const fill = source.fill.bind(source);
    source.fill = async (d, store, o) => {
      const running = fills.get(d.digest);
      if (running) {
        // Another image of this run is fetching it: wait, and count no bytes twice.
        await running;
        return { reusedBytes: 0, downloadedBytes: 0, byOtherProcess: false };
      }
      const p = fill(d, store, o);
      fills.set(d.digest, p);
      p.catch(() => fills.delete(d.digest));
      return p;
    };
    return source;
  };
  return {
    listTags(repository, signal) {
      const ref = parseRegistryReference(repository, { defaultTag: false });
      return clientOf(ref.registry).listTags(ref.repository, { signal });
    },
    async open(job, digest) {
      const ref = refOf(job);
      const at = digest ? { registry: ref.registry, repository: ref.repository, digest } : ref;
      return cached(sourceOf(at), cache());
    },
    referrers(job, subjects, signal) {
      const ref = refOf(job);
      return registryReferrerTree(clientOf(ref.registry), ref.repository, subjects, signal);
    },
    async close() {
      for (const c of clients.values()) c.close();
    },
  };
}
