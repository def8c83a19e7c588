/** Dual-stack, FIPS and China ECR hosts parse; ECR Public and other registries are named, not called invalid. */
import { parseAnyReference, parseReference, registryHost } from '../../src/core/reference.js';
import { EcrxError } from '../../src/core/errors.js';

const D = `sha256:${'b'.repeat(64)}`;

const refused = (text: string): EcrxError => {
  try {
    parseReference(text);
  } catch (e) {
    return e as EcrxError;
  }
  throw new Error(`${text} was accepted`);
};

describe('ECR registry hosts', () => {
  test.each([
    [
      '123456789012.dkr-ecr.eu-west-1.on.aws/team/app:2',
      {
        repository: 'team/app',
        tag: '2',
        registryId: '123456789012',
        region: 'eu-west-1',
        fips: false,
        dualStack: true,
      },
    ],
    [
      `123456789012.dkr-ecr-fips.us-gov-west-1.on.aws/app@${D}`,
      {
        repository: 'app',
        digest: D,
        registryId: '123456789012',
        region: 'us-gov-west-1',
        fips: true,
        dualStack: true,
      },
    ],
    [
      '123456789012.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn/app',
      {
        repository: 'app',
        tag: 'latest',
        registryId: '123456789012',
        region: 'cn-north-1',
        fips: false,
        dualStack: true,
      },
    ],
    [
      '123456789012.DKR.ECR.us-east-1.AMAZONAWS.COM/app:1',
      { repository: 'app', tag: '1', registryId: '123456789012', region: 'us-east-1', fips: false },
    ],
  ])('%s', (text, expected) => {
    expect(parseReference(text)).toEqual(expected);
  });

  test('the dual-stack host is written back in its own form, China and FIPS included', () => {
    expect(registryHost('123456789012', 'eu-west-1', false, true)).toBe('123456789012.dkr-ecr.eu-west-1.on.aws');
    expect(registryHost('123456789012', 'us-gov-west-1', true, true)).toBe(
      '123456789012.dkr-ecr-fips.us-gov-west-1.on.aws',
    );
    expect(registryHost('123456789012', 'cn-north-1', false, true)).toBe(
      '123456789012.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn',
    );
  });

  test('a misspelt ECR host is still a VALIDATION_ERROR to fix', () => {
    for (const text of [
      '12345.dkr-ecr.us-east-1.on.aws/app',
      '123456789012.dkr.ecr.us-east-1.amazonaws.org.amazonaws.com/app',
    ]) {
      const err = refused(text);
      expect(err.code).toBe('VALIDATION_ERROR');
      expect(err.message).toContain('is not an ECR registry host');
    }
  });
});

describe('other registries', () => {
  test.each([
    ['public.ecr.aws/docker/library/alpine:3.20', 'public.ecr.aws', 'ecr-public', /Amazon ECR Public image/],
    ['docker.io/library/nginx', 'docker.io', 'other', /docker\.io, which is not an Amazon ECR registry/],
    ['ghcr.io/org/app:1', 'ghcr.io', 'other', /ghcr\.io, which is not an Amazon ECR registry/],
    ['localhost:5000/app@' + D, 'localhost:5000', 'other', /localhost:5000/],
  ])('%s is UNSUPPORTED_REGISTRY (exit 2) naming %s', (text, host, kind, message) => {
    const err = refused(text);
    expect(err.code).toBe('UNSUPPORTED_REGISTRY');
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(message);
    expect(err.hint).toContain('ecrx push');
    expect(err.details).toMatchObject({ registry: host, registryKind: kind });
  });

  test('parseAnyReference hands foreign references over whole, for a registry source to read', () => {
    expect(parseAnyReference('public.ecr.aws/docker/library/alpine:3.20')).toEqual({
      registry: { kind: 'ecr-public', host: 'public.ecr.aws' },
      repository: 'docker/library/alpine',
      tag: '3.20',
    });
    expect(parseAnyReference(`ghcr.io/o/a@${D}`)).toEqual({
      registry: { kind: 'other', host: 'ghcr.io' },
      repository: 'o/a',
      digest: D,
    });
    expect(parseAnyReference('team/app')).toEqual({ repository: 'team/app', tag: 'latest' });
  });

  test('a malformed foreign reference is still a VALIDATION_ERROR', () => {
    expect(refused('ghcr.io/Org/App').code).toBe('VALIDATION_ERROR');
  });
});
