/** `ecrx serve` driven through every operation and error by the AWS SDK v3, over real HTTP on loopback. */
import { errorOf } from '../helpers/error-of.js';
import {
  ECRClient,
  BatchCheckLayerAvailabilityCommand,
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  CompleteLayerUploadCommand,
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  GetAuthorizationTokenCommand,
  GetDownloadUrlForLayerCommand,
  InitiateLayerUploadCommand,
  ListImagesCommand,
  PutImageCommand,
  PutImageTagMutabilityCommand,
  UploadLayerPartCommand,
  DescribeRegistryCommand,
} from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../helpers/serve.js';
import { sdk, sha256, uploadBlob, makeImage, createRepo, pushImage, randomData } from '../helpers/ecr.js';

const MiB = 1024 * 1024;

let serve: Serve;
let ecr: ECRClient;

beforeAll(async () => {
  serve = await startServe(['--url-ttl', '3600']);
  ecr = sdk(serve.endpoint);
});
afterAll(async () => {
  ecr?.destroy();
  await serve?.dispose();
});

describe('repositories', () => {
  test('create, describe, duplicate, not found, not empty, force delete', async () => {
    const created = await ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/repo-a' }));
    expect(created.repository).toMatchObject({
      repositoryName: 'team/repo-a',
      registryId: '000000000000',
      repositoryUri: '000000000000.dkr.ecr.us-east-1.amazonaws.com/team/repo-a',
      repositoryArn: 'arn:aws:ecr:us-east-1:000000000000:repository/team/repo-a',
      imageTagMutability: 'MUTABLE',
    });
    expect(created.repository!.createdAt).toBeInstanceOf(Date);

    const dup = await errorOf(ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/repo-a' })));
    expect(dup.name).toBe('RepositoryAlreadyExistsException');
    expect(dup.$metadata.httpStatusCode).toBe(400);

    const described = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['team/repo-a'] }));
    expect(described.repositories!.map((r) => r.repositoryName)).toEqual(['team/repo-a']);

    const missing = await errorOf(ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['nope'] })));
    expect(missing.name).toBe('RepositoryNotFoundException');
    expect(missing.message).toContain("'nope'");

    await pushImage(ecr, 'team/repo-a', makeImage([10]), 'v1');
    const notEmpty = await errorOf(ecr.send(new DeleteRepositoryCommand({ repositoryName: 'team/repo-a' })));
    expect(notEmpty.name).toBe('RepositoryNotEmptyException');
    const deleted = await ecr.send(new DeleteRepositoryCommand({ repositoryName: 'team/repo-a', force: true }));
    expect(deleted.repository!.repositoryName).toBe('team/repo-a');
    const gone = await errorOf(ecr.send(new DeleteRepositoryCommand({ repositoryName: 'team/repo-a' })));
    expect(gone.name).toBe('RepositoryNotFoundException');
  });

  test('names, tags and lists are validated against the model', async () => {
    for (const bad of ['A', 'Upper/Case', 'a', 'trailing-', '-lead', 'x'.repeat(257)]) {
      const err = await errorOf(ecr.send(new CreateRepositoryCommand({ repositoryName: bad })));
      expect(err.name).toBe('InvalidParameterException');
    }
    await createRepo(ecr, 'valid');
    const tooMany = await errorOf(
      ecr.send(
        new BatchGetImageCommand({
          repositoryName: 'valid',
          imageIds: Array.from({ length: 101 }, (_, i) => ({ imageTag: `t${i}` })),
        }),
      ),
    );
    expect(tooMany.name).toBe('InvalidParameterException');
    expect(tooMany.message).toContain('imageIds');
    const badRegistry = await errorOf(ecr.send(new DescribeRepositoriesCommand({ registryId: '12345' })));
    expect(badRegistry.name).toBe('InvalidParameterException');
  });

  test('describe pages with maxResults and nextToken', async () => {
    for (let i = 0; i < 5; i++) await createRepo(ecr, `paged/r${i}`);
    const names: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await ecr.send(new DescribeRepositoriesCommand({ maxResults: 2, nextToken }));
      names.push(...page.repositories!.map((r) => r.repositoryName!));
      nextToken = page.nextToken;
      pages++;
    } while (nextToken);
    expect(names.filter((n) => n.startsWith('paged/'))).toEqual([
      'paged/r0',
      'paged/r1',
      'paged/r2',
      'paged/r3',
      'paged/r4',
    ]);
    expect(pages).toBeGreaterThanOrEqual(3);
  });

  test('GetAuthorizationToken answers an AWS:<password> token and the registry endpoint', async () => {
    const out = await ecr.send(new GetAuthorizationTokenCommand({}));
    const data = out.authorizationData![0];
    expect(Buffer.from(data.authorizationToken!, 'base64').toString()).toMatch(/^AWS:.+/);
    expect(data.proxyEndpoint).toBe('https://000000000000.dkr.ecr.us-east-1.amazonaws.com');
    expect(data.expiresAt!.getTime()).toBeGreaterThan(Date.now());
  });

  test('operations it does not emulate get UnknownOperationException, not a crash', async () => {
    const err = await errorOf(ecr.send(new DescribeRegistryCommand({})));
    expect(err.name).toBe('UnknownOperationException');
    expect(err.message).toContain('DescribeRegistry');
    // and the server still answers
    await ecr.send(new DescribeRepositoriesCommand({}));
  });
});

