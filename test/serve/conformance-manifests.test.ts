/**
 * Manifest media types as ECR documents them, driven by the AWS CLI and the AWS SDK:
 * PutImage needs a `mediaType` in the manifest or `imageManifestMediaType` in the request, and BatchGetImage honours
 * `acceptedMediaTypes`: the stored form when accepted, a documented conversion for a pull by tag (Docker v2 schema 2
 * to OCI or to schema 1, OCI to Docker v2 schema 2), and a failure otherwise, never another type silently. The lists
 * below are what real clients send: docker and containerd's Accept header (which ECR's registry endpoint turns into
 * acceptedMediaTypes), and amazon-ecr-containerd-resolver's BatchGetImage.
 */
import { errorOf } from '../helpers/error-of.js';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { type ECRClient, BatchGetImageCommand, DescribeImagesCommand, PutImageCommand } from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../helpers/serve.js';
import { sdk, createRepo, makeImage, pushImage, sha256, uploadBlob } from '../helpers/ecr.js';
import { awsCli, cliErrorCode } from '../helpers/aws-cli.js';
import { describeWithTool } from '../helpers/tools.js';

const T = {
  docker: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  schema1: 'application/vnd.docker.distribution.manifest.v1+json',
  schema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  oci: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
};
/** What docker and containerd put in Accept for a manifest (containerd adds `*\/*`, which ECR maps to nothing). */
const DOCKER_ACCEPT = [T.docker, T.dockerList, T.oci, T.ociIndex];
/** amazon-ecr-containerd-resolver's supportedImageMediaTypes. */
const RESOLVER_ACCEPT = [T.ociIndex, T.oci, T.docker, T.dockerList, T.schema1Signed];

let serve: Serve;
let ecr: ECRClient;
let work: string;

/** A Docker v2 schema 2 image whose config has a history with an empty layer, pushed under `tag`. */
async function pushDockerImage(repositoryName: string, tag: string) {
  const layers = [randomBytes(300), randomBytes(400)];
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'arm64',
      os: 'linux',
      config: { Env: ['PATH=/bin'], Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: layers.map(sha256) },
      history: [
        { created: '2024-01-01T00:00:00Z', created_by: 'ADD base /' },
        { created: '2024-01-01T00:00:01Z', created_by: 'ENV PATH=/bin', empty_layer: true },
        { created: '2024-01-01T00:00:02Z', created_by: 'COPY app /app' },
      ],
    }),
  );
  for (const b of [config, ...layers]) await uploadBlob(ecr, repositoryName, b);
  const manifest = JSON.stringify(
    {
      schemaVersion: 2,
      mediaType: T.docker,
      config: {
        mediaType: 'application/vnd.docker.container.image.v1+json',
        size: config.length,
        digest: sha256(config),
      },
      layers: layers.map((l) => ({
        mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
        size: l.length,
        digest: sha256(l),
      })),
    },
    null,
    3,
  );
  await ecr.send(new PutImageCommand({ repositoryName, imageManifest: manifest, imageTag: tag }));
  return { manifest, digest: sha256(manifest), config, layers };
}

const getOne = async (
  repositoryName: string,
  id: { imageTag?: string; imageDigest?: string },
  acceptedMediaTypes?: string[],
) => ecr.send(new BatchGetImageCommand({ repositoryName, imageIds: [id], acceptedMediaTypes }));

