/** The run report: one entry per image, totals, the terminal table, the exit rule, and the dry-run listing. */
import { EcrxError, ExitCode } from '../../src/core/errors.js';
import { buildReport, errorOf, formatDryRun, formatReport, incompleteError } from '../../src/sync/report.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const ok = { sourceDigest: D1, tag: '3.20', bytes: 3 * 1024 * 1024, skipped: false, error: null, durationMs: 1200 };

test('totals count copied, up-to-date and failed images; the table shows each and the errors in full', () => {
  const r = buildReport(
    'plan.yaml',
    { index: 1, count: 4 },
    [
      { ...ok, source: 'docker.io/library/alpine:3.20', target: 'mirror/alpine' },
      {
        ...ok,
        source: 'docker.io/library/alpine:3.21',
        target: 'mirror/alpine',
        tag: '3.21',
        sourceDigest: D2,
        bytes: 0,
        skipped: true,
      },
      {
        ...ok,
        source: 'ghcr.io/org/app:1.4',
        target: 'mirror/app',
        tag: '1.4',
        sourceDigest: null,
        bytes: 0,
        error: errorOf(
          new EcrxError('IMAGE_NOT_FOUND', 'ghcr.io/org/app:1.4 does not exist', { hint: 'Check the tag.' }),
        ),
      },
    ],
    65_000,
  );
  expect(r.totals).toEqual({ images: 3, moved: 1, skipped: 1, failed: 1, bytes: 3 * 1024 * 1024, throttledMs: 0 });
  expect(r.images[2].error).toEqual({
    code: 'IMAGE_NOT_FOUND',
    message: 'ghcr.io/org/app:1.4 does not exist',
    hint: 'Check the tag.',
  });
  expect(formatReport(r).split('\n')).toEqual([
    'SOURCE                         TARGET              DIGEST          MOVED  STATUS',
    'docker.io/library/alpine:3.20  mirror/alpine:3.20  111111111111  3.0 MiB  copied',
    'docker.io/library/alpine:3.21  mirror/alpine:3.21  222222222222        -  up to date',
    'ghcr.io/org/app:1.4            mirror/app:1.4      -                   -  failed: IMAGE_NOT_FOUND',
    'error: ghcr.io/org/app:1.4: ghcr.io/org/app:1.4 does not exist',
    '  hint: Check the tag.',
    'Shard 1/4: 3 images: 1 copied (3.0 MiB), 1 up to date, 1 failed, in 1m05s',
  ]);
  const e = incompleteError(r);
  expect(e?.code).toBe('SYNC_INCOMPLETE');
  expect(e?.exitCode).toBe(ExitCode.INCOMPLETE);
  expect(ExitCode.INCOMPLETE).toBe(10);
  expect(e?.message).toBe('1 image of 3 failed to sync; the others are in place');
});

test('no failure, no error: the exit code stays 0; time spent on quotas is said', () => {
  const r = buildReport('p.yaml', undefined, [{ ...ok, source: 'a/b:1', target: 'c/d', throttledMs: 4000 }], 10);
  expect(incompleteError(r)).toBeUndefined();
  expect(r.shard).toBeNull();
  expect(r.images[0]).not.toHaveProperty('throttledMs');
  expect(formatReport(r).split('\n').slice(-2)).toEqual([
    '1 image: 1 copied (3.0 MiB), 0 up to date, 0 failed, in 10ms',
    "ECR's API quotas set the pace: 4.0s spent waiting on them (PutImage allows 10 images a second per account and region, 0.1s at least for these).",
  ]);
});

test('the dry run lists what would move with sizes when known, and what cannot be read', () => {
  const text = formatDryRun(
    [
      {
        source: 'docker.io/library/alpine:3.20',
        target: 'mirror/alpine',
        tag: '3.20',
        digest: D1,
        bytes: 2048,
        error: null,
      },
      { source: 'team/app@' + D2, target: 'apps/app', tag: null, digest: D2, bytes: null, error: null },
      {
        source: 'ghcr.io/x/y:1',
        target: 'y',
        tag: '1',
        digest: null,
        bytes: null,
        error: { code: 'UNSUPPORTED_REGISTRY', message: 'no' },
      },
    ],
    { index: 0, count: 2 },
  );
  const source = (t: string) => t.padEnd(`team/app@${D2}`.length);
  expect(text.split('\n')).toEqual([
    `${source('SOURCE')}  TARGET                 SIZE`,
    `${source('docker.io/library/alpine:3.20')}  mirror/alpine:3.20  2.0 KiB`,
    `team/app@${D2}  apps/app                  ?`,
    `${source('ghcr.io/x/y:1')}  y:1                       -`,
    'error: ghcr.io/x/y:1: UNSUPPORTED_REGISTRY: no',
    'Dry run of shard 0/2: 3 images would be synced, 2.0 KiB known (2 of unknown size) at most; nothing was written.',
  ]);
});
