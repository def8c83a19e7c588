/**
 * `ecrx serve` against ECR's API model for the operations of this year's ECR, driven by the real AWS CLI
 * (`aws ecr list-image-referrers`, `update-image-storage-class`, and the imageStatus filters of list-images and
 * describe-images: the installed awscli knows them all, or these calls would fail), with every raw answer checked
 * member by member against the model's output shapes and every error name against the operation's modelled errors.
 */
import { awsCli } from '../helpers/aws-cli.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ECRClient } from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../helpers/serve.js';
import { describeWithTool } from '../helpers/tools.js';
import { sdk, createRepo, pushBuilt, putManifest, uploadBlob } from '../helpers/ecr.js';
import { rawCall, outputProblems, modelErrors } from '../helpers/raw-api.js';
import { buildImage, buildIndex, type BuiltImage } from '../../src/oci/build.js';
import { list } from '../helpers/json.js';
import {
  asSubject,
  notationSignature,
  spdxSbom,
  EMPTY_CONFIG,
  NOTATION_SIG_TYPE,
  SPDX_TYPE,
  keys,
  type Artifact,
} from '../helpers/artifacts.js';

let serve: Serve;
let ecr: ECRClient;
let work: string;
let image: BuiltImage;
const sigs: Artifact[] = [];
let sbom: Artifact;

const aws = (...args: string[]) => awsCli(serve.endpoint, ['ecr', ...args]);

/** The raw answer, checked against the model: conforming output on success, a modelled error name on failure. */
async function raw(operation: string, input: object) {
  const res = await rawCall(serve.endpoint, operation, input);
  if (res.status === 200) expect(outputProblems(operation, res.body)).toEqual([]);
  else expect([...modelErrors(operation), 'InvalidParameterException']).toContain(res.body.__type);
  return res;
}

async function pushArtifact(repositoryName: string, a: Artifact): Promise<void> {
  for (const b of a.blobs) {
    await uploadBlob(ecr, repositoryName, b.bytes).catch((err) => {
      if (err.name !== 'LayerAlreadyExistsException') throw err;
    });
  }
  await putManifest(ecr, repositoryName, a.manifest.bytes);
}

