/**
 * Crafted manifests and configs, stored in a real `ecrx serve` (which, like ECR, does not look inside blobs and does
 * not check descriptor sizes), read by pull, inspect and copy. Each case is one line: what it is, the command, the
 * exit code and error code it must give. After each: no output, nothing in the cache under a digest's name that
 * does not hash to it, nothing written to the copy's destination, no stack trace.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { ListImagesCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../helpers/serve.js';
import { runCli, testEnv } from '../helpers/cli.js';
import { sdk, createRepo, uploadBlob, putManifest, sha256 } from '../helpers/ecr.js';
import { hostileImage, startHostileEcr, type HostileEcr } from '../helpers/hostile-ecr.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

let serve: Serve;
let ecr: ECRClient;
let work: string;
const layer = randomBytes(64 * 1024);
let layerDigest: string;
let goodConfig: { digest: string; size: number };
let liar: HostileEcr;

/** Uploads `config` bytes and stores a manifest over it and the shared layer, tagged `tag`. */
async function store(
  tag: string,
  o: { config?: Buffer; layers?: unknown; configDescriptor?: object; mediaType?: string; extra?: object } = {},
) {
  const cfg = o.config ? { digest: await uploadOnce(o.config), size: o.config.length } : goodConfig;
  const manifest = {
    schemaVersion: 2,
    mediaType: o.mediaType ?? OCI_MANIFEST,
    config: o.configDescriptor ?? { mediaType: OCI_CONFIG, ...cfg },
    layers: o.layers ?? [{ mediaType: OCI_LAYER, digest: layerDigest, size: layer.length }],
    ...o.extra,
  };
  await putManifest(ecr, 'hm/app', Buffer.from(JSON.stringify(manifest)), tag);
}

const uploaded = new Set<string>();
async function uploadOnce(bytes: Buffer): Promise<string> {
  const d = sha256(bytes);
  if (!uploaded.has(d)) await uploadBlob(ecr, 'hm/app', bytes);
  uploaded.add(d);
  return d;
}

beforeAll(async () => {
  serve = await startServe();
  ecr = sdk(serve.endpoint);
  work = mkdtempSync(join(tmpdir(), 'ecrx-hostile-manifests-'));
  await createRepo(ecr, 'hm/app');
  await createRepo(ecr, 'hm/dst');
  layerDigest = await uploadOnce(layer);
  const cfg = Buffer.from(
    JSON.stringify({ os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: [] } }),
  );
  goodConfig = { digest: await uploadOnce(cfg), size: cfg.length };
  await store('config-not-json', { config: Buffer.from('this is not json {') });
  await store('config-null', { config: Buffer.from('null') });
  await store('config-array', { config: Buffer.from('[1,2,3]') });
  await store('config-odd-types', {
    config: Buffer.from(JSON.stringify({ os: 7, architecture: ['x'], created: { a: 1 }, config: 'no' })),
  });
  await store('layer-size-larger', { layers: [{ mediaType: OCI_LAYER, digest: layerDigest, size: layer.length + 1 }] });
  await store('layer-size-smaller', {
    layers: [{ mediaType: OCI_LAYER, digest: layerDigest, size: layer.length - 1 }],
  });
  await store('layer-size-zero', { layers: [{ mediaType: OCI_LAYER, digest: layerDigest, size: 0 }] });
  await store('config-size-wrong', {
    configDescriptor: { mediaType: OCI_CONFIG, digest: goodConfig.digest, size: goodConfig.size + 10 },
  });
});
afterAll(async () => {
  await liar?.close();
  await serve.dispose();
  rmSync(work, { recursive: true, force: true });
});

interface Case {
  name: string;
  args: string[];
  exit: number;
  code: string;
  message?: RegExp;
}

const pull = (tag: string) => ['pull', `hm/app:${tag}`, '-o', `out-${tag}`];
const cases: Case[] = [
  {
    name: 'inspect: a config that is not JSON',
    args: ['inspect', 'hm/app:config-not-json'],
    exit: 5,
    code: 'INVALID_IMAGE',
    message: /config .* is not JSON/,
  },
  {
    name: 'inspect: a config that is JSON null',
    args: ['inspect', 'hm/app:config-null'],
    exit: 5,
    code: 'INVALID_IMAGE',
    message: /not a JSON object/,
  },
  {
    name: 'inspect: a config that is a JSON array',
    args: ['inspect', 'hm/app:config-array'],
    exit: 5,
    code: 'INVALID_IMAGE',
    message: /not a JSON object/,
  },
  {
    name: 'pull: a layer longer than its descriptor says',
    args: pull('layer-size-larger'),
    exit: 5,
    code: 'SIZE_MISMATCH',
  },
  {
    name: 'pull: a layer shorter than its descriptor says',
    args: pull('layer-size-smaller'),
    exit: 5,
    code: 'SIZE_MISMATCH',
  },
  {
    name: 'pull: a layer whose descriptor says 0 bytes',
    args: pull('layer-size-zero'),
    exit: 5,
    code: 'SIZE_MISMATCH',
  },
  {
    name: 'pull: a config whose descriptor size is wrong',
    args: pull('config-size-wrong'),
    exit: 5,
    code: 'SIZE_MISMATCH',
  },
  {
    name: 'copy: a layer longer than its descriptor says',
    args: ['copy', 'hm/app:layer-size-larger', 'hm/dst:x'],
    exit: 5,
    code: 'SIZE_MISMATCH',
  },
  {
    name: 'copy: into a repository that does not exist',
    args: ['copy', 'hm/app:config-null', 'hm/missing:z'],
    exit: 3,
    code: 'REPOSITORY_NOT_FOUND',
    message: /hm\/missing/,
  },
];

