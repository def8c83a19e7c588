import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseChallenge } from '../../src/registry/auth.js';
import { retryAfterMs } from '../../src/registry/client.js';
import { dockerConfigPath, dockerCredentials } from '../../src/registry/credentials.js';
import { EcrxError } from '../../src/core/errors.js';

describe('WWW-Authenticate challenges', () => {
  test('Docker Hub bearer challenge', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      ),
    ).toEqual({
      scheme: 'bearer',
      realm: 'https://auth.docker.io/token',
      service: 'registry.docker.io',
      scope: 'repository:library/alpine:pull',
    });
  });

  test('basic, unquoted values and escapes', () => {
    expect(parseChallenge('Basic realm="basic-realm"')).toEqual({
      scheme: 'basic',
      realm: 'basic-realm',
      service: undefined,
      scope: undefined,
    });
    expect(parseChallenge('bearer realm=https://x/t, service="a\\"b"')).toMatchObject({
      realm: 'https://x/t',
      service: 'a"b',
    });
  });

  test('other schemes and nothing give undefined', () => {
    expect(parseChallenge(undefined)).toBeUndefined();
    expect(parseChallenge('Negotiate abc')).toBeUndefined();
  });
});

describe('Retry-After', () => {
  test('seconds, HTTP dates, garbage', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(' 0 ')).toBe(0);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});

describe('docker config credentials', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ecrx-test-dockercfg-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const write = (doc: unknown) => writeFileSync(join(dir, 'config.json'), JSON.stringify(doc));
  const env = () => ({ DOCKER_CONFIG: dir, PATH: process.env.PATH });
  const b64 = (s: string) => Buffer.from(s).toString('base64');

  test('DOCKER_CONFIG, else ~/.docker', () => {
    expect(dockerConfigPath({ DOCKER_CONFIG: '/cfg' })).toBe('/cfg/config.json');
    expect(dockerConfigPath({ HOME: '/home/u' })).toBe('/home/u/.docker/config.json');
  });

  test('auths by host, URL or Docker Hub legacy key; passwords with colons', async () => {
    write({
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hubuser:hub:pass') },
        'https://ghcr.io': { auth: b64('gh:tok') },
        'localhost:5000': { username: 'u', password: 'p' },
        'quay.io': { identitytoken: 'refresh-me' },
      },
    });
    expect(await dockerCredentials('docker.io', env())).toEqual({ username: 'hubuser', password: 'hub:pass' });
    expect(await dockerCredentials('ghcr.io', env())).toEqual({ username: 'gh', password: 'tok' });
    expect(await dockerCredentials('localhost:5000', env())).toEqual({ username: 'u', password: 'p' });
    expect(await dockerCredentials('quay.io', env())).toEqual({ identityToken: 'refresh-me' });
    expect(await dockerCredentials('example.com', env())).toBeUndefined();
  });

  test('no config is anonymous; a broken one is an AUTH_ERROR naming it', async () => {
    expect(await dockerCredentials('ghcr.io', env())).toBeUndefined();
    writeFileSync(join(dir, 'config.json'), '{not json');
    const err = await dockerCredentials('ghcr.io', env()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EcrxError);
    expect((err as EcrxError).code).toBe('AUTH_ERROR');
    expect((err as EcrxError).message).toContain(join(dir, 'config.json'));
  });

  test('a credHelpers helper that is not installed is an AUTH_ERROR naming it', async () => {
    write({ credHelpers: { 'ghcr.io': 'ecrx-test-not-installed' } });
    const err = await dockerCredentials('ghcr.io', env()).catch((e: unknown) => e);
    expect((err as EcrxError).code).toBe('AUTH_ERROR');
    expect((err as EcrxError).message).toContain('docker-credential-ecrx-test-not-installed');
  });

  test('a credsStore with nothing for the registry falls back to auths', async () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, 'docker-credential-empty'),
      '#!/bin/sh\necho "credentials not found in native keychain"\nexit 1\n',
      { mode: 0o755 },
    );
    write({ credsStore: 'empty', auths: { 'ghcr.io': { auth: b64('a:b') } } });
    expect(await dockerCredentials('ghcr.io', { ...env(), PATH: `${bin}:${process.env.PATH}` })).toEqual({
      username: 'a',
      password: 'b',
    });
  });
});
