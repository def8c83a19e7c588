/**
 * The JSON protocol and SigV4 as ECR applies them, driven by the AWS CLI and the AWS SDK for JavaScript where
 * those can send the case, and by raw signed requests where no stock client would:
 * wrong JSON types and malformed bodies are SerializationException before the operation runs, bad base64 in a
 * blob is refused, and a request scoped to another region, signed without `host`, for another host, or from a
 * clock more than five minutes off is InvalidSignatureException.
 */
import { errorOf } from '../helpers/error-of.js';
import {
  ECRClient,
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  InitiateLayerUploadCommand,
  ListImagesCommand,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr';
import { startServe, type Serve } from '../helpers/serve.js';
import { sdk, createRepo } from '../helpers/ecr.js';
import { awsCli, cliErrorCode } from '../helpers/aws-cli.js';
import { signedPost } from '../helpers/signed-request.js';
import { describeWithTool } from '../helpers/tools.js';
import { list } from '../helpers/json.js';

let serve: Serve;
let ecr: ECRClient;

/** An SDK client whose serialized UploadLayerPart body gets `blob` in place of the base64 it computed. */
function clientSendingBlob(blob: string): ECRClient {
  const c = sdk(serve.endpoint);
  c.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { body: string | Uint8Array; headers: Record<string, string> };
      const b = request.body;
      const body = typeof b === 'string' ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
      const replaced = body.replace(/"layerPartBlob":"[^"]*"/, `"layerPartBlob":${JSON.stringify(blob)}`);
      request.body = replaced;
      for (const h of Object.keys(request.headers)) if (h.toLowerCase() === 'content-length') delete request.headers[h];
      request.headers['content-length'] = String(Buffer.byteLength(replaced));
      return next(args);
    },
    { step: 'build', name: 'replaceLayerPartBlob' },
  );
  return c;
}

beforeAll(async () => {
  serve = await startServe();
  ecr = sdk(serve.endpoint);
  await createRepo(ecr, 'proto/app');
});
afterAll(async () => {
  ecr?.destroy();
  await serve?.dispose();
});

// `as never` below: values of the wrong type on purpose, past the SDK's input types, to see how the server answers.
describe('wrong JSON types are SerializationException, before validation and before the operation', () => {
  test('AWS SDK: a string for an integer, a number for a string, a string for a list, an object for a string', async () => {
    const cases: [Promise<unknown>, string][] = [
      [
        ecr.send(new DescribeRepositoriesCommand({ maxResults: '5' as never })),
        'class java.lang.String can not be converted to an Integer',
      ],
      [
        ecr.send(new CreateRepositoryCommand({ repositoryName: 5 as never })),
        'class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String',
      ],
      [ecr.send(new DescribeRepositoriesCommand({ repositoryNames: 'proto/app' as never })), 'Expected list or null'],
      [
        ecr.send(new CreateRepositoryCommand({ repositoryName: { name: 'x' } as never })),
        'Start of structure or map found where not expected.',
      ],
      [
        ecr.send(
          new CreateRepositoryCommand({
            repositoryName: 'proto/typed',
            imageScanningConfiguration: { scanOnPush: 3 as never },
          }),
        ),
        'class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an Boolean',
      ],
    ];
    for (const [call, message] of cases) {
      const err = await errorOf(call);
      expect(err.name).toBe('SerializationException');
      expect(err.$metadata.httpStatusCode).toBe(400);
      expect(err.message).toBe(message);
    }
    // The CreateRepository with a bad member never ran.
    const missing = await errorOf(ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['proto/typed'] })));
    expect(missing.name).toBe('RepositoryNotFoundException');
  });

  test('AWS SDK: a type error wins over a missing required member (deserialization comes first)', async () => {
    const err = await errorOf(ecr.send(new ListImagesCommand({ maxResults: 'ten' } as never)));
    expect(err.name).toBe('SerializationException');
  });

  test('raw: malformed JSON and a body that is not an object get the bare SerializationException', async () => {
    for (const body of ['{"repositoryName": ', 'not json', '{"a":1}}']) {
      const res = await signedPost(serve.endpoint, 'DescribeRepositories', body);
      expect(res.status).toBe(400);
      expect(res.json).toEqual({ __type: 'SerializationException' });
    }
    const list = await signedPost(serve.endpoint, 'DescribeRepositories', '[]');
    expect(list.status).toBe(400);
    expect(list.json.__type).toBe('SerializationException');
    // Unknown members and explicit nulls are ignored, as the protocol ignores them.
    const lenient = await signedPost(serve.endpoint, 'DescribeRepositories', { notAMember: 1, registryId: null });
    expect(lenient.status).toBe(200);
  });

  test('numbers for integer members are truncated, then range-checked', async () => {
    const res = await signedPost(serve.endpoint, 'DescribeRepositories', { maxResults: 1.9 });
    expect(res.status).toBe(200);
    const huge = await signedPost(serve.endpoint, 'DescribeRepositories', { maxResults: 1e12 });
    expect(huge.status).toBe(400);
    expect(huge.json.__type).toBe('InvalidParameterException');
    expect(huge.json.message).toBe(
      "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value less than or equal to 1000'",
    );
  });
});

