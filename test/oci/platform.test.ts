import {
  choosePlatform,
  hostPlatform,
  parsePlatform,
  formatPlatform,
  platformOfConfig,
  requirePlatform,
} from '../../src/oci/platform.js';

describe('platforms', () => {
  const list = [
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'amd64', variant: 'v3' },
    { os: 'linux', architecture: 'arm', variant: 'v6' },
    { os: 'linux', architecture: 'arm', variant: 'v7' },
    { os: 'linux', architecture: 'arm64' },
    { os: 'windows', architecture: 'amd64' },
    undefined,
  ];

  test('the host default', () => {
    expect(hostPlatform('x64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(hostPlatform('arm64')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
  });

  test('amd64 without a variant prefers the plain entry over v3', () => {
    expect(choosePlatform(parsePlatform('linux/amd64'), list)).toBe(0);
    expect(choosePlatform(parsePlatform('linux/amd64/v3'), list)).toBe(1);
  });

  test('arm without a variant takes the highest; with one, exactly it', () => {
    expect(choosePlatform(parsePlatform('linux/arm'), list)).toBe(3);
    expect(choosePlatform(parsePlatform('linux/arm/v6'), list)).toBe(2);
  });

  test('arm64 and arm64/v8 are the same platform', () => {
    expect(choosePlatform(hostPlatform('arm64'), list)).toBe(4);
    expect(choosePlatform(parsePlatform('linux/arm64'), [{ os: 'linux', architecture: 'arm64', variant: 'v8' }])).toBe(
      0,
    );
  });

  test('no match is -1; os matters', () => {
    expect(choosePlatform(parsePlatform('linux/s390x'), list)).toBe(-1);
    expect(choosePlatform(parsePlatform('windows/amd64'), list)).toBe(5);
  });

  test('parsing refuses malformed platforms', () => {
    for (const bad of ['linux', 'linux/', '/amd64', 'a/b/c/d', 'linux/amd 64'])
      expect(() => parsePlatform(bad)).toThrow(/Invalid platform/);
    expect(formatPlatform(parsePlatform('linux/arm/v7'))).toBe('linux/arm/v7');
  });
});

describe('the single-platform rule', () => {
  const config = (o: object) => Buffer.from(JSON.stringify(o));

  test('reads os, architecture and variant from a config, nothing from junk', () => {
    expect(platformOfConfig(config({ os: 'linux', architecture: 'arm', variant: 'v7' }))).toEqual({
      os: 'linux',
      architecture: 'arm',
      variant: 'v7',
    });
    expect(platformOfConfig(config({ os: 'linux', architecture: 'amd64', variant: '' }))).toEqual({
      os: 'linux',
      architecture: 'amd64',
    });
    expect(platformOfConfig(config({ os: 'linux' }))).toBeUndefined();
    expect(platformOfConfig(Buffer.from('null'))).toBeUndefined();
    expect(platformOfConfig(Buffer.from('{not json'))).toBeUndefined();
  });

  test('no --platform, or all, takes the image as it is', () => {
    expect(requirePlatform(undefined, { os: 'linux', architecture: 's390x' }, 'x')).toBe('linux/s390x');
    expect(requirePlatform('all', undefined, 'x')).toBeUndefined();
  });

  test('a wanted platform must match, arm64 and arm64/v8 being the same', () => {
    expect(requirePlatform('linux/arm64/v8', { os: 'linux', architecture: 'arm64' }, 'x')).toBe('linux/arm64');
    expect(() => requirePlatform('linux/amd64', { os: 'linux', architecture: 'arm64' }, 'repo:1')).toThrow(
      /repo:1 is a single-platform image for linux\/arm64, not linux\/amd64/,
    );
    expect(() => requirePlatform('linux/arm/v6', { os: 'linux', architecture: 'arm', variant: 'v7' }, 'x')).toThrow(
      /PLATFORM|single-platform/,
    );
    expect(() => requirePlatform('linux/amd64', undefined, 'x')).toThrow(/declares no platform/);
  });
});