/** Every cache file named by a digest holds bytes that hash to it. */
function cacheIsSound(dir: string): void {
  const blobs = join(dir, 'blobs-v1', 'sha256');
  if (!existsSync(blobs)) return;
  for (const name of readdirSync(blobs)) {
    if (!/^[a-f0-9]{64}$/.test(name)) continue;
    expect(
      createHash('sha256')
        .update(readFileSync(join(blobs, name)))
        .digest('hex'),
    ).toBe(name);
  }
}

describe('crafted manifests and configs', () => {
  test.each(cases)('$name: exit $exit, $code', async ({ name, args, exit, code, message }) => {
    const cache = join(work, `cache-${name.replace(/\W+/g, '-')}`);
    const res = await runCli([...args, '--cache-dir', cache, '--json'], { env: testEnv(serve.endpoint), cwd: work });
    expect(res).toExitWith(exit);
    const err = JSON.parse(res.stdout).error;
    expect(err.code).toBe(code);
    if (message) expect(err.message).toMatch(message);
    expect(res.stderr).not.toMatch(/\n\s+at /);
    if (args[0] === 'pull') expect(existsSync(join(work, args[3]))).toBe(false);
    expect(readdirSync(work).filter((n) => n.includes('.ecrx-'))).toEqual([]);
    cacheIsSound(cache);
    const dst = await ecr.send(new ListImagesCommand({ repositoryName: 'hm/dst' }));
    expect(dst.imageIds).toEqual([]);
  });

  test('inspect: config fields of the wrong JSON types are shown as unknown, not trusted', async () => {
    const res = await runCli(['inspect', 'hm/app:config-odd-types', '--json'], {
      env: testEnv(serve.endpoint),
      cwd: work,
    });
    expect(res).toExitWith(0);
    const data = JSON.parse(res.stdout).data;
    expect(data.platform).toBeNull();
    expect(data.created).toBeNull();
    expect(data.entrypoint).toBeNull();
  });
});

