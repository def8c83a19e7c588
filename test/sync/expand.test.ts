/** Expansion: a plan into one job per image, each repository listed once, duplicates and clashes handled. */
import { EcrxError } from '../../src/core/errors.js';
import { expandPlan, jobKey } from '../../src/sync/expand.js';
import { parsePlan } from '../../src/sync/plan.js';
import { pickShard } from '../../src/sync/shard.js';

const REPOS: Record<string, string[]> = {
  'docker.io/library/alpine': ['3.19', '3.20', '3.21', '3.21.2', 'edge'],
  'ghcr.io/org/app': ['1.3', '1.4', '2.0'],
};

function lister() {
  const calls: string[] = [];
  const listTags = async (repo: string) => {
    calls.push(repo);
    const tags = REPOS[repo];
    if (!tags) throw new EcrxError('REPOSITORY_NOT_FOUND', `${repo} does not exist`);
    return tags;
  };
  return { calls, listTags };
}

const PLAN = `target: mirror/{name}
referrers: true
sync:
  - source: docker.io/library/alpine
    tags: ["3.2*"]
  - source: ghcr.io/org/app
    target: apps/app
    newest: 2
    platforms: [linux/arm64]
  - source: docker.io/library/alpine
    tags: ["3.21", "edge"]
  - source: ghcr.io/org/app:1.3
    target: apps/app
  - source: ghcr.io/org/gone
    tags: ["*"]
  - source: docker.io/library/busybox
    tags: ["1.36", "1.37"]
`;

test('one job per image, in plan order then newest first, each repository listed once, literals not listed', async () => {
  const { calls, listTags } = lister();
  const { jobs, failures } = await expandPlan(parsePlan(PLAN, 'plan.yaml'), listTags);
  expect(jobs.map(jobKey)).toEqual([
    'docker.io/library/alpine:3.21.2 -> mirror/alpine',
    'docker.io/library/alpine:3.21 -> mirror/alpine',
    'docker.io/library/alpine:3.20 -> mirror/alpine',
    'ghcr.io/org/app:2.0 -> apps/app',
    'ghcr.io/org/app:1.4 -> apps/app',
    'docker.io/library/alpine:edge -> mirror/alpine',
    'ghcr.io/org/app:1.3 -> apps/app',
    'docker.io/library/busybox:1.37 -> mirror/busybox',
    'docker.io/library/busybox:1.36 -> mirror/busybox',
  ]);
  expect(calls.sort()).toEqual(['docker.io/library/alpine', 'ghcr.io/org/app', 'ghcr.io/org/gone']);
  expect(jobs[3]).toEqual({
    source: 'ghcr.io/org/app:2.0',
    repository: 'ghcr.io/org/app',
    tag: '2.0',
    target: 'apps/app',
    platforms: ['linux/arm64'],
    referrers: true,
    create: { tagMutability: 'MUTABLE', scanOnPush: false, encryption: 'AES256' },
    entry: 1,
  });
  expect(failures).toHaveLength(1);
  expect(failures[0]).toMatchObject({ entry: 4, source: 'ghcr.io/org/gone', target: 'mirror/gone' });
  expect((failures[0].error as EcrxError).code).toBe('REPOSITORY_NOT_FOUND');
});

test('two sources writing one target tag: the later is refused, the first kept', async () => {
  const plan = parsePlan(
    `sync:
  - {source: docker.io/library/alpine:3.20, target: base}
  - {source: ghcr.io/org/alpine:3.20, target: base}
  - {source: ghcr.io/org/alpine@sha256:${'b'.repeat(64)}, target: base}
`,
    'plan.yaml',
  );
  const { jobs, failures } = await expandPlan(plan, lister().listTags);
  expect(jobs.map((j) => j.source)).toEqual([
    'docker.io/library/alpine:3.20',
    `ghcr.io/org/alpine@sha256:${'b'.repeat(64)}`,
  ]);
  expect(jobs[1]).toMatchObject({ digest: `sha256:${'b'.repeat(64)}` });
  expect(jobs[1].tag).toBeUndefined();
  expect((failures[0].error as EcrxError).message).toBe(
    'base:3.20 is written from two sources: docker.io/library/alpine:3.20 (sync[0]) and ghcr.io/org/alpine:3.20 (sync[1])',
  );
});

test('the same plan expands the same way every time, so shards computed apart agree', async () => {
  const plan = parsePlan(PLAN, 'plan.yaml');
  const a = (await expandPlan(plan, lister().listTags)).jobs.map(jobKey);
  const b = (await expandPlan(plan, lister().listTags)).jobs.map(jobKey);
  expect(b).toEqual(a);
  const shards = [0, 1, 2].map((index) => pickShard(a, (k) => k, { index, count: 3 }));
  expect(shards.flat().sort()).toEqual([...a].sort());
});