describe('layer uploads', () => {
  beforeAll(() => createRepo(ecr, 'uploads'));

  test('InitiateLayerUpload answers a UUID and partSize 10485760', async () => {
    const out = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'uploads' }));
    expect(out.uploadId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(out.partSize).toBe(10485760);
  });

  test('parts must be contiguous; the error says where to resume', async () => {
    const data = randomData(6 * MiB);
    const { uploadId } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'uploads' }));
    const first = data.subarray(0, 5 * MiB);
    const out = await ecr.send(
      new UploadLayerPartCommand({
        repositoryName: 'uploads',
        uploadId,
        partFirstByte: 0,
        partLastByte: 5 * MiB - 1,
        layerPartBlob: first,
      }),
    );
    expect(out.lastByteReceived).toBe(5 * MiB - 1);
    // the same part again, as a client does when it lost the response
    const again = await errorOf(
      ecr.send(
        new UploadLayerPartCommand({
          repositoryName: 'uploads',
          uploadId,
          partFirstByte: 0,
          partLastByte: 5 * MiB - 1,
          layerPartBlob: first,
        }),
      ),
    );
    expect(again.name).toBe('InvalidLayerPartException');
    expect(again.lastValidByteReceived).toBe(5 * MiB - 1);
    expect(again.uploadId).toBe(uploadId);
    expect(again.repositoryName).toBe('uploads');
    // a gap
    const gap = await errorOf(
      ecr.send(
        new UploadLayerPartCommand({
          repositoryName: 'uploads',
          uploadId,
          partFirstByte: 5 * MiB + 1,
          partLastByte: 6 * MiB - 1,
          layerPartBlob: data.subarray(5 * MiB + 1),
        }),
      ),
    );
    expect(gap.name).toBe('InvalidLayerPartException');
    // a range that does not match the bytes sent
    const wrongRange = await errorOf(
      ecr.send(
        new UploadLayerPartCommand({
          repositoryName: 'uploads',
          uploadId,
          partFirstByte: 5 * MiB,
          partLastByte: 5 * MiB + 5,
          layerPartBlob: data.subarray(5 * MiB),
        }),
      ),
    );
    expect(wrongRange.name).toBe('InvalidLayerPartException');
    await ecr.send(
      new UploadLayerPartCommand({
        repositoryName: 'uploads',
        uploadId,
        partFirstByte: 5 * MiB,
        partLastByte: 6 * MiB - 1,
        layerPartBlob: data.subarray(5 * MiB),
      }),
    );
    const done = await ecr.send(
      new CompleteLayerUploadCommand({ repositoryName: 'uploads', uploadId, layerDigests: [sha256(data)] }),
    );
    expect(done.layerDigest).toBe(sha256(data));
  });

  test('a part over 20971520 bytes is refused', async () => {
    const { uploadId } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'uploads' }));
    const big = Buffer.alloc(20971521, 1);
    const err = await errorOf(
      ecr.send(
        new UploadLayerPartCommand({
          repositoryName: 'uploads',
          uploadId,
          partFirstByte: 0,
          partLastByte: big.length - 1,
          layerPartBlob: big,
        }),
      ),
    );
    expect(err.name).toBe('InvalidParameterException');
    expect(err.message).toContain('20971520');
  });

  test('a non-final part under 5 MiB fails only at CompleteLayerUpload', async () => {
    const data = randomData(5 * MiB + 10);
    const { uploadId } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'uploads' }));
    const cut = 5 * MiB - 1;
    await ecr.send(
      new UploadLayerPartCommand({
        repositoryName: 'uploads',
        uploadId,
        partFirstByte: 0,
        partLastByte: cut - 1,
        layerPartBlob: data.subarray(0, cut),
      }),
    );
    await ecr.send(
      new UploadLayerPartCommand({
        repositoryName: 'uploads',
        uploadId,
        partFirstByte: cut,
        partLastByte: data.length - 1,
        layerPartBlob: data.subarray(cut),
      }),
    );
    const err = await errorOf(
      ecr.send(new CompleteLayerUploadCommand({ repositoryName: 'uploads', uploadId, layerDigests: [sha256(data)] })),
    );
    expect(err.name).toBe('LayerPartTooSmallException');
  });

  test('digest mismatch, empty upload, unknown upload, existing layer, more than one digest', async () => {
    const data = randomData(1000);
    const { uploadId } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'uploads' }));
    await ecr.send(
      new UploadLayerPartCommand({
        repositoryName: 'uploads',
        uploadId,
        partFirstByte: 0,
        partLastByte: 999,
        layerPartBlob: data,
      }),
    );
    const mismatch = await errorOf(
      ecr.send(
        new CompleteLayerUploadCommand({ repositoryName: 'uploads', uploadId, layerDigests: [sha256('other')] }),
      ),
    );
    expect(mismatch.name).toBe('InvalidLayerException');

    const empty = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'uploads' }));
    const emptyErr = await errorOf(
      ecr.send(
        new CompleteLayerUploadCommand({
          repositoryName: 'uploads',
          uploadId: empty.uploadId,
          layerDigests: [sha256('')],
        }),
      ),
    );
    expect(emptyErr.name).toBe('EmptyUploadException');

    const unknown = await errorOf(
      ecr.send(
        new UploadLayerPartCommand({
          repositoryName: 'uploads',
          uploadId: '00000000-0000-4000-8000-000000000000',
          partFirstByte: 0,
          partLastByte: 0,
          layerPartBlob: Buffer.from('x'),
        }),
      ),
    );
    expect(unknown.name).toBe('UploadNotFoundException');

    const digest = await uploadBlob(ecr, 'uploads', data);
    const again = ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'uploads' }));
    const { uploadId: id2 } = await again;
    await ecr.send(
      new UploadLayerPartCommand({
        repositoryName: 'uploads',
        uploadId: id2,
        partFirstByte: 0,
        partLastByte: 999,
        layerPartBlob: data,
      }),
    );
    const exists = await errorOf(
      ecr.send(new CompleteLayerUploadCommand({ repositoryName: 'uploads', uploadId: id2, layerDigests: [digest] })),
    );
    expect(exists.name).toBe('LayerAlreadyExistsException');

    const { uploadId: id3 } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'uploads' }));
    const two = await errorOf(
      ecr.send(
        new CompleteLayerUploadCommand({
          repositoryName: 'uploads',
          uploadId: id3,
          layerDigests: [digest, sha256('b')],
        }),
      ),
    );
    expect(two.name).toBe('InvalidParameterException');
  });

  test('layers are scoped per repository', async () => {
    await createRepo(ecr, 'scope-a');
    await createRepo(ecr, 'scope-b');
    const digest = await uploadBlob(ecr, 'scope-a', randomData(100));
    const a = await ecr.send(
      new BatchCheckLayerAvailabilityCommand({ repositoryName: 'scope-a', layerDigests: [digest] }),
    );
    expect(a.layers).toEqual([{ layerDigest: digest, layerAvailability: 'AVAILABLE', layerSize: 100 }]);
    const b = await ecr.send(
      new BatchCheckLayerAvailabilityCommand({ repositoryName: 'scope-b', layerDigests: [digest, 'nonsense'] }),
    );
    expect(b.layers).toEqual([]);
    expect(b.failures).toEqual([
      { layerDigest: digest, failureCode: 'MissingLayerDigest', failureReason: 'Could not find layer' },
      { layerDigest: 'nonsense', failureCode: 'InvalidLayerDigest', failureReason: 'Invalid layer digest' },
    ]);
  });

  test('eight concurrent uploads to one repository all land', async () => {
    await createRepo(ecr, 'concurrent');
    const blobs = Array.from({ length: 8 }, () => randomData(6 * MiB));
    const clients = blobs.map(() => sdk(serve.endpoint));
    const digests = await Promise.all(blobs.map((b, i) => uploadBlob(clients[i], 'concurrent', b, 5 * MiB)));
    clients.forEach((c) => c.destroy());
    const check = await ecr.send(
      new BatchCheckLayerAvailabilityCommand({ repositoryName: 'concurrent', layerDigests: digests }),
    );
    expect(check.layers!.map((l) => l.layerDigest).sort()).toEqual(blobs.map(sha256).sort());
    expect(check.layers!.every((l) => l.layerSize === 6 * MiB)).toBe(true);
  });
});