beforeAll(async () => {
  serve = await startServe();
  ecr = sdk(serve.endpoint);
  work = mkdtempSync(join(tmpdir(), 'ecrx-conf-manifests-'));
  await createRepo(ecr, 'types/app');
});
afterAll(async () => {
  ecr?.destroy();
  await serve?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('PutImage: a manifest without mediaType needs imageManifestMediaType', () => {
  let bare: string;
  beforeAll(async () => {
    const img = makeImage([64]);
    await pushImage(ecr, 'types/app', img);
    const { mediaType: _dropped, ...rest } = JSON.parse(img.manifest);
    bare = JSON.stringify(rest);
  });

  test("AWS SDK: refused without it with ECR's error, stored as declared with it, refused when the two disagree", async () => {
    const without = await errorOf(
      ecr.send(new PutImageCommand({ repositoryName: 'types/app', imageManifest: bare, imageTag: 'bare' })),
    );
    expect(without.name).toBe('InvalidParameterException');
    expect(without.message).toBe(
      "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'",
    );
    const put = await ecr.send(
      new PutImageCommand({
        repositoryName: 'types/app',
        imageManifest: bare,
        imageTag: 'bare',
        imageManifestMediaType: T.oci,
      }),
    );
    expect(put.image!.imageManifestMediaType).toBe(T.oci);
    const d = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'types/app', imageIds: [{ imageTag: 'bare' }] }),
    );
    expect(d.imageDetails![0].imageManifestMediaType).toBe(T.oci);
    const withType = makeImage([64]);
    const clash = await errorOf(
      ecr.send(
        new PutImageCommand({
          repositoryName: 'types/app',
          imageManifest: withType.manifest,
          imageManifestMediaType: T.docker,
        }),
      ),
    );
    expect(clash.name).toBe('InvalidParameterException');
    const unknown = await errorOf(
      ecr.send(
        new PutImageCommand({
          repositoryName: 'types/app',
          imageManifest: bare,
          imageManifestMediaType: 'application/vnd.oci.artifact.manifest.v1+json',
        }),
      ),
    );
    expect(unknown.name).toBe('InvalidParameterException');
  });

  describeWithTool('aws', 'AWS CLI', () => {
    test('put-image, then put-image --image-manifest-media-type', async () => {
      writeFileSync(join(work, 'bare.json'), bare);
      const without = await awsCli(serve.endpoint, [
        'ecr',
        'put-image',
        '--repository-name',
        'types/app',
        '--image-tag',
        'cli-bare',
        '--image-manifest',
        `file://${join(work, 'bare.json')}`,
      ]);
      expect(without.code).not.toBe(0);
      expect(cliErrorCode(without)).toBe('InvalidParameterException');
      expect(without.stderr).toContain(
        "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'",
      );
      const withType = await awsCli(serve.endpoint, [
        'ecr',
        'put-image',
        '--repository-name',
        'types/app',
        '--image-tag',
        'cli-bare',
        '--image-manifest',
        `file://${join(work, 'bare.json')}`,
        '--image-manifest-media-type',
        T.oci,
      ]);
      expect(withType.code).toBe(0);
      expect(withType.json.image.imageManifestMediaType).toBe(T.oci);
    });
  });
});

