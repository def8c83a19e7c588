/** `ecrx repos create NAME`: CreateRepository with tag mutability (and its exclusion filters), scan on push, encryption. */
import type { CreateRepositoryCommandInput, EncryptionType, ImageTagMutability } from '@aws-sdk/client-ecr';
import { EcrxError } from '../../core/errors.js';
import { isValidRepository } from '../../core/reference.js';
import type { EcrFlags } from '../common.js';
import { printSuccess } from '../output.js';
import { openSession } from '../session.js';

export interface ReposCreateFlags extends EcrFlags {
  tagMutability?: string;
  mutabilityExclusion?: string[];
  scanOnPush?: boolean;
  encryption?: string;
  kmsKey?: string;
}

const MUTABILITY: readonly ImageTagMutability[] = [
  'MUTABLE',
  'IMMUTABLE',
  'IMMUTABLE_WITH_EXCLUSION',
  'MUTABLE_WITH_EXCLUSION',
];
const ENCRYPTION: readonly EncryptionType[] = ['AES256', 'KMS', 'KMS_DSSE'];
const isOneOf = <T extends string>(list: readonly T[], s: string | undefined): s is T =>
  (list as readonly string[]).includes(s ?? '');
const FILTER_RE = /^[0-9a-zA-Z._*-]{1,128}$/;

/** Everything the model would refuse, refused before the call, with the option's name. */
function requestOf(name: string, flags: ReposCreateFlags): CreateRepositoryCommandInput {
  if (!isValidRepository(name))
    throw new EcrxError('VALIDATION_ERROR', `Invalid repository name '${name}'`, {
      hint: 'Lowercase letters, digits, . _ - between them and / between parts, 2 to 256 characters: e.g. team/app.',
    });
  const mutability = (flags.tagMutability ?? 'MUTABLE').toUpperCase().replace(/-/g, '_');
  if (!isOneOf(MUTABILITY, mutability))
    throw new EcrxError(
      'VALIDATION_ERROR',
      `--tag-mutability must be one of ${MUTABILITY.join(', ')}, got '${flags.tagMutability}'`,
    );
  const exclusions = flags.mutabilityExclusion ?? [];
  const withExclusion = mutability.endsWith('_WITH_EXCLUSION');
  if (withExclusion && !exclusions.length)
    throw new EcrxError(
      'VALIDATION_ERROR',
      `--tag-mutability ${mutability} needs at least one --mutability-exclusion PATTERN`,
      { hint: 'For example --mutability-exclusion "dev-*" (up to 5, * is a wildcard).' },
    );
  if (!withExclusion && exclusions.length)
    throw new EcrxError(
      'VALIDATION_ERROR',
      '--mutability-exclusion goes with --tag-mutability IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION',
    );
  if (exclusions.length > 5)
    throw new EcrxError('VALIDATION_ERROR', `At most 5 --mutability-exclusion patterns, got ${exclusions.length}`);
  for (const f of exclusions)
    if (!FILTER_RE.test(f))
      throw new EcrxError('VALIDATION_ERROR', `Invalid --mutability-exclusion '${f}'`, {
        hint: 'Letters, digits, . _ - and the wildcard *, up to 128 characters.',
      });
  const encryption = flags.encryption?.toUpperCase() || undefined;
  if (encryption !== undefined && !isOneOf(ENCRYPTION, encryption))
    throw new EcrxError(
      'VALIDATION_ERROR',
      `--encryption must be one of ${ENCRYPTION.join(', ')}, got '${flags.encryption}'`,
    );
  if (flags.kmsKey && !encryption?.startsWith('KMS'))
    throw new EcrxError('VALIDATION_ERROR', '--kms-key goes with --encryption KMS or KMS_DSSE');
  return {
    repositoryName: name,
    imageTagMutability: mutability,
    ...(exclusions.length
      ? { imageTagMutabilityExclusionFilters: exclusions.map((filter) => ({ filterType: 'WILDCARD', filter })) }
      : {}),
    ...(flags.scanOnPush ? { imageScanningConfiguration: { scanOnPush: true } } : {}),
    ...(encryption
      ? { encryptionConfiguration: { encryptionType: encryption, ...(flags.kmsKey ? { kmsKey: flags.kmsKey } : {}) } }
      : {}),
  };
}

export async function reposCreate(name: string, flags: ReposCreateFlags, signal: AbortSignal): Promise<void> {
  const request = requestOf(name, flags);
  const { reporter, ecr } = await openSession(flags, 'repos create');
  try {
    reporter.phase(`creating ${name}`);
    const out = await ecr
      .request('CreateRepository', ecr.withRegistry(request), `Creating repository ${name}`, { signal })
      .catch((err: unknown) => {
        if (err instanceof EcrxError && err.code === 'ALREADY_EXISTS')
          throw new EcrxError('ALREADY_EXISTS', `Repository ${name} already exists`, {
            hint: '`ecrx repos` lists the repositories; pick another name.',
            cause: err,
            details: err.details,
          });
        throw err;
      });
    reporter.stop();
    const r = out.repository ?? {};
    const data = {
      name: r.repositoryName,
      uri: r.repositoryUri,
      registryId: r.registryId,
      tagMutability: r.imageTagMutability,
      mutabilityExclusions: (r.imageTagMutabilityExclusionFilters ?? []).map((f) => f.filter),
      scanOnPush: Boolean(r.imageScanningConfiguration?.scanOnPush),
      encryption: r.encryptionConfiguration?.encryptionType ?? null,
      kmsKey: r.encryptionConfiguration?.kmsKey ?? null,
    };
    printSuccess(
      flags,
      data,
      () =>
        `Created ${data.uri} (tags ${data.tagMutability}${data.mutabilityExclusions.length ? ` except ${data.mutabilityExclusions.join(', ')}` : ''}; scan on push ${data.scanOnPush ? 'on' : 'off'}; encryption ${data.encryption ?? 'AES256'})`,
    );
  } finally {
    reporter.stop();
    ecr.destroy();
  }
}
