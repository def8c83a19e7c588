/**
 * `ecrx archive` and `ecrx restore`: UpdateImageStorageClass to ARCHIVE or STANDARD. `restore --wait` polls
 * DescribeImages until the image is ACTIVE again (ECR takes up to about 20 minutes), backing off from 1 s to 15 s.
 */
import { EcrxError } from '../../core/errors.js';
import { formatReference, parseReference } from '../../core/reference.js';
import { sleep } from '../../core/retry.js';
import type { EcrFlags } from '../common.js';
import { printSuccess } from '../output.js';
import { openSession } from '../session.js';
import { imageStatus, RESTORE_MINUTES, type ImageStatus } from '../../ecr/archived.js';
import { formatDuration } from '../../report/format.js';

export interface StorageClassFlags extends EcrFlags {
  wait?: boolean;
  timeout?: number;
}

const DEFAULT_TIMEOUT_MINUTES = 30;

export async function changeStorageClass(
  target: 'ARCHIVE' | 'STANDARD',
  imageText: string,
  flags: StorageClassFlags,
  signal: AbortSignal,
): Promise<void> {
  const started = Date.now();
  const ref = parseReference(imageText);
  const verb = target === 'ARCHIVE' ? 'archive' : 'restore';
  const { reporter, ecr } = await openSession(flags, verb, ref);
  try {
    const imageId = ref.digest ? { imageDigest: ref.digest } : { imageTag: ref.tag! };
    reporter.phase(`${verb} ${formatReference(ref)}`);
    const out = await ecr.request(
      'UpdateImageStorageClass',
      ecr.withRegistry({ repositoryName: ref.repository, imageId, targetStorageClass: target }),
      `${target === 'ARCHIVE' ? 'Archiving' : 'Restoring'} ${formatReference(ref)}`,
      { signal },
    );
    const digest = out.imageId?.imageDigest ?? ref.digest ?? '';
    let status: ImageStatus | undefined = out.imageStatus;
    if (target === 'STANDARD' && flags.wait && status !== 'ACTIVE') {
      status = await waitUntilActive(
        flags,
        ref.repository,
        digest,
        imageText,
        (s) => reporter.phase(`waiting for ${formatReference(ref)} to be restored (${s})`),
        ecr,
        signal,
      );
    }
    reporter.stop();
    const data = {
      image: imageText,
      repository: ref.repository,
      digest,
      imageStatus: status,
      durationMs: Date.now() - started,
    };
    printSuccess(flags, data, () => {
      if (target === 'ARCHIVE')
        return `Archived ${imageText} ${digest} (${status}); restore it with \`ecrx restore ${imageText}\``;
      if (status === 'ACTIVE')
        return `Restored ${imageText} ${digest}: ACTIVE${flags.wait ? ` after ${formatDuration(data.durationMs)}` : ''}; it can be pulled`;
      return `Restoring ${imageText} ${digest} (${status}): it can be pulled in about ${RESTORE_MINUTES} minutes; \`ecrx restore ${imageText} --wait\` waits for it`;
    });
  } finally {
    reporter.stop();
    ecr.destroy();
  }
}

async function waitUntilActive(
  flags: StorageClassFlags,
  repository: string,
  digest: string,
  imageText: string,
  onStatus: (s: string) => void,
  ecr: Awaited<ReturnType<typeof openSession>>['ecr'],
  signal: AbortSignal,
): Promise<ImageStatus> {
  const deadline = Date.now() + (flags.timeout ?? DEFAULT_TIMEOUT_MINUTES) * 60_000;
  let delay = 1000;
  for (;;) {
    const found = await imageStatus(ecr, repository, { imageDigest: digest }, signal);
    if (!found)
      throw new EcrxError('IMAGE_NOT_FOUND', `${imageText} (${digest}) is no longer in ${repository}`, {
        hint: `\`ecrx tags ${repository} --status all\` lists what is there.`,
      });
    onStatus(found.status);
    if (found.status === 'ACTIVE') return 'ACTIVE';
    if (found.status === 'ARCHIVED')
      throw new EcrxError('IMAGE_ARCHIVED', `${imageText} went back to ARCHIVED while ecrx waited for its restore`, {
        hint: `Run \`ecrx restore ${imageText} --wait\` again.`,
        details: { imageStatus: found.status },
      });
    if (Date.now() + delay > deadline) {
      throw new EcrxError(
        'IMAGE_ARCHIVED',
        `${imageText} is still being restored after ${flags.timeout ?? DEFAULT_TIMEOUT_MINUTES} minutes`,
        {
          hint: `The restore goes on in ECR; wait again with \`ecrx restore ${imageText} --wait\`, or pull later.`,
          details: { imageStatus: found.status, digest },
        },
      );
    }
    await sleep(delay, signal);
    delay = Math.min(Math.round(delay * 1.5), 15_000);
  }
}
