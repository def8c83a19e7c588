/**
 * The demo: an embedded `ecrx serve` on a free loopback port, and the ECR layer operations run against it with
 * the AWS SDK, every step printed with what it proved.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../server/server.js';

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export async function runDemo(flags: { keep?: boolean }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ecrx-demo-'));
  const server = await startServer({ dataDir: join(dir, 'serve'), port: 0 });
  const say = (s: string) => process.stdout.write(`${s}\n`);
  say(`ecrx demo: embedded ecrx serve listening on ${server.endpoint} (no AWS account needed)`);
  const { ECRClient, CreateRepositoryCommand, InitiateLayerUploadCommand, UploadLayerPartCommand, CompleteLayerUploadCommand, PutImageCommand, BatchGetImageCommand, GetDownloadUrlForLayerCommand } = await import('@aws-sdk/client-ecr');
  const ecr = new ECRClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIAECRXDEMO00000000', secretAccessKey: 'demo' } });
  try {
    const repositoryName = 'demo/app';
    await ecr.send(new CreateRepositoryCommand({ repositoryName }));
    say(`  CreateRepository       ${repositoryName}`);
    const layer = randomBytes(12 * 1024 * 1024);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: {} }));
    for (const blob of [config, layer]) {
      const { uploadId, partSize } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName }));
      let parts = 0;
      for (let off = 0; off < blob.length; off += partSize!) {
        const part = blob.subarray(off, off + partSize!);
        await ecr.send(new UploadLayerPartCommand({ repositoryName, uploadId, partFirstByte: off, partLastByte: off + part.length - 1, layerPartBlob: part }));
        parts++;
      }
      await ecr.send(new CompleteLayerUploadCommand({ repositoryName, uploadId, layerDigests: [sha256(blob)] }));
      say(`  uploaded blob          ${sha256(blob).slice(0, 19)}… ${blob.length} bytes in ${parts} part(s) of at most ${partSize}`);
    }
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
    });
    const put = await ecr.send(new PutImageCommand({ repositoryName, imageManifest: manifest, imageTag: 'v1' }));
    say(`  PutImage               ${repositoryName}:v1 -> ${put.image!.imageId!.imageDigest}`);
    const got = await ecr.send(new BatchGetImageCommand({ repositoryName, imageIds: [{ imageTag: 'v1' }] }));
    const fetched = got.images![0].imageManifest!;
    say(`  BatchGetImage          manifest sha256 ${sha256(fetched) === put.image!.imageId!.imageDigest ? 'verified' : 'MISMATCH'}`);
    const { downloadUrl } = await ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName, layerDigest: sha256(layer) }));
    const res = await fetch(downloadUrl!);
    const body = Buffer.from(await res.arrayBuffer());
    say(`  GetDownloadUrlForLayer pre-signed URL served ${body.length} bytes, sha256 ${sha256(body) === sha256(layer) ? 'verified' : 'MISMATCH'}`);
    if (sha256(body) !== sha256(layer) || sha256(fetched) !== put.image!.imageId!.imageDigest) process.exitCode = 5;
    say('ecrx demo: done');
  } finally {
    ecr.destroy();
    await server.close();
    if (!flags.keep) rmSync(dir, { recursive: true, force: true });
    else say(`ecrx demo: kept ${dir}`);
  }
}
