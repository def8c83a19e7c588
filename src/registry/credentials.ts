/**
 * Registry credentials as docker keeps them: `$DOCKER_CONFIG/config.json` (else `~/.docker/config.json`), with
 * `credHelpers` (one helper per registry), then `credsStore` (one helper for all), then `auths` (base64 user:pass,
 * or an identity token). A helper is the program `docker-credential-<name>` run as `get` with the server URL on
 * stdin, which is how `docker-credential-ecr-login` hands out ECR tokens. Nothing here is ever printed.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { EcrxError } from '../core/errors.js';
import { DOCKER_HUB } from './reference.js';

export interface Credentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (docker's `identitytoken`; a helper's answer with the user name `<token>`). */
  identityToken?: string;
  /** A bearer token to send as is (docker's `registrytoken`). */
  registryToken?: string;
}

interface DockerConfig {
  auths?: Record<
    string,
    { auth?: string; username?: string; password?: string; identitytoken?: string; registrytoken?: string }
  >;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** Where docker (and so ecrx) reads its config from. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker'), 'config.json');
}

function readConfig(path: string): DockerConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  try {
    const doc: unknown = JSON.parse(text);
    return doc && typeof doc === 'object' ? (doc as DockerConfig) : {};
  } catch {
    throw new EcrxError('AUTH_ERROR', `The docker config ${path} is not valid JSON`, {
      hint: 'Fix or remove it (docker login writes it), or point DOCKER_CONFIG at another directory.',
    });
  }
}

/** `https://index.docker.io/v1/` -> `docker.io`; `https://ghcr.io/v2/` -> `ghcr.io`; `localhost:5000` as is. */
function normalKey(key: string): string {
  const host = key
    .replace(/^[a-z]+:\/\//i, '')
    .split('/')[0]
    .toLowerCase();
  return ['index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com'].includes(host) ? DOCKER_HUB : host;
}

/** The server URL docker hands a helper for this registry. */
function helperServerUrl(registry: string): string {
  return registry === DOCKER_HUB ? 'https://index.docker.io/v1/' : registry;
}

function fromAuthEntry(entry: NonNullable<DockerConfig['auths']>[string]): Credentials | undefined {
  if (entry.identitytoken) return { identityToken: entry.identitytoken };
  if (entry.registrytoken) return { registryToken: entry.registrytoken };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (entry.username && entry.password) return { username: entry.username, password: entry.password };
  return undefined;
}

/** Runs `docker-credential-<helper> get`; undefined when the helper has nothing for this registry. */
export async function runCredentialHelper(
  helper: string,
  serverUrl: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Credentials | undefined> {
  const program = `docker-credential-${helper}`;
  const { code, stdout, stderr, spawnError } = await new Promise<{
    code: number | null;
    stdout: string;
    stderr: string;
    spawnError?: NodeJS.ErrnoException;
  }>((resolve) => {
    const child = spawn(program, ['get'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.on('error', (e: NodeJS.ErrnoException) => resolve({ code: null, stdout: out, stderr: err, spawnError: e }));
    child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
    child.stdin.on('error', () => {});
    child.stdin.end(serverUrl);
  });
  if (spawnError) {
    throw new EcrxError('AUTH_ERROR', `The docker credential helper ${program} could not be run (${spawnError.code})`, {
      hint: `Install ${program} or remove it from ${dockerConfigPath(env)} (credHelpers / credsStore).`,
    });
  }
  // Helpers say "credentials not found in native keychain" (exit 1) when they have nothing: anonymous, then.
  if (code !== 0) {
    if (/not found/i.test(stdout + stderr)) return undefined;
    throw new EcrxError(
      'AUTH_ERROR',
      `The docker credential helper ${program} failed (exit ${code}) for ${serverUrl}`,
      {
        hint: `Run \`echo ${serverUrl} | ${program} get\` to see why (it may need a login).`,
      },
    );
  }
  let doc: { Username?: unknown; Secret?: unknown };
  try {
    doc = JSON.parse(stdout) as typeof doc;
  } catch {
    throw new EcrxError('AUTH_ERROR', `The docker credential helper ${program} answered something that is not JSON`);
  }
  const username = typeof doc.Username === 'string' ? doc.Username : '';
  const secret = typeof doc.Secret === 'string' ? doc.Secret : '';
  if (!secret) return undefined;
  return username === '<token>' ? { identityToken: secret } : { username, password: secret };
}

/** The credentials docker would use for `registry` (as in a reference: `docker.io`, `localhost:5000`), if any. */
export async function dockerCredentials(
  registry: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Credentials | undefined> {
  const config = readConfig(dockerConfigPath(env));
  const helperFor = Object.entries(config.credHelpers ?? {}).find(([k]) => normalKey(k) === registry)?.[1];
  if (helperFor) return runCredentialHelper(helperFor, helperServerUrl(registry), env);
  if (config.credsStore) {
    const stored = await runCredentialHelper(config.credsStore, helperServerUrl(registry), env);
    if (stored) return stored;
  }
  const entry = Object.entries(config.auths ?? {}).find(([k]) => normalKey(k) === registry)?.[1];
  return entry ? fromAuthEntry(entry) : undefined;
}
