import type { Store, RepoRecord } from './store.js';
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

export type Input = Record<string, any>;
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
