/**
 * ECR's own API model (botocore's ecr-2015-09-21; documentation stripped except each `maxResults` member's, which
 * carries the documented default page size): the one place the emulator learns shapes, constraints, the errors
 * each operation may answer, and paging limits.
 */
import model from './ecr-model.json' with { type: 'json' };

export interface Shape {
  type: string;
  members?: Record<string, { shape: string; documentation?: string }>;
  required?: string[];
  member?: { shape: string };
  key?: { shape: string };
  value?: { shape: string };
  pattern?: string;
  min?: number;
  max?: number;
  enum?: string[];
}

interface Operation {
  input?: { shape: string };
  output?: { shape: string };
  errors?: { shape: string }[];
}

export const shapes = model.shapes as unknown as Record<string, Shape>;
const operations = model.operations as unknown as Record<string, Operation>;
export const targetPrefix: string = model.metadata.targetPrefix;

export function isKnownOperation(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(operations, name);
}

export const inputShapeOf = (operation: string): string | undefined => operations[operation]?.input?.shape;
export const outputShapeOf = (operation: string): string | undefined => operations[operation]?.output?.shape;

/** The exceptions the model lists for an operation. */
export const modelErrorsOf = (operation: string): string[] => (operations[operation]?.errors ?? []).map((e) => e.shape);

export interface PagingLimits {
  /** What the documentation says a page holds when maxResults is not given. */
  documentedDefault: number;
  min: number;
  max: number;
}

/** maxResults limits of an operation, from its shape and its documentation; undefined when it does not page. */
export function pagingLimitsOf(operation: string): PagingLimits | undefined {
  const input = inputShapeOf(operation);
  const member = input ? shapes[input].members?.maxResults : undefined;
  if (!member) return undefined;
  const shape = shapes[member.shape];
  const documented = /returns up to\W+(\d+)\W+results/.exec(member.documentation ?? '');
  if (!documented || shape.min === undefined || shape.max === undefined) {
    throw new Error(`the model documents no default page size for ${operation}`);
  }
  return { documentedDefault: Number(documented[1]), min: shape.min, max: shape.max };
}

const patternCache = new Map<string, RegExp>();

/** A model pattern as an anchored JavaScript regular expression (the model's are Java's, implicitly whole-string). */
export function anchored(pattern: string): RegExp {
  let re = patternCache.get(pattern);
  if (!re) {
    const body = pattern.replace(/^\^/, '').replace(/\$$/, '');
    re = new RegExp(`^(?:${body})$`, 'u');
    patternCache.set(pattern, re);
  }
  return re;
}
