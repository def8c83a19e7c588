/** `ecrx push --referrers`: after the image, the referrers its layout holds, each by digest (cosign's under its tag). */
import { EcrxError } from '../core/errors.js';
import type { Ecr } from '../ecr/client.js';
import type { OpenedSource } from '../sources/open.js';
import { layoutReferrers } from '../sources/layout-referrers.js';
import type { TransferEvents } from './events.js';
import { pushToEcr } from '../sinks/ecr.js';

export interface PushedReferrer {
  digest: string;
  artifactType: string | null;
  subject: string;
  tag?: string;
}

export async function pushReferrers(o: {
  ecr: Ecr;
  repository: string;
  opened: OpenedSource;
  source: string;
  concurrency: number;
  reporter: TransferEvents;
  signal?: AbortSignal;
}): Promise<PushedReferrer[]> {
  if (!o.opened.layout) {
    throw new EcrxError('VALIDATION_ERROR', `${o.source} is a classic docker-archive, which holds no referrers`, {
      hint: '--referrers reads OCI layouts and OCI archives (as oras, cosign save or ecrx pull --referrers write them).',
    });
  }
  const { set } = o.opened;
  o.reporter.phase('looking for referrers in the source');
  const found = await layoutReferrers(
    o.opened.layout,
    [...new Set([set.top.digest, ...set.manifests.map((m) => m.digest)])],
    set.top.digest,
  );
  const pushed: PushedReferrer[] = [];
  for (const r of found) {
    await pushToEcr({
      ecr: o.ecr,
      repository: o.repository,
      set: r.set,
      blobPath: (d) => o.opened.pathOf(d),
      verifyBeforeUpload: o.opened.verify,
      tags: r.tag ? [r.tag] : [],
      concurrency: o.concurrency,
      reporter: o.reporter,
      signal: o.signal,
    });
    pushed.push({
      digest: r.digest,
      artifactType: r.artifactType,
      subject: r.subject,
      ...(r.tag ? { tag: r.tag } : {}),
    });
  }
  return pushed;
}
