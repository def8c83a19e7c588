/** `ecrx tags` and `ecrx repos`: every page, newest first. */
import type { ImageDetail, ImageStatusFilter, Repository, TagStatus } from '@aws-sdk/client-ecr';
import { EcrxError } from '../../core/errors.js';
import { isValidRepository } from '../../core/reference.js';
import type { EcrFlags } from '../common.js';
import { printSuccess } from '../output.js';
import { openSession } from '../session.js';
import { displayWidth, formatAge, formatBytes, padEnd, padStart, truncate } from '../../report/format.js';

const toIso = (d: unknown) => (d instanceof Date ? d.toISOString() : d ? new Date(d as string).toISOString() : null);

export interface TagsFlags extends EcrFlags {
  /** false with --no-trunc: full digests and tags. */
  trunc?: boolean;
  untagged?: boolean;
  all?: boolean;
  filter?: string[];
  /** `--status`: active (default), archived, activating or all. */
  status?: string;
}

/** `--status`: which storage states to list (ECR lists only ACTIVE images unless asked). */
const STATUS_FILTER: Record<string, ImageStatusFilter> = {
  active: 'ACTIVE',
  archived: 'ARCHIVED',
  activating: 'ACTIVATING',
  all: 'ANY',
};

/** A tag glob (`v1.*`, `release-?`, `*-rc[0-9]`) as a whole-string regular expression. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[' && glob.indexOf(']', i + 2) > i) {
      const close = glob.indexOf(']', i + 2);
      const body = glob
        .slice(i + 1, close)
        .replace(/^!/, '^')
        .replace(/\\/g, '\\\\');
      re += `[${body}]`;
      i = close;
    } else re += c.replace(/[.+^${}()|\\\][]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

type Session = Awaited<ReturnType<typeof openSession>>;
type ImageId = { imageDigest: string; imageTag?: string };

export async function tags(repository: string, flags: TagsFlags, signal: AbortSignal): Promise<void> {
  const imageStatus = STATUS_FILTER[flags.status ?? 'active'];
  if (!isValidRepository(repository))
    throw new EcrxError('VALIDATION_ERROR', `Invalid repository name '${repository}'`, {
      hint: 'For example team/app (no tag: ecrx tags lists them).',
    });
  const tagStatus = flags.all ? 'ANY' : flags.untagged ? 'UNTAGGED' : 'TAGGED';
  const filters = (flags.filter ?? []).map(globToRegExp);
  const session = await openSession(flags, 'tags');
  const { reporter, ecr } = session;
  try {
    reporter.phase(`listing ${repository}`);
    const ids = await listImageIds(session, repository, { tagStatus, imageStatus }, signal);
    // --filter matches tags; an untagged image has none to match.
    const wanted = filters.length
      ? ids.filter((i) => i.imageTag !== undefined && filters.some((f) => f.test(i.imageTag!)))
      : ids;
    const details = await describeImages(session, repository, wanted, imageStatus, signal);
    reporter.stop();
    const rows = tagRows(wanted, details);
    const state = imageStatus === 'ANY' ? '' : `${imageStatus.toLowerCase()} `;
    const what = flags.all ? `${state}images` : flags.untagged ? `untagged ${state}images` : `tagged ${state}images`;
    printSuccess(flags, { repository, tags: rows }, () =>
      rows.length
        ? tagTable(rows, flags.trunc !== false, imageStatus !== 'ACTIVE')
        : filters.length
          ? `No tags of ${repository} match ${(flags.filter ?? []).map((f) => `'${f}'`).join(' or ')}; \`ecrx tags ${repository}\` lists them all`
          : `${repository} has no ${what}`,
    );
  } finally {
    reporter.stop();
    ecr.destroy();
  }
}

/** Every page of ListImages. */
async function listImageIds(
  { ecr }: Session,
  repository: string,
  filter: { tagStatus: TagStatus; imageStatus: ImageStatusFilter },
  signal: AbortSignal,
): Promise<ImageId[]> {
  const ids: ImageId[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ecr.request(
      'ListImages',
      ecr.withRegistry({ repositoryName: repository, filter, maxResults: 1000, nextToken }),
      `Listing the images of ${repository}`,
      { signal },
    );
    for (const { imageDigest, imageTag } of page.imageIds ?? []) if (imageDigest) ids.push({ imageDigest, imageTag });
    nextToken = page.nextToken;
  } while (nextToken);
  return ids;
}

