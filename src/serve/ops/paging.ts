import { invalidParameterAt } from '../api-error.js';
import { pagingLimitsOf } from '../model.js';

/**
 * Offset pagination with an opaque token, as ECR's list operations page. Without maxResults a page holds what the
 * operation's documentation says (DescribeRepositories, DescribeImages and ListImages: 100), read from the model so
 * the two cannot drift apart.
 */
export function pageOf<T>(operation: string, all: T[], token: string | undefined, maxResults: number | undefined) {
  let start = 0;
  if (token !== undefined) {
    const decoded = /^ecrx1:(\d+)$/.exec(Buffer.from(token, 'base64').toString('utf8'));
    if (!decoded) throw invalidParameterAt('nextToken', 'Invalid pagination token');
    start = Number(decoded[1]);
  }
  const size = maxResults ?? pagingLimitsOf(operation)!.documentedDefault;
  const items = all.slice(start, start + size);
  const end = start + items.length;
  const nextToken = end < all.length ? Buffer.from(`ecrx1:${end}`).toString('base64') : undefined;
  return { items, nextToken };
}
