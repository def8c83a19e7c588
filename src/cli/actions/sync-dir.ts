/**
 * Air-gapped sync. On the connected side `ecrx sync PLAN --to-dir DIR` writes each image into an OCI layout per
 * source repository, `DIR/<source repository>` (`DIR/docker.io/library/alpine`, a port's colon as `_`), tags as ref names, referrers
 * beside their images; the directory is carried across; on the disconnected side `ecrx sync PLAN --from-dir DIR`
 * reads the same plan's images from it into ECR. Both sides expand the plan the same way (the tags of a repository
 * come from its registry on one side, from its layout on the other), so both report the same images.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EcrxError } from '../../core/errors.js';
import { cached } from '../../engine/cached.js';
import { referrerTree } from '../../engine/referrers.js';
import { LayoutDirSink, layoutEntries, REF_NAME } from '../../sinks/layout-dir.js';
import { EcrSource } from '../../sources/ecr.js';
import { layoutDirSource, layoutReferrers, layoutTags } from '../../sources/layout-dir.js';
import type { BlobCache } from '../../store/blob-cache.js';
import type { SyncJob } from '../../sync/expand.js';
import { ecrRef, listEcrTags, type Sessions } from './sync-ecr.js';
import type { SourceSide, TargetSide } from './sync-move.js';

/**
 * The layout of a source repository inside DIR: `DIR/docker.io/library/alpine`; a registry port is written with
 * `_` (`DIR/localhost_5000/app`), since other tools read `PATH:TAG` and a colon in the path would split it.
 */
export const layoutOf = (dir: string, job: Pick<SyncJob, 'repository'>) => join(dir, job.repository.replace(/:/g, '_'));

/** The directory as the target side (the connected machine). */
export function dirTarget(dir: string): TargetSide {
  return {
    async current(job, digest) {
      const entries = await layoutEntries(layoutOf(dir, job));
      const entry = job.tag
        ? entries.find((e) => e.annotations?.[REF_NAME] === job.tag)
        : entries.find((e) => e.digest === digest);
      return entry?.digest;
    },
    async present(job) {
      return new Set((await layoutEntries(layoutOf(dir, job))).map((e) => e.digest));
    },
    sink: async (job) => new LayoutDirSink(layoutOf(dir, job)),
    close: async () => undefined,
  };
}

/** The directory as the source side (the disconnected machine). */
export function dirSource(dir: string): SourceSide {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory())
    throw new EcrxError('VALIDATION_ERROR', `--from-dir ${dir}: no such directory`, {
      hint: 'Give the directory `ecrx sync PLAN --to-dir DIR` wrote on the connected side.',
    });
  return {
    async listTags(repository) {
      const layout = layoutOf(dir, { repository });
      // A repository the connected side never wrote is an error, not an empty list: nothing would be synced, silently.
      if (!existsSync(join(layout, 'index.json')))
        throw new EcrxError('REPOSITORY_NOT_FOUND', `${repository} is not in ${dir} (no ${layout}/index.json)`, {
          hint: 'Run `ecrx sync PLAN --to-dir DIR` with this plan on the connected side, and carry all of DIR over.',
        });
      return layoutTags(layout);
    },
    open: async (job, digest) =>
      layoutDirSource(
        layoutOf(dir, job),
        digest ? { digest } : job.tag ? { tag: job.tag } : { digest: job.digest },
        digest ? `${job.repository}@${digest}` : job.source,
      ),
    referrers: (job, subjects) => layoutReferrers(layoutOf(dir, job), subjects),
    close: async () => undefined,
  };
}

/** ECR as a source side (for --to-dir from ECR sources): through the cache, referrers by ListImageReferrers. */
export function ecrSource(sessions: Sessions, cache: () => BlobCache): SourceSide {
  return {
    async listTags(repository, signal) {
      const ref = ecrRef(repository);
      return listEcrTags((await sessions.for(ref)).ecr, ref.repository, signal);
    },
    async open(job, digest) {
      const ref = ecrRef(job.source);
      const { ecr } = await sessions.for(ref);
      return cached(new EcrSource(ecr, digest ? { ...ref, tag: undefined, digest } : ref), cache());
    },
    async referrers(job, subjects, signal) {
      const ref = ecrRef(job.source);
      return referrerTree((await sessions.for(ref)).ecr, ref.repository, subjects, { signal });
    },
    close: () => sessions.close(),
  };
}
