import {
  formatRegistryReference,
  isLoopbackRegistry,
  parseRegistryReference,
  registryApiHost,
} from '../../src/registry/reference.js';
import { EcrxError } from '../../src/core/errors.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('registry references', () => {
  test.each([
    ['alpine', { registry: 'docker.io', repository: 'library/alpine', tag: 'latest' }],
    ['alpine:3.20', { registry: 'docker.io', repository: 'library/alpine', tag: '3.20' }],
    ['docker.io/library/alpine:3.20', { registry: 'docker.io', repository: 'library/alpine', tag: '3.20' }],
    ['docker.io/alpine', { registry: 'docker.io', repository: 'library/alpine', tag: 'latest' }],
    ['index.docker.io/bitnami/redis:7', { registry: 'docker.io', repository: 'bitnami/redis', tag: '7' }],
    ['bitnami/redis', { registry: 'docker.io', repository: 'bitnami/redis', tag: 'latest' }],
    [`ghcr.io/org/app@${D}`, { registry: 'ghcr.io', repository: 'org/app', digest: D }],
    [`ghcr.io/org/app:1.4@${D}`, { registry: 'ghcr.io', repository: 'org/app', tag: '1.4', digest: D }],
    [
      'public.ecr.aws/docker/library/node:22',
      { registry: 'public.ecr.aws', repository: 'docker/library/node', tag: '22' },
    ],
    ['localhost:5000/x:y', { registry: 'localhost:5000', repository: 'x', tag: 'y' }],
    ['localhost/x', { registry: 'localhost', repository: 'x', tag: 'latest' }],
    ['127.0.0.1:5000/x', { registry: '127.0.0.1:5000', repository: 'x', tag: 'latest' }],
    ['[::1]:5000/a/b:c', { registry: '[::1]:5000', repository: 'a/b', tag: 'c' }],
    ['Quay.IO/a__b/c-d.e:T_1', { registry: 'quay.io', repository: 'a__b/c-d.e', tag: 'T_1' }],
  ])('%s', (text, expected) => {
    expect(parseRegistryReference(text)).toEqual(expected);
  });

  test('no default tag when asked for none', () => {
    expect(parseRegistryReference('ghcr.io/org/app', { defaultTag: false })).toEqual({
      registry: 'ghcr.io',
      repository: 'org/app',
    });
  });

  test.each([
    ['', 'empty'],
    ['https://ghcr.io/org/app', "drop the 'https://' prefix"],
    ['ghcr.io/Org/app', 'not a valid repository name'],
    ['ghcr.io/org/app:-x', 'not a valid tag'],
    ['ghcr.io/org/app@sha256:abc', 'not a digest'],
    ['localhost:99999/x', 'not a valid port'],
    ['bad_host.io:x/y', 'not a valid registry host'],
    ['a//b', 'not a valid repository name'],
  ])('refuses %j (%s)', (text, why) => {
    let err: unknown;
    try {
      parseRegistryReference(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EcrxError);
    expect((err as EcrxError).code).toBe('VALIDATION_ERROR');
    expect((err as EcrxError).message).toContain(why);
    expect((err as EcrxError).hint).toContain('docker.io/library/alpine:3.20');
  });

  test('formats back to a full reference', () => {
    expect(formatRegistryReference(parseRegistryReference('alpine'))).toBe('docker.io/library/alpine:latest');
    expect(formatRegistryReference(parseRegistryReference(`127.0.0.1:5000/x@${D}`))).toBe(`127.0.0.1:5000/x@${D}`);
  });

  test('docker.io is reached at registry-1.docker.io; others at their own host', () => {
    expect(registryApiHost('docker.io')).toBe('registry-1.docker.io');
    expect(registryApiHost('ghcr.io')).toBe('ghcr.io');
    expect(registryApiHost('localhost:5000')).toBe('localhost:5000');
  });

  test.each([
    ['localhost:5000', true],
    ['localhost', true],
    ['127.0.0.1:5000', true],
    ['127.1.2.3', true],
    ['[::1]:5000', true],
    ['128.0.0.1:5000', false],
    ['10.0.0.1', false],
    ['ghcr.io', false],
    ['localhost.evil.com', false],
    ['127.0.0.1.nip.io', false],
  ])('loopback(%s) is %s', (registry, expected) => {
    expect(isLoopbackRegistry(registry)).toBe(expected);
  });
});
