/**
 * Property: whatever a client sends to an operation ecrx serve implements (wrong types, missing members,
 * out-of-range numbers, long strings, odd Unicode, broken bodies), the answer is either a well-formed success
 * (the output shape's types) or a well-formed ECR error (HTTP 400, JSON `__type` from the model's error list for that
 * operation or the protocol's common ones, listed in the conformance table) — never a 500, never a dropped
 * connection, never a crash. Seeded and bounded: the same requests every run, a few seconds in all.
 */
import { startServe, type Serve } from '../helpers/serve.js';
import { sdk, createRepo, makeImage, pushImage, sha256 } from '../helpers/ecr.js';
import { signedPost, type RawResponse } from '../helpers/signed-request.js';
import { InitiateLayerUploadCommand, DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import { inputShapeOf, modelErrorsOf, outputShapeOf, shapes } from '../../src/serve/model.js';
import { COMMON_ERRORS, conformance } from '../../src/serve/conformance.js';
import { supportedOperations } from '../../src/serve/server.js';
import { list } from '../helpers/json.js';

const SEED = 0x5eed17;
const PER_OPERATION = 40;

/** mulberry32: the same sequence for the same seed. */
function rng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
  };
}
type Rng = ReturnType<typeof rng>;

const ODD_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\ud800',
  '\udc00x',
  '\u202eevil',
  '🐳/🐳',
  'e\u0301',
  '＜tag＞',
  '１２３',
  '\ufeffv1',
  'İı',
  'a\nb',
  '../../etc/passwd',
  '%2F%2e%2e',
  'sha256:',
  'sha256:zz',
  'A'.repeat(257),
  'x'.repeat(301),
  'y'.repeat(70000),
  'a'.repeat(256),
  `${'ab/'.repeat(85)}a`,
];
const ODD_NUMBERS = [-1, 0, 1.5, -0.5, 2 ** 31, 2 ** 53 + 1, 1e300, -1e300, 21474836470];
const OTHER_VALUES = [null, true, false, 0, 'str', [], {}, [1, 'a', null], { nested: { deeper: [] } }];

/**
 * Operations the fixtures cannot make succeed: the fixture image already exists (PutImage), the fixture upload's
 * 5 bytes are not the fixture layer (CompleteLayerUpload), mutations of the one required digest always miss
 * (GetDownloadUrlForLayer), and BatchDeleteImage, which runs earlier, has deleted the fixture image by the time
 * UpdateImageStorageClass runs.
 */
const NEVER_OK = ['PutImage', 'GetDownloadUrlForLayer', 'CompleteLayerUpload', 'UpdateImageStorageClass'];

let serve: Serve;
const fixtures: Record<string, unknown> = {};

/** A plausible value for a member, so that mutations start from requests that reach the operation. */
function sample(member: string, shapeName: string, depth = 0): unknown {
  if (member in fixtures) return fixtures[member];
  const s = shapes[shapeName];
  switch (s.type) {
    case 'structure': {
      const out: Record<string, unknown> = {};
      for (const name of s.required ?? Object.keys(s.members ?? {}).slice(0, 1))
        out[name] = sample(name, s.members![name].shape, depth + 1);
      return out;
    }
    case 'list':
      return depth > 2 ? [] : [sample(`${member}[]`, s.member!.shape, depth + 1)];
    case 'map':
      return {};
    case 'string':
      return s.enum ? s.enum[0] : 'x';
    case 'integer':
    case 'long':
      return s.min ?? 1;
    case 'boolean':
      return false;
    case 'blob':
      return 'aGVsbG8=';
    default:
      return 'x';
  }
}

/** Inputs that would end the run's fixtures are pointed elsewhere: a deletion takes a repository of its own. */
const overrides: Record<string, Record<string, unknown>> = { DeleteRepository: { repositoryName: 'fuzz/doomed' } };

function baseInput(operation: string): Record<string, unknown> {
  const shape = shapes[inputShapeOf(operation)!];
  const out: Record<string, unknown> = {};
  for (const name of shape.required ?? []) out[name] = sample(name, shape.members![name].shape);
  return { ...out, ...overrides[operation] };
}

type Path = (string | number)[];

function pathsOf(value: unknown, prefix: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return prefix.length ? [prefix] : [];
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : Object.entries(value);
  return [...(prefix.length ? [prefix] : []), ...entries.flatMap(([k, v]) => pathsOf(v, [...prefix, k]))];
}

