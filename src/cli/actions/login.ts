/**
 * `ecrx login`: GetAuthorizationToken, then either the password on stdout (for `docker login --password-stdin`)
 * or the auth written into a docker config file (atomically, mode 0600). Nothing else ever prints the token.
 */
import { promises as fsp } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { AuthorizationData } from '@aws-sdk/client-ecr';
import { writeFileAtomic } from '../../core/atomic-write.js';
import { EcrxError, toEcrxError } from '../../core/errors.js';
import type { EcrFlags } from '../common.js';
import { printSuccess } from '../output.js';
import { openSession } from '../session.js';

export interface LoginFlags extends EcrFlags {
  printPassword?: boolean;
  dockerConfig?: string;
}

export const defaultDockerConfig = () => join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');

export async function login(flags: LoginFlags, signal: AbortSignal): Promise<void> {
  if (flags.printPassword && flags.dockerConfig)
    throw new EcrxError(
      'VALIDATION_ERROR',
      '--print-password and --docker-config are two different ways out; pick one',
      { hint: 'Pipe --print-password into `docker login --password-stdin`, or let ecrx write --docker-config.' },
    );
  if (flags.printPassword && flags.json)
    throw new EcrxError('VALIDATION_ERROR', '--print-password prints only the password; drop --json', {
      hint: 'Without --print-password, --json reports the registry and the docker config written.',
    });
  const { reporter, ecr } = await openSession(flags, 'login');
  let data: AuthorizationData | undefined;
  try {
    data = (
      await ecr.request(
        'GetAuthorizationToken',
        flags.registryId ? { registryIds: [flags.registryId] } : {},
        'Getting an ECR authorization token',
        { signal },
      )
    ).authorizationData?.[0];
  } finally {
    reporter.stop();
    ecr.destroy();
  }
  if (!data?.authorizationToken)
    throw new EcrxError('SERVICE_ERROR', 'ECR returned no authorization token', {
      hint: 'Try again; if it persists, check --endpoint-url and --region point at ECR.',
    });
  const decoded = Buffer.from(data.authorizationToken, 'base64').toString('utf8');
  const password = decoded.slice(decoded.indexOf(':') + 1);
  const registry = String(data.proxyEndpoint ?? '').replace(/^https?:\/\//, '');
  const expiresAt = data.expiresAt?.toISOString();
  if (flags.printPassword) {
    process.stdout.write(`${password}\n`);
    return;
  }
  const path = flags.dockerConfig ?? defaultDockerConfig();
  const config = await addAuth(path, registry, data.authorizationToken);
  const shadow = config.credHelpers?.[registry] ?? config.credsStore;
  if (shadow && !flags.quiet && !flags.json) {
    process.stderr.write(
      `Note: ${path} names the credential helper '${shadow}', which docker asks before "auths"; this login may not be used.\n`,
    );
  }
  printSuccess(
    flags,
    { registry, dockerConfig: path, expiresAt },
    () => `Logged in to ${registry} in ${path} (expires ${expiresAt})`,
  );
}

/** Adds the registry's auth to the docker config at `path` (created if need be); returns the config written. */
async function addAuth(path: string, registry: string, auth: string): Promise<DockerConfig> {
  const target = await linkTarget(path);
  const config = await readDockerConfig(path, target);
  config.auths ??= {};
  config.auths[registry] = { auth };
  await fsp.mkdir(dirname(target), { recursive: true, mode: 0o700 });
  // Written beside the file the link (if any) points at and renamed over it: the link stays a link, and a reader
  // never sees half a file.
  try {
    await writeFileAtomic(target, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  } catch (err) {
    throw toEcrxError(Object.assign(err as object, { path }));
  }
  return config;
}

/** The file a docker config path finally names: symlinks followed, even one whose target does not exist yet. */
async function linkTarget(path: string, depth = 0): Promise<string> {
  const st = await fsp.lstat(path).catch(() => undefined);
  if (!st?.isSymbolicLink()) {
    if (st?.isDirectory())
      throw new EcrxError('OUTPUT_ERROR', `${path} is a directory, not a docker config file`, {
        hint: 'Point --docker-config at a file, e.g. ~/.docker/config.json.',
      });
    return path;
  }
  if (depth > 16) throw new EcrxError('OUTPUT_ERROR', `${path}: too many levels of symbolic links`);
  const to = await fsp.readlink(path);
  return linkTarget(isAbsolute(to) ? to : resolve(dirname(path), to), depth + 1);
}

/** The parts of a docker config file ecrx reads or writes; everything else in it is kept as it is. */
interface DockerConfig {
  auths?: Record<string, { auth?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [key: string]: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

async function readDockerConfig(path: string, target: string): Promise<DockerConfig> {
  let text: string;
  try {
    text = await fsp.readFile(target, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw toEcrxError(Object.assign(err as object, { path }));
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (err) {
    throw new EcrxError('VALIDATION_ERROR', `${path} exists but is not JSON`, {
      cause: err,
      hint: 'Fix or move the file, or write elsewhere with --docker-config.',
    });
  }
  if (!isObject(config) || (config.auths !== undefined && !isObject(config.auths))) {
    throw new EcrxError(
      'VALIDATION_ERROR',
      `${path} is JSON but not a docker config (an object whose "auths" is an object)`,
      { hint: 'Fix or move the file, or write elsewhere with --docker-config.' },
    );
  }
  return config as DockerConfig;
}
