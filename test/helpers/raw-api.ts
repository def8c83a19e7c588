/**
 * The emulator's answers as raw JSON, before any SDK drops what its model does not know, and a check of that JSON
 * against ECR's API model (the reference copy in shared/, else the stripped one in src/serve): every member must
 * be one the output shape has, of the type and enum it says, with the required ones present.
 */
import type { Json } from './json.js';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli.js';

const requireCjs = createRequire(import.meta.url);

/** node:crypto behind the Checksum interface the signer wants (it hashes requests with it). */
class Sha256 {
  private h = createHash('sha256');
  update(d: Uint8Array | string) {
    this.h.update(d);
  }
  async digest() {
    return new Uint8Array(this.h.digest());
  }
  reset() {
    this.h = createHash('sha256');
  }
}

export interface RawAnswer {
  status: number;
  body: Json;
}

/** A SigV4-signed AWS JSON 1.1 call, answered as status and parsed body. */
export async function rawCall(endpoint: string, operation: string, input: object): Promise<RawAnswer> {
  const { SignatureV4 } = requireCjs('@smithy/signature-v4') as typeof import('@smithy/signature-v4');
  const signer = new SignatureV4({
    service: 'ecr',
    region: 'us-east-1',
    sha256: Sha256,
    credentials: { accessKeyId: 'AKIAECRXTESTKEY00001', secretAccessKey: 'ecrx-test-secret' },
  });
  const url = new URL(endpoint);
  const body = JSON.stringify(input);
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: '/',
    query: {},
    body,
    headers: {
      host: url.host,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `AmazonEC2ContainerRegistry_V20150921.${operation}`,
    },
  });
  const res = await fetch(endpoint, { method: 'POST', headers: signed.headers, body });
  return { status: res.status, body: await res.json() };
}

interface Shape {
  type: string;
  members?: Record<string, { shape: string }>;
  required?: string[];
  member?: { shape: string };
  value?: { shape: string };
  enum?: string[];
}

function loadModel(): {
  shapes: Record<string, Shape>;
  operations: Record<string, { output?: { shape: string }; errors?: { shape: string }[] }>;
} {
  const reference = join(ROOT, '..', 'shared', 'reference', 'ecr-service-2.json');
  const path = existsSync(reference) ? reference : join(ROOT, 'src', 'serve', 'ecr-model.json');
  return JSON.parse(readFileSync(path, 'utf8'));
}

const model = loadModel();

/** Problems with `value` as the output of `operation` (empty when it conforms). */
export function outputProblems(operation: string, value: unknown): string[] {
  const shape = model.operations[operation]?.output?.shape;
  if (!shape) return [`${operation} has no output shape in the model`];
  const problems: string[] = [];
  check(shape, value, operation, problems);
  return problems;
}

/** The exception names the model lists for `operation`. */
export const modelErrors = (operation: string): string[] =>
  (model.operations[operation]?.errors ?? []).map((e) => e.shape);

function check(shapeName: string, value: unknown, path: string, problems: string[]): void {
  const shape = model.shapes[shapeName];
  if (value === undefined || value === null) return;
  switch (shape.type) {
    case 'structure': {
      if (typeof value !== 'object' || Array.isArray(value)) return void problems.push(`${path}: not an object`);
      for (const k of Object.keys(value as object))
        if (!shape.members?.[k]) problems.push(`${path}.${k}: not a member of ${shapeName}`);
      const members = value as Record<string, unknown>;
      for (const r of shape.required ?? [])
        if (members[r] === undefined) problems.push(`${path}.${r}: required by ${shapeName} but missing`);
      for (const [k, m] of Object.entries(shape.members ?? {})) check(m.shape, members[k], `${path}.${k}`, problems);
      return;
    }
    case 'list':
      if (!Array.isArray(value)) return void problems.push(`${path}: not a list`);
      value.forEach((v, i) => check(shape.member!.shape, v, `${path}[${i}]`, problems));
      return;
    case 'map':
      if (typeof value !== 'object' || Array.isArray(value)) return void problems.push(`${path}: not a map`);
      for (const [k, v] of Object.entries(value as object)) check(shape.value!.shape, v, `${path}.${k}`, problems);
      return;
    case 'string':
      if (typeof value !== 'string') return void problems.push(`${path}: not a string`);
      if (shape.enum && !shape.enum.includes(value))
        problems.push(`${path}: '${value}' not in ${shapeName} [${shape.enum.join(', ')}]`);
      return;
    case 'integer':
    case 'long':
      if (!Number.isInteger(value)) problems.push(`${path}: not an integer`);
      return;
    case 'timestamp':
      if (typeof value !== 'number') problems.push(`${path}: not epoch seconds`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') problems.push(`${path}: not a boolean`);
      return;
    default:
      return;
  }
}
