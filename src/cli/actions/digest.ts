/** `ecrx digest`: the image's digest on stdout and nothing else, the value scripts pin deployments to. */
import { parseReference } from '../../core/reference.js';
import type { EcrFlags } from '../common.js';
import { printSuccess } from '../output.js';
import { openSession } from '../session.js';
import { resolveDigest } from '../../ecr/resolve-digest.js';

export async function digest(imageText: string, flags: EcrFlags, signal: AbortSignal): Promise<void> {
  const ref = parseReference(imageText);
  const { reporter, ecr } = await openSession({ ...flags, quiet: true }, 'digest', ref);
  try {
    const found = await resolveDigest(ecr, ref, signal);
    reporter.stop();
    printSuccess(
      flags,
      { image: imageText, repository: ref.repository, tag: ref.tag ?? null, ...found },
      () => found.digest,
    );
  } finally {
    reporter.stop();
    ecr.destroy();
  }
}
