/** Direct AWS SDK access to an emulator, for setting up and checking state independently of the ecrx client. */
import { createHash, randomBytes } from 'node:crypto';
import {
  ECRClient,
  CreateRepositoryCommand,
  InitiateLayerUploadCommand,
  UploadLayerPartCommand,
  CompleteLayerUploadCommand,
  PutImageCommand,
} from '@aws-sdk/client-ecr';

export const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export function sdk(
  endpoint: string,
  creds = { accessKeyId: 'AKIAECRXTESTKEY00001', secretAccessKey: 'ecrx-test-secret' },
): ECRClient {
  return new ECRClient({ endpoint, region: 'us-east-1', credentials: creds, maxAttempts: 1 });
}

/** Uploads a blob in parts of `partSize` (default: one part) and returns its digest. */
export async function uploadBlob(
  ecr: ECRClient,
  repositoryName: string,
  data: Buffer,
  partSize = data.length || 1,
): Promise<string> {
  const digest = sha256(data);
  const { uploadId } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName }));
  for (let off = 0; off < data.length; off += partSize) {
    const part = data.subarray(off, Math.min(off + partSize, data.length));
    await ecr.send(
      new UploadLayerPartCommand({
        repositoryName,
        uploadId,
        partFirstByte: off,
        partLastByte: off + part.length - 1,
        layerPartBlob: part,
      }),
    );
  }
  await ecr.send(new CompleteLayerUploadCommand({ repositoryName, uploadId, layerDigests: [digest] }));
  return digest;
}

export interface TestImage {
  manifest: string;
  digest: string;
  config: Buffer;
  layers: Buffer[];
}

/** Builds an OCI image manifest over random layers (not real tars: the emulator does not look inside blobs). */
export function makeImage(
  layerSizes: number[],
  opts: { os?: string; architecture?: string; mediaType?: string } = {},
): TestImage {
  const layers = layerSizes.map((n) => randomBytes(n));
  const config = Buffer.from(
    JSON.stringify({
      architecture: opts.architecture ?? 'amd64',
      os: opts.os ?? 'linux',
      rootfs: { type: 'layers', diff_ids: layers.map(sha256) },
      config: {},
    }),
  );
  const docker = opts.mediaType === 'application/vnd.docker.distribution.manifest.v2+json';
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: docker ? opts.mediaType : 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json',
      digest: sha256(config),
      size: config.length,
    },
    layers: layers.map((l) => ({
      mediaType: docker
        ? 'application/vnd.docker.image.rootfs.diff.tar.gzip'
        : 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest: sha256(l),
      size: l.length,
    })),
  });
  return { manifest, digest: sha256(manifest), config, layers };
}

export async function createRepo(ecr: ECRClient, repositoryName: string, imageTagMutability?: 'MUTABLE' | 'IMMUTABLE') {
  await ecr.send(new CreateRepositoryCommand({ repositoryName, imageTagMutability }));
}

/** Uploads an image's blobs and puts its manifest. */
export async function pushImage(
  ecr: ECRClient,
  repositoryName: string,
  img: TestImage,
  imageTag?: string,
): Promise<void> {
  for (const blob of [img.config, ...img.layers]) await uploadBlob(ecr, repositoryName, blob);
  await ecr.send(new PutImageCommand({ repositoryName, imageManifest: img.manifest, imageTag }));
}

export const randomData = (n: number) => randomBytes(n);

/** Uploads a built image (real tar layers) and puts its manifest, optionally tagged. */
export async function pushBuilt(
  ecr: ECRClient,
  repositoryName: string,
  img: import('../../src/oci/build.js').BuiltImage,
  imageTag?: string,
): Promise<void> {
  for (const blob of [img.config, ...img.layers]) {
    try {
      await uploadBlob(ecr, repositoryName, blob.bytes);
    } catch (err) {
      if ((err as Error).name !== 'LayerAlreadyExistsException') throw err;
    }
  }
  try {
    await ecr.send(
      new PutImageCommand({
        repositoryName,
        imageManifest: img.manifest.bytes.toString('utf8'),
        imageTag,
        imageManifestMediaType: img.manifest.mediaType,
      }),
    );
  } catch (err) {
    if ((err as Error).name !== 'ImageAlreadyExistsException') throw err;
  }
}

export async function putManifest(
  ecr: ECRClient,
  repositoryName: string,
  bytes: Buffer,
  imageTag?: string,
): Promise<void> {
  await ecr.send(new PutImageCommand({ repositoryName, imageManifest: bytes.toString('utf8'), imageTag }));
}