/** Manifests an honest registry refuses at PutImage, handed out by a lying endpoint with digests that match. */
describe('manifests only a lying endpoint would serve', () => {
  const layerDesc = (o: object) => ({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: sha256(cfgBytes), size: cfgBytes.length },
    layers: [{ mediaType: OCI_LAYER, digest: sha256(blob), size: blob.length, ...o }],
  });
  const cfgBytes = Buffer.from(JSON.stringify({ os: 'linux', architecture: 'amd64' }));
  const blob = randomBytes(1000);
  const doc = (o: object) => ({ manifest: Buffer.from(JSON.stringify(o)) });
  const inner = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }),
  );
  const images = {
    negative: doc(layerDesc({ size: -5 })),
    huge: doc(layerDesc({ size: 2 ** 60 })),
    fractional: doc(layerDesc({ size: 1.5 })),
    string: doc(layerDesc({ size: '1000' })),
    sha512: doc(layerDesc({ digest: `sha512:${'a'.repeat(128)}` })),
    uppercase: doc(layerDesc({ digest: sha256(blob).toUpperCase() })),
    traversal: doc(layerDesc({ digest: 'sha256:../../../../etc/passwd' })),
    listless: doc({ ...layerDesc({}), layers: { 0: {} } }),
    configless: doc({ ...layerDesc({}), config: null }),
    unknown: doc({ ...layerDesc({}), mediaType: 'application/vnd.example.thing.v1+json' }),
    notjson: { manifest: Buffer.from('{"schemaVersion": 2,') },
    schema1: doc({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] }),
    nested: doc({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.index.v1+json',
          digest: sha256(inner),
          size: inner.length,
          platform: { os: 'linux', architecture: 'amd64' },
        },
      ],
    }),
    inner: { manifest: inner },
    bigconfig: doc({
      ...layerDesc({}),
      config: { mediaType: OCI_CONFIG, digest: sha256('big'), size: 40 * 1024 * 1024 },
    }),
    lying: { manifest: Buffer.from(JSON.stringify(layerDesc({}))), digest: sha256('something else') },
  };
  const lyingCases: Case[] = [
    {
      name: 'pull: a negative layer size',
      args: ['pull', 'hostile/manifests:negative'],
      exit: 5,
      code: 'INVALID_IMAGE',
      message: /layers\[0\] is not a valid descriptor/,
    },
    {
      name: 'pull: a layer size beyond 2^53',
      args: ['pull', 'hostile/manifests:huge'],
      exit: 5,
      code: 'INVALID_IMAGE',
      message: /not a valid descriptor/,
    },
    {
      name: 'pull: a fractional layer size',
      args: ['pull', 'hostile/manifests:fractional'],
      exit: 5,
      code: 'INVALID_IMAGE',
      message: /not a valid descriptor/,
    },
    {
      name: 'pull: a layer size that is a string',
      args: ['pull', 'hostile/manifests:string'],
      exit: 5,
      code: 'INVALID_IMAGE',
      message: /not a valid descriptor/,
    },
    {
      name: 'pull: a sha512 layer digest',
      args: ['pull', 'hostile/manifests:sha512'],
      exit: 5,
      code: 'INVALID_IMAGE',
      message: /not a valid descriptor/,
    },
    {
      name: 'pull: an upper-case layer digest',
      args: ['pull', 'hostile/manifests:uppercase'],
      exit: 5,
      code: 'INVALID_IMAGE',
      message: /not a valid descriptor/,
    },
    {
      name: 'pull: a layer digest that is a path',
      args: ['pull', 'hostile/manifests:traversal'],
      exit: 5,
      code: 'INVALID_IMAGE',
      message: /not a valid descriptor/,
    },
    {
      name: 'pull: layers that are not a list',
      args: ['pull', 'hostile/manifests:listless'],
      exit: 5,
      code: 'INVALID_IMAGE',
      message: /no layers list/,
    },
    {
      name: 'pull: a null config descriptor',
      args: ['pull', 'hostile/manifests:configless'],
      exit: 5,
      code: 'INVALID_IMAGE',
      message: /config is not a valid descriptor/,
    },
    {
      name: 'pull: an unknown manifest media type',
      args: ['pull', 'hostile/manifests:unknown'],
      exit: 5,
      code: 'INVALID_IMAGE',
      message: /Unsupported manifest media type/,
    },
    {
      name: 'pull: a manifest that is not JSON',
      args: ['pull', 'hostile/manifests:notjson'],
      exit: 5,
      code: 'INVALID_IMAGE',
      message: /not valid JSON/,
    },
    {
      name: 'pull: a schema 1 manifest',
      args: ['pull', 'hostile/manifests:schema1'],
      exit: 5,
      code: 'INVALID_IMAGE',
      message: /schema 1/,
    },
    {
      name: 'pull: an index nested in an index',
      args: ['pull', 'hostile/manifests:nested', '--platform', 'linux/amd64'],
      exit: 5,
      code: 'INVALID_IMAGE',
      message: /itself an index/,
    },
    {
      name: 'pull: a manifest whose bytes are not its digest',
      args: ['pull', 'hostile/manifests:lying'],
      exit: 5,
      code: 'DIGEST_MISMATCH',
      message: /does not match its digest/,
    },
    {
      name: 'inspect: a negative layer size',
      args: ['inspect', 'hostile/manifests:negative'],
      exit: 5,
      code: 'INVALID_IMAGE',
    },
    {
      name: 'inspect: a config that claims 40 MiB',
      args: ['inspect', 'hostile/manifests:bigconfig'],
      exit: 5,
      code: 'INVALID_IMAGE',
      message: /ecrx reads such documents up to 8 MiB/,
    },
    {
      name: 'inspect: a manifest whose bytes are not its digest',
      args: ['inspect', 'hostile/manifests:lying'],
      exit: 5,
      code: 'DIGEST_MISMATCH',
    },
    {
      name: 'copy: a negative layer size',
      args: ['copy', 'hostile/manifests:negative', 'hostile/dst:copy'],
      exit: 5,
      code: 'INVALID_IMAGE',
    },
    {
      name: 'copy: a manifest whose bytes are not its digest',
      args: ['copy', 'hostile/manifests:lying', 'hostile/dst:copy'],
      exit: 5,
      code: 'DIGEST_MISMATCH',
    },
  ];

  beforeAll(async () => {
    liar = await startHostileEcr(hostileImage(blob), images);
  });

  test.each(lyingCases)('$name: exit $exit, $code, no blob fetched', async ({ name, args, exit, code, message }) => {
    const cache = join(work, `liar-cache-${name.replace(/\W+/g, '-')}`);
    const out = join(work, `liar-out-${name.replace(/\W+/g, '-')}`);
    const [opsBefore, getsBefore] = [liar.ops.length, liar.gets.length];
    const argv = [...args, ...(args[0] === 'pull' ? ['-o', out] : [])];
    const res = await runCli([...argv, '--cache-dir', cache, '--json'], { env: testEnv(liar.endpoint), cwd: work });
    expect(res).toExitWith(exit);
    const err = JSON.parse(res.stdout).error;
    expect(err.code).toBe(code);
    if (message) expect(err.message).toMatch(message);
    expect(res.stderr).not.toMatch(/\n\s+at /);
    expect(liar.ops.slice(opsBefore).filter((op) => op !== 'BatchGetImage')).toEqual([]);
    expect(liar.gets.length).toBe(getsBefore);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(work).filter((n) => n.includes('.ecrx-'))).toEqual([]);
    cacheIsSound(cache);
  });
});
