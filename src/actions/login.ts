/**
 * `ecrx login`: GetAuthorizationToken, then either the password on stdout (for `docker login --password-stdin`)
 * or the auth written into a docker config file (atomically, mode 0600). Nothing else ever prints the token.
 */
import { promises as fsp } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { EcrxError } from '../core/errors.js';
import type { EcrFlags } from '../cli/common.js';
import { printSuccess } from '../cli/output.js';
import { openSession } from '../transfer/session.js';

export interface LoginFlags extends EcrFlags {
  printPassword?: boolean;
  dockerConfig?: string;
}

export const defaultDockerConfig = () => join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');

export async function login(flags: LoginFlags, signal: AbortSignal): Promise<void> {
  if (flags.printPassword && flags.dockerConfig) throw new EcrxError('VALIDATION_ERROR', '--print-password and --docker-config are two different ways out; pick one', { hint: 'Pipe --print-password into `docker login --password-stdin`, or let ecrx write --docker-config.' });
  if (flags.printPassword && flags.json) throw new EcrxError('VALIDATION_ERROR', '--print-password prints only the password; drop --json', { hint: 'Without --print-password, --json reports the registry and the docker config written.' });
  const { reporter, ecr } = await openSession(flags, 'login');
  let data: any;
  try {
    data = (await ecr.request<any>('GetAuthorizationToken', flags.registryId ? { registryIds: [flags.registryId] } : {}, 'Getting an ECR authorization token', { signal })).authorizationData?.[0];
  } finally {
    reporter.stop();
    ecr.destroy();
  }
  if (!data?.authorizationToken) throw new EcrxError('SERVICE_ERROR', 'ECR returned no authorization token', { hint: 'Try again; if it persists, check --endpoint-url and --region point at ECR.' });
  const decoded = Buffer.from(data.authorizationToken, 'base64').toString('utf8');
  const password = decoded.slice(decoded.indexOf(':') + 1);
  const registry = String(data.proxyEndpoint ?? '').replace(/^https?:\/\//, '');
  const expiresAt = data.expiresAt instanceof Date ? data.expiresAt.toISOString() : data.expiresAt;
  if (flags.printPassword) {
    process.stdout.write(`${password}\n`);
    return;
  }
  const path = flags.dockerConfig ?? defaultDockerConfig();
  let config: any = {};
  try {
    config = JSON.parse(await fsp.readFile(path, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new EcrxError('VALIDATION_ERROR', `${path} exists but is not a JSON docker config`, { cause: err, hint: 'Fix or move that file, or give another path with --docker-config.' });
  }
  config.auths ??= {};
  config.auths[registry] = { auth: data.authorizationToken };
  await fsp.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.ecrx-${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  await fsp.writeFile(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await fsp.rename(tmp, path);
  printSuccess(flags, { registry, dockerConfig: path, expiresAt }, () => `Logged in to ${registry} in ${path} (expires ${expiresAt})`);
}
