/**
 * A plan becomes concrete jobs, one per image: `{source, target, tag}`. Repository sources are listed through an
 * injected `listTags` (each repository once) unless the entry names its tags literally; duplicates collapse;
 * the order is the plan's, then newest tag first, so every shard sees the same list.
 */
import pLimit from 'p-limit';
import { EcrxError } from '../core/errors.js';
import type { CreateSettings, Plan, PlanEntry } from './plan.js';
import { literalTags, newestFirst, selectTags } from './tags.js';

export interface SyncJob {
  /** The source image: `[host/]repo:tag` or `[host/]repo@digest`, as a source opener reads it. */
  source: string;
  /** The source's repository: `[host/]repo`. */
  repository: string;
  /** The tag read and written (none for a source by digest: the target gets the image untagged). */
  tag?: string;
  digest?: string;
  /** The ECR repository written: `repo` or `<account>.dkr.ecr.<region>.amazonaws.com/repo`. */
  target: string;
  platforms: 'all' | string[];
  referrers: boolean;
  create: CreateSettings;
  /** The plan entry it came from (its index in `sync`). */
  entry: number;
}

/** The tags of a repository source (`[host/]repo`), from whatever registry it is on. */
export type ListTags = (repository: string, signal?: AbortSignal) => Promise<string[]>;

/** A plan entry that could not become jobs (its repository could not be listed, or a target clashes). */
export interface ExpansionFailure {
  entry: number;
  source: string;
  target: string;
  error: unknown;
}

/** The key an image is known by across runs and shards: what is read and where it goes. */
export const jobKey = (job: Pick<SyncJob, 'source' | 'target'>): string => `${job.source} -> ${job.target}`;

export const repositoryOf = (entry: PlanEntry): string =>
  `${entry.ref.registry ? `${entry.ref.registry.host}/` : ''}${entry.ref.repository}`;

function jobsOf(entry: PlanEntry, tags: string[] | undefined): SyncJob[] {
  const repository = repositoryOf(entry);
  const common = {
    repository,
    target: entry.target,
    platforms: entry.platforms,
    referrers: entry.referrers,
    create: entry.create,
    entry: entry.index,
  };
  if (!tags) {
    const { tag, digest } = entry.ref;
    return [
      {
        ...common,
        source: `${repository}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`,
        ...(tag ? { tag } : {}),
        ...(digest ? { digest } : {}),
      },
    ];
  }
  return tags.map((tag) => ({ ...common, source: `${repository}:${tag}`, tag }));
}

export interface Expansion {
  jobs: SyncJob[];
  failures: ExpansionFailure[];
}

export async function expandPlan(
  plan: Plan,
  listTags: ListTags,
  opts: { concurrency?: number; signal?: AbortSignal } = {},
): Promise<Expansion> {
  const limit = pLimit(opts.concurrency ?? 4);
  const listings = new Map<string, Promise<string[]>>();
  const listingOf = (repository: string) => {
    let p = listings.get(repository);
    if (!p) listings.set(repository, (p = limit(() => listTags(repository, opts.signal))));
    return p;
  };
  const perEntry = await Promise.all(
    plan.entries.map(async (entry): Promise<SyncJob[] | ExpansionFailure> => {
      if (!entry.tags) return jobsOf(entry, undefined);
      const literal = literalTags(entry.tags);
      if (literal) return jobsOf(entry, newestFirst(literal));
      try {
        return jobsOf(entry, selectTags(await listingOf(repositoryOf(entry)), entry.tags));
      } catch (error) {
        return { entry: entry.index, source: entry.source, target: entry.target, error };
      }
    }),
  );
  const jobs: SyncJob[] = [];
  const failures: ExpansionFailure[] = [];
  const seen = new Set<string>();
  /** target:tag -> the source writing it: two sources must not race for one tag. */
  const writers = new Map<string, SyncJob>();
  for (const result of perEntry) {
    if (!Array.isArray(result)) {
      failures.push(result);
      continue;
    }
    for (const job of result) {
      if (seen.has(jobKey(job))) continue;
      seen.add(jobKey(job));
      if (job.tag) {
        const other = writers.get(`${job.target}:${job.tag}`);
        if (other) {
          failures.push({
            entry: job.entry,
            source: job.source,
            target: job.target,
            error: new EcrxError(
              'VALIDATION_ERROR',
              `${job.target}:${job.tag} is written from two sources: ${other.source} (sync[${other.entry}]) and ${job.source} (sync[${job.entry}])`,
              { hint: 'Give one of the entries another target, or narrow its tags.' },
            ),
          });
          continue;
        }
        writers.set(`${job.target}:${job.tag}`, job);
      }
      jobs.push(job);
    }
  }
  return { jobs, failures };
}
