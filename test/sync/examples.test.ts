/**
 * The shipped examples: the plan validates, and the Kubernetes Indexed Job, the GitHub Actions matrix and the
 * AWS Batch job definition each parse and run that same plan with the shard count their engine's index spans.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from '../helpers/cli.js';
import { loadPlan } from '../../src/sync/plan.js';
import { resolveShard } from '../../src/sync/shard.js';

const example = (path: string) => readFileSync(join(ROOT, 'examples', path), 'utf8');
const yaml = (path: string) => parse(example(path), { strict: true, uniqueKeys: true });
/** The --shard value of an ecrx command line given as a list of arguments. */
const shardArg = (args: string[]) => args[args.indexOf('--shard') + 1];

test('the example plan validates, every entry kind included', () => {
  const plan = loadPlan(join(ROOT, 'examples', 'sync', 'plan.yaml'));
  expect(plan.entries.map((e) => e.target)).toEqual([
    'mirror/library/alpine',
    'mirror/library/node',
    'apps/app',
    'mirror/busybox',
    'base/team-base',
  ]);
  expect(plan.entries[1].tags).toMatchObject({ semver: '>=20 <23', newest: 3 });
  expect(plan.entries[2].tags?.include[0].kind).toBe('regex');
  expect(plan.entries[4].create.tagMutability).toBe('MUTABLE');
});

test('the image the Kubernetes and Batch examples run holds that plan at /plan/plan.yaml', () => {
  expect(example('sync/Dockerfile')).toMatch(/^COPY plan\.yaml \/plan\/plan\.yaml$/m);
  expect(example('sync/Dockerfile')).toMatch(/^ENTRYPOINT \["ecrx"\]$/m);
});

test('Kubernetes: an Indexed Job of N completions runs `sync` with --shard N; the index is JOB_COMPLETION_INDEX', () => {
  const job = yaml('k8s/sync-indexed-job.yaml');
  expect(job).toMatchObject({ apiVersion: 'batch/v1', kind: 'Job', spec: { completionMode: 'Indexed' } });
  const n = job.spec.completions;
  expect(job.spec.parallelism).toBe(n);
  const [container] = job.spec.template.spec.containers;
  expect(container.args.slice(0, 2)).toEqual(['sync', '/plan/plan.yaml']);
  expect(shardArg(container.args)).toBe(String(n));
  for (let i = 0; i < n; i++)
    expect(resolveShard(shardArg(container.args), undefined, { JOB_COMPLETION_INDEX: String(i) })).toEqual({
      index: i,
      count: n,
    });
});

test('GitHub Actions: a matrix of shard indexes 0..N-1 and each job runs --shard <index>/N on the plan', () => {
  const wf = yaml('github-actions/sync.yml');
  const job = wf.jobs.sync;
  const shards: number[] = job.strategy.matrix.shard;
  expect(shards).toEqual(shards.map((_, i) => i));
  expect(job.strategy['fail-fast']).toBe(false);
  expect(wf.permissions['id-token']).toBe('write');
  const run = job.steps.map((s: { run?: string }) => s.run).find((r: string | undefined) => r?.includes('ecrx sync'));
  const m = /^ecrx sync (\S+) --shard \$\{\{ matrix\.shard \}\}\/(\d+)( |$)/.exec(run);
  expect(m?.[1]).toBe('examples/sync/plan.yaml');
  expect(Number(m?.[2])).toBe(shards.length);
  for (const i of shards)
    expect(resolveShard(`${i}/${m?.[2]}`, undefined, {})).toEqual({ index: i, count: shards.length });
});

test('AWS Batch: the job definition runs sync with --shard Ref::shards; the index is AWS_BATCH_JOB_ARRAY_INDEX', () => {
  const def = JSON.parse(example('aws-batch/sync-job.json'));
  expect(def).toMatchObject({ jobDefinitionName: 'ecrx-sync', type: 'container' });
  const command: string[] = def.containerProperties.command;
  expect(command.slice(0, 2)).toEqual(['sync', '/plan/plan.yaml']);
  expect(shardArg(command)).toBe('Ref::shards');
  const n = def.parameters.shards;
  expect(n).toMatch(/^\d+$/);
  // Batch sets the index itself; ecrx must not be handed another one.
  expect(def.containerProperties.environment.map((e: { name: string }) => e.name)).not.toContain(
    'AWS_BATCH_JOB_ARRAY_INDEX',
  );
  expect(resolveShard(n, undefined, { AWS_BATCH_JOB_ARRAY_INDEX: String(Number(n) - 1) })).toEqual({
    index: Number(n) - 1,
    count: Number(n),
  });
});
