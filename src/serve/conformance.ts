/**
 * What `ecrx serve` promises per operation, and where it knowingly differs from ECR. The conformance table in
 * docs/serve.md is rendered from this and from the API model (validation, paging limits, the model's error list),
 * and a test keeps the file, this declaration, the model and the server's behaviour in step.
 */
import { inputShapeOf, modelErrorsOf, pagingLimitsOf, shapes } from './model.js';
import { DIGEST_PATTERN, TAG_PATTERN } from './ecr-rules.js';

export interface OperationConformance {
  /** Exceptions this operation itself answers (each must be in the model's list for it). */
  errors: string[];
  /** `failureCode`s it reports inside a successful answer. */
  failureCodes?: string[];
  /** Rules ECR applies beyond the model, which the emulator applies too. */
  rules?: string[];
  /** Where the emulator knowingly differs from ECR, or chose where ECR's behaviour is not documented. */
  differences?: string[];
}

/**
 * Errors every operation may answer, from the protocol rather than the operation: SigV4 (with AWS's texts),
 * SerializationException for a body that is not the input shape, UnknownOperationException for a target it does not
 * serve, and the two injected faults (ThrottlingException, ServerException 500) when asked for with --fault-*.
 */
export const COMMON_ERRORS = [
  'MissingAuthenticationTokenException',
  'IncompleteSignatureException',
  'InvalidSignatureException',
  'UnrecognizedClientException',
  'SerializationException',
  'UnknownOperationException',
  'ThrottlingException',
] as const;

const repoErrors = ['InvalidParameterException', 'RepositoryNotFoundException'];
const tagRule = `\`imageTag\` must match \`${TAG_PATTERN}\``;
const digestRule = `\`imageDigest\` must match \`${DIGEST_PATTERN}\``;
const imageIdFailures = [
  'InvalidImageDigest',
  'InvalidImageTag',
  'ImageTagDoesNotMatchDigest',
  'ImageNotFound',
  'MissingDigestAndTag',
];
const offsetToken =
  'nextToken is opaque but is an offset: a listing that changes between pages may skip or repeat an item';