describe('images', () => {
  beforeAll(async () => {
    await createRepo(ecr, 'images');
    await createRepo(ecr, 'frozen', 'IMMUTABLE');
  });

  test('PutImage needs the layers, checks the digest, is idempotent, and honours immutability', async () => {
    const img = makeImage([100, 200]);
    const missing = await errorOf(
      ecr.send(new PutImageCommand({ repositoryName: 'images', imageManifest: img.manifest, imageTag: 'v1' })),
    );
    expect(missing.name).toBe('LayersNotFoundException');
    for (const blob of [img.config, ...img.layers]) await uploadBlob(ecr, 'images', blob);
    const wrongDigest = await errorOf(
      ecr.send(
        new PutImageCommand({ repositoryName: 'images', imageManifest: img.manifest, imageDigest: sha256('x') }),
      ),
    );
    expect(wrongDigest.name).toBe('ImageDigestDoesNotMatchException');
    const put = await ecr.send(
      new PutImageCommand({
        repositoryName: 'images',
        imageManifest: img.manifest,
        imageTag: 'v1',
        imageDigest: img.digest,
      }),
    );
    expect(put.image!.imageId).toEqual({ imageDigest: img.digest, imageTag: 'v1' });
    expect(put.image!.imageManifestMediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    const same = await errorOf(
      ecr.send(new PutImageCommand({ repositoryName: 'images', imageManifest: img.manifest, imageTag: 'v1' })),
    );
    expect(same.name).toBe('ImageAlreadyExistsException');
    const notJson = await errorOf(
      ecr.send(new PutImageCommand({ repositoryName: 'images', imageManifest: '{not json' })),
    );
    expect(notJson.name).toBe('InvalidParameterException');
    const mismatchedType = await errorOf(
      ecr.send(
        new PutImageCommand({
          repositoryName: 'images',
          imageManifest: img.manifest,
          imageManifestMediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        }),
      ),
    );
    expect(mismatchedType.name).toBe('InvalidParameterException');

    const one = makeImage([10]);
    const two = makeImage([20]);
    await pushImage(ecr, 'frozen', one, 'release');
    for (const blob of [two.config, ...two.layers]) await uploadBlob(ecr, 'frozen', blob);
    const immutable = await errorOf(
      ecr.send(new PutImageCommand({ repositoryName: 'frozen', imageManifest: two.manifest, imageTag: 'release' })),
    );
    expect(immutable.name).toBe('ImageTagAlreadyExistsException');
    expect(immutable.message).toContain('release');
    await ecr.send(new PutImageTagMutabilityCommand({ repositoryName: 'frozen', imageTagMutability: 'MUTABLE' }));
    await ecr.send(new PutImageCommand({ repositoryName: 'frozen', imageManifest: two.manifest, imageTag: 'release' }));
    const got = await ecr.send(
      new BatchGetImageCommand({ repositoryName: 'frozen', imageIds: [{ imageTag: 'release' }] }),
    );
    expect(got.images![0].imageId!.imageDigest).toBe(two.digest);
  });

  test('BatchGetImage returns exact manifest bytes and ECR failure codes', async () => {
    const img = makeImage([50]);
    await pushImage(ecr, 'images', img, 'get-me');
    const out = await ecr.send(
      new BatchGetImageCommand({
        repositoryName: 'images',
        imageIds: [
          { imageTag: 'get-me' },
          { imageDigest: img.digest },
          { imageTag: 'absent' },
          { imageDigest: 'sha256:zz' },
          { imageTag: 'get-me', imageDigest: sha256('other') },
          {},
        ],
        acceptedMediaTypes: ['application/vnd.oci.image.manifest.v1+json'],
      }),
    );
    expect(out.images).toHaveLength(2);
    for (const image of out.images!) {
      expect(image.imageManifest).toBe(img.manifest);
      expect(sha256(Buffer.from(image.imageManifest!, 'utf8'))).toBe(img.digest);
    }
    expect(out.images![0].imageId).toEqual({ imageDigest: img.digest, imageTag: 'get-me' });
    expect(out.failures!.map((f) => f.failureCode)).toEqual([
      'ImageNotFound',
      'InvalidImageDigest',
      'ImageTagDoesNotMatchDigest',
      'MissingDigestAndTag',
    ]);
  });

  test('an index needs its children first', async () => {
    const amd = makeImage([30], { architecture: 'amd64' });
    const arm = makeImage([31], { architecture: 'arm64' });
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: amd.digest,
          size: amd.manifest.length,
          platform: { os: 'linux', architecture: 'amd64' },
        },
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: arm.digest,
          size: arm.manifest.length,
          platform: { os: 'linux', architecture: 'arm64' },
        },
      ],
    });
    await pushImage(ecr, 'images', amd);
    const early = await errorOf(
      ecr.send(new PutImageCommand({ repositoryName: 'images', imageManifest: index, imageTag: 'multi' })),
    );
    expect(early.name).toBe('ReferencedImagesNotFoundException');
    await pushImage(ecr, 'images', arm);
    const put = await ecr.send(
      new PutImageCommand({ repositoryName: 'images', imageManifest: index, imageTag: 'multi' }),
    );
    expect(put.image!.imageManifestMediaType).toBe('application/vnd.oci.image.index.v1+json');
    const del = await ecr.send(
      new BatchDeleteImageCommand({ repositoryName: 'images', imageIds: [{ imageDigest: amd.digest }] }),
    );
    expect(del.failures![0].failureCode).toBe('ImageReferencedByManifestList');
  });

  test('ListImages filters by tag status and pages; DescribeImages and BatchDeleteImage', async () => {
    await createRepo(ecr, 'listing');
    const imgs = [makeImage([1]), makeImage([2]), makeImage([3])];
    await pushImage(ecr, 'listing', imgs[0], 'a');
    await pushImage(ecr, 'listing', imgs[1], 'b');
    await pushImage(ecr, 'listing', imgs[2]);
    await ecr.send(new PutImageCommand({ repositoryName: 'listing', imageManifest: imgs[0].manifest, imageTag: 'a2' }));

    const tagged = await ecr.send(
      new ListImagesCommand({ repositoryName: 'listing', filter: { tagStatus: 'TAGGED' } }),
    );
    expect(tagged.imageIds!.map((i) => i.imageTag).sort()).toEqual(['a', 'a2', 'b']);
    const untagged = await ecr.send(
      new ListImagesCommand({ repositoryName: 'listing', filter: { tagStatus: 'UNTAGGED' } }),
    );
    expect(untagged.imageIds).toEqual([{ imageDigest: imgs[2].digest }]);
    const page1 = await ecr.send(new ListImagesCommand({ repositoryName: 'listing', maxResults: 2 }));
    expect(page1.imageIds).toHaveLength(2);
    const page2 = await ecr.send(
      new ListImagesCommand({ repositoryName: 'listing', maxResults: 2, nextToken: page1.nextToken }),
    );
    expect(page2.imageIds).toHaveLength(2);
    expect(page2.nextToken).toBeUndefined();

    const details = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'listing', imageIds: [{ imageTag: 'a' }] }),
    );
    expect(details.imageDetails![0]).toMatchObject({
      imageDigest: imgs[0].digest,
      imageTags: ['a', 'a2'],
      imageSizeInBytes: 1,
      imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactMediaType: 'application/vnd.oci.image.config.v1+json',
    });
    expect(details.imageDetails![0].imagePushedAt).toBeInstanceOf(Date);
    const notFound = await errorOf(
      ecr.send(new DescribeImagesCommand({ repositoryName: 'listing', imageIds: [{ imageTag: 'zzz' }] })),
    );
    expect(notFound.name).toBe('ImageNotFoundException');

    const del = await ecr.send(
      new BatchDeleteImageCommand({
        repositoryName: 'listing',
        imageIds: [{ imageTag: 'a' }, { imageDigest: imgs[1].digest }, { imageTag: 'nope' }],
      }),
    );
    expect(del.imageIds).toEqual([
      { imageDigest: imgs[0].digest, imageTag: 'a' },
      { imageDigest: imgs[1].digest, imageTag: 'b' },
    ]);
    expect(del.failures).toEqual([
      { imageId: { imageTag: 'nope' }, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' },
    ]);
    const left = await ecr.send(new ListImagesCommand({ repositoryName: 'listing' }));
    expect(left.imageIds!.map((i) => i.imageTag ?? i.imageDigest).sort()).toEqual(['a2', imgs[2].digest].sort());
  });
});

