/** The run orchestrator over an injected backend: bounded concurrency, failures kept per image, shards, dry run. */
import { EcrxError } from '../../src/core/errors.js';
import type { SyncJob } from '../../src/sync/expand.js';
import { parsePlan } from '../../src/sync/plan.js';
import type { JobResult } from '../../src/sync/report.js';
import { CHECK_FACTOR, dryRun, runSync, type SyncBackend } from '../../src/sync/run.js';

const PLAN = parsePlan(
  `target: copy/{name}
sync:
  - source: team/app
    tags: ["*"]
  - source: team/gone
    tags: ["v*"]
  - source: team/one:1
`,
  'plan.yaml',
);
const TAGS = ['1', '2', '3', '4', '5', '6', '7', '8'];

/** A backend whose images finish when released, so the test sees how many run at once. */
function backend(opts: { fail?: (job: SyncJob) => boolean } = {}) {
  let running = 0;
  let most = 0;
  const started: string[] = [];
  const b: SyncBackend = {
    listTags: async (repo) => {
      if (repo === 'team/gone') throw new EcrxError('REPOSITORY_NOT_FOUND', 'team/gone does not exist');
      return TAGS;
    },
    runJob: async (job): Promise<JobResult> => {
      running++;
      most = Math.max(most, running);
      started.push(job.source);
      // Let every other ready job start before this one ends: the limit, not timing, bounds the overlap.
      for (let i = 0; i < 5; i++) await Promise.resolve();
      running--;
      if (opts.fail?.(job)) throw new EcrxError('ACCESS_DENIED', `no access to ${job.target}`);
      if (job.tag === '1') return { digest: 'sha256:one', bytes: 0, skipped: true };
      return { digest: `sha256:${job.tag}`, bytes: 100, skipped: false };
    },
    describe: async (job) => {
      if (job.tag === '2') throw new EcrxError('IMAGE_NOT_FOUND', `${job.source} does not exist`);
      return { digest: `sha256:${job.tag}`, bytes: job.tag === '3' ? null : 10 };
    },
  };
  return { b, started, most: () => most };
}

test('images run at most `concurrency` at once; one failing stops none of the others', async () => {
  const { b, started, most } = backend({ fail: (j) => j.tag === '4' });
  const report = await runSync(PLAN, b, { concurrency: 3, signal: new AbortController().signal });
  expect(most()).toBe(3);
  expect(started).toHaveLength(9);
  expect(report.totals).toEqual({ images: 10, moved: 6, skipped: 2, failed: 2, bytes: 600, throttledMs: 0 });
  const failed = report.images.filter((i) => i.error).map((i) => [i.source, i.error?.code]);
  expect(failed).toEqual([
    ['team/gone', 'REPOSITORY_NOT_FOUND'],
    ['team/app:4', 'ACCESS_DENIED'],
  ]);
  expect(report.images.find((i) => i.source === 'team/one:1')).toMatchObject({
    target: 'copy/one',
    tag: '1',
    skipped: true,
  });
});

test('a shard runs only its images; all shards together run each image once', async () => {
  const seen: string[] = [];
  for (let index = 0; index < 3; index++) {
    const { b } = backend();
    const r = await runSync(PLAN, b, {
      concurrency: 2,
      signal: new AbortController().signal,
      shard: { index, count: 3 },
    });
    expect(r.shard).toEqual({ index, count: 3 });
    seen.push(...r.images.map((i) => i.source));
  }
  expect(seen.sort()).toEqual([...TAGS.map((t) => `team/app:${t}`), 'team/gone', 'team/one:1'].sort());
});

test('an interrupted run stops starting images and ends with the interruption, not a report', async () => {
  const ctrl = new AbortController();
  const reason = new EcrxError('INTERRUPTED', 'Interrupted by Ctrl-C (SIGINT)');
  const { b, started } = backend({
    fail: (j) => {
      if (j.tag === '2') ctrl.abort(reason);
      return false;
    },
  });
  await expect(runSync(PLAN, b, { concurrency: 1, signal: ctrl.signal })).rejects.toBe(reason);
  expect(started.length).toBeLessThan(9);
});

test('the dry run describes each image: sizes when known, unreadable ones with their error, nothing run', async () => {
  const { b, started } = backend();
  const items = await dryRun(PLAN, b, { concurrency: 4, signal: new AbortController().signal });
  expect(started).toEqual([]);
  expect(items).toHaveLength(10);
  expect(items.find((i) => i.source === 'team/app:3')).toMatchObject({ bytes: null, digest: 'sha256:3', error: null });
  expect(items.find((i) => i.source === 'team/app:2')?.error).toEqual({
    code: 'IMAGE_NOT_FOUND',
    message: 'team/app:2 does not exist',
  });
  expect(items[0]).toMatchObject({ source: 'team/gone', target: 'copy/gone', error: { code: 'REPOSITORY_NOT_FOUND' } });
});

test('checks run CHECK_FACTOR times wider than moves; images in place skip runJob; a failed check leaves it to runJob', async () => {
  const { b, started } = backend();
  let checking = 0;
  let mostChecks = 0;
  b.check = async (job) => {
    checking++;
    mostChecks = Math.max(mostChecks, checking);
    for (let i = 0; i < 5; i++) await Promise.resolve();
    checking--;
    if (job.tag === '2') throw new EcrxError('NETWORK_ERROR', 'the registry went away for a moment');
    return Number(job.tag) % 2 === 0 ? { digest: `sha256:${job.tag}`, bytes: 0, skipped: true } : undefined;
  };
  // One move at a time, so that the 9 images outnumber the checks allowed at once.
  const report = await runSync(PLAN, b, { concurrency: 1, signal: new AbortController().signal });
  expect(mostChecks).toBe(CHECK_FACTOR);
  // 4, 6 and 8 were in place; 2's check failed, so it ran.
  expect(started.sort()).toEqual(['team/app:1', 'team/app:2', 'team/app:3', 'team/app:5', 'team/app:7', 'team/one:1']);
  expect(report.totals).toMatchObject({ images: 10, moved: 4, skipped: 5, failed: 1 });
});
