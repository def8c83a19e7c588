/**
 * Signed images travel with their referrers: an image with a cosign signature, a notation signature, an SBOM and a
 * signature of that SBOM is pushed from an oras-style layout, listed, inspected, copied between two `ecrx serve`
 * endpoints with --referrers, and pulled back into a layout. The copy's manifests are byte-identical, its
 * ListImageReferrers answers the same digests, and both signatures still verify against the copy.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchGetImageCommand, ListImageReferrersCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../../helpers/serve.js';
import { runCli, testEnv } from '../../helpers/cli.js';
import { sdk, createRepo } from '../../helpers/ecr.js';
import { buildImage, writeLayout, type BuiltImage } from '../../../src/oci/build.js';
import {
  addToLayout,
  asSubject,
  cosignSignature,
  keys,
  notationSignature,
  spdxSbom,
  verifyCosign,
  verifyNotation,
  COSIGN_SIG_TYPE,
  NOTATION_SIG_TYPE,
  SPDX_TYPE,
  type Artifact,
} from '../../helpers/artifacts.js';

let a: Serve;
let b: Serve;
let ecrA: ECRClient;
let ecrB: ECRClient;
let work: string;
let image: BuiltImage;
let cosign: Artifact;
let notation: Artifact;
let sbom: Artifact;
let sbomSig: Artifact;
const cosignKey = keys();
const notationKey = keys();

const cli = (args: string[]) =>
  runCli(args, { env: testEnv(a.endpoint, { ECRX_CACHE_DIR: join(work, 'cache') }), cwd: work });
const json = (stdout: string) => JSON.parse(stdout);

async function manifestOf(ecr: ECRClient, repositoryName: string, digest: string): Promise<string> {
  const out = await ecr.send(
    new BatchGetImageCommand({
      repositoryName,
      imageIds: [{ imageDigest: digest }],
      acceptedMediaTypes: ['application/vnd.oci.image.manifest.v1+json'],
    }),
  );
  if (!out.images?.[0]) throw new Error(`${digest} not in ${repositoryName}: ${JSON.stringify(out.failures)}`);
  return out.images[0].imageManifest!;
}

async function referrerDigests(
  ecr: ECRClient,
  repositoryName: string,
  subject: string,
  maxResults = 50,
): Promise<string[]> {
  const all: string[] = [];
  let nextToken: string | undefined;
  do {
    const out = await ecr.send(
      new ListImageReferrersCommand({ repositoryName, subjectId: { imageDigest: subject }, maxResults, nextToken }),
    );
    all.push(...(out.referrers ?? []).map((r) => r.digest!));
    nextToken = out.nextToken;
  } while (nextToken);
  return all.sort();
}

beforeAll(async () => {
  [a, b] = await Promise.all([startServe(), startServe()]);
  ecrA = sdk(a.endpoint);
  ecrB = sdk(b.endpoint);
  work = mkdtempSync(join(tmpdir(), 'ecrx-referrers-'));
  await createRepo(ecrA, 'signed/app');
  await createRepo(ecrB, 'mirror/app');
  image = await buildImage([[{ path: 'bin/app', content: 'signed bits', mode: 0o755 }]]);
  cosign = cosignSignature(asSubject(image), 'registry/signed/app', cosignKey.privateKey);
  notation = notationSignature(asSubject(image), notationKey.privateKey);
  sbom = spdxSbom(asSubject(image));
  sbomSig = notationSignature(asSubject(sbom), notationKey.privateKey);
  const layout = join(work, 'layout');
  await writeLayout(layout, [image], { refName: '1.0' });
  await addToLayout(layout, [cosign, notation, sbom, sbomSig]);
});
afterAll(async () => {
  ecrA?.destroy();
  ecrB?.destroy();
  await Promise.all([a?.dispose(), b?.dispose()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

test('push --referrers takes the image and every referrer the layout holds, subjects first', async () => {
  const res = await cli(['push', join(work, 'layout'), 'signed/app:1.0', '--referrers', '--json']);
  expect(res).toExitWith(0);
  const data = json(res.stdout).data;
  expect(data.digest).toBe(image.manifest.digest);
  expect(data.referrers.map((r: { digest: string }) => r.digest).sort()).toEqual(
    [cosign, notation, sbom, sbomSig].map((x) => x.manifest.digest).sort(),
  );
  const order = data.referrers.map((r: { digest: string }) => r.digest);
  expect(order.indexOf(sbom.manifest.digest)).toBeLessThan(order.indexOf(sbomSig.manifest.digest));
  expect(data.referrers.find((r: { digest: string }) => r.digest === sbomSig.manifest.digest)).toEqual({
    digest: sbomSig.manifest.digest,
    artifactType: NOTATION_SIG_TYPE,
    subject: sbom.manifest.digest,
  });
  // a plain push of the same layout still picks the image, not one of its referrers
  const plain = await cli(['push', join(work, 'layout'), 'signed/app:plain', '--json']);
  expect(plain).toExitWith(0);
  expect(json(plain.stdout).data.digest).toBe(image.manifest.digest);
});

test("referrers lists them by artifact type; --artifact-type filters; --recursive follows the SBOM's signature", async () => {
  const res = await cli(['referrers', 'signed/app:1.0', '--json']);
  expect(res).toExitWith(0);
  const data = json(res.stdout).data;
  expect(data.digest).toBe(image.manifest.digest);
  expect(data.byArtifactType).toEqual({ [COSIGN_SIG_TYPE]: 1, [NOTATION_SIG_TYPE]: 1, [SPDX_TYPE]: 1 });
  const cosignRow = data.referrers.find((r: { digest: string }) => r.digest === cosign.manifest.digest);
  expect(cosignRow).toEqual({
    digest: cosign.manifest.digest,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: COSIGN_SIG_TYPE,
    size: cosign.manifest.size,
    annotations: { 'org.opencontainers.image.created': '2026-05-01T00:00:00Z' },
    artifactStatus: 'ACTIVE',
    subject: image.manifest.digest,
  });

  const sboms = await cli(['referrers', `signed/app@${image.manifest.digest}`, '--artifact-type', SPDX_TYPE, '--json']);
  expect(json(sboms.stdout).data.referrers.map((r: { digest: string }) => r.digest)).toEqual([sbom.manifest.digest]);

  const deep = await cli(['referrers', 'signed/app:1.0', '--recursive', '--json']);
  expect(
    json(deep.stdout)
      .data.referrers.map((r: { digest: string }) => r.digest)
      .sort(),
  ).toEqual([cosign, notation, sbom, sbomSig].map((x) => x.manifest.digest).sort());

  const text = await cli(['referrers', 'signed/app:1.0', '--recursive']);
  expect(text.stdout).toContain(`has 4 referrers`);
  expect(text.stdout).toContain(`${SPDX_TYPE} (1)`);
  expect(text.stdout).toContain(`${NOTATION_SIG_TYPE} (2)`);
  expect(text.stdout).toContain(`refers to ${sbom.manifest.digest.slice(0, 19)}`);

  const tooMany = await cli([
    'referrers',
    'signed/app:1.0',
    ...['a', 'b', 'c', 'd', 'e', 'f'].flatMap((t) => ['--artifact-type', `x/${t}`]),
  ]);
  expect(tooMany).toExitWith(2);
  expect(tooMany.stderr).toContain('At most 5 --artifact-type');
});

test('inspect shows how many referrers the image has', async () => {
  const res = await cli(['inspect', 'signed/app:1.0', '--json']);
  expect(res).toExitWith(0);
  expect(json(res.stdout).data.referrers).toBe(3);
  const text = await cli(['inspect', 'signed/app:1.0']);
  expect(text.stdout).toMatch(/referrers:\s+3 \(ecrx referrers signed\/app:1.0\)/);
});

test('copy --referrers between two endpoints keeps every digest, and the signatures verify against the copy', async () => {
  const res = await cli([
    'copy',
    'signed/app:1.0',
    'mirror/app:1.0',
    '--referrers',
    '--endpoint-url',
    a.endpoint,
    '--to-endpoint-url',
    b.endpoint,
    '--json',
  ]);
  expect(res).toExitWith(0);
  const data = json(res.stdout).data;
  expect(data.digest).toBe(image.manifest.digest);
  expect(data.referrers).toHaveLength(4);

  expect(await referrerDigests(ecrB, 'mirror/app', image.manifest.digest)).toEqual(
    await referrerDigests(ecrA, 'signed/app', image.manifest.digest),
  );
  expect(await referrerDigests(ecrB, 'mirror/app', sbom.manifest.digest)).toEqual([sbomSig.manifest.digest]);
  // paging: one referrer a page gives the same answer
  expect(await referrerDigests(ecrB, 'mirror/app', image.manifest.digest, 1)).toEqual(
    [cosign, notation, sbom].map((x) => x.manifest.digest).sort(),
  );

  for (const digest of [image.manifest.digest, ...[cosign, notation, sbom, sbomSig].map((x) => x.manifest.digest)]) {
    expect(await manifestOf(ecrB, 'mirror/app', digest)).toBe(await manifestOf(ecrA, 'signed/app', digest));
  }
  // what `cosign verify` and `notation verify` check, done against the copy's bytes
  const copiedCosign = await manifestOf(ecrB, 'mirror/app', cosign.manifest.digest);
  expect(() =>
    verifyCosign(copiedCosign, cosign.blobs[1].bytes, cosignKey.publicKey, image.manifest.digest),
  ).not.toThrow();
  expect(() => verifyNotation(notation.blobs[1].bytes, notationKey.publicKey, image.manifest.digest)).not.toThrow();
  expect(() => verifyNotation(sbomSig.blobs[1].bytes, notationKey.publicKey, image.manifest.digest)).toThrow(
    /names sha256/,
  );

  // a copy without --referrers leaves them behind
  const bare = await cli([
    'copy',
    'signed/app:1.0',
    'mirror/app:bare',
    '--endpoint-url',
    a.endpoint,
    '--to-endpoint-url',
    b.endpoint,
    '--json',
  ]);
  expect(bare).toExitWith(0);
  expect(json(bare.stdout).data.referrers).toBeUndefined();
});

test('pull --referrers from the copy writes them into the layout byte for byte; they verify and push back', async () => {
  // pull the copy back with its referrers: every blob is on B, and each is the one that was signed
  const out = join(work, 'pulled');
  const res = await runCli(['pull', 'mirror/app:1.0', '-o', out, '--referrers', '--json'], {
    env: testEnv(b.endpoint, { ECRX_CACHE_DIR: join(work, 'cache-b') }),
    cwd: work,
  });
  expect(res).toExitWith(0);
  expect(json(res.stdout).data.referrers).toHaveLength(4);
  const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8'));
  expect(index.manifests[0]).toMatchObject({
    digest: image.manifest.digest,
    annotations: { 'org.opencontainers.image.ref.name': '1.0' },
  });
  const entries = index.manifests.slice(1);
  expect(entries.map((m: { digest: string }) => m.digest).sort()).toEqual(
    [cosign, notation, sbom, sbomSig].map((x) => x.manifest.digest).sort(),
  );
  expect(entries.find((m: { digest: string }) => m.digest === sbomSig.manifest.digest)).toEqual({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: sbomSig.manifest.digest,
    size: sbomSig.manifest.size,
    artifactType: NOTATION_SIG_TYPE,
    annotations: { 'io.containerd.manifest.subject': sbom.manifest.digest },
  });
  for (const x of [cosign, notation, sbom, sbomSig]) {
    expect(readFileSync(join(out, 'blobs', 'sha256', x.manifest.digest.slice(7)))).toEqual(x.manifest.bytes);
    for (const blob of x.blobs)
      expect(readFileSync(join(out, 'blobs', 'sha256', blob.digest.slice(7)))).toEqual(blob.bytes);
  }
  // the signatures verify from the bytes that came back from the copy
  const file = (digest: string) => readFileSync(join(out, 'blobs', 'sha256', digest.slice(7)));
  expect(() =>
    verifyCosign(
      file(cosign.manifest.digest).toString('utf8'),
      file(cosign.blobs[1].digest),
      cosignKey.publicKey,
      image.manifest.digest,
    ),
  ).not.toThrow();
  expect(() =>
    verifyNotation(file(notation.blobs[1].digest), notationKey.publicKey, image.manifest.digest),
  ).not.toThrow();
  expect(() =>
    verifyNotation(file(sbomSig.blobs[1].digest), notationKey.publicKey, sbom.manifest.digest),
  ).not.toThrow();
  // and the pulled layout pushes back with them, as the same digests
  await createRepo(ecrA, 'signed/roundtrip');
  const back = await cli(['push', out, 'signed/roundtrip:1.0', '--referrers', '--json']);
  expect(back).toExitWith(0);
  expect(await referrerDigests(ecrA, 'signed/roundtrip', image.manifest.digest)).toEqual(
    await referrerDigests(ecrA, 'signed/app', image.manifest.digest),
  );

  const docker = await cli([
    'pull',
    'signed/app:1.0',
    '--format',
    'docker-archive',
    '-o',
    join(work, 'x.tar'),
    '--referrers',
  ]);
  expect(docker).toExitWith(2);
  expect(docker.stderr).toContain('--referrers needs --format oci or oci-archive');
});

test("push --referrers puts cosign save's tag-based signatures under sha256-<hex>.sig", async () => {
  const dir = join(work, 'cosign-save');
  await writeLayout(dir, [image]);
  const legacy = { ...cosignSignature(asSubject(image), 'registry/signed/app', cosignKey.privateKey) };
  // cosign save: the signature image has no subject; index.json marks it with kind: dev.cosignproject.cosign/sigs
  const doc = JSON.parse(legacy.manifest.bytes.toString('utf8'));
  delete doc.subject;
  delete doc.artifactType;
  doc.config = {
    mediaType: 'application/vnd.oci.image.config.v1+json',
    digest: legacy.blobs[0].digest,
    size: legacy.blobs[0].size,
  };
  const bytes = Buffer.from(JSON.stringify(doc));
  const { sha256Digest } = await import('../../../src/oci/manifest.js');
  const manifest = { digest: sha256Digest(bytes), size: bytes.length, bytes, mediaType: doc.mediaType };
  await addToLayout(dir, [{ ...legacy, manifest }]);
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  index.manifests[0].annotations = { kind: 'dev.cosignproject.cosign/image' };
  index.manifests[1] = {
    mediaType: manifest.mediaType,
    digest: manifest.digest,
    size: manifest.size,
    annotations: { kind: 'dev.cosignproject.cosign/sigs' },
  };
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index));

  await createRepo(ecrA, 'signed/cosign');
  const res = await cli(['push', dir, 'signed/cosign:1.0', '--referrers', '--json']);
  expect(res).toExitWith(0);
  const tag = `sha256-${image.manifest.digest.slice(7)}.sig`;
  expect(json(res.stdout).data.referrers).toEqual([
    { digest: manifest.digest, artifactType: 'dev.cosignproject.cosign/sigs', subject: image.manifest.digest, tag },
  ]);
  const got = await ecrA.send(
    new BatchGetImageCommand({ repositoryName: 'signed/cosign', imageIds: [{ imageTag: tag }] }),
  );
  expect(got.images?.[0].imageId?.imageDigest).toBe(manifest.digest);
});