/** A JSON value seen as a container: objects and arrays are both indexed by a path step. */
type Container = Record<string | number, unknown>;

function setAt(obj: Container, path: Path, value: unknown, remove = false): void {
  let cur = obj;
  for (const k of path.slice(0, -1)) cur = cur[k] as Container;
  const last = path[path.length - 1];
  if (remove) {
    if (Array.isArray(cur)) cur.splice(Number(last), 1);
    else delete cur[last];
  } else cur[last] = value;
}

/** One request body: the base input changed in one to three ways, or (rarely) not JSON at all. */
function mutate(operation: string, r: Rng): string {
  if (r.next() < 0.05)
    return r.pick([
      '',
      '{',
      '[]',
      'null',
      '"x"',
      '1',
      '{"a":',
      '\u0000\u0001',
      '{"repositoryName":"a"}}',
      'x'.repeat(1000),
    ]);
  const input: Container = structuredClone(baseInput(operation));
  const members = shapes[inputShapeOf(operation)!].members ?? {};
  for (let n = 1 + r.int(3); n > 0; n--) {
    const paths = pathsOf(input);
    const kind = r.int(7);
    if (kind === 0 || paths.length === 0) {
      const [name, m] = r.pick(Object.entries(members));
      input[name] = sample(name, m.shape); // an optional member joins
    } else if (kind === 1) {
      setAt(input, r.pick(paths), undefined, true); // a member goes missing
    } else if (kind === 2) {
      setAt(input, r.pick(paths), structuredClone(r.pick(OTHER_VALUES))); // a value of another type (a copy: the table is shared)
    } else if (kind === 3) {
      setAt(input, r.pick(paths), r.pick(ODD_NUMBERS));
    } else if (kind === 4) {
      setAt(input, r.pick(paths), r.pick(ODD_STRINGS));
    } else if (kind === 5) {
      const path = r.pick(paths);
      setAt(
        input,
        path,
        Array.from({ length: r.pick([0, 101, 1001]) }, () => 'sha256:00'),
      );
    } else {
      // Members the shape does not have, "__proto__" included as a real key (JSON.parse makes it one).
      Object.defineProperty(input, r.pick(['unknownMember', '__proto__', 'constructor', 'RepositoryName']), {
        value: structuredClone(r.pick(OTHER_VALUES)),
        enumerable: true,
        configurable: true,
        writable: true,
      });
    }
  }
  return JSON.stringify(input);
}

/** Whether `value` has the JSON types the model gives `shapeName` (members it does not know are not allowed). */
function hasShape(shapeName: string, value: unknown): boolean {
  const s = shapes[shapeName];
  switch (s.type) {
    case 'structure':
      return (
        typeof value === 'object' &&
        value !== null &&
        !Array.isArray(value) &&
        Object.entries(value).every(([k, v]) => s.members?.[k] !== undefined && hasShape(s.members[k].shape, v))
      );
    case 'list':
      return Array.isArray(value) && value.every((v) => hasShape(s.member!.shape, v));
    case 'map':
      return (
        typeof value === 'object' && value !== null && Object.values(value).every((v) => hasShape(s.value!.shape, v))
      );
    case 'string':
      return typeof value === 'string' && (!s.enum || s.enum.includes(value));
    case 'integer':
    case 'long':
      return Number.isInteger(value);
    case 'timestamp':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    default:
      return true;
  }
}

/** Why an answer is not well-formed, or undefined when it is. */
function problemWith(operation: string, res: RawResponse): string | undefined {
  if (res.status === 200) {
    if (!hasShape(outputShapeOf(operation)!, res.json))
      return `200 body not of the output shape: ${res.text.slice(0, 300)}`;
    const undeclared = (res.json.failures ? list(res.json.failures) : [])
      .map((f) => String(f.failureCode))
      .filter((c) => !conformance[operation].failureCodes?.includes(c));
    return undeclared.length
      ? `failure codes not declared in the conformance table: ${undeclared.join(', ')}`
      : undefined;
  }
  if (res.status !== 400) return `status ${res.status}: ${res.text.slice(0, 300)}`;
  const type = res.json?.__type;
  if (typeof type !== 'string') return `400 without a JSON __type: ${res.text.slice(0, 300)}`;
  if (res.json.message !== undefined && typeof res.json.message !== 'string')
    return `message not a string: ${res.text.slice(0, 300)}`;
  const allowed = new Set<string>([...COMMON_ERRORS, ...modelErrorsOf(operation)]);
  if (!allowed.has(type)) return `${type} is not an error the model lists for ${operation}`;
  const declared = new Set<string>([...COMMON_ERRORS, ...conformance[operation].errors]);
  if (!declared.has(type)) return `${type} is answered but not declared in the conformance table for ${operation}`;
  return undefined;
}

