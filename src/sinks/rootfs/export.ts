/** `ecrx export`: the flattened root filesystem of an image, as a directory or a tar (file or stdout). */
import { mkdtempSync, promises as fsp, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { EcrxError, ExitCode } from '../../core/errors.js';
import { formatReference, parseReference } from '../../core/reference.js';
import type { EcrFlags } from '../../cli/common.js';
import { printSuccess } from '../../cli/output.js';
import { resolveFromEcr } from '../../sources/ecr.js';
import { fetchBlobs } from '../../engine/fetch-blobs.js';
import { configPlatform, configToCheckFirst } from '../../engine/platform-check.js';
import type { Descriptor } from '../../oci/manifest.js';
import { openCache, openSession } from '../../engine/session.js';
import { formatDuration, plural } from '../../report/format.js';
import { applyLayers } from './flatten.js';
import { removeTree } from './nodes.js';
import { tarTree } from './tar-tree.js';
import { checkTarget, placeDirectory, placeTar, planTarget, type Target } from './target.js';

export interface ExportFlags extends EcrFlags {
  platform?: string;
  concurrency: number;
  cacheDir?: string;
}

/**
 * The tar on stdout. A reader that goes away (`| head`) is a normal end of a pipeline: true then, and the caller
 * exits quietly with 141 (Node ignores SIGPIPE, so the write fails with EPIPE instead of killing the process).
 */
async function tarToStdout(rootfs: string, meta: Parameters<typeof tarTree>[2]): Promise<boolean> {
  let closed = false;
  // Kept for the rest of the process: a late EPIPE on stdout must not become an uncaught 'error' event.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') closed = true;
  });
  try {
    await tarTree(rootfs, process.stdout, meta);
    return false;
  } catch (err) {
    if (closed || (err as NodeJS.ErrnoException).code === 'EPIPE') return true;
    throw err;
  }
}

/**
 * A file-system error inside ecrx's temporary tree (a full disk, a file-size limit) names the place the user gave
 * instead: the temporary name means nothing to them, and is gone by the time they read it.
 */
function inUserTerms(err: unknown, work: string, target: Target): unknown {
  const e = err as NodeJS.ErrnoException & { dest?: string };
  if (!e || typeof e !== 'object' || e instanceof EcrxError) return err;
  const shown = target.kind === 'stdout' ? '(the tar on stdout)' : target.path;
  const rootfs = join(work, 'rootfs');
  const pairs: [string, string][] = [
    [`${rootfs}/`, `${shown}/`],
    [`${rootfs}.tar`, shown],
    [rootfs, shown],
    [work, shown],
  ];
  const swap = (text: string) => pairs.reduce((t, [from, to]) => t.split(from).join(to), text);
  if (typeof e.path === 'string') e.path = swap(e.path);
  if (typeof e.dest === 'string') e.dest = swap(e.dest);
  if (typeof e.message === 'string') e.message = swap(e.message);
  return e;
}

function validate(flags: ExportFlags, target: Target): void {
  if (flags.platform === 'all')
    throw new EcrxError('VALIDATION_ERROR', 'export flattens one platform; give --platform os/arch or leave it out');
  if (target.kind !== 'stdout') return;
  if (flags.json) throw new EcrxError('VALIDATION_ERROR', 'A tar on stdout and --json both want stdout');
  if (process.stdout.isTTY)
    throw new EcrxError('VALIDATION_ERROR', 'Refusing to write a tar archive to a terminal', {
      hint: 'Redirect stdout, or give a DIR or FILE.tar.',
    });
}

export async function exportImage(
  imageText: string,
  targetText: string,
  flags: ExportFlags,
  signal: AbortSignal,
): Promise<void> {
  const started = Date.now();
  const ref = parseReference(imageText);
  const target = planTarget(targetText);
  validate(flags, target);
  await checkTarget(target);
  const { reporter, ecr } = await openSession(flags, 'export', ref);
  // Beside the target (so the final rename stays on one file system), or in TMPDIR for stdout; only ecrx writes here.
  const work = mkdtempSync(
    target.kind === 'stdout'
      ? join(tmpdir(), '.export.ecrx-tmp-')
      : join(dirname(target.path), `.${basename(target.path)}.ecrx-tmp-`),
  );
  try {
    reporter.phase(`resolving ${formatReference(ref)}`);
    const resolved = await resolveFromEcr(ecr, ref, flags.platform, signal);
    const image = resolved.set.images[0];
    const cache = openCache(flags);
    const fetch = (blobs: Descriptor[]) =>
      fetchBlobs({
        ecr,
        repository: ref.repository,
        blobs,
        images: resolved.set.images,
        cache,
        concurrency: flags.concurrency,
        reporter,
        signal,
      });
    // The platform rule every command follows: a single-platform image's config is checked before any layer moves.
    const checkFirst = configToCheckFirst(resolved.set, resolved.platform, flags.platform);
    await fetch(checkFirst);
    const platform = checkFirst.length
      ? await configPlatform(resolved.set, cache, flags.platform, formatReference(ref))
      : resolved.platform;
    await fetch(resolved.set.blobs.filter((b) => !checkFirst.includes(b)));
    reporter.phase(`applying ${image.manifest.layers.length} layers`);
    const rootfs = join(work, 'rootfs');
    await fsp.mkdir(rootfs);
    const layers = image.manifest.layers.map((l) => ({ digest: l.digest, size: l.size, path: cache.path(l.digest) }));
    const meta = await applyLayers(rootfs, layers, {
      notice: (t) => reporter.notice(t),
      signal,
      applyMetadata: target.kind === 'dir',
    });
    if (target.kind === 'stdout') {
      if (await tarToStdout(rootfs, meta)) process.exitCode = ExitCode.STDOUT_CLOSED;
      return;
    }
    if (target.kind === 'tar') {
      const file = join(work, 'rootfs.tar');
      await tarTree(rootfs, createWriteStream(file), meta);
      await placeTar(file, target.path);
    } else {
      await placeDirectory(rootfs, target.path);
    }
    reporter.stop();
    const data = {
      image: formatReference(ref),
      digest: image.digest,
      platform: platform ?? null,
      output: target.path,
      format: target.kind === 'tar' ? 'tar' : 'directory',
      layers: layers.length,
      durationMs: Date.now() - started,
    };
    printSuccess(
      flags,
      data,
      () =>
        `Exported ${formatReference(ref)} ${image.digest} (${plural(data.layers, 'layer')}) to ${target.path} in ${formatDuration(data.durationMs)}`,
    );
  } catch (err) {
    throw inUserTerms(err, work, target);
  } finally {
    reporter.stop();
    ecr.destroy();
    removeTree(work);
  }
}