describeWithTool('aws', 'AWS CLI: wrong JSON types reach the service and get SerializationException', () => {
  test('a string for maxResults, a number for repositoryName', async () => {
    const asString = await awsCli(
      serve.endpoint,
      ['ecr', 'describe-repositories', '--cli-input-json', '{"maxResults":"5"}'],
      { noClientValidation: true },
    );
    expect(asString.code).not.toBe(0);
    expect(cliErrorCode(asString)).toBe('SerializationException');
    expect(asString.stderr).toContain('class java.lang.String can not be converted to an Integer');
    const asNumber = await awsCli(
      serve.endpoint,
      ['ecr', 'create-repository', '--cli-input-json', '{"repositoryName":5}'],
      { noClientValidation: true },
    );
    expect(cliErrorCode(asNumber)).toBe('SerializationException');
    const listed = await awsCli(serve.endpoint, ['ecr', 'describe-repositories']);
    expect(list(listed.json.repositories).map((r) => r.repositoryName)).not.toContain('5');
  });
});

describe('base64 in a blob member is read strictly', () => {
  const parts: [string, string][] = [
    // Each of these Node's own decoder would read without complaint.
    ['aGVsbG8', 'Base64 encoded length is expected a multiple of 4 bytes but found: 7'],
    ['aGV bG8=', "Invalid Base64 character: ' '"],
    ['aGVsbG8\n', "Invalid Base64 character: '\n'"],
    ['aGVsbG9=', 'Invalid last non-pad Base64 character dectected'],
    ['aG==bG8=', "Invalid Base64 character: '='"],
    ['aGVs-G8=', "Invalid Base64 character: '-'"],
  ];

  test('AWS SDK: a layer part whose base64 Node would decode leniently is refused, and nothing is written', async () => {
    for (const [blob, why] of parts) {
      const { uploadId } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'proto/app' }));
      const c = clientSendingBlob(blob);
      const err = await errorOf(
        c.send(
          new UploadLayerPartCommand({
            repositoryName: 'proto/app',
            uploadId,
            partFirstByte: 0,
            partLastByte: 4,
            layerPartBlob: Buffer.from('hello'),
          }),
        ),
      );
      c.destroy();
      expect(err.name).toBe('SerializationException');
      expect(err.message).toBe(`'${blob}' can not be converted to a Blob: ${why}`);
      // The upload is untouched: its first part can still be sent, correctly encoded.
      const ok = await ecr.send(
        new UploadLayerPartCommand({
          repositoryName: 'proto/app',
          uploadId,
          partFirstByte: 0,
          partLastByte: 4,
          layerPartBlob: Buffer.from('hello'),
        }),
      );
      expect(ok.lastByteReceived).toBe(4);
    }
  });

  test('raw: a long bad blob is named, shortened, in the message', async () => {
    const { uploadId } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'proto/app' }));
    const blob = `${'A'.repeat(4096)}!AAA`;
    const res = await signedPost(
      serve.endpoint,
      'UploadLayerPart',
      `{"repositoryName":"proto/app","uploadId":"${uploadId}","partFirstByte":0,"partLastByte":3074,"layerPartBlob":"${blob}"}`,
    );
    expect(res.status).toBe(400);
    expect(res.json.__type).toBe('SerializationException');
    expect(res.json.message).toBe(
      `'${'A'.repeat(64)}...' can not be converted to a Blob: Invalid Base64 character: '!'`,
    );
  });
});

