/** ListImages, every page: the tagged images of a repository, each digest with all its tags. */
import type { ImageStatusFilter } from '@aws-sdk/client-ecr';
import type { Ecr } from './client.js';

/** digest -> its tags, in the order ListImages gave them. */
export async function taggedImages(
  ecr: Ecr,
  repository: string,
  imageStatus: ImageStatusFilter | undefined,
  signal: AbortSignal,
): Promise<Map<string, string[]>> {
  const byDigest = new Map<string, string[]>();
  let nextToken: string | undefined;
  do {
    const page = await ecr.request(
      'ListImages',
      ecr.withRegistry({
        repositoryName: repository,
        filter: { tagStatus: 'TAGGED', ...(imageStatus ? { imageStatus } : {}) },
        maxResults: 1000,
        nextToken,
      }),
      `Listing the images of ${repository}`,
      { signal },
    );
    for (const id of page.imageIds ?? [])
      if (id.imageTag && id.imageDigest)
        byDigest.set(id.imageDigest, [...(byDigest.get(id.imageDigest) ?? []), id.imageTag]);
    nextToken = page.nextToken;
  } while (nextToken);
  return byDigest;
}
