import { parseReference, formatReference, registryHost } from '../../src/core/reference.js';
import { EcrxError } from '../../src/core/errors.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('image references', () => {
  test.each([
    ['repo', { repository: 'repo', tag: 'latest' }],
    ['repo:1.0', { repository: 'repo', tag: '1.0' }],
    [`repo@${D}`, { repository: 'repo', digest: D }],
    [`repo:1.0@${D}`, { repository: 'repo', tag: '1.0', digest: D }],
    ['ns/sub/repo:tag_1-x.y', { repository: 'ns/sub/repo', tag: 'tag_1-x.y' }],
    [
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:2',
      { repository: 'team/app', tag: '2', registryId: '123456789012', region: 'eu-west-1', fips: false },
    ],
    [
      `123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/app@${D}`,
      { repository: 'app', digest: D, registryId: '123456789012', region: 'us-gov-west-1', fips: true },
    ],
    [
      '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app',
      { repository: 'app', tag: 'latest', registryId: '123456789012', region: 'cn-north-1', fips: false },
    ],
  ])('%s', (text, expected) => {
    expect(parseReference(text)).toEqual(expected);
  });

  test.each([
    ['', 'empty'],
    ['Repo', 'repository'],
    ['repo:', 'tag'],
    ['repo:-bad', 'tag'],
    ['repo@sha256:abc', 'digest'],
    [`repo@md5:${'a'.repeat(32)}`, 'digest'],
    ['12345.dkr.ecr.us-east-1.amazonaws.com/app', 'ECR registry host'],
    ['https://123456789012.dkr.ecr.us-east-1.amazonaws.com/app', 'prefix'],
    ['a', '2 to 256'],
    ['repo//x', 'repository'],
  ])('%p is refused (%s) with a VALIDATION_ERROR that shows valid forms', (text, mentions) => {
    let err: unknown;
    try {
      parseReference(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EcrxError);
    expect((err as EcrxError).code).toBe('VALIDATION_ERROR');
    expect((err as EcrxError).exitCode).toBe(2);
    expect((err as EcrxError).message).toContain(mentions);
    expect((err as EcrxError).hint).toContain('for example');
  });

  test('push-style parsing keeps no default tag', () => {
    expect(parseReference('repo', { defaultTag: false })).toEqual({ repository: 'repo' });
  });

  test('formatting and registry hosts', () => {
    expect(formatReference({ repository: 'a/b', tag: 't', digest: D })).toBe(`a/b:t@${D}`);
    expect(registryHost('123456789012', 'us-east-1')).toBe('123456789012.dkr.ecr.us-east-1.amazonaws.com');
    expect(registryHost('123456789012', 'cn-north-1')).toBe('123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn');
    expect(registryHost('123456789012', 'us-east-1', true)).toBe('123456789012.dkr.ecr-fips.us-east-1.amazonaws.com');
  });
});
