/**
 * The registry source and sink against a real docker-registry on loopback: anonymous, htpasswd basic auth (from a
 * docker config and from a credential helper), TLS with a self-signed certificate, and a multi-arch index.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage, buildIndex, type BuiltImage } from '../../src/oci/build.js';
import { RegistrySink } from '../../src/sinks/registry.js';
import { RegistrySource } from '../../src/sources/registry.js';
import { RegistryClient } from '../../src/registry/client.js';
import { EcrxError } from '../../src/core/errors.js';
import { freePort, selfSignedCert, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { describeWithTool } from '../helpers/tools.js';
import { blobBytes, pushThrough, readAll, readBack, sha } from './push-read.js';

async function errorOf(p: Promise<unknown>): Promise<EcrxError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof EcrxError) return err;
    throw err;
  }
  throw new Error('expected a failure');
}

const anon = { credentials: null } as const;

describeWithTool(['docker-registry', 'htpasswd'], 'registry source and sink (docker-registry)', () => {
  let tmp: string;
  let img: BuiltImage;
  let arm: BuiltImage;
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'ecrx-test-reg-'));
    img = await buildImage([
      [{ path: 'etc/hello', content: 'hello' }],
      [{ path: 'big', content: randomBytes(300_000) }],
    ]);
    arm = await buildImage([[{ path: 'etc/hello', content: 'hello arm' }]], { architecture: 'arm64', variant: 'v8' });
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  describe('anonymous', () => {
    let reg: TestRegistry;
    beforeAll(async () => {
      reg = await startRegistry();
    });
    afterAll(() => reg.stop());

    test('an image pushed through the sink reads back through the source with every digest equal', async () => {
      const sink = RegistrySink.open(`${reg.host}/team/app:1.0`, anon);
      const pushed = await pushThrough(sink, [img], []);
      expect(pushed).toMatchObject({ target: `${reg.host}/team/app:1.0`, digest: img.manifest.digest });
      expect(pushed.written.sort()).toEqual([img.config.digest, ...img.layers.map((l) => l.digest)].sort());

      const source = RegistrySource.open(`${reg.host}/team/app:1.0`, anon);
      const { resolved, computed } = await readBack(source);
      expect(resolved.set.top.digest).toBe(img.manifest.digest);
      expect(resolved.set.top.bytes.equals(img.manifest.bytes)).toBe(true);
      expect(resolved.set.blobs.map((b) => b.digest)).toEqual([img.config.digest, ...img.layers.map((l) => l.digest)]);
      for (const [want, got] of computed) expect(got).toBe(want);

      // The same image again: nothing is missing, nothing is written, the manifest is the same.
      const again = await pushThrough(RegistrySink.open(`${reg.host}/team/app:1.0`, anon), [img], ['1.0', 'stable']);
      expect(again.written).toEqual([]);
      expect(again.digest).toBe(img.manifest.digest);
      const byDigest = await RegistrySource.open(`${reg.host}/team/app@${img.manifest.digest}`, anon).resolve({});
      expect(byDigest.set.top.digest).toBe(img.manifest.digest);
      sink.close();
      await source.close();
    });

    test('a blob opened from an offset starts there; the tag list pages through Link', async () => {
      const source = RegistrySource.open(`${reg.host}/team/app:1.0`, anon);
      const layer = img.layers[1];
      const opened = await source.openBlob(layer, { range: { offset: 1000, length: 5000 } });
      expect(opened.offset).toBe(1000);
      expect((await readAll(opened.body)).equals(layer.bytes.subarray(1000, 6000))).toBe(true);
      const client = new RegistryClient({ registry: reg.host, credentials: null });
      expect((await client.listTags('team/app', { pageSize: 1 })).sort()).toEqual(['1.0', 'stable']);
      client.close();
      await source.close();
    });

    test('a multi-arch index: all platforms, or the one asked for', async () => {
      const index = buildIndex([img, arm]);
      const pushed = await pushThrough(RegistrySink.open(`${reg.host}/multi:1`, anon), [img, arm], [], index);
      expect(pushed.digest).toBe(index.digest);

      const all = await readBack(RegistrySource.open(`${reg.host}/multi:1`, anon), 'all');
      expect(all.resolved.platform).toBe('all');
      expect(all.resolved.set.top.digest).toBe(index.digest);
      expect(all.resolved.set.images.map((i) => i.digest)).toEqual([img.manifest.digest, arm.manifest.digest]);
      for (const [want, got] of all.computed) expect(got).toBe(want);
      expect([...all.computed.keys()].sort()).toEqual([...blobBytes([img, arm]).keys()].sort());

      const one = await RegistrySource.open(`${reg.host}/multi:1`, anon).resolve({ platform: 'linux/arm64' });
      expect(one.platform).toBe('linux/arm64/v8');
      expect(one.set.top.digest).toBe(arm.manifest.digest);
      expect(one.set.manifests.map((m) => m.digest)).toEqual([arm.manifest.digest]);

      const none = await errorOf(RegistrySource.open(`${reg.host}/multi:1`, anon).resolve({ platform: 'linux/s390x' }));
      expect(none.code).toBe('PLATFORM_NOT_FOUND');
      expect(none.message).toContain('linux/amd64, linux/arm64/v8');
    });

    test('a registry that is not there is a NETWORK_ERROR naming it', async () => {
      const port = await freePort();
      const err = await errorOf(RegistrySource.open(`127.0.0.1:${port}/x:1`, anon).resolve({}));
      expect(err.code).toBe('NETWORK_ERROR');
      expect(err.exitCode).toBe(6);
      expect(err.hint).toContain(`127.0.0.1:${port} is reachable`);
    });

    test('a missing tag, repository or blob has its own code', async () => {
      const tag = await errorOf(RegistrySource.open(`${reg.host}/team/app:nope`, anon).resolve({}));
      expect(tag.code).toBe('IMAGE_NOT_FOUND');
      expect(tag.exitCode).toBe(3);
      const repo = await errorOf(RegistrySource.open(`${reg.host}/no/such:1`, anon).resolve({}));
      expect(['IMAGE_NOT_FOUND', 'REPOSITORY_NOT_FOUND']).toContain(repo.code);
      const blob = await errorOf(
        RegistrySource.open(`${reg.host}/team/app:1.0`, anon).openBlob(
          { mediaType: 'x', digest: `sha256:${'0'.repeat(64)}`, size: 1 },
          {},
        ),
      );
      expect(blob.code).toBe('LAYER_NOT_FOUND');
    });
  });

  describe('htpasswd basic auth', () => {
    let reg: TestRegistry;
    const user = 'mirror';
    const password = 's3cret-pass';
    beforeAll(async () => {
      reg = await startRegistry({ htpasswd: { user, password } });
    });
    afterAll(() => reg.stop());

    const dockerConfig = (name: string, doc: object) => {
      const dir = join(tmp, name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'config.json'), JSON.stringify(doc));
      return dir;
    };

    test('credentials from the docker config (auths, base64) push and pull', async () => {
      const dir = dockerConfig('auths', {
        auths: { [reg.host]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } },
      });
      const env = { ...process.env, DOCKER_CONFIG: dir };
      const pushed = await pushThrough(RegistrySink.open(`${reg.host}/private/app:2`, { env }), [img], []);
      expect(pushed.digest).toBe(img.manifest.digest);
      const { resolved, computed } = await readBack(RegistrySource.open(`${reg.host}/private/app:2`, { env }));
      expect(resolved.set.top.digest).toBe(img.manifest.digest);
      for (const [want, got] of computed) expect(got).toBe(want);
    });

    test('credentials from a credential helper (credHelpers), as docker-credential-ecr-login hands them', async () => {
      const bin = join(tmp, 'bin');
      mkdirSync(bin, { recursive: true });
      const helper = join(bin, 'docker-credential-ecrxtest');
      writeFileSync(
        helper,
        `#!/bin/sh\nread server\necho "$server" > "${join(tmp, 'helper-asked')}"\necho '{"ServerURL":"'"$server"'","Username":"${user}","Secret":"${password}"}'\n`,
      );
      chmodSync(helper, 0o755);
      const dir = dockerConfig('helper', { credHelpers: { [reg.host]: 'ecrxtest' } });
      const env = { ...process.env, DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH}` };
      const resolved = await RegistrySource.open(`${reg.host}/private/app:2`, { env }).resolve({});
      expect(resolved.set.top.digest).toBe(img.manifest.digest);
      expect(readFileSync(join(tmp, 'helper-asked'), 'utf8').trim()).toBe(reg.host);
    });

    test('no credentials, or wrong ones, fail with AUTH_ERROR and never show the password', async () => {
      const none = await errorOf(RegistrySource.open(`${reg.host}/private/app:2`, anon).resolve({}));
      expect(none.code).toBe('AUTH_ERROR');
      expect(none.exitCode).toBe(4);
      expect(none.hint).toContain(`docker login ${reg.host}`);
      const wrong = await errorOf(
        RegistrySource.open(`${reg.host}/private/app:2`, {
          credentials: { username: user, password: 'not-it-xyz' },
        }).resolve({}),
      );
      expect(wrong.code).toBe('AUTH_ERROR');
      expect(wrong.hint).toContain('refused the credentials');
      expect(JSON.stringify({ m: wrong.message, h: wrong.hint, d: wrong.details })).not.toContain('not-it-xyz');
    });
  });

  describe('TLS with a self-signed certificate', () => {
    let reg: TestRegistry;
    let certs: { cert: string; key: string };
    beforeAll(async () => {
      certs = selfSignedCert(tmp);
      reg = await startRegistry({ tls: certs });
    });
    afterAll(() => reg.stop());

    test('untrusted: NETWORK_ERROR naming the CA variables; trusted through the ca option or SSL_CERT_FILE', async () => {
      const env = { ...process.env };
      delete env.SSL_CERT_FILE;
      const untrusted = await errorOf(RegistrySource.open(`${reg.host}/tls/app:1`, { ...anon, env }).resolve({}));
      expect(untrusted.code).toBe('NETWORK_ERROR');
      expect(untrusted.hint).toContain('SSL_CERT_FILE or NODE_EXTRA_CA_CERTS');

      const ca = readFileSync(certs.cert);
      const pushed = await pushThrough(RegistrySink.open(`${reg.host}/tls/app:1`, { ...anon, env, ca }), [img], []);
      expect(pushed.digest).toBe(img.manifest.digest);

      const viaEnv = { ...env, SSL_CERT_FILE: certs.cert };
      const { resolved, computed } = await readBack(
        RegistrySource.open(`${reg.host}/tls/app:1`, { ...anon, env: viaEnv }),
      );
      expect(resolved.set.top.digest).toBe(img.manifest.digest);
      for (const [want, got] of computed) expect(got).toBe(want);

      // --insecure skips verification, as docker's insecure-registries does.
      const insecure = await RegistrySource.open(`${reg.host}/tls/app:1`, { ...anon, env, insecure: true }).resolve({});
      expect(insecure.set.top.digest).toBe(img.manifest.digest);
      expect(sha(insecure.set.top.bytes)).toBe(img.manifest.digest);
    });
  });
});