describe('download URLs', () => {
  let img: ReturnType<typeof makeImage>;
  beforeAll(async () => {
    await createRepo(ecr, 'dl');
    img = makeImage([3 * MiB + 7]);
    await pushImage(ecr, 'dl', img, 'v1');
  });

  test('only for layers an image references; pre-signed in S3 style; bytes match', async () => {
    const orphan = await uploadBlob(ecr, 'dl', randomData(10));
    const inaccessible = await errorOf(
      ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName: 'dl', layerDigest: orphan })),
    );
    expect(inaccessible.name).toBe('LayerInaccessibleException');
    const unknown = await errorOf(
      ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName: 'dl', layerDigest: sha256('nothing') })),
    );
    expect(unknown.name).toBe('LayersNotFoundException');

    const layerDigest = sha256(img.layers[0]);
    const { downloadUrl } = await ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName: 'dl', layerDigest }));
    const url = new URL(downloadUrl!);
    for (const k of ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-Signature'])
      expect(url.searchParams.get(k)).toBeTruthy();
    expect(url.searchParams.get('X-Amz-Expires')).toBe('3600');
    const res = await fetch(downloadUrl!);
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    expect(sha256(body)).toBe(layerDigest);
  });

  test('Range gives 206 with the right bytes; a range past the end gives 416', async () => {
    const layerDigest = sha256(img.layers[0]);
    const { downloadUrl } = await ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName: 'dl', layerDigest }));
    const part = await fetch(downloadUrl!, { headers: { Range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${img.layers[0].length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(img.layers[0].subarray(100, 200))).toBe(true);
    const tail = await fetch(downloadUrl!, { headers: { Range: `bytes=${img.layers[0].length - 5}-` } });
    expect(Buffer.from(await tail.arrayBuffer()).equals(img.layers[0].subarray(-5))).toBe(true);
    const beyond = await fetch(downloadUrl!, { headers: { Range: `bytes=${img.layers[0].length}-` } });
    expect(beyond.status).toBe(416);
  });

  test('an Authorization header is refused as S3 refuses two auth mechanisms; a tampered URL is refused', async () => {
    const { downloadUrl } = await ecr.send(
      new GetDownloadUrlForLayerCommand({ repositoryName: 'dl', layerDigest: sha256(img.config) }),
    );
    const twoAuth = await fetch(downloadUrl!, { headers: { Authorization: 'AWS4-HMAC-SHA256 Credential=x' } });
    expect(twoAuth.status).toBe(400);
    expect(await twoAuth.text()).toContain('<Code>InvalidArgument</Code>');
    const tampered = downloadUrl!.replace(/X-Amz-Expires=\d+/, 'X-Amz-Expires=7200');
    const res = await fetch(tampered);
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
  });
});

