import { choosePlatform, hostPlatform, parsePlatform, formatPlatform } from '../../src/oci/platform.js';

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
    expect(choosePlatform(parsePlatform('linux/arm64'), [{ os: 'linux', architecture: 'arm64', variant: 'v8' }])).toBe(0);
  });

  test('no match is -1; os matters', () => {
    expect(choosePlatform(parsePlatform('linux/s390x'), list)).toBe(-1);
    expect(choosePlatform(parsePlatform('windows/amd64'), list)).toBe(5);
  });

  test('parsing refuses malformed platforms', () => {
    for (const bad of ['linux', 'linux/', '/amd64', 'a/b/c/d', 'linux/amd 64']) expect(() => parsePlatform(bad)).toThrow(/Invalid platform/);
    expect(formatPlatform(parsePlatform('linux/arm/v7'))).toBe('linux/arm/v7');
  });
});
