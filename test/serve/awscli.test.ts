/** The real AWS CLI drives every layer operation against `ecrx serve` and gets ECR's own error names. */
import { awsCli } from '../helpers/aws-cli.js';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe, type Serve } from '../helpers/serve.js';
import { describeWithTool } from '../helpers/tools.js';
import { makeImage, sha256, randomData } from '../helpers/ecr.js';

const MiB = 1024 * 1024;

let serve: Serve;
let work: string;

const aws = (...args: string[]) => awsCli(serve.endpoint, ['ecr', ...args]);

describeWithTool('aws', 'AWS CLI against ecrx serve', () => {
  beforeAll(async () => {
    serve = await startServe();
    work = mkdtempSync(join(tmpdir(), 'ecrx-awscli-'));
  });
  afterAll(async () => {
    await serve?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('uploads a layer in parts, puts an image, downloads the layer byte for byte', async () => {
    expect(await aws('create-repository', '--repository-name', 'cli/app')).toExitWith(0);
    const layer = randomData(7 * MiB + 3);
    const init = await aws('initiate-layer-upload', '--repository-name', 'cli/app');
    expect(init.json.partSize).toBe(10485760);
    const uploadId = String(init.json.uploadId);
    const cut = 5 * MiB;
    writeFileSync(join(work, 'p1'), layer.subarray(0, cut));
    writeFileSync(join(work, 'p2'), layer.subarray(cut));
    const p1 = await aws(
      'upload-layer-part',
      '--repository-name',
      'cli/app',
      '--upload-id',
      uploadId,
      '--part-first-byte',
      '0',
      '--part-last-byte',
      String(cut - 1),
      '--layer-part-blob',
      `fileb://${join(work, 'p1')}`,
    );
    expect(p1.json.lastByteReceived).toBe(cut - 1);
    const dup = await aws(
      'upload-layer-part',
      '--repository-name',
      'cli/app',
      '--upload-id',
      uploadId,
      '--part-first-byte',
      '0',
      '--part-last-byte',
      String(cut - 1),
      '--layer-part-blob',
      `fileb://${join(work, 'p1')}`,
    );
    expect(dup.code).not.toBe(0);
    expect(dup.stderr).toContain('InvalidLayerPartException');
    await aws(
      'upload-layer-part',
      '--repository-name',
      'cli/app',
      '--upload-id',
      uploadId,
      '--part-first-byte',
      String(cut),
      '--part-last-byte',
      String(layer.length - 1),
      '--layer-part-blob',
      `fileb://${join(work, 'p2')}`,
    );
    const done = await aws(
      'complete-layer-upload',
      '--repository-name',
      'cli/app',
      '--upload-id',
      uploadId,
      '--layer-digests',
      sha256(layer),
    );
    expect(done.json.layerDigest).toBe(sha256(layer));

    const img = makeImage([]);
    // the image's single layer is the one uploaded above
    const manifest = JSON.stringify({
      ...JSON.parse(img.manifest),
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
    });
    writeFileSync(join(work, 'config'), img.config);
    const cinit = await aws('initiate-layer-upload', '--repository-name', 'cli/app');
    await aws(
      'upload-layer-part',
      '--repository-name',
      'cli/app',
      '--upload-id',
      String(cinit.json.uploadId),
      '--part-first-byte',
      '0',
      '--part-last-byte',
      String(img.config.length - 1),
      '--layer-part-blob',
      `fileb://${join(work, 'config')}`,
    );
    await aws(
      'complete-layer-upload',
      '--repository-name',
      'cli/app',
      '--upload-id',
      String(cinit.json.uploadId),
      '--layer-digests',
      sha256(img.config),
    );
    writeFileSync(join(work, 'manifest.json'), manifest);
    const put = await aws(
      'put-image',
      '--repository-name',
      'cli/app',
      '--image-tag',
      'v1',
      '--image-manifest',
      `file://${join(work, 'manifest.json')}`,
    );
    expect(put.json.image.imageId.imageDigest).toBe(sha256(manifest));

    const avail = await aws(
      'batch-check-layer-availability',
      '--repository-name',
      'cli/app',
      '--layer-digests',
      sha256(layer),
      sha256('absent'),
    );
    expect(avail.json.layers[0].layerAvailability).toBe('AVAILABLE');
    expect(avail.json.failures[0].failureCode).toBe('MissingLayerDigest');

    const got = await aws('batch-get-image', '--repository-name', 'cli/app', '--image-ids', 'imageTag=v1');
    expect(got.json.images[0].imageManifest).toBe(manifest);

    const url = await aws(
      'get-download-url-for-layer',
      '--repository-name',
      'cli/app',
      '--layer-digest',
      sha256(layer),
    );
    const res = await fetch(String(url.json.downloadUrl));
    expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(layer));

    const listed = await aws('list-images', '--repository-name', 'cli/app');
    expect(listed.json.imageIds).toEqual([{ imageDigest: sha256(manifest), imageTag: 'v1' }]);
    const described = await aws('describe-images', '--repository-name', 'cli/app');
    expect(described.json.imageDetails[0].imageSizeInBytes).toBe(layer.length);
    const deleted = await aws('batch-delete-image', '--repository-name', 'cli/app', '--image-ids', 'imageTag=v1');
    expect(deleted.json.imageIds).toHaveLength(1);
  });

  test('errors come back with ECR exception names', async () => {
    await aws('create-repository', '--repository-name', 'cli/errors');
    const missingRepo = await aws('describe-images', '--repository-name', 'cli/none');
    expect(missingRepo.stderr).toContain('RepositoryNotFoundException');
    const small = await aws('initiate-layer-upload', '--repository-name', 'cli/errors');
    writeFileSync(join(work, 'tiny'), Buffer.from('tiny'));
    await aws(
      'upload-layer-part',
      '--repository-name',
      'cli/errors',
      '--upload-id',
      String(small.json.uploadId),
      '--part-first-byte',
      '0',
      '--part-last-byte',
      '3',
      '--layer-part-blob',
      `fileb://${join(work, 'tiny')}`,
    );
    const wrong = await aws(
      'complete-layer-upload',
      '--repository-name',
      'cli/errors',
      '--upload-id',
      String(small.json.uploadId),
      '--layer-digests',
      sha256('not tiny'),
    );
    expect(wrong.stderr).toContain('InvalidLayerException');
    const gone = await aws(
      'complete-layer-upload',
      '--repository-name',
      'cli/errors',
      '--upload-id',
      String(small.json.uploadId),
      '--layer-digests',
      sha256('tiny'),
    );
    expect(gone.stderr).toContain('UploadNotFoundException');
    const empty = await aws('initiate-layer-upload', '--repository-name', 'cli/errors');
    const emptyErr = await aws(
      'complete-layer-upload',
      '--repository-name',
      'cli/errors',
      '--upload-id',
      String(empty.json.uploadId),
      '--layer-digests',
      sha256(''),
    );
    expect(emptyErr.stderr).toContain('EmptyUploadException');
    const notFound = await aws(
      'get-download-url-for-layer',
      '--repository-name',
      'cli/errors',
      '--layer-digest',
      sha256('zzz'),
    );
    expect(notFound.stderr).toContain('LayersNotFoundException');
    writeFileSync(join(work, 'm.json'), makeImage([5]).manifest);
    const layersMissing = await aws(
      'put-image',
      '--repository-name',
      'cli/errors',
      '--image-manifest',
      `file://${join(work, 'm.json')}`,
    );
    expect(layersMissing.stderr).toContain('LayersNotFoundException');
    const token = await aws('get-authorization-token');
    expect(Buffer.from(String(token.json.authorizationData[0].authorizationToken), 'base64').toString()).toMatch(
      /^AWS:/,
    );
  });
});