export const conformance: Record<string, OperationConformance> = {
  CreateRepository: {
    errors: ['InvalidParameterException', 'RepositoryAlreadyExistsException'],
    rules: ['`imageTagMutabilityExclusionFilters` given exactly when the mutability is `*_WITH_EXCLUSION`'],
    differences: ['`tags` are accepted and not kept'],
  },
  DescribeRepositories: {
    errors: repoErrors,
    rules: ['`maxResults`/`nextToken` not together with `repositoryNames`'],
    differences: [offsetToken],
  },
  DeleteRepository: {
    errors: [...repoErrors, 'RepositoryNotEmptyException'],
  },
  PutImageTagMutability: {
    errors: repoErrors,
    rules: ['`imageTagMutabilityExclusionFilters` given exactly when the mutability is `*_WITH_EXCLUSION`'],
  },
  GetAuthorizationToken: {
    errors: ['InvalidParameterException'],
    differences: [
      'the token decodes to `AWS:<password>`, but the password means something only to this emulator; it expires after 12 hours',
    ],
  },
  BatchGetImage: {
    errors: repoErrors,
    failureCodes: [...imageIdFailures, 'ImageInaccessible'],
    rules: [
      `ids: ${tagRule}, ${digestRule} (else failure InvalidImageTag / InvalidImageDigest)`,
      'an ARCHIVED or ACTIVATING image: failure `ImageInaccessible`',
      '`acceptedMediaTypes`: the stored form when accepted; by tag only, the documented conversions Docker v2 schema 2 -> OCI or schema 1, OCI -> Docker v2 schema 2; a pull by digest is never converted',
    ],
    differences: [
      'no acceptable form: failure `ImageNotFound` with a reason naming the types (the model has no failure code of its own for this)',
      'a converted manifest is answered with the sha256 of its own bytes as `imageDigest` (ECR does not document what it answers)',
      'schema 1 is produced unsigned (`v1+json`), never `v1+prettyjws`; history entries of empty layers are left out of it',
      'without `acceptedMediaTypes` the stored form is answered (ECR documents no default)',
    ],
  },
  PutImage: {
    errors: [
      ...repoErrors,
      'ImageAlreadyExistsException',
      'LayersNotFoundException',
      'ReferencedImagesNotFoundException',
      'ImageTagAlreadyExistsException',
      'ImageDigestDoesNotMatchException',
    ],
    rules: [
      tagRule,
      'a manifest without `mediaType` needs `imageManifestMediaType` (else `Invalid JSON syntax`)',
      "every blob the manifest names must be a layer of this repository; an index's children must be images of it",
    ],
    differences: [
      "`imageManifestMediaType` that contradicts the manifest's `mediaType`, or a type ECR does not store: InvalidParameterException with ecrx's text",
    ],
  },
  ListImages: {
    errors: repoErrors,
    rules: ['`filter.imageStatus` ACTIVE (default), ARCHIVED, ACTIVATING or ANY'],
    differences: [offsetToken],
  },
  DescribeImages: {
    errors: [...repoErrors, 'ImageNotFoundException'],
    rules: [
      `ids: ${tagRule}, ${digestRule} (else InvalidParameterException)`,
      '`maxResults`/`nextToken` not together with `imageIds`',
      "an index's `imageSizeInBytes` is its largest manifest's",
    ],
    differences: [
      offsetToken,
      'no scanning, so no scan status or findings',
      'the `filter.imageStatus` also applies to `imageIds` (ECR does not document it)',
    ],
  },
  BatchDeleteImage: {
    errors: repoErrors,
    failureCodes: [...imageIdFailures, 'ImageReferencedByManifestList'],
    rules: [`ids: ${tagRule}, ${digestRule} (else failure)`],
  },
  BatchCheckLayerAvailability: {
    errors: repoErrors,
    failureCodes: ['InvalidLayerDigest', 'MissingLayerDigest'],
    rules: ['a layer only archived or restoring images use is `ARCHIVED`'],
  },
  GetDownloadUrlForLayer: {
    errors: [...repoErrors, 'LayersNotFoundException', 'LayerInaccessibleException'],
    rules: [
      'only for a layer an image of the repository references',
      'a layer only archived images use: `LayerInaccessibleException`',
    ],
    differences: [
      'the URL points at this server (`/starport-layer-bucket/...`), signed with a key that lives as long as the process; it is judged as S3 judges one (see below)',
    ],
  },
  InitiateLayerUpload: {
    errors: repoErrors,
    differences: [
      "`partSize` is always 10485760; an upload with no part for `--upload-expiry` seconds (default 86400; ECR's own expiry is undocumented) is forgotten, and then answered `UploadNotFoundException`",
    ],
  },
  UploadLayerPart: {
    errors: [...repoErrors, 'UploadNotFoundException', 'InvalidLayerPartException'],
    rules: [
      'parts contiguous from byte 0, `partLastByte` inclusive; `InvalidLayerPartException` carries `lastValidByteReceived`',
      '`layerPartBlob` strict base64 (else SerializationException)',
      'an upload may be continued by any authenticated client, not only the process that initiated it (the state is keyed by `uploadId`)',
    ],
    differences: [
      "a part may be as large as the model allows (20971520 bytes; AWS's quota page says 10 MiB); the 4200-part and 52000 MiB quotas are not enforced",
    ],
  },
  ListImageReferrers: {
    errors: repoErrors,
    rules: [
      'referrers are images whose manifest `subject` names `subjectId.imageDigest`',
      '`filter.artifactTypes` (up to 5), `filter.artifactStatus` ACTIVE (default), ARCHIVED, ACTIVATING or ANY',
    ],
    differences: [offsetToken, "a referrer's `size` is its manifest's length in bytes"],
  },
  UpdateImageStorageClass: {
    errors: [...repoErrors, 'ImageNotFoundException', 'ImageStorageClassUpdateNotSupportedException'],
    rules: [
      'ARCHIVE: ACTIVE -> ARCHIVED at once; STANDARD: ARCHIVED -> ACTIVATING -> ACTIVE after `--restore-delay` seconds (default 3; ECR: up to about 20 minutes)',
    ],
    differences: [
      'archiving an index archives its children, archiving a subject its referrers (ECR does not document either)',
      "`ImageStorageClassUpdateNotSupportedException` for an index's child, or to archive an image being restored (ECR's cases are not documented)",
      're-pushing an archived image makes it ACTIVE again',
    ],
  },
  CompleteLayerUpload: {
    errors: [
      ...repoErrors,
      'UploadNotFoundException',
      'InvalidLayerException',
      'LayerPartTooSmallException',
      'LayerAlreadyExistsException',
      'EmptyUploadException',
    ],
    rules: ['exactly one digest (the model allows 100)', 'every part but the last at least 5 MiB, checked here'],
  },
};