describe('SigV4 scope, signed headers and clock', () => {
  test('AWS SDK: a client configured for another region is refused', async () => {
    const other = new ECRClient({
      endpoint: serve.endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIAECRXTESTKEY00001', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    const err = await errorOf(other.send(new DescribeRepositoriesCommand({})));
    other.destroy();
    expect(err.name).toBe('InvalidSignatureException');
    expect(err.message).toBe('Credential should be scoped to a valid region. ');
  });

  test('AWS SDK: a clock more than five minutes off either way is refused with AWS texts; four minutes is fine', async () => {
    const skewed = (offsetMs: number) =>
      new ECRClient({
        endpoint: serve.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKIAECRXTESTKEY00001', secretAccessKey: 'x' },
        maxAttempts: 1,
        systemClockOffset: offsetMs,
      });
    const late = skewed(-6 * 60 * 1000);
    const early = skewed(6 * 60 * 1000);
    const near = skewed(-4 * 60 * 1000);
    try {
      const past = await errorOf(late.send(new DescribeRepositoriesCommand({})));
      expect(past.name).toBe('InvalidSignatureException');
      expect(past.message).toMatch(
        /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/,
      );
      const future = await errorOf(early.send(new DescribeRepositoriesCommand({})));
      expect(future.name).toBe('InvalidSignatureException');
      expect(future.message).toMatch(
        /^Signature not yet current: \d{8}T\d{6}Z is still later than \d{8}T\d{6}Z \(\d{8}T\d{6}Z \+ 5 min\.\)$/,
      );
      expect((await near.send(new DescribeRepositoriesCommand({}))).repositories).toBeDefined();
    } finally {
      [late, early, near].forEach((c) => c.destroy());
    }
  });

  test('raw: wrong service, a credential date that is not the request date, host not signed', async () => {
    const service = await signedPost(serve.endpoint, 'DescribeRepositories', {}, { service: 's3' });
    expect(service.json).toEqual({
      __type: 'InvalidSignatureException',
      message: "Credential should be scoped to correct service: 'ecr'. ",
    });
    const today = new Date().toISOString().slice(0, 10).replace(/-/g, '');
    const dated = await signedPost(serve.endpoint, 'DescribeRepositories', {}, { scopeDate: '20200101' });
    expect(dated.json.__type).toBe('InvalidSignatureException');
    expect(dated.json.message).toMatch(
      new RegExp(
        `^Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20200101' != '${today}', from '${today}T\\d{6}Z'\\.$`,
      ),
    );
    const unsigned = await signedPost(serve.endpoint, 'DescribeRepositories', {}, { unsignedHost: true });
    expect(unsigned.status).toBe(400);
    expect(unsigned.json).toEqual({
      __type: 'InvalidSignatureException',
      message: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    });
  });

  test('with --access-key-id: a request signed for another host is refused, the same request signed for this one is not', async () => {
    const strict = await startServe([
      '--access-key-id',
      'AKIASTRICTKEY0000009',
      '--secret-access-key',
      'strict-secret',
    ]);
    try {
      const keys = { accessKeyId: 'AKIASTRICTKEY0000009', secretAccessKey: 'strict-secret' };
      const elsewhere = await signedPost(
        strict.endpoint,
        'DescribeRepositories',
        {},
        { ...keys, signedHost: 'api.ecr.us-east-1.amazonaws.com' },
      );
      expect(elsewhere.status).toBe(400);
      expect(elsewhere.json.__type).toBe('InvalidSignatureException');
      expect(elsewhere.json.message).toContain(
        'The request signature we calculated does not match the signature you provided',
      );
      const here = await signedPost(strict.endpoint, 'DescribeRepositories', {}, keys);
      expect(here.status).toBe(200);
    } finally {
      await strict.dispose();
    }
  });
});

describeWithTool('aws', 'AWS CLI: a request signed for another region', () => {
  test('is InvalidSignatureException, as ECR answers it', async () => {
    const res = await awsCli(serve.endpoint, ['ecr', 'describe-repositories'], { region: 'us-west-2' });
    expect(res.code).not.toBe(0);
    expect(cliErrorCode(res)).toBe('InvalidSignatureException');
    expect(res.stderr).toContain('Credential should be scoped to a valid region.');
  });
});
