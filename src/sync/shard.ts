/**
 * `--shard I/N`: which images this process moves when N copies of it run the same plan. An image belongs to the
 * shard its key hashes to, so shards are disjoint, together cover the plan, and adding an image moves no other.
 */
import { createHash } from 'node:crypto';
import { EcrxError } from '../core/errors.js';
import { ECR_DEFAULT_RATES } from '../core/ecr-quotas.js';

export interface Shard {
  /** 0-based, as Kubernetes Indexed Jobs and AWS Batch array jobs count. */
  index: number;
  count: number;
}

/** The engines' own index variables, read in this order when --shard gives no index. */
export const SHARD_INDEX_VARIABLES = ['JOB_COMPLETION_INDEX', 'AWS_BATCH_JOB_ARRAY_INDEX'] as const;

/** Most shards a plan may ask for: far above any useful count, low enough to catch a typo. */
export const MAX_SHARDS = 1000;

const usage = (message: string, hint: string) => new EcrxError('VALIDATION_ERROR', message, { hint });

function wholeNumber(text: string, what: string, source: string): number {
  if (!/^\d+$/.test(text.trim()))
    throw usage(`${what} must be a whole number, got '${text}' (from ${source})`, 'For example --shard 0/4.');
  return Number(text.trim());
}

/**
 * The shard to run, from `--shard I/N` or `--shard N` (index from the environment), else the plan's `shards` with
 * the index from the environment; undefined: no sharding, every image.
 */
export function resolveShard(
  flag: string | undefined,
  planShards: number | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Shard | undefined {
  let index: number | undefined;
  let count = planShards;
  if (flag !== undefined) {
    const m = /^\s*(?:(\S+)\s*\/\s*)?(\S+)\s*$/.exec(flag);
    if (!m) throw usage(`--shard takes I/N, got '${flag}'`, 'For example --shard 0/4 (shards 0 to 3 of 4).');
    if (m[1] !== undefined) index = wholeNumber(m[1], 'The shard index', '--shard');
    count = wholeNumber(m[2], 'The shard count', '--shard');
  }
  if (count === undefined) return undefined;
  if (count < 1 || count > MAX_SHARDS)
    throw usage(`The shard count must be from 1 to ${MAX_SHARDS}, got ${count}`, 'For example --shard 0/4.');
  if (index === undefined) {
    const name = SHARD_INDEX_VARIABLES.find((v) => env[v] !== undefined && env[v] !== '');
    if (!name)
      throw usage(
        `${count} shards, but no shard index: give --shard I/${count}, or run where ${SHARD_INDEX_VARIABLES.join(' or ')} is set`,
        `Kubernetes Indexed Jobs set JOB_COMPLETION_INDEX, AWS Batch array jobs AWS_BATCH_JOB_ARRAY_INDEX; elsewhere pass --shard I/${count} with I from 0 to ${count - 1}.`,
      );
    index = wholeNumber(env[name] as string, 'The shard index', name);
  }
  if (index >= count)
    throw usage(
      `Shard index ${index} is out of range for ${count} shards: indexes run from 0 to ${count - 1}`,
      `Shards are counted from 0, as Kubernetes and AWS Batch count them: --shard ${count - 1}/${count} is the last.`,
    );
  return { index, count };
}

/** The shard (0..count-1) an image key falls in: the first 48 bits of its SHA-256, modulo count. */
export function shardOf(key: string, count: number): number {
  const head = createHash('sha256').update(key, 'utf8').digest().readUIntBE(0, 6);
  return head % count;
}

/** The items of `shard`, order kept; all items without a shard. */
export function pickShard<T>(items: T[], keyOf: (item: T) => string, shard: Shard | undefined): T[] {
  if (!shard) return items;
  return items.filter((item) => shardOf(keyOf(item), shard.count) === shard.index);
}

/**
 * The share of ECR's per-account, per-region API quotas one of `count` shards may use, so that all of them together
 * stay under the quota: the pacer multiplies each operation's rate by it.
 */
export function quotaShare(count: number): number {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`shard count must be a positive integer: ${count}`);
  return 1 / count;
}

/** ECR's default request rates (per second, per account and region) that bound a mirror's pace. */
export const ECR_WRITE_QUOTAS = ECR_DEFAULT_RATES;

/** The fewest seconds `images` image writes take at ECR's PutImage quota, however many shards share the work. */
export const minimumSeconds = (images: number): number => images / ECR_WRITE_QUOTAS.PutImage;
