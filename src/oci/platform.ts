/** Platforms (`os/arch[/variant]`): parsing, the host's default, and choosing one from an index. */
import { EcrxError } from '../core/errors.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/i.test(p))) {
    throw new EcrxError('VALIDATION_ERROR', `Invalid platform '${text}'`, {
      hint: 'Use OS/ARCH or OS/ARCH/VARIANT, for example linux/amd64 or linux/arm64/v8, or "all".',
    });
  }
  return { os: parts[0], architecture: parts[1], ...(parts[2] ? { variant: parts[2] } : {}) };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** The platform this machine runs containers of. */
export function hostPlatform(arch: string = process.arch): Platform {
  switch (arch) {
    case 'arm64':
      return { os: 'linux', architecture: 'arm64', variant: 'v8' };
    case 'arm':
      return { os: 'linux', architecture: 'arm', variant: 'v7' };
    case 'ia32':
      return { os: 'linux', architecture: '386' };
    case 'x64':
      return { os: 'linux', architecture: 'amd64' };
    default:
      return { os: 'linux', architecture: arch };
  }
}

/** arm64's only variant is v8, so "no variant" and "v8" are the same platform. */
function normalVariant(p: Platform): string {
  if (p.architecture === 'arm64') return p.variant && p.variant !== 'v8' ? p.variant : 'v8';
  return p.variant ?? '';
}

/**
 * The index of the best match for `want` among `candidates`, or -1. Without a wanted variant an entry without one
 * wins, then the highest variant, so linux/arm picks v7 over v6.
 */
export function choosePlatform(want: Platform, candidates: (Platform | undefined)[]): number {
  let best = -1;
  let bestVariant = '';
  candidates.forEach((c, i) => {
    if (!c || c.os !== want.os || c.architecture !== want.architecture) return;
    const v = normalVariant(c);
    if (want.variant !== undefined) {
      if (v === normalVariant(want) && best < 0) best = i;
      return;
    }
    // Without a wanted variant, the plain entry wins (amd64 v3 may not run here); else the highest variant.
    const better = best < 0 || (bestVariant !== '' && (v === '' || v > bestVariant));
    if (better) {
      best = i;
      bestVariant = v;
    }
  });
  return best;
}

/** The platform an image config declares, or undefined when it names none (or is not a JSON object). */
export function platformOfConfig(configBytes: Buffer): Platform | undefined {
  let config: unknown;
  try {
    config = JSON.parse(configBytes.toString('utf8'));
  } catch {
    return undefined;
  }
  const c = config as { os?: unknown; architecture?: unknown; variant?: unknown } | null;
  if (typeof c?.os !== 'string' || typeof c.architecture !== 'string') return undefined;
  return {
    os: c.os,
    architecture: c.architecture,
    ...(typeof c.variant === 'string' && c.variant ? { variant: c.variant } : {}),
  };
}

/**
 * The one rule for a single-platform image, whatever the command: with `--platform X` (not "all") its config must
 * declare X, checked before any layer moves. Returns the image's platform as text, when it declares one.
 */
export function requirePlatform(
  wanted: string | undefined,
  actual: Platform | undefined,
  what: string,
): string | undefined {
  if (wanted && wanted !== 'all') {
    const want = parsePlatform(wanted);
    if (!actual || choosePlatform(want, [actual]) !== 0) {
      const has = actual ? formatPlatform(actual) : undefined;
      throw new EcrxError(
        'PLATFORM_NOT_FOUND',
        `${what} is a single-platform image ${has ? `for ${has}` : 'that declares no platform'}, not ${wanted}`,
        {
          details: { wanted, available: has ? [has] : [] },
          hint: has ? `Drop --platform, or use --platform ${has}.` : 'Drop --platform to take the image as it is.',
        },
      );
    }
  }
  return actual ? formatPlatform(actual) : undefined;
}
