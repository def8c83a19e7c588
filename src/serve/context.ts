import type { ExclusionFilter, Store, RepoRecord } from './store.js';
import type { Faults } from './faults.js';
import type { Link } from './link.js';
import { ApiError } from './api-error.js';

export interface ServerOptions {
  region: string;
  accountId: string;
  urlTtlSeconds: number;
  /** When set, requests must be signed with this key pair. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** How long a restore from the archive storage class takes (ECR: up to 20 minutes), in seconds. */
  restoreDelaySeconds?: number;
  /**
   * How long an upload with no new part is kept before it is forgotten (UploadNotFoundException). ECR does not
   * document its own expiry; a day is a guess that outlasts any real push.
   */
  uploadExpirySeconds?: number;
}

export interface Context {
  store: Store;
  options: ServerOptions;
  faults: Faults;
  /** Latency, download pacing and request quotas (all off unless asked for). */
  link: Link;
  /** The base URL clients reached us on, used to build download URLs (`http://127.0.0.1:PORT`). */
  baseUrl: () => string;
  presign: (registryId: string, repositoryName: string, digest: string) => string;
}

/**
 * A request body after validate.ts checked it against the model of the operation being handled (types, lengths,
 * enums and required members). Each member is typed as the operations that read it receive it: a member an
 * operation requires is not optional here, because an operation reads only the members its own model has.
 */
export interface Input {
  registryId?: string;
  repositoryName: string;
  repositoryNames?: string[];
  registryIds?: string[];
  imageTag?: string;
  imageDigest?: string;
  imageId?: { imageDigest?: string; imageTag?: string };
  imageIds?: { imageDigest?: string; imageTag?: string }[];
  imageManifest: string;
  imageManifestMediaType?: string;
  acceptedMediaTypes?: string[];
  imageTagMutability: string;
  imageTagMutabilityExclusionFilters?: ExclusionFilter[];
  imageScanningConfiguration?: { scanOnPush?: boolean };
  encryptionConfiguration?: { encryptionType?: string; kmsKey?: string };
  filter?: { tagStatus?: string; imageStatus?: string; artifactTypes?: string[]; artifactStatus?: string };
  force?: boolean;
  subjectId: { imageDigest: string };
  targetStorageClass: string;
  layerDigest: string;
  layerDigests?: string[];
  uploadId: string;
  layerPartBlob?: string;
  partFirstByte: number;
  partLastByte: number;
  maxResults?: number;
  nextToken?: string;
  [member: string]: unknown;
}
export type Handler = (ctx: Context, input: Input) => Promise<unknown> | unknown;

export const registryOf = (ctx: Context, input: Input): string => input.registryId ?? ctx.options.accountId;

export function requireRepo(ctx: Context, input: Input): RepoRecord {
  const registryId = registryOf(ctx, input);
  const repo = ctx.store.getRepo(registryId, input.repositoryName);
  if (!repo) {
    throw new ApiError(
      'RepositoryNotFoundException',
      `The repository with name '${input.repositoryName}' does not exist in the registry with id '${registryId}'`,
    );
  }
  return repo;
}

export const epochSeconds = (ms: number) => ms / 1000;
