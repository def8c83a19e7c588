/**
 * Validates request bodies against ECR's own API model (botocore's ecr-2015-09-21, documentation stripped), so
 * the emulator rejects exactly what the model says is invalid: missing members, patterns, lengths, enums, list sizes.
 */
import model from './ecr-model.json' with { type: 'json' };
import { invalidParameter } from './api-error.js';

interface Shape {
  type: string;
  members?: Record<string, { shape: string }>;
  required?: string[];
  member?: { shape: string };
  key?: { shape: string };
  value?: { shape: string };
  pattern?: string;
  min?: number;
  max?: number;
  enum?: string[];
}

const shapes = model.shapes as unknown as Record<string, Shape>;
const operations = model.operations as unknown as Record<string, { input?: { shape: string } }>;
export const targetPrefix: string = model.metadata.targetPrefix;

const patternCache = new Map<string, RegExp>();
function anchored(pattern: string): RegExp {
  let re = patternCache.get(pattern);
  if (!re) {
    const body = pattern.replace(/^\^/, '').replace(/\$$/, '');
    re = new RegExp(`^(?:${body})$`, 'u');
    patternCache.set(pattern, re);
  }
  return re;
}

function fail(path: string, value: unknown, constraint: string): never {
  const shown = typeof value === 'string' || typeof value === 'number' ? `'${value}'` : JSON.stringify(value);
  throw invalidParameter(
    `Invalid parameter at '${path}' failed to satisfy constraint: '${constraint}' (value ${shown})`,
  );
}

function check(shapeName: string, value: unknown, path: string): void {
  const shape = shapes[shapeName];
  if (!shape || value === undefined || value === null) return;
  switch (shape.type) {
    case 'structure': {
      if (typeof value !== 'object' || Array.isArray(value)) fail(path, value, 'must be an object');
      const obj = value as Record<string, unknown>;
      for (const req of shape.required ?? []) {
        if (obj[req] === undefined || obj[req] === null) {
          throw invalidParameter(`Invalid parameter: '${path ? `${path}.` : ''}${req}' is required but was not provided`);
        }
      }
      for (const [name, member] of Object.entries(shape.members ?? {})) {
        check(member.shape, obj[name], path ? `${path}.${name}` : name);
      }
      return;
    }
    case 'list': {
      if (!Array.isArray(value)) fail(path, value, 'must be a list');
      if (shape.min !== undefined && value.length < shape.min) fail(path, value.length, `Member must have length greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && value.length > shape.max) fail(path, value.length, `Member must have length less than or equal to ${shape.max}`);
      value.forEach((item, i) => check(shape.member!.shape, item, `${path}[${i}]`));
      return;
    }
    case 'map': {
      if (typeof value !== 'object' || Array.isArray(value)) fail(path, value, 'must be a map');
      for (const [k, v] of Object.entries(value as object)) check(shape.value!.shape, v, `${path}.${k}`);
      return;
    }
    case 'string': {
      if (typeof value !== 'string') fail(path, value, 'Member must be a string');
      if (shape.min !== undefined && value.length < shape.min) fail(path, value, `Member must have length greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && value.length > shape.max) fail(path, `${value.length} characters`, `Member must have length less than or equal to ${shape.max}`);
      if (shape.enum && !shape.enum.includes(value)) fail(path, value, `Member must satisfy enum value set: [${shape.enum.join(', ')}]`);
      if (shape.pattern && !anchored(shape.pattern).test(value)) fail(path, value, `Member must satisfy regular expression pattern: ${shape.pattern}`);
      return;
    }
    case 'integer':
    case 'long': {
      if (typeof value !== 'number' || !Number.isInteger(value)) fail(path, value, 'Member must be an integer');
      if (shape.min !== undefined && value < shape.min) fail(path, value, `Member must have value greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && value > shape.max) fail(path, value, `Member must have value less than or equal to ${shape.max}`);
      return;
    }
    case 'boolean':
      if (typeof value !== 'boolean') fail(path, value, 'Member must be a boolean');
      return;
    case 'blob': {
      // Blobs travel base64-encoded; the length limits apply to the decoded bytes.
      if (typeof value !== 'string') fail(path, value, 'Member must be base64-encoded binary');
      const bytes = base64Length(value);
      if (shape.min !== undefined && bytes < shape.min) fail(path, `${bytes} bytes`, `Member must have length greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && bytes > shape.max) fail(path, `${bytes} bytes`, `Member must have length less than or equal to ${shape.max}`);
      return;
    }
    default:
      return;
  }
}

export function base64Length(b64: string): number {
  let pad = 0;
  if (b64.endsWith('==')) pad = 2;
  else if (b64.endsWith('=')) pad = 1;
  return Math.floor((b64.length * 3) / 4) - pad;
}

export function isKnownOperation(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(operations, name);
}

/** Throws InvalidParameterException when `input` breaks the model's constraints for `operation`. */
export function validateInput(operation: string, input: unknown): void {
  const shape = operations[operation]?.input?.shape;
  if (!shape) return;
  check(shape, input ?? {}, '');
}