beforeAll(async () => {
  serve = await startServe();
  const ecr = sdk(serve.endpoint);
  await createRepo(ecr, 'fuzz/app');
  const img = makeImage([5]);
  await pushImage(ecr, 'fuzz/app', img, 'v1');
  await createRepo(ecr, 'fuzz/doomed');
  await pushImage(ecr, 'fuzz/doomed', makeImage([6]), 'v1');
  const { uploadId } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'fuzz/app' }));
  ecr.destroy();
  Object.assign(fixtures, {
    repositoryName: 'fuzz/app',
    registryId: '000000000000',
    imageTag: 'v1',
    imageDigest: img.digest,
    imageManifest: img.manifest,
    imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
    uploadId,
    layerDigest: sha256(img.layers[0]),
    'layerDigests[]': sha256(img.layers[0]),
    'acceptedMediaTypes[]': 'application/vnd.oci.image.manifest.v1+json',
    partFirstByte: 0,
    partLastByte: 4,
    layerPartBlob: 'aGVsbG8=',
    maxResults: 5,
  });
});
afterAll(async () => {
  await serve?.dispose();
});

test('every implemented operation answers mutated requests with a success or a well-formed ECR error', async () => {
  const r = rng(SEED);
  const bad: string[] = [];
  const seen = new Map<string, Set<string>>();
  for (const operation of supportedOperations) {
    for (let i = 0; i < PER_OPERATION; i++) {
      const body = mutate(operation, r);
      let res: RawResponse;
      try {
        res = await signedPost(serve.endpoint, operation, body);
      } catch (err) {
        bad.push(`${operation} ${body.slice(0, 200)}: no answer (${(err as Error).message})`);
        continue;
      }
      const problem = problemWith(operation, res);
      if (problem) bad.push(`${operation} ${body.slice(0, 200)}: ${problem}`);
      const outcome = res.status === 200 ? 'ok' : String(res.json?.__type);
      seen.set(operation, (seen.get(operation) ?? new Set()).add(outcome));
    }
  }
  expect(bad).toEqual([]);
  // The mutations reach past the protocol: every operation saw both kinds of error, and most saw a success too.
  for (const operation of supportedOperations) {
    const outcomes = seen.get(operation)!;
    expect([operation, outcomes.has('SerializationException')]).toEqual([operation, true]);
    expect([operation, outcomes.has('InvalidParameterException')]).toEqual([operation, true]);
  }
  expect(supportedOperations.filter((op) => !seen.get(op)!.has('ok'))).toEqual(NEVER_OK);
  // The server is still there and still right.
  expect(serve.child.exitCode).toBeNull();
  const ecr = sdk(serve.endpoint);
  const described = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['fuzz/app'] }));
  ecr.destroy();
  expect(described.repositories![0].repositoryName).toBe('fuzz/app');
});

test('broken requests around the body: unknown or odd targets, no Authorization, bytes that are not UTF-8 JSON', async () => {
  const cases = [
    ['NoSuchOperation', '{}'],
    ['describeRepositories', '{}'],
    ['DescribeRegistry', '{}'],
    ['', '{}'],
  ];
  for (const [operation, body] of cases) {
    const res = await signedPost(serve.endpoint, operation, body);
    expect([operation, res.status, res.json?.__type]).toEqual([operation, 400, 'UnknownOperationException']);
  }
  const unsigned = await fetch(serve.endpoint, {
    method: 'POST',
    headers: {
      'X-Amz-Target': 'AmazonEC2ContainerRegistry_V20150921.ListImages',
      'Content-Type': 'application/x-amz-json-1.1',
    },
    body: '{"repositoryName":"fuzz/app"}',
  });
  expect([unsigned.status, (await unsigned.json()).__type]).toEqual([400, 'MissingAuthenticationTokenException']);
  const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x7b]);
  const binary = await signedPost(serve.endpoint, 'DescribeRepositories', bytes);
  expect([binary.status, binary.json?.__type]).toEqual([400, 'SerializationException']);
});
