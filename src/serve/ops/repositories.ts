import { ApiError, invalidParameter } from '../api-error.js';
import { type Context, type Input, registryOf, requireRepo, epochSeconds } from '../context.js';
import type { RepoRecord } from '../store.js';
import { pageOf } from './paging.js';

export function describeRepository(ctx: Context, r: RepoRecord) {
  const region = ctx.options.region;
  return {
    repositoryArn: `arn:aws:ecr:${region}:${r.registryId}:repository/${r.name}`,
    registryId: r.registryId,
    repositoryName: r.name,
    repositoryUri: `${r.registryId}.dkr.ecr.${region}.amazonaws.com/${r.name}`,
    createdAt: epochSeconds(r.createdAt),
    imageTagMutability: r.imageTagMutability,
    ...(r.imageTagMutabilityExclusionFilters
      ? { imageTagMutabilityExclusionFilters: r.imageTagMutabilityExclusionFilters }
      : {}),
    imageScanningConfiguration: { scanOnPush: r.scanOnPush },
    encryptionConfiguration: { encryptionType: r.encryptionType, ...(r.kmsKey ? { kmsKey: r.kmsKey } : {}) },
  };
}

function checkExclusionFilters(mutability: string, filters: unknown[] | undefined): void {
  const needsFilters = mutability.endsWith('_WITH_EXCLUSION');
  if (needsFilters && !filters?.length) {
    throw invalidParameter(
      `imageTagMutabilityExclusionFilters must be provided when imageTagMutability is ${mutability}`,
    );
  }
  if (!needsFilters && filters?.length) {
    throw invalidParameter(
      `imageTagMutabilityExclusionFilters can only be used with IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION`,
    );
  }
}

export function createRepository(ctx: Context, input: Input) {
  const registryId = registryOf(ctx, input);
  if (ctx.store.getRepo(registryId, input.repositoryName)) {
    throw new ApiError(
      'RepositoryAlreadyExistsException',
      `The repository with name '${input.repositoryName}' already exists in the registry with id '${registryId}'`,
    );
  }
  const mutability: string = input.imageTagMutability ?? 'MUTABLE';
  checkExclusionFilters(mutability, input.imageTagMutabilityExclusionFilters);
  const rec: RepoRecord = {
    registryId,
    name: input.repositoryName,
    createdAt: Date.now(),
    imageTagMutability: mutability,
    imageTagMutabilityExclusionFilters: input.imageTagMutabilityExclusionFilters,
    scanOnPush: Boolean(input.imageScanningConfiguration?.scanOnPush),
    encryptionType: input.encryptionConfiguration?.encryptionType ?? 'AES256',
    kmsKey: input.encryptionConfiguration?.kmsKey,
    images: {},
    layers: {},
  };
  ctx.store.addRepo(rec);
  return { repository: describeRepository(ctx, rec) };
}

export function describeRepositories(ctx: Context, input: Input) {
  const registryId = registryOf(ctx, input);
  if (input.repositoryNames) {
    if (input.maxResults !== undefined || input.nextToken !== undefined) {
      throw invalidParameter('maxResults and nextToken cannot be used when repositoryNames is specified');
    }
    const found = (input.repositoryNames as string[]).map((name) => {
      const r = ctx.store.getRepo(registryId, name);
      if (!r) {
        throw new ApiError(
          'RepositoryNotFoundException',
          `The repository with name '${name}' does not exist in the registry with id '${registryId}'`,
        );
      }
      return describeRepository(ctx, r);
    });
    return { repositories: found };
  }
  const all = ctx.store.listRepos(registryId);
  const { items, nextToken } = pageOf('DescribeRepositories', all, input.nextToken, input.maxResults);
  return { repositories: items.map((r) => describeRepository(ctx, r)), ...(nextToken ? { nextToken } : {}) };
}

export function deleteRepository(ctx: Context, input: Input) {
  const repo = requireRepo(ctx, input);
  if (!input.force && Object.keys(repo.images).length > 0) {
    throw new ApiError(
      'RepositoryNotEmptyException',
      `The repository with name '${repo.name}' in registry with id '${repo.registryId}' cannot be deleted because it still contains images`,
    );
  }
  ctx.store.deleteRepo(repo);
  ctx.store.dropUploadsOf(repo.registryId, repo.name);
  return { repository: describeRepository(ctx, repo) };
}

export function putImageTagMutability(ctx: Context, input: Input) {
  const repo = requireRepo(ctx, input);
  checkExclusionFilters(input.imageTagMutability, input.imageTagMutabilityExclusionFilters);
  repo.imageTagMutability = input.imageTagMutability;
  repo.imageTagMutabilityExclusionFilters = input.imageTagMutabilityExclusionFilters;
  ctx.store.saveRepo(repo);
  return {
    registryId: repo.registryId,
    repositoryName: repo.name,
    imageTagMutability: repo.imageTagMutability,
    ...(repo.imageTagMutabilityExclusionFilters
      ? { imageTagMutabilityExclusionFilters: repo.imageTagMutabilityExclusionFilters }
      : {}),
  };
}

export function getAuthorizationToken(ctx: Context, input: Input) {
  const ids: string[] = input.registryIds?.length ? input.registryIds : [ctx.options.accountId];
  const expiresAt = Date.now() + 12 * 3600 * 1000;
  return {
    authorizationData: ids.map((id) => ({
      // ECR hands out "AWS:<password>"; the emulator's password is opaque and only meaningful to itself.
      authorizationToken: Buffer.from(`AWS:ecrx-serve.${id}.${expiresAt}`).toString('base64'),
      expiresAt: epochSeconds(expiresAt),
      proxyEndpoint: `https://${id}.dkr.ecr.${ctx.options.region}.amazonaws.com`,
    })),
  };
}

/** Whether a tag may be overwritten in this repository (ECR's mutability settings with exclusion filters). */
export function tagIsImmutable(repo: RepoRecord, tag: string): boolean {
  const matches = (repo.imageTagMutabilityExclusionFilters ?? []).some((f) => wildcard(f.filter).test(tag));
  switch (repo.imageTagMutability) {
    case 'IMMUTABLE':
      return true;
    case 'IMMUTABLE_WITH_EXCLUSION':
      return !matches;
    case 'MUTABLE_WITH_EXCLUSION':
      return matches;
    default:
      return false;
  }
}

const wildcard = (pattern: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\-]/g, '\\$&'))
      .join('.*')}$`,
  );
