/**
 * Pre-signed download URLs answer as S3 answers them: the status, the error code and the XML body. The URLs come
 * from the AWS CLI's get-download-url-for-layer (and the SDK), and are then used as any HTTP client uses them.
 */
import { type ECRClient, GetDownloadUrlForLayerCommand } from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../helpers/serve.js';
import { runCli } from '../helpers/cli.js';
import { sdk, createRepo, makeImage, pushImage, sha256 } from '../helpers/ecr.js';
import { awsCli } from '../helpers/aws-cli.js';
import { describeWithTool } from '../helpers/tools.js';

let serve: Serve;
let ecr: ECRClient;
let img: ReturnType<typeof makeImage>;
let url: string;

const xmlField = (xml: string, name: string) => new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml)?.[1];

/** The URL with one query parameter changed (undefined: removed). */
function withParam(u: string, name: string, value: string | undefined): string {
  const out = new URL(u);
  if (value === undefined) out.searchParams.delete(name);
  else out.searchParams.set(name, value);
  return out.toString();
}

beforeAll(async () => {
  serve = await startServe();
  ecr = sdk(serve.endpoint);
  await createRepo(ecr, 'dl/app');
  img = makeImage([4096]);
  await pushImage(ecr, 'dl/app', img, 'v1');
  url = (
    await ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName: 'dl/app', layerDigest: sha256(img.layers[0]) }))
  ).downloadUrl!;
});
afterAll(async () => {
  ecr?.destroy();
  await serve?.dispose();
});

describe('--url-ttl', () => {
  test("above 604800 seconds (SigV4's seven days) is a usage error, exit 2", async () => {
    for (const ttl of ['604801', '0']) {
      const res = await runCli(['serve', '--port', '0', '--in-memory', '--json', '--url-ttl', ttl]);
      expect(res).toExitWith(2);
      const out = JSON.parse(res.stdout);
      expect(out.error.code).toBe('VALIDATION_ERROR');
      expect(out.error.message).toContain('--url-ttl');
    }
  });

  test('604800 itself is allowed, and the URLs say so', async () => {
    const week = await startServe(['--url-ttl', '604800']);
    const c = sdk(week.endpoint);
    try {
      await createRepo(c, 'week');
      const one = makeImage([10]);
      await pushImage(c, 'week', one, 'v1');
      const u = (
        await c.send(new GetDownloadUrlForLayerCommand({ repositoryName: 'week', layerDigest: sha256(one.layers[0]) }))
      ).downloadUrl!;
      expect(new URL(u).searchParams.get('X-Amz-Expires')).toBe('604800');
      expect((await fetch(u)).status).toBe(200);
    } finally {
      c.destroy();
      await week.dispose();
    }
  });
});

