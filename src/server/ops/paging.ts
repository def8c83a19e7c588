import { invalidParameter } from '../api-error.js';

/** Offset pagination with an opaque token, as ECR's list operations page. */
export function pageOf<T>(all: T[], token: string | undefined, maxResults: number | undefined, defaultMax: number) {
  let start = 0;
  if (token !== undefined) {
    const decoded = /^ecrx1:(\d+)$/.exec(Buffer.from(token, 'base64').toString('utf8'));
    if (!decoded) throw invalidParameter('Invalid parameter at nextToken: the token is not valid');
    start = Number(decoded[1]);
  }
  const size = maxResults ?? defaultMax;
  const items = all.slice(start, start + size);
  const end = start + items.length;
  const nextToken = end < all.length ? Buffer.from(`ecrx1:${end}`).toString('base64') : undefined;
  return { items, nextToken };
}
