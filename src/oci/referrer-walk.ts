/**
 * The walk every referrers listing shares, whatever lists one level (ECR's ListImageReferrers, a registry's
 * referrers API or tag schema): breadth first from the subjects, each digest once, subjects before their
 * referrers, at most `maxDepth` levels (a signature of an SBOM of an image is three).
 */
export const MAX_REFERRER_DEPTH = 8;

export async function walkReferrers<R extends { digest: string }>(
  subjects: string[],
  listLevel: (subject: string, depth: number) => Promise<R[]>,
  maxDepth = MAX_REFERRER_DEPTH,
): Promise<R[]> {
  const seen = new Set(subjects);
  const found: R[] = [];
  let level = [...seen];
  for (let depth = 0; level.length && depth < maxDepth; depth++) {
    const next: string[] = [];
    for (const subject of level)
      for (const r of await listLevel(subject, depth)) {
        if (seen.has(r.digest)) continue;
        seen.add(r.digest);
        found.push(r);
        next.push(r.digest);
      }
    level = next;
  }
  return found;
}