describe('S3 status codes, error codes and XML bodies', () => {
  test('a URL missing a query-auth parameter is 400 AuthorizationQueryParametersError; with none at all, 403 AccessDenied', async () => {
    for (const name of ['X-Amz-Signature', 'X-Amz-Date', 'X-Amz-Credential', 'X-Amz-Expires', 'X-Amz-SignedHeaders']) {
      const res = await fetch(withParam(url, name, undefined));
      expect(res.status).toBe(400);
      const xml = await res.text();
      expect(xmlField(xml, 'Code')).toBe('AuthorizationQueryParametersError');
      expect(xmlField(xml, 'Message')).toBe(
        'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
      );
      expect(xmlField(xml, 'RequestId')).toMatch(/^[0-9A-F]{16}$/);
    }
    const bare = new URL(url);
    bare.search = '';
    const anonymous = await fetch(bare);
    expect(anonymous.status).toBe(403);
    expect(xmlField(await anonymous.text(), 'Code')).toBe('AccessDenied');
  });

  test("bad parameter values are 400 AuthorizationQueryParametersError with S3's texts", async () => {
    const cases: [string, string, string][] = [
      ['X-Amz-Expires', '604801', 'X-Amz-Expires must be less than a week (in seconds) that is 604800'],
      ['X-Amz-Expires', '-1', 'X-Amz-Expires must be non-negative'],
      ['X-Amz-Expires', 'soon', 'X-Amz-Expires should be a number'],
      ['X-Amz-Algorithm', 'AWS4-HMAC-SHA1', 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"'],
      ['X-Amz-Date', '2024-01-01', "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""],
    ];
    for (const [name, value, message] of cases) {
      const res = await fetch(withParam(url, name, value));
      expect(res.status).toBe(400);
      const xml = await res.text();
      expect(xmlField(xml, 'Code')).toBe('AuthorizationQueryParametersError');
      expect(xmlField(xml, 'Message')).toBe(message);
    }
    const cred = new URL(url).searchParams.get('X-Amz-Credential')!;
    const wrongRegion = await fetch(withParam(url, 'X-Amz-Credential', cred.replace('/us-east-1/', '/eu-west-1/')));
    expect(wrongRegion.status).toBe(400);
    const xml = await wrongRegion.text();
    expect(xmlField(xml, 'Message')).toBe(
      "Error parsing the X-Amz-Credential parameter; the region 'eu-west-1' is wrong; expecting 'us-east-1'",
    );
    expect(xmlField(xml, 'Region')).toBe('us-east-1');
  });

  test('PUT, DELETE and HEAD on a URL signed for GET fail its signature: 403 SignatureDoesNotMatch, XML but for HEAD', async () => {
    for (const method of ['PUT', 'DELETE', 'POST']) {
      const res = await fetch(url, { method, body: method === 'DELETE' ? undefined : 'x' });
      expect(res.status).toBe(403);
      expect(res.headers.get('content-type')).toBe('application/xml');
      const xml = await res.text();
      expect(xmlField(xml, 'Code')).toBe('SignatureDoesNotMatch');
      expect(xmlField(xml, 'CanonicalRequest')!.startsWith(`${method}\n/starport-layer-bucket/`)).toBe(true);
      expect(xmlField(xml, 'SignatureProvided')).toBe(new URL(url).searchParams.get('X-Amz-Signature'));
      expect(xmlField(xml, 'StringToSign')!.startsWith('AWS4-HMAC-SHA256\n')).toBe(true);
    }
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(403);
    expect(await head.text()).toBe('');
    // and the object is still there for the GET the URL was made for
    const get = await fetch(url);
    expect(sha256(Buffer.from(await get.arrayBuffer()))).toBe(sha256(img.layers[0]));
  });

  test('another access key is 403 InvalidAccessKeyId', async () => {
    const cred = new URL(url).searchParams.get('X-Amz-Credential')!;
    const res = await fetch(withParam(url, 'X-Amz-Credential', cred.replace(/^[^/]+/, 'AKIAOTHERKEY00000000')));
    expect(res.status).toBe(403);
    const xml = await res.text();
    expect(xmlField(xml, 'Code')).toBe('InvalidAccessKeyId');
    expect(xmlField(xml, 'AWSAccessKeyId')).toBe('AKIAOTHERKEY00000000');
  });

  test('an expired URL is 403 AccessDenied "Request has expired" with the expiry and the server time', async () => {
    const short = await startServe(['--url-ttl', '1']);
    const c = sdk(short.endpoint);
    try {
      await createRepo(c, 'exp');
      const one = makeImage([10]);
      await pushImage(c, 'exp', one, 'v1');
      const u = (
        await c.send(new GetDownloadUrlForLayerCommand({ repositoryName: 'exp', layerDigest: sha256(one.layers[0]) }))
      ).downloadUrl!;
      await new Promise((r) => setTimeout(r, 2100));
      const res = await fetch(u);
      expect(res.status).toBe(403);
      const xml = await res.text();
      expect(xmlField(xml, 'Code')).toBe('AccessDenied');
      expect(xmlField(xml, 'Message')).toBe('Request has expired');
      expect(xmlField(xml, 'X-Amz-Expires')).toBe('1');
      expect(Date.parse(xmlField(xml, 'ServerTime')!)).toBeGreaterThan(Date.parse(xmlField(xml, 'Expires')!));
    } finally {
      c.destroy();
      await short.dispose();
    }
  });
});

describeWithTool('aws', 'AWS CLI: the URL get-download-url-for-layer hands out', () => {
  test('serves GET, refuses PUT and DELETE with 403 SignatureDoesNotMatch, and a stripped signature with 400', async () => {
    const out = await awsCli(serve.endpoint, [
      'ecr',
      'get-download-url-for-layer',
      '--repository-name',
      'dl/app',
      '--layer-digest',
      sha256(img.layers[0]),
    ]);
    const u = String(out.json.downloadUrl);
    expect(sha256(Buffer.from(await (await fetch(u)).arrayBuffer()))).toBe(sha256(img.layers[0]));
    for (const method of ['PUT', 'DELETE']) {
      const res = await fetch(u, { method });
      expect(res.status).toBe(403);
      expect(xmlField(await res.text(), 'Code')).toBe('SignatureDoesNotMatch');
    }
    const stripped = await fetch(withParam(u, 'X-Amz-Signature', undefined));
    expect(stripped.status).toBe(400);
    expect(xmlField(await stripped.text(), 'Code')).toBe('AuthorizationQueryParametersError');
  });
});
