/** `ecrx export`, the CLI side: the target checked before the network, the engine run with a reporter, the result printed. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { EcrxError, ExitCode } from '../../core/errors.js';
import { formatReference } from '../../core/reference.js';
import { formatRegistryReference } from '../../registry/reference.js';
import { openSide, parseImageArg, sourceOf, type RegistryFlags } from '../image-arg.js';
import type { EcrFlags } from '../common.js';
import { printSuccess } from '../output.js';
import { formatDuration, plural } from '../../report/format.js';
import { exportRootfs } from '../../engine/export.js';
import { inUserTerms } from '../../sinks/rootfs/export.js';
import { removeTree } from '../../sinks/rootfs/nodes.js';
import { checkTarget, planTarget, type Target } from '../../sinks/rootfs/target.js';
import { openCache } from '../session.js';

export interface ExportFlags extends EcrFlags, RegistryFlags {
  platform?: string;
  concurrency: number;
  cacheDir?: string;
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
  const arg = parseImageArg(imageText);
  const shown = arg.kind === 'ecr' ? formatReference(arg.ref) : formatRegistryReference(arg.ref);
  const target = planTarget(targetText);
  validate(flags, target);
  await checkTarget(target);
  const { reporter, ecr } = await openSide(arg, flags, 'export');
  // Beside the target (so the final rename stays on one file system), or in TMPDIR for stdout; only ecrx writes here.
  const work = mkdtempSync(
    target.kind === 'stdout'
      ? join(tmpdir(), '.export.ecrx-tmp-')
      : join(dirname(target.path), `.${basename(target.path)}.ecrx-tmp-`),
  );
  try {
    const r = await exportRootfs({
      source: (await sourceOf(arg, ecr, flags, reporter)).source,
      target,
      work,
      stream: process.stdout,
      platform: flags.platform,
      concurrency: flags.concurrency,
      cache: openCache(flags),
      events: reporter,
      signal,
    });
    if (target.kind === 'stdout') {
      if (r.streamClosed) process.exitCode = ExitCode.STDOUT_CLOSED;
      return;
    }
    reporter.stop();
    const data = {
      image: shown,
      digest: r.digest,
      platform: r.platform ?? null,
      output: target.path,
      format: target.kind === 'tar' ? 'tar' : 'directory',
      layers: r.layers,
      durationMs: Date.now() - started,
    };
    printSuccess(
      flags,
      data,
      () =>
        `Exported ${shown} ${r.digest} (${plural(data.layers, 'layer')}) to ${target.path} in ${formatDuration(data.durationMs)}`,
    );
  } catch (err) {
    throw inUserTerms(err, work, target);
  } finally {
    reporter.stop();
    ecr?.destroy();
    removeTree(work);
  }
}