/** A member's constraints from the model, in a few words. */
function constraintsOf(shapeName: string, depth = 0): string {
  const s = shapes[shapeName];
  const range = (unit: string) => {
    if (s.min !== undefined && s.max !== undefined) return `${s.min}-${s.max}${unit}`;
    if (s.max !== undefined) return `at most ${s.max}${unit}`;
    return s.min ? `at least ${s.min}${unit}` : '';
  };
  const parts = (...xs: string[]) => xs.filter(Boolean).join(', ');
  switch (s.type) {
    case 'string':
      return parts(range(' chars'), s.enum ? s.enum.join('|') : '', s.pattern ? `\`${s.pattern}\`` : '');
    case 'blob':
      return parts(range(' bytes'), 'base64');
    case 'integer':
    case 'long':
      return s.min !== undefined && s.max === undefined ? `≥ ${s.min}` : range('');
    case 'list': {
      const inner = depth < 1 ? constraintsOf(s.member!.shape, depth + 1) : '';
      return [range(' items'), inner ? `of (${inner})` : ''].filter(Boolean).join(' ');
    }
    case 'structure':
      if (depth > 1) return '';
      return Object.entries(s.members ?? {})
        .map(([n, m]) => {
          const c = constraintsOf(m.shape, depth + 1);
          return `${n}${(s.required ?? []).includes(n) ? '*' : ''}${c ? ` ${c}` : ''}`;
        })
        .join('; ');
    default:
      return s.type;
  }
}

function validationCell(operation: string, extra: string[]): string {
  const input = shapes[inputShapeOf(operation)!];
  const members = Object.entries(input.members ?? {}).map(([name, m]) => {
    const c = constraintsOf(m.shape);
    return `\`${name}\`${(input.required ?? []).includes(name) ? '*' : ''}${c ? ` ${c}` : ''}`;
  });
  return [...members, ...extra.map((r) => `**ECR:** ${r}`)].join('<br>');
}

function pagingCell(operation: string): string {
  const p = pagingLimitsOf(operation);
  return p ? `default ${p.documentedDefault}, ${p.min}-${p.max}` : '—';
}

function errorsCell(operation: string, c: OperationConformance): string {
  const never = modelErrorsOf(operation).filter((e) => !c.errors.includes(e) && e !== 'ServerException');
  const failures = c.failureCodes?.length ? `<br>failures: ${c.failureCodes.join(', ')}` : '';
  return `${c.errors.join(', ')}${failures}${never.length ? `<br>never (no KMS, quotas, tags or pull-through cache here): ${never.join(', ')}` : ''}`;
}

const escapeCell = (s: string) => s.replace(/\|/g, '\\|').replace(/->/g, '→');

/** The conformance table, one row per operation ecrx serve implements. */
export function renderConformanceTable(operations: string[]): string {
  const rows = operations.map((op) => {
    const c = conformance[op];
    if (!c) throw new Error(`no conformance entry for ${op}`);
    return `| ${op} | ${escapeCell(validationCell(op, c.rules ?? []))} | ${pagingCell(op)} | ${errorsCell(op, c)} | ${escapeCell((c.differences ?? ['—']).join('<br>'))} |`;
  });
  return [
    "| Operation | Validation (`*` required; model, then ECR's own rules) | Paging (`maxResults`) | Errors it answers | Known differences |",
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

export const TABLE_BEGIN =
  '<!-- conformance-table:begin (generated from src/serve/conformance.ts and the model: npm run docs:serve) -->';
export const TABLE_END = '<!-- conformance-table:end -->';

/** `doc` with the text between the markers replaced by a freshly rendered table. */
export function withTable(doc: string, operations: string[]): string {
  const begin = doc.indexOf(TABLE_BEGIN);
  const end = doc.indexOf(TABLE_END);
  if (begin < 0 || end < begin) throw new Error('the conformance table markers are missing');
  return `${doc.slice(0, begin + TABLE_BEGIN.length)}\n${renderConformanceTable(operations)}\n${doc.slice(end)}`;
}