describeWithTool('aws', 'ListImageReferrers and UpdateImageStorageClass by the AWS CLI, against the model', () => {
  beforeAll(async () => {
    serve = await startServe(['--restore-delay', '6']);
    ecr = sdk(serve.endpoint);
    work = mkdtempSync(join(tmpdir(), 'ecrx-newapi-'));
    await createRepo(ecr, 'api/app');
    image = await buildImage([[{ path: 'x', content: 'referred to' }]]);
    await pushBuilt(ecr, 'api/app', image, '1.0');
    const key = keys().privateKey;
    // three signatures and an SBOM, pushed one after another so their order is the push order
    for (let i = 0; i < 3; i++) {
      const sig = notationSignature({ ...asSubject(image) }, key);
      sigs.push(sig);
      await pushArtifact('api/app', sig);
    }
    sbom = spdxSbom(asSubject(image));
    await pushArtifact('api/app', sbom);
  });
  afterAll(async () => {
    ecr?.destroy();
    await serve?.dispose();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test("list-image-referrers: every referrer with the model's members, filters, paging and its limits", async () => {
    const all = await aws(
      'list-image-referrers',
      '--repository-name',
      'api/app',
      '--subject-id',
      `imageDigest=${image.manifest.digest}`,
    );
    expect(all.code).toBe(0);
    expect(list(all.json.referrers).map((r) => r.digest)).toEqual([...sigs, sbom].map((s) => s.manifest.digest));
    expect(all.json.referrers[3]).toEqual({
      digest: sbom.manifest.digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: SPDX_TYPE,
      size: sbom.manifest.size,
      annotations: { 'org.opencontainers.image.created': '2026-05-01T00:00:00Z' },
      artifactStatus: 'ACTIVE',
    });

    const filtered = await aws(
      'list-image-referrers',
      '--repository-name',
      'api/app',
      '--subject-id',
      `imageDigest=${image.manifest.digest}`,
      '--filter',
      `artifactTypes=${SPDX_TYPE}`,
    );
    expect(list(filtered.json.referrers).map((r) => r.digest)).toEqual([sbom.manifest.digest]);

    // one page at a time by hand: maxResults and nextToken as the model has them
    const first = await raw('ListImageReferrers', {
      repositoryName: 'api/app',
      subjectId: { imageDigest: image.manifest.digest },
      maxResults: 3,
    });
    expect(first.body.referrers).toHaveLength(3);
    const second = await raw('ListImageReferrers', {
      repositoryName: 'api/app',
      subjectId: { imageDigest: image.manifest.digest },
      maxResults: 3,
      nextToken: first.body.nextToken,
    });
    expect(list(second.body.referrers).map((r) => r.digest)).toEqual([sbom.manifest.digest]);
    expect(second.body.nextToken).toBeUndefined();
    const paged = await aws(
      'list-image-referrers',
      '--repository-name',
      'api/app',
      '--subject-id',
      `imageDigest=${image.manifest.digest}`,
      '--max-results',
      '1',
      '--no-paginate',
    );
    expect(paged.json.referrers).toHaveLength(1);
    expect(typeof paged.json.nextToken).toBe('string');

    const tooMany = await aws(
      'list-image-referrers',
      '--repository-name',
      'api/app',
      '--subject-id',
      `imageDigest=${image.manifest.digest}`,
      '--max-results',
      '51',
      '--no-paginate',
    );
    expect(tooMany.code).not.toBe(0);
    expect(tooMany.stderr).toMatch(/InvalidParameterException|ParamValidation|maxResults/i);
    const six = await raw('ListImageReferrers', {
      repositoryName: 'api/app',
      subjectId: { imageDigest: image.manifest.digest },
      filter: { artifactTypes: ['a', 'b', 'c', 'd', 'e', 'f'] },
    });
    expect(six.status).toBe(400);
    expect(six.body.__type).toBe('InvalidParameterException');
    const noRepo = await raw('ListImageReferrers', {
      repositoryName: 'api/none',
      subjectId: { imageDigest: image.manifest.digest },
    });
    expect(noRepo.body.__type).toBe('RepositoryNotFoundException');
    // a subject with nothing attached, even one not in the repository, has no referrers (not an error)
    const none = await raw('ListImageReferrers', {
      repositoryName: 'api/app',
      subjectId: { imageDigest: sbom.manifest.digest },
    });
    expect(none.body).toEqual({ referrers: [] });
    const noSubject = await raw('ListImageReferrers', { repositoryName: 'api/app' });
    expect(noSubject.body.__type).toBe('InvalidParameterException');
  });

  test('PutImage records the subject: describe-images shows subjectManifestDigest and artifactMediaType', async () => {
    const d = await aws(
      'describe-images',
      '--repository-name',
      'api/app',
      '--image-ids',
      `imageDigest=${sbom.manifest.digest}`,
    );
    expect(d.json.imageDetails[0]).toMatchObject({
      imageDigest: sbom.manifest.digest,
      subjectManifestDigest: image.manifest.digest,
      artifactMediaType: EMPTY_CONFIG.mediaType,
      imageStatus: 'ACTIVE',
    });
    await raw('DescribeImages', { repositoryName: 'api/app' });
    // an artifact without artifactType is typed by its config's media type (the OCI rule)
    const bare = JSON.parse(sigs[0].manifest.bytes.toString('utf8'));
    delete bare.artifactType;
    bare.config = { mediaType: 'application/vnd.example.thing.v1+json', digest: EMPTY_CONFIG.digest, size: 2 };
    const bytes = Buffer.from(JSON.stringify(bare));
    await putManifest(ecr, 'api/app', bytes);
    const listed = await raw('ListImageReferrers', {
      repositoryName: 'api/app',
      subjectId: { imageDigest: image.manifest.digest },
      filter: { artifactTypes: ['application/vnd.example.thing.v1+json', NOTATION_SIG_TYPE] },
    });
    expect(listed.body.referrers).toHaveLength(4);
  });

  test('update-image-storage-class: ARCHIVE and STANDARD, what an archived image answers everywhere, and the errors', async () => {
    await createRepo(ecr, 'api/cold');
    const cold = await buildImage([[{ path: 'c', content: 'cold' }]]);
    await pushBuilt(ecr, 'api/cold', cold, 'v1');
    const layer = cold.layers[0].digest;

    const archived = await aws(
      'update-image-storage-class',
      '--repository-name',
      'api/cold',
      '--image-id',
      'imageTag=v1',
      '--target-storage-class',
      'ARCHIVE',
    );
    expect(archived.code).toBe(0);
    expect(archived.json).toEqual({
      registryId: '000000000000',
      repositoryName: 'api/cold',
      imageId: { imageDigest: cold.manifest.digest, imageTag: 'v1' },
      imageStatus: 'ARCHIVED',
    });
    await raw('UpdateImageStorageClass', {
      repositoryName: 'api/cold',
      imageId: { imageTag: 'v1' },
      targetStorageClass: 'ARCHIVE',
    }); // again: still ARCHIVED

    const got = await aws('batch-get-image', '--repository-name', 'api/cold', '--image-ids', 'imageTag=v1');
    expect(got.json.images).toEqual([]);
    expect(got.json.failures[0]).toMatchObject({ imageId: { imageTag: 'v1' }, failureCode: 'ImageInaccessible' });
    const url = await aws('get-download-url-for-layer', '--repository-name', 'api/cold', '--layer-digest', layer);
    expect(url.code).not.toBe(0);
    expect(url.stderr).toContain('LayerInaccessibleException');
    const avail = await aws(
      'batch-check-layer-availability',
      '--repository-name',
      'api/cold',
      '--layer-digests',
      layer,
    );
    expect(avail.json.layers[0]).toMatchObject({ layerDigest: layer, layerAvailability: 'ARCHIVED' });

    // hidden from listings unless the filter asks
    expect((await aws('list-images', '--repository-name', 'api/cold')).json.imageIds).toEqual([]);
    expect((await aws('describe-images', '--repository-name', 'api/cold')).json.imageDetails).toEqual([]);
    const byId = await aws('describe-images', '--repository-name', 'api/cold', '--image-ids', 'imageTag=v1');
    expect(byId.stderr).toContain('ImageNotFoundException');
    const listed = await aws('list-images', '--repository-name', 'api/cold', '--filter', 'imageStatus=ARCHIVED');
    expect(listed.json.imageIds).toEqual([{ imageDigest: cold.manifest.digest, imageTag: 'v1' }]);
    const described = await aws('describe-images', '--repository-name', 'api/cold', '--filter', 'imageStatus=ANY');
    expect(described.json.imageDetails[0]).toMatchObject({
      imageDigest: cold.manifest.digest,
      imageStatus: 'ARCHIVED',
    });
    expect(described.json.imageDetails[0].lastArchivedAt).toEqual(expect.any(Number));
    const rawDescribed = await raw('DescribeImages', {
      repositoryName: 'api/cold',
      filter: { imageStatus: 'ARCHIVED' },
    });
    expect(rawDescribed.body.imageDetails[0].lastArchivedAt).toEqual(expect.any(Number));

    // restore: ACTIVATING, then ACTIVE once the restore delay has passed
    const restoring = await aws(
      'update-image-storage-class',
      '--repository-name',
      'api/cold',
      '--image-id',
      `imageDigest=${cold.manifest.digest}`,
      '--target-storage-class',
      'STANDARD',
    );
    expect(restoring.json.imageStatus).toBe('ACTIVATING');
    // (raw calls here: the restore takes 6 s, and one AWS CLI run can take a second or two on a busy machine)
    expect(
      (await raw('DescribeImages', { repositoryName: 'api/cold', filter: { imageStatus: 'ACTIVATING' } })).body
        .imageDetails,
    ).toHaveLength(1);
    expect(
      (await raw('BatchGetImage', { repositoryName: 'api/cold', imageIds: [{ imageTag: 'v1' }] })).body.failures[0]
        .failureCode,
    ).toBe('ImageInaccessible');
    const busy = await raw('UpdateImageStorageClass', {
      repositoryName: 'api/cold',
      imageId: { imageTag: 'v1' },
      targetStorageClass: 'ARCHIVE',
    });
    expect(busy.body.__type).toBe('ImageStorageClassUpdateNotSupportedException');
    let status = 'ACTIVATING';
    while (status !== 'ACTIVE') {
      await new Promise((r) => setTimeout(r, 200));
      status = String(
        (
          await raw('DescribeImages', {
            repositoryName: 'api/cold',
            imageIds: [{ imageTag: 'v1' }],
            filter: { imageStatus: 'ANY' },
          })
        ).body.imageDetails[0].imageStatus,
      );
    }
    const back = await aws('describe-images', '--repository-name', 'api/cold', '--image-ids', 'imageTag=v1');
    expect(back.json.imageDetails[0]).toMatchObject({ imageStatus: 'ACTIVE' });
    expect(Number(back.json.imageDetails[0].lastActivatedAt)).toBeGreaterThan(
      Number(described.json.imageDetails[0].lastArchivedAt),
    );
    expect(
      (await aws('batch-get-image', '--repository-name', 'api/cold', '--image-ids', 'imageTag=v1')).json.images,
    ).toHaveLength(1);

    // re-pushing an archived image restores it at once, as ECR documents
    await raw('UpdateImageStorageClass', {
      repositoryName: 'api/cold',
      imageId: { imageTag: 'v1' },
      targetStorageClass: 'ARCHIVE',
    });
    await putManifest(ecr, 'api/cold', cold.manifest.bytes, 'v1');
    expect(
      (await raw('DescribeImages', { repositoryName: 'api/cold', imageIds: [{ imageTag: 'v1' }] })).body.imageDetails[0]
        .imageStatus,
    ).toBe('ACTIVE');

    // errors: unknown image, bad enum, a child of an index
    const missing = await aws(
      'update-image-storage-class',
      '--repository-name',
      'api/cold',
      '--image-id',
      'imageTag=nope',
      '--target-storage-class',
      'ARCHIVE',
    );
    expect(missing.stderr).toContain('ImageNotFoundException');
    const badClass = await raw('UpdateImageStorageClass', {
      repositoryName: 'api/cold',
      imageId: { imageTag: 'v1' },
      targetStorageClass: 'GLACIER',
    });
    expect(badClass.body.__type).toBe('InvalidParameterException');
    const amd = await buildImage([[{ path: 'p', content: 'amd' }]], { architecture: 'amd64' });
    await pushBuilt(ecr, 'api/cold', amd);
    await putManifest(ecr, 'api/cold', buildIndex([amd]).bytes, 'multi');
    const child = await aws(
      'update-image-storage-class',
      '--repository-name',
      'api/cold',
      '--image-id',
      `imageDigest=${amd.manifest.digest}`,
      '--target-storage-class',
      'ARCHIVE',
    );
    expect(child.code).not.toBe(0);
    expect(child.stderr).toContain('ImageStorageClassUpdateNotSupportedException');
    const noRepo = await raw('UpdateImageStorageClass', {
      repositoryName: 'api/none',
      imageId: { imageTag: 'v1' },
      targetStorageClass: 'ARCHIVE',
    });
    expect(noRepo.body.__type).toBe('RepositoryNotFoundException');
  });

  test('archiving a subject takes its referrers along; artifactStatus filters them', async () => {
    const r = await raw('UpdateImageStorageClass', {
      repositoryName: 'api/app',
      imageId: { imageTag: '1.0' },
      targetStorageClass: 'ARCHIVE',
    });
    expect(r.body.imageStatus).toBe('ARCHIVED');
    const active = await aws(
      'list-image-referrers',
      '--repository-name',
      'api/app',
      '--subject-id',
      `imageDigest=${image.manifest.digest}`,
    );
    expect(active.json.referrers).toEqual([]);
    const archived = await aws(
      'list-image-referrers',
      '--repository-name',
      'api/app',
      '--subject-id',
      `imageDigest=${image.manifest.digest}`,
      '--filter',
      'artifactStatus=ARCHIVED',
    );
    expect(archived.json.referrers).toHaveLength(5);
    expect(new Set(list(archived.json.referrers).map((x) => x.artifactStatus))).toEqual(new Set(['ARCHIVED']));
    const any = await raw('ListImageReferrers', {
      repositoryName: 'api/app',
      subjectId: { imageDigest: image.manifest.digest },
      filter: { artifactStatus: 'ANY' },
    });
    expect(any.body.referrers).toHaveLength(5);
  });
});
