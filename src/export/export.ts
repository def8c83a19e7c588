/** `ecrx export`: the flattened root filesystem of an image, as a directory or a tar (file or stdout). */
import { mkdtempSync, promises as fsp, readdirSync, lstatSync, readlinkSync, createReadStream } from 'node:fs';
import { dirname, join, resolve as resolvePath, basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { EcrxError } from '../core/errors.js';
import { formatReference, parseReference } from '../core/reference.js';
import type { EcrFlags } from '../cli/common.js';
import { printSuccess } from '../cli/output.js';
import { resolveFromEcr } from '../transfer/ecr-source.js';
import { fetchBlobs } from '../transfer/fetch-blobs.js';
import { openCache, openSession } from '../transfer/session.js';
import { applyLayers } from './flatten.js';
import { formatDuration, plural } from '../ui/format.js';

export interface ExportFlags extends EcrFlags {
  platform?: string;
  concurrency: number;
  cacheDir?: string;
}

/** Streams a directory tree as a tar, sorted, with modes and links as they are on disk. */
async function tarTree(root: string, out: NodeJS.WritableStream): Promise<void> {
  const tar = await import('tar-stream');
  const pack = tar.pack();
  const done = pipeline(pack, out);
  const walk = async (rel: string): Promise<void> => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, r));
      const common = { name: r, mode: st.mode & 0o7777, mtime: st.mtime, uid: st.uid, gid: st.gid };
      if (st.isDirectory()) {
        await new Promise<void>((res, rej) => pack.entry({ ...common, name: `${r}/`, type: 'directory' }, (e) => (e ? rej(e) : res())));
        await walk(r);
      } else if (st.isSymbolicLink()) {
        await new Promise<void>((res, rej) => pack.entry({ ...common, type: 'symlink', linkname: readlinkSync(join(root, r)) }, (e) => (e ? rej(e) : res())));
      } else if (st.isFile()) {
        const entry = pack.entry({ ...common, size: st.size });
        await pipeline(createReadStream(join(root, r)), entry);
      }
    }
  };
  await walk('');
  pack.finalize();
  await done;
}

export async function exportImage(imageText: string, target: string, flags: ExportFlags, signal: AbortSignal): Promise<void> {
  const started = Date.now();
  const ref = parseReference(imageText);
  if (flags.platform === 'all') throw new EcrxError('VALIDATION_ERROR', 'export flattens one platform; give --platform os/arch or leave it out');
  const toStdout = target === '-' || target === '-.tar';
  const asTar = toStdout || target.endsWith('.tar');
  if (toStdout && flags.json) throw new EcrxError('VALIDATION_ERROR', 'A tar on stdout and --json both want stdout');
  if (toStdout && process.stdout.isTTY) throw new EcrxError('VALIDATION_ERROR', 'Refusing to write a tar archive to a terminal', { hint: 'Redirect stdout, or give a DIR or FILE.tar.' });
  const out = toStdout ? '-' : resolvePath(target);
  if (!toStdout && !asTar) {
    const st = await fsp.lstat(out).catch(() => undefined);
    if (st && !(st.isDirectory() && readdirSync(out).length === 0)) {
      throw new EcrxError('OUTPUT_ERROR', `${out} already exists and is not an empty directory`, { hint: 'Export into a new or empty directory, so nothing of yours is overwritten.' });
    }
  }
  const { reporter, ecr } = await openSession(flags, 'export', ref);
  const work = mkdtempSync(join(toStdout ? (process.env.TMPDIR ?? '/tmp') : dirname(out), `.${toStdout ? 'export' : basename(out)}.ecrx-tmp-`));
  try {
    reporter.phase(`resolving ${formatReference(ref)}`);
    const resolved = await resolveFromEcr(ecr, ref, flags.platform, signal);
    const image = resolved.set.images[0];
    const cache = openCache(flags);
    await fetchBlobs({ ecr, repository: ref.repository, blobs: resolved.set.blobs, images: resolved.set.images, cache, concurrency: flags.concurrency, reporter, signal });
    reporter.phase(`applying ${image.manifest.layers.length} layers`);
    const rootfs = join(work, 'rootfs');
    await fsp.mkdir(rootfs);
    await applyLayers(rootfs, image.manifest.layers.map((l) => cache.path(l.digest)), { notice: (t) => reporter.notice(t), signal });
    if (toStdout) {
      await tarTree(rootfs, process.stdout);
    } else if (asTar) {
      const tmp = join(dirname(out), `.${basename(out)}.ecrx-tmp-${randomBytes(4).toString('hex')}`);
      try {
        await tarTree(rootfs, createWriteStream(tmp));
        await fsp.rename(tmp, out);
      } finally {
        await fsp.rm(tmp, { force: true });
      }
    } else {
      await fsp.rm(out, { recursive: true, force: true }); // an empty directory, checked above
      await fsp.rename(rootfs, out);
    }
    reporter.stop();
    const data = { image: formatReference(ref), digest: image.digest, platform: resolved.platform ?? null, output: out, format: asTar ? 'tar' : 'directory', layers: image.manifest.layers.length, durationMs: Date.now() - started };
    if (!toStdout) printSuccess(flags, data, () => `Exported ${formatReference(ref)} ${image.digest} (${plural(data.layers, 'layer')}) to ${out} in ${formatDuration(data.durationMs)}`);
  } finally {
    reporter.stop();
    ecr.destroy();
    await fsp.rm(work, { recursive: true, force: true });
  }
}
