/**
 * `ecrx inspect`: what an image is, without downloading its layers (only the small config, through the cache). An
 * ECR image is read through the ECR API; another registry's image through the registry API (inspect-sides.ts).
 */
import type { EcrFlags } from '../common.js';
import { printSuccess } from '../output.js';
import { formatPlatform } from '../../oci/platform.js';
import { formatBytes, plural } from '../../report/format.js';
import { sanitize } from '../../report/sanitize.js';
import { readConfig } from '../../oci/config.js';
import type { ImageIndex } from '../../oci/manifest.js';
import { checkDocumentSize, MAX_CONFIG_BYTES } from '../../oci/limits.js';
import { parseImageArg, type RegistryFlags } from '../image-arg.js';
import { openInspectSide, type InspectSide } from './inspect-sides.js';

export interface InspectFlags extends EcrFlags, RegistryFlags {
  raw?: boolean;
  config?: boolean;
  platform?: string;
  cacheDir?: string;
}

/** What the two views share: the side the image is read from, the reference as typed, and the run's signal. */
interface Inspection {
  imageText: string;
  flags: InspectFlags;
  side: InspectSide;
  signal: AbortSignal;
}

export async function inspect(imageText: string, flags: InspectFlags, signal: AbortSignal): Promise<void> {
  const arg = parseImageArg(imageText);
  const side = await openInspectSide(arg, { ...flags, quiet: flags.quiet || flags.raw }, signal);
  try {
    const { root, parsed } = side;
    if (flags.raw && !flags.platform && !flags.config) {
      side.reporter.stop();
      emitRaw(flags, root.bytes, { digest: root.digest, mediaType: parsed.mediaType }); // the bytes the digest is over
      return;
    }
    const it: Inspection = { imageText, flags, side, signal };
    if (parsed.kind === 'index' && !flags.platform) await inspectIndex(it, parsed.index);
    else await inspectImage(it);
  } finally {
    side.reporter.stop();
    await side.close();
  }
}

/** An index without --platform: its platforms and their digests. */
async function inspectIndex(it: Inspection, index: ImageIndex): Promise<void> {
  const { side, flags } = it;
  const { root, parsed, base } = side;
  side.reporter.stop();
  const platforms = index.manifests.map((m) => ({
    platform: m.platform ? formatPlatform(m.platform) : null,
    digest: m.digest,
    mediaType: m.mediaType,
    size: m.size,
  }));
  const data = {
    ...base,
    digest: root.digest,
    mediaType: parsed.mediaType,
    size: root.bytes.length,
    platforms,
    referrers: await side.referrers(root.digest, it.signal),
  };
  printSuccess(flags, data, () =>
    [
      `${data.image}`,
      `digest:     ${data.digest}`,
      `media type: ${data.mediaType}`,
      `referrers:  ${data.referrers ?? 'unknown'}`,
      `platforms:`,
      ...platforms.map((p) => `  ${(p.platform ?? 'unknown').padEnd(16)} ${p.digest}`),
    ].join('\n'),
  );
}

/** One image (the platform's, for an index): its config, fetched through the cache, and its layers. */
async function inspectImage(it: Inspection): Promise<void> {
  const { side, flags, signal } = it;
  const image = await side.image(flags.platform, signal);
  checkDocumentSize(image.manifest.config.size, MAX_CONFIG_BYTES, `The config of ${side.shown}`);
  const configBytes = await side.config(image, flags, signal);
  side.reporter.stop();
  if (flags.raw && flags.config) {
    emitRaw(flags, configBytes, { digest: image.manifest.config.digest, mediaType: image.manifest.config.mediaType });
    return;
  }
  if (flags.raw) {
    emitRaw(flags, image.bytes, { digest: image.digest, mediaType: image.mediaType });
    return;
  }
  const config = readConfig(configBytes, side.shown);
  const size = image.manifest.layers.reduce((n, l) => n + l.size, 0);
  const data = {
    ...side.base,
    digest: image.digest,
    indexDigest: side.parsed.kind === 'index' ? side.root.digest : null,
    mediaType: image.mediaType,
    size,
    platform: config.platform,
    created: config.created,
    entrypoint: config.entrypoint,
    cmd: config.cmd,
    config: {
      digest: image.manifest.config.digest,
      size: image.manifest.config.size,
      mediaType: image.manifest.config.mediaType,
    },
    layers: image.manifest.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })),
    referrers: await side.referrers(image.digest, signal),
    ...(flags.config ? { imageConfig: config.doc } : {}),
  };
  printSuccess(flags, data, () =>
    [
      data.image,
      `digest:     ${data.digest}`,
      `media type: ${data.mediaType}`,
      `platform:   ${data.platform ?? 'unknown'}`,
      `created:    ${data.created ?? 'unknown'}`,
      `entrypoint: ${JSON.stringify(data.entrypoint)}`,
      `referrers:  ${data.referrers ?? 'unknown'}${data.referrers ? ` (ecrx referrers ${it.imageText})` : ''}`,
      `size:       ${formatBytes(size)} in ${plural(data.layers.length, 'layer')}`,
      ...data.layers.map((l, i) => `  ${String(i + 1).padStart(2)}. ${l.digest} ${formatBytes(l.size)}`),
      ...(flags.config ? [JSON.stringify(config.doc, null, 2)] : []),
    ].join('\n'),
  );
}

/**
 * --raw: the stored bytes exactly, for `| sha256sum`; with --json, inside the envelope as a string (JSON escapes
 * keep it exact); to a terminal, with control characters made visible (a hostile config cannot drive the terminal).
 */
function emitRaw(flags: InspectFlags, bytes: Buffer, meta: { digest: string; mediaType: string }): void {
  if (flags.json) printSuccess(flags, { ...meta, size: bytes.length, raw: bytes.toString('utf8') });
  else if (process.stdout.isTTY) process.stdout.write(sanitize(bytes.toString('utf8')));
  else process.stdout.write(bytes);
}