describe('BatchGetImage honours acceptedMediaTypes', () => {
  let docker: Awaited<ReturnType<typeof pushDockerImage>>;
  let oci: ReturnType<typeof makeImage>;
  let index: string;
  beforeAll(async () => {
    await createRepo(ecr, 'types/pull');
    docker = await pushDockerImage('types/pull', 'docker');
    oci = makeImage([100, 200]);
    await pushImage(ecr, 'types/pull', oci, 'oci');
    index = JSON.stringify({
      schemaVersion: 2,
      mediaType: T.ociIndex,
      manifests: [
        {
          mediaType: T.oci,
          digest: oci.digest,
          size: Buffer.byteLength(oci.manifest),
          platform: { os: 'linux', architecture: 'amd64' },
        },
      ],
    });
    await ecr.send(new PutImageCommand({ repositoryName: 'types/pull', imageManifest: index, imageTag: 'index' }));
  });

  test('the stored form for no list, for what docker, containerd and the ECR containerd resolver send, and for its own type', async () => {
    const stored: [string, string, string][] = [
      ['docker', docker.manifest, T.docker],
      ['oci', oci.manifest, T.oci],
      ['index', index, T.ociIndex],
    ];
    for (const [tag, manifest, type] of stored) {
      for (const accepted of [undefined, DOCKER_ACCEPT, RESOLVER_ACCEPT, [type]]) {
        const got = await getOne('types/pull', { imageTag: tag }, accepted);
        expect(got.failures).toEqual([]);
        expect(got.images![0].imageManifest).toBe(manifest);
        expect(got.images![0].imageManifestMediaType).toBe(type);
        expect(got.images![0].imageId!.imageDigest).toBe(sha256(manifest));
      }
    }
  });

  test('by tag, Docker v2 schema 2 converts to OCI and OCI to Docker v2 schema 2, over the same blobs', async () => {
    const asOci = (await getOne('types/pull', { imageTag: 'docker' }, [T.oci])).images![0];
    expect(asOci.imageManifestMediaType).toBe(T.oci);
    const o = JSON.parse(asOci.imageManifest!);
    expect(o.mediaType).toBe(T.oci);
    expect(o.config).toEqual({
      mediaType: 'application/vnd.oci.image.config.v1+json',
      size: docker.config.length,
      digest: sha256(docker.config),
    });
    expect(o.layers.map((l: { mediaType: string; digest: string }) => [l.mediaType, l.digest])).toEqual(
      docker.layers.map((l) => ['application/vnd.oci.image.layer.v1.tar+gzip', sha256(l)]),
    );
    expect(asOci.imageId!.imageDigest).toBe(sha256(asOci.imageManifest!));

    const asDocker = (await getOne('types/pull', { imageTag: 'oci' }, [T.docker, T.schema1])).images![0];
    expect(asDocker.imageManifestMediaType).toBe(T.docker);
    const d = JSON.parse(asDocker.imageManifest!);
    expect(d.config.mediaType).toBe('application/vnd.docker.container.image.v1+json');
    expect(d.layers.map((l: { mediaType: string; digest: string }) => [l.mediaType, l.digest])).toEqual(
      oci.layers.map((l) => ['application/vnd.docker.image.rootfs.diff.tar.gzip', sha256(l)]),
    );
  });

  test('by tag, Docker v2 schema 2 converts to schema 1 for a client that accepts only schema 1', async () => {
    const got = (await getOne('types/pull', { imageTag: 'docker' }, [T.schema1])).images![0];
    expect(got.imageManifestMediaType).toBe(T.schema1);
    const m = JSON.parse(got.imageManifest!);
    expect(m).toMatchObject({ schemaVersion: 1, name: 'types/pull', tag: 'docker', architecture: 'arm64' });
    expect(m.fsLayers).toEqual([...docker.layers].reverse().map((l) => ({ blobSum: sha256(l) })));
    const history = m.history.map((h: { v1Compatibility: string }) => JSON.parse(h.v1Compatibility));
    expect(history).toHaveLength(2);
    expect(history[0].config).toEqual({ Env: ['PATH=/bin'], Cmd: ['/bin/sh'] });
    expect(history[0].parent).toBe(history[1].id);
    expect(history[1].container_config.Cmd).toEqual(['ADD base /']);
    expect(got.imageId!.imageDigest).toBe(sha256(got.imageManifest!));
  });

  test('no conversion by digest, none from OCI to schema 1, none for an index: a failure, never another type', async () => {
    const cases: [{ imageTag?: string; imageDigest?: string }, string[]][] = [
      [{ imageDigest: oci.digest }, [T.docker]],
      [{ imageDigest: docker.digest }, [T.oci, T.schema1]],
      [{ imageTag: 'oci', imageDigest: oci.digest }, [T.docker]],
      [{ imageTag: 'oci' }, [T.schema1]],
      [{ imageTag: 'index' }, [T.oci, T.docker]],
      [{ imageTag: 'index' }, [T.dockerList]],
    ];
    for (const [id, accepted] of cases) {
      const got = await getOne('types/pull', id, accepted);
      expect(got.images).toEqual([]);
      expect(got.failures).toHaveLength(1);
      expect(got.failures![0].failureCode).toBe('ImageNotFound');
      expect(got.failures![0].failureReason).toContain('accepted media types');
    }
  });

  describeWithTool('aws', 'AWS CLI', () => {
    test('batch-get-image --accepted-media-types', async () => {
      const converted = await awsCli(serve.endpoint, [
        'ecr',
        'batch-get-image',
        '--repository-name',
        'types/pull',
        '--image-ids',
        'imageTag=docker',
        '--accepted-media-types',
        T.oci,
      ]);
      expect(converted.json.images[0].imageManifestMediaType).toBe(T.oci);
      expect(JSON.parse(String(converted.json.images[0].imageManifest)).mediaType).toBe(T.oci);
      const refused = await awsCli(serve.endpoint, [
        'ecr',
        'batch-get-image',
        '--repository-name',
        'types/pull',
        '--image-ids',
        `imageDigest=${oci.digest}`,
        '--accepted-media-types',
        T.docker,
      ]);
      expect(refused.json.images).toEqual([]);
      expect(refused.json.failures[0].failureCode).toBe('ImageNotFound');
      const asIs = await awsCli(serve.endpoint, [
        'ecr',
        'batch-get-image',
        '--repository-name',
        'types/pull',
        '--image-ids',
        'imageTag=oci',
        '--accepted-media-types',
        ...DOCKER_ACCEPT,
      ]);
      expect(asIs.json.images[0].imageManifest).toBe(oci.manifest);
    });
  });
});
