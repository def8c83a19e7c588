/**
 * Which children of an index a pull takes: `all`, the platform asked for, or the host's; the same rule and the same
 * PLATFORM_NOT_FOUND message for every source that reads an index (ECR, a registry).
 */
import { EcrxError } from '../core/errors.js';
import type { Descriptor } from '../oci/manifest.js';
import { choosePlatform, formatPlatform, hostPlatform, parsePlatform } from '../oci/platform.js';

export function selectPlatform(
  descriptors: Descriptor[],
  platformOpt: string | undefined,
  what: string,
): { chosen: Descriptor[]; label: string } {
  if (platformOpt === 'all') return { chosen: descriptors, label: 'all' };
  const want = platformOpt ? parsePlatform(platformOpt) : hostPlatform();
  const i = choosePlatform(
    want,
    descriptors.map((d) => d.platform),
  );
  if (i < 0) {
    const available = descriptors
      .map((d) => (d.platform ? formatPlatform(d.platform) : 'unknown'))
      .filter((p) => p !== 'unknown/unknown');
    throw new EcrxError(
      'PLATFORM_NOT_FOUND',
      `${what} has no image for ${formatPlatform(want)}; it has: ${available.join(', ') || 'no platform information'}`,
      {
        details: { wanted: formatPlatform(want), available },
        hint: `Pick one with --platform (e.g. --platform ${available[0] ?? 'linux/amd64'}), or --platform all for every one.`,
      },
    );
  }
  return { chosen: [descriptors[i]], label: formatPlatform(descriptors[i].platform!) };
}
