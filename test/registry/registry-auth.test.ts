/**
 * What a real registry cannot be made to do, done by small servers in the test around a real docker-registry:
 * the bearer-token flow (docker-registry's `auth: token:` verifies JWTs this test's token server signs), 429 with
 * Retry-After, a redirect of blobs to another host (which must not receive the registry's credentials), and a
 * Docker-Content-Digest that does not match the bytes.
 */
import { createPrivateKey, randomBytes, randomUUID, sign } from 'node:crypto';
import http from 'node:http';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage, type BuiltImage } from '../../src/oci/build.js';
import { RegistrySink } from '../../src/sinks/registry.js';
import { RegistrySource } from '../../src/sources/registry.js';
import { RegistryClient } from '../../src/registry/client.js';
import { EcrxError } from '../../src/core/errors.js';
import { selfSignedCert, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { describeWithTool } from '../helpers/tools.js';
import { pushThrough, readAll, readBack, sha } from './push-read.js';
import { Readable } from 'node:stream';
import { noEvents } from '../../src/engine/events.js';

async function errorOf(p: Promise<unknown>): Promise<EcrxError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof EcrxError) return err;
    throw err;
  }
  throw new Error('expected a failure');
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

async function listen(server: http.Server, host = '127.0.0.1'): Promise<number> {
  server.listen(0, host);
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

/** A token server by the distribution token spec: anonymous pull, push for one user; JWTs signed with x5c. */
function tokenServer(certPem: string, keyPem: string, user: string, password: string) {
  const requests: { scope: string; authorized: boolean; refresh?: boolean }[] = [];
  const key = createPrivateKey(keyPem);
  const der = Buffer.from(certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const server = http.createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += String(c);
    // GET with Basic credentials (or none), or an OAuth2 refresh-token POST (docker's identity tokens).
    const params = req.method === 'POST' ? new URLSearchParams(body) : new URL(req.url!, 'http://x').searchParams;
    const scope = params.get('scope') ?? '';
    const auth = req.headers.authorization;
    const refresh = params.get('grant_type') === 'refresh_token' ? params.get('refresh_token') : undefined;
    const authorized =
      auth === `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` || refresh === `refresh-${password}`;
    requests.push({ scope, authorized, ...(refresh !== undefined ? { refresh: true } : {}) });
    if ((auth || refresh !== undefined) && !authorized) {
      res.writeHead(401).end();
      return;
    }
    const [type, name, actions] = scope.split(':');
    const granted = (actions ?? '').split(',').filter((a) => authorized || a === 'pull');
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [der.toString('base64')] };
    const claims = {
      iss: 'ecrx-test-issuer',
      sub: authorized ? user : '',
      aud: params.get('service'),
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access: type ? [{ type, name, actions: granted }] : [],
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const token = `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
  });
  return { server, requests };
}

describeWithTool('docker-registry', 'registry auth and faults (docker-registry behind test servers)', () => {
  let tmp: string;
  let img: BuiltImage;
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'ecrx-test-regauth-'));
    img = await buildImage([[{ path: 'a', content: randomBytes(50_000) }], [{ path: 'b', content: 'b' }]]);
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  describe('bearer tokens', () => {
    let reg: TestRegistry;
    let tokens: ReturnType<typeof tokenServer>;
    const user = 'pusher';
    const password = 'token-pass-123';
    beforeAll(async () => {
      const signer = selfSignedCert(tmp, 'token-signer');
      tokens = tokenServer(readFileSync(signer.cert, 'utf8'), readFileSync(signer.key, 'utf8'), user, password);
      const port = await listen(tokens.server);
      reg = await startRegistry({
        token: {
          realm: `http://127.0.0.1:${port}/token`,
          service: 'ecrx-test-registry',
          issuer: 'ecrx-test-issuer',
          rootCertBundle: signer.cert,
        },
      });
    });
    afterAll(async () => {
      await reg.stop();
      tokens.server.close();
    });

    test('push with credentials, pull anonymously; one token request per scope, even for concurrent requests', async () => {
      const pushed = await pushThrough(
        RegistrySink.open(`${reg.host}/tok/app:1`, { credentials: { username: user, password } }),
        [img],
        [],
      );
      expect(pushed.digest).toBe(img.manifest.digest);
      const pushTokens = tokens.requests.filter((r) => r.scope === 'repository:tok/app:pull,push');
      // HEADs, POSTs, PATCHes, PUTs for three blobs and a manifest: one token, cached.
      expect(pushTokens).toEqual([{ scope: 'repository:tok/app:pull,push', authorized: true }]);

      tokens.requests.length = 0;
      const { resolved, computed } = await readBack(
        RegistrySource.open(`${reg.host}/tok/app:1`, { credentials: null }),
      );
      expect(resolved.set.top.digest).toBe(img.manifest.digest);
      for (const [want, got] of computed) expect(got).toBe(want);
      expect(tokens.requests).toEqual([{ scope: 'repository:tok/app:pull', authorized: false }]);
    });

    test('an identity token (docker config identitytoken) is exchanged by a refresh-token POST', async () => {
      tokens.requests.length = 0;
      const pushed = await pushThrough(
        RegistrySink.open(`${reg.host}/tok/refreshed:1`, { credentials: { identityToken: `refresh-${password}` } }),
        [img],
        [],
      );
      expect(pushed.digest).toBe(img.manifest.digest);
      expect(tokens.requests).toEqual([
        { scope: 'repository:tok/refreshed:pull,push', authorized: true, refresh: true },
      ]);
    });

    test('an anonymous push gets a pull-only token and fails with AUTH_ERROR; wrong credentials too', async () => {
      const anon = await errorOf(
        pushThrough(RegistrySink.open(`${reg.host}/tok/other:1`, { credentials: null }), [img], []),
      );
      expect(anon.code).toBe('AUTH_ERROR');
      const wrong = await errorOf(
        RegistrySource.open(`${reg.host}/tok/app:1`, {
          credentials: { username: user, password: 'wrong-secret-zz' },
        }).resolve({}),
      );
      expect(wrong.code).toBe('AUTH_ERROR');
      expect(wrong.message).toContain('refused the credentials');
      expect(`${wrong.message} ${wrong.hint}`).not.toContain('wrong-secret-zz');
    });
  });

  describe('a registry front that throttles, redirects blobs and lies about digests', () => {
    let reg: TestRegistry;
    let front: http.Server;
    let blobHost: http.Server;
    let frontHost: string;
    const blobRequests: { url: string; authorization?: string; cookie?: string }[] = [];
    const throttled: string[] = [];
    const uploads: { method: string; contentRange?: string }[] = [];
    let cutOnce = true;
    const calls: string[] = [];
    const creds = { username: 'front-user', password: 'front-pass-99' };
    const expected = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;

    const forward = (
      req: http.IncomingMessage,
      res: http.ServerResponse,
      path: string,
      rewrite?: (h: http.IncomingHttpHeaders) => void,
    ) => {
      const up = http.request(
        `${reg.url}${path}`,
        { method: req.method, headers: { ...req.headers, authorization: '', host: frontHost } },
        (upRes) => {
          const headers = { ...upRes.headers };
          rewrite?.(headers);
          res.writeHead(upRes.statusCode ?? 502, headers);
          upRes.pipe(res);
        },
      );
      req.pipe(up);
    };

    beforeAll(async () => {
      reg = await startRegistry();
      await pushThrough(RegistrySink.open(`${reg.host}/front/app:1`, { credentials: null }), [img], []);
      blobHost = http.createServer((req, res) => {
        blobRequests.push({ url: req.url!, authorization: req.headers.authorization, cookie: req.headers.cookie });
        forward(req, res, `/v2/front/app/blobs/${req.url!.split('/')[2].split('?')[0]}`);
      });
      const blobPort = await listen(blobHost, '127.0.0.2');
      front = http.createServer((req, res) => {
        if (req.headers.authorization !== expected) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="front"' }).end();
          return;
        }
        const url = req.url!;
        calls.push(`${req.method} ${url.split('?')[0]}`);
        const manifest = /\/manifests\/(.+)$/.exec(url)?.[1];
        if (manifest === 'slow' && throttled.length < 2) {
          throttled.push(url);
          res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' });
          res.end(JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] }));
          return;
        }
        if (manifest === 'always-slow') {
          res.writeHead(429, { 'retry-after': '3600' }).end();
          return;
        }
        if (url.includes('/front/resume/blobs/uploads/'))
          uploads.push({ method: req.method!, contentRange: req.headers['content-range'] as string | undefined });
        if (url.includes('/front/resume/blobs/uploads/') && req.method === 'PATCH' && cutOnce) {
          // Half of the first PATCH reaches the registry, then the connection drops: the client must resume.
          cutOnce = false;
          const half = Number(req.headers['content-length']) >> 1;
          const chunks: Buffer[] = [];
          let n = 0;
          const onData = (c: Buffer) => {
            chunks.push(c);
            n += c.length;
            if (n < half) return;
            req.off('data', onData);
            req.pause();
            const body = Buffer.concat(chunks).subarray(0, half);
            const up = http.request(
              `${reg.url}${url}`,
              {
                method: 'PATCH',
                headers: {
                  host: frontHost,
                  'content-type': 'application/octet-stream',
                  'content-length': String(half),
                },
              },
              (upRes) => {
                upRes.resume();
                upRes.on('end', () => req.socket.destroy());
              },
            );
            up.end(body);
          };
          req.on('data', onData);
          return;
        }
        const blob = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(url)?.[1];
        if (blob && req.method === 'GET') {
          res.writeHead(307, { location: `http://127.0.0.2:${blobPort}/blob/${blob}?X-Amz-Signature=abc` }).end();
          return;
        }
        const path = manifest && ['slow', 'lying'].includes(manifest) ? url.replace(/[^/]+$/, '1') : url;
        forward(req, res, path, (h) => {
          if (manifest === 'lying') h['docker-content-digest'] = `sha256:${'e'.repeat(64)}`;
        });
      });
      frontHost = `127.0.0.1:${await listen(front)}`;
    });
    afterAll(async () => {
      front.close();
      blobHost.close();
      await reg.stop();
    });

    test('429 with Retry-After is waited out and retried; blobs come from the redirect without credentials', async () => {
      const retries: string[] = [];
      const source = RegistrySource.open(`${frontHost}/front/app:slow`, {
        credentials: creds,
        onRetry: (_what, why) => retries.push(why),
      });
      const { resolved, computed } = await readBack(source);
      expect(throttled).toHaveLength(2);
      expect(retries).toEqual(['HTTP 429; retrying in 1.0s', 'HTTP 429; retrying in 1.0s']);
      expect(resolved.set.top.digest).toBe(img.manifest.digest);
      for (const [want, got] of computed) expect(got).toBe(want);
      expect(blobRequests.map((r) => r.url.split('?')[0]).sort()).toEqual(
        [img.config.digest, ...img.layers.map((l) => l.digest)].map((d) => `/blob/${d}`).sort(),
      );
      for (const r of blobRequests)
        expect(r).toEqual({ url: expect.any(String), authorization: undefined, cookie: undefined });
    });

    test('a Retry-After longer than the limit fails with THROTTLED at once', async () => {
      const err = await errorOf(
        RegistrySource.open(`${frontHost}/front/app:always-slow`, { credentials: creds }).resolve({}),
      );
      expect(err.code).toBe('THROTTLED');
      expect(err.exitCode).toBe(6);
    });

    test('a Docker-Content-Digest that does not match the bytes is refused', async () => {
      const err = await errorOf(
        RegistrySource.open(`${frontHost}/front/app:lying`, { credentials: creds }).resolve({}),
      );
      expect(err.code).toBe('DIGEST_MISMATCH');
      expect(err.exitCode).toBe(5);
      expect(err.message).toContain('Docker-Content-Digest');
      expect(err.details).toEqual({ expected: `sha256:${'e'.repeat(64)}`, actual: img.manifest.digest });
    });

    test('an upload cut part-way starts again in a fresh session, and the blob reads back intact', async () => {
      const retries: string[] = [];
      const sink = RegistrySink.open(`${frontHost}/front/resume:1`, { credentials: creds });
      const layer = img.layers[0];
      const written = await sink.writeBlob(
        {
          descriptor: layer,
          open: (offset) => Readable.from([layer.bytes.subarray(offset)]),
          verified: Promise.resolve(),
        },
        { ...noEvents, retry: (_what, why) => retries.push(why) },
      );
      expect(retries).toHaveLength(1);
      // docker-registry signs each session's offset into its URL, so a session whose PATCH answer was lost cannot be
      // resumed there (the status GET is refused): the client starts a fresh session and sends it all again.
      expect(uploads.map((u) => u.method)).toEqual(['POST', 'PATCH', 'GET', 'POST', 'PATCH', 'PUT']);
      expect(uploads.every((u) => u.contentRange === undefined)).toBe(true);
      expect(written.bytes).toBeGreaterThanOrEqual(layer.size + (layer.size >> 1));
      const source = RegistrySource.open(`${reg.host}/front/resume:1`, { credentials: null });
      const body = await readAll((await source.openBlob(layer, {})).body);
      expect(sha(body)).toBe(layer.digest);
    });

    test('a blob is not committed before it is verified: a failed verification leaves nothing behind', async () => {
      uploads.length = 0;
      const sink = RegistrySink.open(`${frontHost}/front/resume:2`, { credentials: creds });
      const layer = img.layers[1];
      const bad = new EcrxError('DIGEST_MISMATCH', 'the source sent other bytes');
      const verified = Promise.reject(bad);
      verified.catch(() => {});
      const err = await errorOf(
        sink.writeBlob(
          { descriptor: layer, open: (offset) => Readable.from([layer.bytes.subarray(offset)]), verified },
          noEvents,
        ),
      );
      expect(err).toBe(bad);
      expect(uploads.map((u) => u.method)).toEqual(['POST', 'PATCH', 'DELETE']);
      expect(await sink.missing([layer])).toEqual([layer]);
    });

    test('a second push of the same image makes no write call, only HEADs', async () => {
      const first = await pushThrough(
        RegistrySink.open(`${frontHost}/front/idem:1`, { credentials: creds }),
        [img],
        [],
      );
      expect(first.written).toHaveLength(3);
      expect(calls.some((c) => c.startsWith('PUT /v2/front/idem/manifests/1'))).toBe(true);
      calls.length = 0;
      const again = await pushThrough(
        RegistrySink.open(`${frontHost}/front/idem:1`, { credentials: creds }),
        [img],
        [],
      );
      expect(again).toMatchObject({ digest: img.manifest.digest, written: [] });
      expect(calls.filter((c) => !c.startsWith('HEAD '))).toEqual([]);
      expect(calls).toContain('HEAD /v2/front/idem/manifests/1');
    });

    test('plain HTTP is allowed for loopback registries and with --insecure only', () => {
      const allowed = (registry: string, insecure?: boolean) =>
        new RegistryClient({ registry, insecure, credentials: null }).plainHttpAllowed;
      expect(allowed(frontHost)).toBe(true);
      expect(allowed('localhost:5000')).toBe(true);
      expect(allowed('[::1]:5000')).toBe(true);
      expect(allowed('ghcr.io')).toBe(false);
      expect(allowed('registry.internal:5000')).toBe(false);
      expect(allowed('registry.internal:5000', true)).toBe(true);
    });
  });
});
