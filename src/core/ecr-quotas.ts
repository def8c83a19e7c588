/**
 * ECR's default API rates per account and region, requests per second, from the ECR user guide's "Amazon ECR
 * service quotas" page (all adjustable there; these are what a new account gets). One table for the client's pacer
 * (ecr/pacer.ts), the emulator's `--quotas ecr` (serve/token-bucket.ts) and sync's ceilings (sync/shard.ts).
 * Operations not listed have no request quota.
 */
export const ECR_DEFAULT_RATES = {
  BatchGetImage: 2000,
  GetDownloadUrlForLayer: 3000,
  BatchCheckLayerAvailability: 1000,
  InitiateLayerUpload: 100,
  UploadLayerPart: 500,
  CompleteLayerUpload: 100,
  PutImage: 10,
  GetAuthorizationToken: 500,
} as const satisfies Readonly<Record<string, number>>;
