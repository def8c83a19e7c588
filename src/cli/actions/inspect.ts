/** `ecrx inspect`: what an image is, without downloading its layers (only the small config, through the cache). */
import { formatReference, parseReference, registryHost } from '../../core/reference.js';
import type { EcrFlags } from '../common.js';
import { printSuccess } from '../output.js';
import { resolveFromEcr } from '../../sources/ecr.js';
import { fetchRoot } from '../../ecr/batch-get.js';
import { fetchBlobs } from '../../engine/fetch-blobs.js';
import { openCache, openSession } from '../session.js';
import { formatPlatform } from '../../oci/platform.js';
import { formatBytes, plural } from '../../report/format.js';
import { sanitize } from '../../report/sanitize.js';
import { readConfig } from '../../oci/config.js';
import type { ImageIndex } from '../../oci/manifest.js';
import { checkDocumentSize, MAX_CONFIG_BYTES } from '../../oci/limits.js';
import { countReferrers } from '../../engine/referrers.js';

export interface InspectFlags extends EcrFlags {
  raw?: boolean;
  config?: boolean;
  platform?: string;
  cacheDir?: string;
}

type Session = Awaited<ReturnType<typeof openSession>>;
type Root = Awaited<ReturnType<typeof fetchRoot>>;

/** What the two views share: the session, the reference as typed and as resolved, and the image's address. */
interface Inspection {
  imageText: string;
  ref: ReturnType<typeof parseReference>;
  flags: InspectFlags;
  session: Session;
  root: Root['root'];
  parsed: Root['parsed'];
  base: { image: string; registryId: string; repository: string; tag: string | null };
  signal: AbortSignal;
}

export async function inspect(imageText: string, flags: InspectFlags, signal: AbortSignal): Promise<void> {
  const ref = parseReference(imageText);
  const session = await openSession({ ...flags, quiet: flags.quiet || flags.raw }, 'inspect', ref);
  const { reporter, ecr } = session;
  try {
    reporter.phase(`resolving ${formatReference(ref)}`);
    const { root, parsed } = await fetchRoot(ecr, ref, signal);
    if (flags.raw && !flags.platform && !flags.config) {
      reporter.stop();
      emitRaw(flags, root.bytes, { digest: root.digest, mediaType: parsed.mediaType }); // the bytes the digest is over
      return;
    }
    const region = await ecr.region();
    const base = {
      image: `${registryHost(root.registryId, region, ref.fips)}/${formatReference({ repository: ref.repository, tag: ref.tag })}`,
      registryId: root.registryId,
      repository: ref.repository,
      tag: ref.tag ?? null,
    };
    const it: Inspection = { imageText, ref, flags, session, root, parsed, base, signal };
    if (parsed.kind === 'index' && !flags.platform) await inspectIndex(it, parsed.index);
    else await inspectImage(it);
  } finally {
    reporter.stop();
    ecr.destroy();
  }
}

/** An index without --platform: its platforms and their digests. */
async function inspectIndex(it: Inspection, index: ImageIndex): Promise<void> {
  const { session, root, parsed, base, flags } = it;
  session.reporter.stop();
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
    referrers: await countReferrers(session.ecr, it.ref.repository, root.digest, it.signal),
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
  const { session, ref, flags, signal } = it;
  const { ecr, reporter } = session;
  const resolved = await resolveFromEcr(ecr, ref, flags.platform, signal);
  const image = resolved.set.images[0];
  const cache = openCache(flags);
  checkDocumentSize(image.manifest.config.size, MAX_CONFIG_BYTES, `The config of ${formatReference(ref)}`);
  const blobs = [image.manifest.config];
  await fetchBlobs({
    ecr,
    repository: ref.repository,
    blobs,
    images: [image],
    cache,
    concurrency: 1,
    reporter,
    signal,
  });
  reporter.stop();
  const configBytes = await cache.readBytes(image.manifest.config.digest);
  if (flags.raw && flags.config) {
    emitRaw(flags, configBytes, { digest: image.manifest.config.digest, mediaType: image.manifest.config.mediaType });
    return;
  }
  if (flags.raw) {
    emitRaw(flags, image.bytes, { digest: image.digest, mediaType: image.mediaType });
    return;
  }
  const config = readConfig(configBytes, formatReference(ref));
  const size = image.manifest.layers.reduce((n, l) => n + l.size, 0);
  const data = {
    ...it.base,
    digest: image.digest,
    indexDigest: it.parsed.kind === 'index' ? it.root.digest : null,
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
    referrers: await countReferrers(ecr, ref.repository, image.digest, signal),
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