/** DescribeImages for each distinct digest, 100 a call (ECR's limit), by digest. */
async function describeImages(
  { ecr }: Session,
  repository: string,
  ids: ImageId[],
  imageStatus: ImageStatusFilter,
  signal: AbortSignal,
): Promise<Map<string, ImageDetail>> {
  const details = new Map<string, ImageDetail>();
  const digests = [...new Set(ids.map((i) => i.imageDigest))];
  for (let i = 0; i < digests.length; i += 100) {
    const out = await ecr.request(
      'DescribeImages',
      ecr.withRegistry({
        repositoryName: repository,
        imageIds: digests.slice(i, i + 100).map((imageDigest) => ({ imageDigest })),
        filter: { imageStatus },
      }),
      `Describing the images of ${repository}`,
      { signal },
    );
    for (const d of out.imageDetails ?? []) if (d.imageDigest) details.set(d.imageDigest, d);
  }
  return details;
}

/** One row a tag, plus one a digest that has none; newest first. */
function tagRows(wanted: ImageId[], details: Map<string, ImageDetail>) {
  // A digest ListImages also reports tagged (ANY lists each tag, and may list the digest bare) is not untagged.
  const tagged = new Set(wanted.filter((i) => i.imageTag !== undefined).map((i) => i.imageDigest));
  const seen = new Set<string>();
  return wanted
    .filter(
      (id) =>
        id.imageTag !== undefined ||
        (!tagged.has(id.imageDigest) && !seen.has(id.imageDigest) && seen.add(id.imageDigest)),
    )
    .map((id) => {
      const d = details.get(id.imageDigest);
      return {
        tag: id.imageTag ?? null,
        digest: id.imageDigest,
        size: d?.imageSizeInBytes ?? null,
        pushedAt: toIso(d?.imagePushedAt),
        mediaType: d?.imageManifestMediaType ?? null,
        status: d?.imageStatus ?? null,
      };
    })
    .sort((a, b) => (b.pushedAt ?? '').localeCompare(a.pushedAt ?? '') || (a.tag ?? '').localeCompare(b.tag ?? ''));
}

type TagRow = {
  tag: string | null;
  digest: string;
  size: number | null;
  pushedAt: string | null;
  status: string | null;
};

/** TAG, DIGEST, SIZE, PUSHED (and STATUS when not only active images are listed), as `docker images` lays them out. */
function tagTable(rows: TagRow[], trunc: boolean, withStatus: boolean): string {
  const digestOf = (d: string) => (trunc ? d.slice(0, 19) : d);
  const cells = rows.map((r) => [
    r.tag ?? '<none>',
    digestOf(r.digest),
    formatBytes(r.size ?? 0),
    `${formatAge(r.pushedAt)}${withStatus ? `  ${r.status ?? ''}` : ''}`,
  ]);
  const head = ['TAG', 'DIGEST', 'SIZE', withStatus ? 'PUSHED  STATUS' : 'PUSHED'];
  const width = (i: number) => Math.max(head[i].length, ...cells.map((c) => displayWidth(c[i])));
  const rest = width(1) + width(2) + width(3) + 6;
  const columns = process.stdout.isTTY ? process.stdout.columns || 80 : Infinity;
  const tagW = trunc ? Math.max(10, Math.min(width(0), columns - 1 - rest)) : width(0);
  const line = (c: string[]) =>
    `${padEnd(truncate(c[0], tagW), tagW)}  ${padEnd(c[1], width(1))}  ${padStart(c[2], width(2))}  ${c[3]}`.trimEnd();
  return [line(head), ...cells.map(line)].join('\n');
}

export async function repos(flags: EcrFlags, signal: AbortSignal): Promise<void> {
  const { reporter, ecr } = await openSession(flags, 'repos');
  try {
    const all: Repository[] = [];
    let nextToken: string | undefined;
    do {
      const page = await ecr.request(
        'DescribeRepositories',
        ecr.withRegistry({ maxResults: 1000, nextToken }),
        'Listing repositories',
        { signal },
      );
      all.push(...(page.repositories ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    reporter.stop();
    const rows = all.map((r) => ({
      name: r.repositoryName ?? '',
      uri: r.repositoryUri,
      registryId: r.registryId,
      createdAt: toIso(r.createdAt),
      tagMutability: r.imageTagMutability,
    }));
    const nameW = Math.max(10, ...rows.map((r) => displayWidth(r.name)));
    printSuccess(flags, { repositories: rows }, () =>
      rows.length
        ? [`${padEnd('REPOSITORY', nameW)}  URI`, ...rows.map((r) => `${padEnd(r.name, nameW)}  ${r.uri}`)].join('\n')
        : 'No repositories in this registry; create one with `ecrx repos create NAME`.',
    );
  } finally {
    reporter.stop();
    ecr.destroy();
  }
}
