/** Options every ECR-talking command shares, and turning them (plus a pasted URI) into a connection. */
import { Command, Option } from 'commander';
import type { ImageRef } from '../core/reference.js';
import type { Connection } from '../ecr/client.js';
import { EcrxError } from '../core/errors.js';
import { intBetween } from './parse.js';
import { defaultCacheDir } from '../store/blob-cache.js';
import { UploadJournal } from '../store/upload-journal.js';

export interface EcrFlags {
  region?: string;
  profile?: string;
  endpointUrl?: string;
  registryId?: string;
  json?: boolean;
  quiet?: boolean;
  debug?: boolean;
  maxAttempts?: number;
  dualStack?: boolean;
  cacheDir?: string;
  /** False with --no-resume: uploads left by an earlier run are not continued. */
  resume?: boolean;
}

export const ECR_GROUP = 'AWS and ECR options:';
export const OUTPUT_GROUP = 'Output options:';

/** --json, -q and --debug, under their own heading in help. */
export function addOutputOptions(cmd: Command, opts: { debug?: boolean } = {}): Command {
  cmd
    .addOption(new Option('--json', 'print one JSON envelope on stdout, and nothing else').helpGroup(OUTPUT_GROUP))
    .addOption(
      new Option(
        '-q, --quiet',
        'print only the result a script wants (a digest, a path), one per line, and errors',
      ).helpGroup(OUTPUT_GROUP),
    );
  if (opts.debug !== false)
    cmd.addOption(
      new Option('--debug', 'log every API call (credentials and pre-signed queries redacted)').helpGroup(OUTPUT_GROUP),
    );
  return cmd;
}

export function addEcrOptions(cmd: Command): Command {
  const ecr = (flags: string, description: string) => new Option(flags, description).helpGroup(ECR_GROUP);
  cmd
    .addOption(ecr('--region <region>', 'AWS region (default: from the image URI, AWS_REGION or the profile)'))
    .addOption(ecr('--profile <name>', 'AWS profile from ~/.aws/config'))
    .addOption(ecr('--endpoint-url <url>', 'ECR API endpoint, e.g. an `ecrx serve` at http://127.0.0.1:5000'))
    .addOption(ecr('--registry-id <id>', "registry (account id) to use instead of the credentials' own"))
    .addOption(
      ecr('--dual-stack', 'use the dual-stack (IPv4 and IPv6) ECR API endpoint (also AWS_USE_DUALSTACK_ENDPOINT=true)'),
    )
    .addOption(
      ecr(
        '--max-attempts <n>',
        'tries of a failing call or a stalled transfer before giving up (default: AWS_MAX_ATTEMPTS or 10)',
      ).argParser(intBetween(1, MAX_ATTEMPTS_LIMIT)),
    );
  return addOutputOptions(cmd);
}

const DEFAULT_MAX_ATTEMPTS = 10;
const MAX_ATTEMPTS_LIMIT = 100;

/** AWS_MAX_ATTEMPTS, checked by the same rule as --max-attempts but reported as the variable it came from. */
function attemptsFromEnv(v: string): number {
  try {
    return intBetween(1, MAX_ATTEMPTS_LIMIT)(v);
  } catch (err) {
    throw new EcrxError('VALIDATION_ERROR', `AWS_MAX_ATTEMPTS ${(err as Error).message}, got '${v}'`, {
      hint: 'Fix or unset AWS_MAX_ATTEMPTS, or pass --max-attempts.',
    });
  }
}

/**
 * pull's and export's -j: the ceiling of download connections (small blobs and a large blob's ranges share it).
 * At a 20-80 ms round trip each connection spends most of a small blob's time waiting, so it takes this many to
 * fill a link (S3's guidance: scale connections out); the run's budget halves it on throttling or errors.
 */
export const DOWNLOAD_CONCURRENCY = 32;

/** -j; `defaultValue` null leaves it unset when not given, for a preset to choose (push and copy: 16). */
export const concurrencyOption = (defaultValue: number | null = 4, description = 'blobs transferred at once') => {
  const o = new Option('-j, --concurrency <n>', description).env('ECRX_CONCURRENCY').argParser(intBetween(1, 64));
  return defaultValue === null ? o : o.default(defaultValue);
};

/**
 * --no-resume: unfinished downloads left by earlier runs (partials) are discarded and fetched from byte 0, and
 * uploads an interrupted push left open are not continued.
 */
export const noResumeOption = () =>
  new Option(
    '--no-resume',
    'start from byte 0: discard unfinished downloads and do not continue uploads earlier runs left',
  );

/** Applies the run-wide options a command was given (or the program, before it): -j and --no-resume. */
export async function applyRunOptions(opts: { resume?: boolean; concurrency?: unknown }): Promise<void> {
  const { ingestDefaults } = await import('../store/ingest.js');
  const { setRunConcurrency } = await import('../net/budget.js');
  if (opts.resume === false) ingestDefaults.resume = false;
  if (typeof opts.concurrency === 'number') setRunConcurrency(opts.concurrency);
}

/**
 * `--insecure`, on the commands that read from (or write to) another registry. Here rather than in image-arg.ts:
 * registering a command must not load the registry and ECR code (start-up time of every command).
 */
export const insecureOption = () =>
  new Option(
    '--insecure',
    'allow plain HTTP and unverified TLS for a registry that is not on loopback (as docker insecure-registries)',
  );

/** --platform; with `fromEnv`, ECRX_PLATFORM is its default (pull and export: the commands that pick one). */
export const platformOption = (flags: string, description: string, fromEnv = false) => {
  const o = new Option(flags, description);
  return fromEnv ? o.env('ECRX_PLATFORM') : o;
};

/** The connection for one image: a pasted URI's registry and region win over the flags, which win over the SDK. */
export function connectionFor(
  flags: EcrFlags,
  ref?: Pick<ImageRef, 'registryId' | 'region' | 'fips' | 'dualStack'>,
): Connection {
  const registryId = ref?.registryId ?? flags.registryId;
  if (registryId !== undefined && !/^\d{12}$/.test(registryId)) {
    throw new EcrxError('VALIDATION_ERROR', `--registry-id must be a 12-digit account id, got '${registryId}'`, {
      hint: 'For example --registry-id 123456789012 (the account that owns the registry).',
    });
  }
  if (flags.endpointUrl !== undefined) {
    try {
      const u = new URL(flags.endpointUrl);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    } catch {
      throw new EcrxError('VALIDATION_ERROR', `--endpoint-url must be an http(s) URL, got '${flags.endpointUrl}'`, {
        hint: 'For example --endpoint-url http://127.0.0.1:5000',
      });
    }
  }
  const envAttempts = process.env.AWS_MAX_ATTEMPTS;
  return {
    maxAttempts: flags.maxAttempts ?? (envAttempts ? attemptsFromEnv(envAttempts) : DEFAULT_MAX_ATTEMPTS),
    region: ref?.region ?? flags.region,
    profile: flags.profile,
    endpointUrl: flags.endpointUrl,
    registryId,
    fips: ref?.fips,
    ...(flags.dualStack || ref?.dualStack ? { dualStack: true } : {}),
    // The push journal beside the blob cache; nothing is read or written until an upload needs it.
    uploadJournal: new UploadJournal(flags.cacheDir ?? defaultCacheDir(), { resume: flags.resume }),
  };
}