describe('expiry, signatures, persistence', () => {
  test('URLs expire after --url-ttl with S3 AccessDenied XML', async () => {
    const short = await startServe(['--url-ttl', '1']);
    const c = sdk(short.endpoint);
    try {
      await createRepo(c, 'exp');
      const img = makeImage([10]);
      await pushImage(c, 'exp', img, 'v1');
      const { downloadUrl } = await c.send(
        new GetDownloadUrlForLayerCommand({ repositoryName: 'exp', layerDigest: sha256(img.layers[0]) }),
      );
      expect((await fetch(downloadUrl!)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 2100));
      const res = await fetch(downloadUrl!);
      expect(res.status).toBe(403);
      const xml = await res.text();
      expect(xml).toContain('<Code>AccessDenied</Code>');
      expect(xml).toContain('Request has expired');
    } finally {
      c.destroy();
      await short.dispose();
    }
  });

  test('with --access-key-id it verifies signatures like AWS', async () => {
    const strict = await startServe(['--access-key-id', 'AKIASTRICTKEY0000001', '--secret-access-key', 'right-secret']);
    try {
      const good = sdk(strict.endpoint, { accessKeyId: 'AKIASTRICTKEY0000001', secretAccessKey: 'right-secret' });
      await good.send(new CreateRepositoryCommand({ repositoryName: 'signed' }));
      const wrongKey = sdk(strict.endpoint, { accessKeyId: 'AKIAOTHERKEY00000001', secretAccessKey: 'right-secret' });
      expect((await errorOf(wrongKey.send(new DescribeRepositoriesCommand({})))).name).toBe(
        'UnrecognizedClientException',
      );
      const wrongSecret = sdk(strict.endpoint, { accessKeyId: 'AKIASTRICTKEY0000001', secretAccessKey: 'wrong' });
      expect((await errorOf(wrongSecret.send(new DescribeRepositoriesCommand({})))).name).toBe(
        'InvalidSignatureException',
      );
      const unsigned = await fetch(strict.endpoint, {
        method: 'POST',
        headers: {
          'X-Amz-Target': 'AmazonEC2ContainerRegistry_V20150921.DescribeRepositories',
          'Content-Type': 'application/x-amz-json-1.1',
        },
        body: '{}',
      });
      expect(unsigned.status).toBe(400);
      expect((await unsigned.json()).__type).toBe('MissingAuthenticationTokenException');
      [good, wrongKey, wrongSecret].forEach((c) => c.destroy());
    } finally {
      await strict.dispose();
    }
  });

  test('a restart keeps repositories, images, layers and open uploads', async () => {
    const first = await startServe();
    const dataDir = first.dataDir;
    let c = sdk(first.endpoint);
    const img = makeImage([1000, 2000]);
    await createRepo(c, 'persist');
    await pushImage(c, 'persist', img, 'v1');
    const { uploadId } = await c.send(new InitiateLayerUploadCommand({ repositoryName: 'persist' }));
    const half = randomData(6 * MiB);
    await c.send(
      new UploadLayerPartCommand({
        repositoryName: 'persist',
        uploadId,
        partFirstByte: 0,
        partLastByte: 5 * MiB - 1,
        layerPartBlob: half.subarray(0, 5 * MiB),
      }),
    );
    c.destroy();
    expect(await first.stop('SIGINT')).toBe(0);

    const second = await startServe([], dataDir);
    c = sdk(second.endpoint);
    try {
      const got = await c.send(new BatchGetImageCommand({ repositoryName: 'persist', imageIds: [{ imageTag: 'v1' }] }));
      expect(got.images![0].imageManifest).toBe(img.manifest);
      await c.send(
        new UploadLayerPartCommand({
          repositoryName: 'persist',
          uploadId,
          partFirstByte: 5 * MiB,
          partLastByte: 6 * MiB - 1,
          layerPartBlob: half.subarray(5 * MiB),
        }),
      );
      const done = await c.send(
        new CompleteLayerUploadCommand({ repositoryName: 'persist', uploadId, layerDigests: [sha256(half)] }),
      );
      expect(done.layerDigest).toBe(sha256(half));
      const { downloadUrl } = await c.send(
        new GetDownloadUrlForLayerCommand({ repositoryName: 'persist', layerDigest: sha256(img.layers[1]) }),
      );
      expect(sha256(Buffer.from(await (await fetch(downloadUrl!)).arrayBuffer()))).toBe(sha256(img.layers[1]));
    } finally {
      c.destroy();
      await second.dispose();
      const { rmSync } = await import('node:fs');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
