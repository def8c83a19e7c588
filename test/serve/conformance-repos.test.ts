/**
 * Repositories, tags, paging and sizes as ECR has them, driven by the AWS CLI and the AWS SDK:
 * names up to 256 characters are stored and deleted like any other, tags follow ECR's `[a-zA-Z0-9-_.]+` (1-300),
 * list operations page at the documented default of 100, and an index's size is its largest manifest's.
 */
import { errorOf } from '../helpers/error-of.js';
import { writeFileSync, mkdtempSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ECRClient,
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ListImagesCommand,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../helpers/serve.js';
import { sdk, createRepo, makeImage, pushImage, sha256 } from '../helpers/ecr.js';
import { awsCli, cliErrorCode } from '../helpers/aws-cli.js';
import { describeWithTool } from '../helpers/tools.js';
import { pagingLimitsOf } from '../../src/serve/model.js';

let serve: Serve;
let ecr: ECRClient;
let work: string;

/** 204 characters with 25 slashes (escaped, 254 bytes plus `.json`), and the longest legal name. */
const NAME_204 = `${'abcdefg/'.repeat(25)}abcd`;
const NAME_256 = 'a'.repeat(256);

beforeAll(async () => {
  serve = await startServe();
  ecr = sdk(serve.endpoint);
  work = mkdtempSync(join(tmpdir(), 'ecrx-conf-repos-'));
});
afterAll(async () => {
  ecr?.destroy();
  await serve?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the names are what the test says they are: legal by the model, and as long as claimed', () => {
  const pattern = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
  expect(NAME_204).toHaveLength(204);
  expect(NAME_256).toHaveLength(256);
  expect(pattern.test(NAME_204) && pattern.test(NAME_256)).toBe(true);
});

describeWithTool('aws', 'AWS CLI: long repository names', () => {
  test('create, describe and delete names of 204 and 256 characters', async () => {
    for (const name of [NAME_204, NAME_256]) {
      const created = await awsCli(serve.endpoint, ['ecr', 'create-repository', '--repository-name', name]);
      expect(created.code).toBe(0);
      expect(created.json.repository.repositoryName).toBe(name);
      const described = await awsCli(serve.endpoint, ['ecr', 'describe-repositories', '--repository-names', name]);
      expect(described.json.repositories[0].repositoryUri).toBe(`000000000000.dkr.ecr.us-east-1.amazonaws.com/${name}`);
      const deleted = await awsCli(serve.endpoint, ['ecr', 'delete-repository', '--repository-name', name]);
      expect(deleted.code).toBe(0);
      const gone = await awsCli(serve.endpoint, ['ecr', 'describe-repositories', '--repository-names', name]);
      expect(cliErrorCode(gone)).toBe('RepositoryNotFoundException');
    }
  });
});

test('AWS SDK: a 256-character repository holds an image, survives a restart, and deletes', async () => {
  const first = await startServe();
  let c = sdk(first.endpoint);
  const img = makeImage([100]);
  await c.send(new CreateRepositoryCommand({ repositoryName: NAME_256 }));
  await pushImage(c, NAME_256, img, 'v1');
  c.destroy();
  await first.stop();
  const second = await startServe([], first.dataDir);
  c = sdk(second.endpoint);
  try {
    const got = await c.send(new BatchGetImageCommand({ repositoryName: NAME_256, imageIds: [{ imageTag: 'v1' }] }));
    expect(got.images![0].imageManifest).toBe(img.manifest);
    await c.send(new DeleteRepositoryCommand({ repositoryName: NAME_256, force: true }));
    const gone = await errorOf(c.send(new DescribeRepositoriesCommand({ repositoryNames: [NAME_256] })));
    expect(gone.name).toBe('RepositoryNotFoundException');
  } finally {
    c.destroy();
    await second.dispose();
    rmSync(first.dataDir, { recursive: true, force: true });
  }
});

test('a data directory from before names were hashed is read, and its files move to their hashed names', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ecrx-legacy-serve-'));
  const registryDir = join(dataDir, 'repositories', '000000000000');
  mkdirSync(registryDir, { recursive: true });
  const record = {
    registryId: '000000000000',
    name: 'old/style',
    createdAt: Date.now(),
    imageTagMutability: 'MUTABLE',
    scanOnPush: false,
    encryptionType: 'AES256',
    images: {},
    layers: {},
  };
  writeFileSync(join(registryDir, `${encodeURIComponent('old/style')}.json`), JSON.stringify(record));
  const legacy = await startServe([], dataDir);
  const c = sdk(legacy.endpoint);
  try {
    const d = await c.send(new DescribeRepositoriesCommand({ repositoryNames: ['old/style'] }));
    expect(d.repositories![0].repositoryName).toBe('old/style');
    expect(readdirSync(registryDir)).toEqual([`${createHash('sha256').update('old/style').digest('hex')}.json`]);
  } finally {
    c.destroy();
    await legacy.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

describe('tags: ECR accepts [a-zA-Z0-9-_.]+ of 1 to 300 characters, leading - and . included', () => {
  const good = ['-lead', '.dot', '..', '_under', 'UPPER.lower-9', 't'.repeat(300)];
  const bad = ['a b', 'a:b', 'a/b', 'ä', 'tag+1'];
  let img: ReturnType<typeof makeImage>;
  beforeAll(async () => {
    await createRepo(ecr, 'tags/app');
    img = makeImage([10]);
    await pushImage(ecr, 'tags/app', img);
  });

  test('AWS SDK: PutImage, BatchGetImage and DescribeImages', async () => {
    for (const tag of good) {
      const put = await ecr.send(
        new PutImageCommand({ repositoryName: 'tags/app', imageManifest: img.manifest, imageTag: tag }),
      );
      expect(put.image!.imageId!.imageTag).toBe(tag);
    }
    const got = await ecr.send(
      new BatchGetImageCommand({ repositoryName: 'tags/app', imageIds: good.map((imageTag) => ({ imageTag })) }),
    );
    expect(got.images!.map((i) => i.imageId!.imageTag)).toEqual(good);
    for (const tag of bad) {
      const err = await errorOf(
        ecr.send(new PutImageCommand({ repositoryName: 'tags/app', imageManifest: img.manifest, imageTag: tag })),
      );
      expect(err.name).toBe('InvalidParameterException');
      expect(err.message).toBe(
        "Invalid parameter at 'imageTag' failed to satisfy constraint: 'must satisfy regular expression '[a-zA-Z0-9-_.]+''",
      );
      const described = await errorOf(
        ecr.send(new DescribeImagesCommand({ repositoryName: 'tags/app', imageIds: [{ imageTag: tag }] })),
      );
      expect(described.name).toBe('InvalidParameterException');
    }
    const failures = await ecr.send(
      new BatchGetImageCommand({ repositoryName: 'tags/app', imageIds: bad.map((imageTag) => ({ imageTag })) }),
    );
    expect(failures.failures!.map((f) => f.failureCode)).toEqual(bad.map(() => 'InvalidImageTag'));
    const tooLong = await errorOf(
      ecr.send(
        new PutImageCommand({ repositoryName: 'tags/app', imageManifest: img.manifest, imageTag: 't'.repeat(301) }),
      ),
    );
    expect(tooLong.message).toBe(
      "Invalid parameter at 'imageTag' failed to satisfy constraint: 'Member must have length less than or equal to 300'",
    );
  });

  describeWithTool('aws', 'AWS CLI', () => {
    test('put-image with a tag that begins with - or .', async () => {
      writeFileSync(join(work, 'tag-manifest.json'), img.manifest);
      for (const tag of ['-cli', '.cli']) {
        const put = await awsCli(serve.endpoint, [
          'ecr',
          'put-image',
          '--repository-name',
          'tags/app',
          `--image-tag=${tag}`,
          '--image-manifest',
          `file://${join(work, 'tag-manifest.json')}`,
        ]);
        expect(put.code).toBe(0);
        expect(put.json.image.imageId.imageTag).toBe(tag);
      }
      const bad = await awsCli(serve.endpoint, [
        'ecr',
        'put-image',
        '--repository-name',
        'tags/app',
        '--image-tag',
        'no:colons',
        '--image-manifest',
        `file://${join(work, 'tag-manifest.json')}`,
      ]);
      expect(cliErrorCode(bad)).toBe('InvalidParameterException');
    });
  });
});

describe('paging: each list operation pages at its documented default', () => {
  test('the defaults come from the model: 100 for DescribeRepositories, ListImages and DescribeImages', () => {
    for (const op of ['DescribeRepositories', 'ListImages', 'DescribeImages']) {
      expect(pagingLimitsOf(op)).toEqual({ documentedDefault: 100, min: 1, max: 1000 });
    }
  });

  test('AWS SDK: 101 of each make a first page of 100 and a token for the last one', async () => {
    for (let i = 0; i < 101; i++) await createRepo(ecr, `pages/r${String(i).padStart(3, '0')}`);
    const total = (await ecr.send(new DescribeRepositoriesCommand({ maxResults: 1000 }))).repositories!.length;
    const first = await ecr.send(new DescribeRepositoriesCommand({}));
    expect(first.repositories).toHaveLength(100);
    expect(first.nextToken).toBeDefined();
    const rest = await ecr.send(new DescribeRepositoriesCommand({ nextToken: first.nextToken }));
    expect(rest.repositories).toHaveLength(total - 100);

    await createRepo(ecr, 'pages/images');
    const img = makeImage([5]);
    await pushImage(ecr, 'pages/images', img);
    // 101 tags on one image (101 image ids), and 101 distinct manifests over the same blobs (101 images).
    for (let i = 0; i < 101; i++) {
      await ecr.send(
        new PutImageCommand({ repositoryName: 'pages/images', imageManifest: img.manifest, imageTag: `t${i}` }),
      );
      const variant = JSON.stringify({ ...JSON.parse(img.manifest), annotations: { n: String(i) } });
      await ecr.send(new PutImageCommand({ repositoryName: 'pages/images', imageManifest: variant }));
    }
    const ids = await ecr.send(new ListImagesCommand({ repositoryName: 'pages/images' }));
    expect(ids.imageIds).toHaveLength(100);
    expect(ids.nextToken).toBeDefined();
    const details = await ecr.send(new DescribeImagesCommand({ repositoryName: 'pages/images' }));
    expect(details.imageDetails).toHaveLength(100);
    expect(details.nextToken).toBeDefined();
  });

  describeWithTool('aws', 'AWS CLI', () => {
    test('describe-repositories --no-paginate gets the first 100', async () => {
      const page = await awsCli(serve.endpoint, ['ecr', 'describe-repositories', '--no-paginate']);
      expect(page.code).toBe(0);
      expect(page.json.repositories).toHaveLength(100);
      expect(page.json.nextToken).toBeDefined();
      const all = await awsCli(serve.endpoint, ['ecr', 'describe-repositories']);
      expect(all.json.repositories.length).toBeGreaterThan(100);
    });
  });
});

describe("an index's imageSizeInBytes is its largest manifest's, as ECR documents", () => {
  test('AWS SDK and AWS CLI see the same size', async () => {
    await createRepo(ecr, 'sizes/multi');
    const small = makeImage([3000], { architecture: 'amd64' });
    const big = makeImage([5000, 700], { architecture: 'arm64' });
    await pushImage(ecr, 'sizes/multi', small);
    await pushImage(ecr, 'sizes/multi', big);
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [small, big].map((m) => ({
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: m.digest,
        size: Buffer.byteLength(m.manifest),
      })),
    });
    await ecr.send(new PutImageCommand({ repositoryName: 'sizes/multi', imageManifest: index, imageTag: 'multi' }));
    const d = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'sizes/multi', imageIds: [{ imageTag: 'multi' }] }),
    );
    expect(d.imageDetails![0].imageDigest).toBe(sha256(index));
    expect(d.imageDetails![0].imageSizeInBytes).toBe(5700);
  });

  describeWithTool('aws', 'AWS CLI', () => {
    test('describe-images reports the same', async () => {
      const d = await awsCli(serve.endpoint, [
        'ecr',
        'describe-images',
        '--repository-name',
        'sizes/multi',
        '--image-ids',
        'imageTag=multi',
      ]);
      expect(d.json.imageDetails[0].imageSizeInBytes).toBe(5700);
    });
  });
});
