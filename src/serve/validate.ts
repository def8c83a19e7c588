/**
 * The model's constraints on a deserialized input: required members, lengths, patterns, enums and ranges. ECR
 * answers a violation with InvalidParameterException, naming the member and the constraint as the model states it.
 */
import { invalidParameterAt } from './api-error.js';
import type { Input } from './context.js';
import { anchored, inputShapeOf, shapes } from './model.js';
import { base64DecodedLength } from './base64.js';

/** The first constraint `value` breaks, in the model's words, or undefined. */
function scalarProblem(shapeName: string, value: unknown): string | undefined {
  const shape = shapes[shapeName];
  switch (shape.type) {
    case 'string': {
      const s = value as string;
      // Lengths count UTF-16 code units, as Java's String.length() does.
      if (shape.min !== undefined && s.length < shape.min)
        return `Member must have length greater than or equal to ${shape.min}`;
      if (shape.max !== undefined && s.length > shape.max)
        return `Member must have length less than or equal to ${shape.max}`;
      if (shape.enum && !shape.enum.includes(s))
        return `Member must satisfy enum value set: [${shape.enum.join(', ')}]`;
      if (shape.pattern && !anchored(shape.pattern).test(s))
        return `Member must satisfy regular expression pattern: ${shape.pattern}`;
      return undefined;
    }
    case 'blob': {
      const bytes = base64DecodedLength(value as string);
      if (shape.min !== undefined && bytes < shape.min)
        return `Member must have length greater than or equal to ${shape.min}`;
      if (shape.max !== undefined && bytes > shape.max)
        return `Member must have length less than or equal to ${shape.max}`;
      return undefined;
    }
    case 'integer':
    case 'long': {
      const n = value as number;
      if (shape.min !== undefined && n < shape.min)
        return `Member must have value greater than or equal to ${shape.min}`;
      if (shape.max !== undefined && n > shape.max) return `Member must have value less than or equal to ${shape.max}`;
      return undefined;
    }
    default:
      return undefined;
  }
}

function check(shapeName: string, value: unknown, path: string): void {
  const shape = shapes[shapeName];
  if (shape.type === 'structure') return checkStructure(shapeName, value as Record<string, unknown>, path);
  if (shape.type === 'list') {
    const list = value as unknown[];
    if (shape.min !== undefined && list.length < shape.min)
      throw invalidParameterAt(path, `Member must have length greater than or equal to ${shape.min}`);
    if (shape.max !== undefined && list.length > shape.max)
      throw invalidParameterAt(path, `Member must have length less than or equal to ${shape.max}`);
    const member = shapes[shape.member!.shape];
    list.forEach((item, i) => {
      if (item === null) throw invalidParameterAt(path, 'Member must satisfy constraint: [Member must not be null]');
      // A scalar member's problem is reported on the list, as ECR does; a structure's on its own members.
      if (member.type === 'structure' || member.type === 'list')
        return check(shape.member!.shape, item, `${path}.${i + 1}.member`);
      const problem = scalarProblem(shape.member!.shape, item);
      if (problem) throw invalidParameterAt(path, `Member must satisfy constraint: [${problem}]`);
    });
    return;
  }
  if (shape.type === 'map') {
    for (const [k, v] of Object.entries(value as object)) check(shape.value!.shape, v, `${path}.${k}`);
    return;
  }
  const problem = scalarProblem(shapeName, value);
  if (problem) throw invalidParameterAt(path, problem);
}

function checkStructure(shapeName: string, obj: Record<string, unknown>, path: string): void {
  const shape = shapes[shapeName];
  const at = (name: string) => (path ? `${path}.${name}` : name);
  for (const req of shape.required ?? []) {
    if (obj[req] === undefined) throw invalidParameterAt(at(req), 'Member must not be null');
  }
  for (const [name, member] of Object.entries(shape.members ?? {})) {
    if (obj[name] !== undefined) check(member.shape, obj[name], at(name));
  }
}

/** Throws InvalidParameterException when a deserialized `input` breaks the model's constraints for `operation`. */
/** Checks `input` against the operation's model; once it returns, `input` is what the handlers read (Input). */
export function validateInput(operation: string, input: Record<string, unknown>): asserts input is Input {
  const shape = inputShapeOf(operation);
  if (shape) checkStructure(shape, input, '');
}
