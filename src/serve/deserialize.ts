/**
 * The first thing AWS's JSON protocol does with a body: read it into the operation's input shape. A value of the
 * wrong JSON type, or a blob that is not base64, fails here with `SerializationException` before any validation or
 * operation runs. Members the shape does not know and explicit nulls are dropped; numbers for integer members are
 * truncated, as the service's deserializer does. The texts are the ones AWS's JSON services answer.
 */
import { ApiError } from './api-error.js';
import { shapes } from './model.js';
import { base64Problem } from './base64.js';

export const serializationError = (message?: string) =>
  new ApiError('SerializationException', message ?? '', 400, {}, { omitMessage: message === undefined });

const BIG_NUMBER = 'class com.amazon.coral.value.json.numbers.TruncatingBigNumber';
const LIST_START = 'Start of list found where not expected';
const OBJECT_START = 'Start of structure or map found where not expected.';

const INT_LIMIT = 2 ** 31;
const LONG_LIMIT = 2 ** 63;

/** A value echoed in a message, cut short: a 20 MiB blob is not worth repeating. */
const shown = (s: string) => (s.length > 64 ? `${s.slice(0, 64)}...` : s);

function javaName(value: unknown): string {
  if (typeof value === 'boolean') return 'class java.lang.Boolean';
  if (typeof value === 'number') return BIG_NUMBER;
  return 'class java.lang.String';
}

/** Complains about a JSON array or object where a scalar was expected. */
function notAContainer(value: unknown): void {
  if (Array.isArray(value)) throw serializationError(LIST_START);
  if (typeof value === 'object') throw serializationError(OBJECT_START);
}

function convert(shapeName: string, value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  const shape = shapes[shapeName];
  switch (shape.type) {
    case 'structure':
      if (Array.isArray(value)) throw serializationError(LIST_START);
      if (typeof value !== 'object') throw serializationError('Expected null');
      return convertStructure(shapeName, value as Record<string, unknown>);
    case 'list':
      if (typeof value !== 'object') throw serializationError('Expected list or null');
      if (!Array.isArray(value)) throw serializationError(OBJECT_START);
      // A null inside a list stays a null: validation then says a member must not be null.
      return value.map((item) => (item === null ? null : convert(shape.member!.shape, item)));
    case 'map': {
      if (typeof value !== 'object') throw serializationError('Expected map or null');
      if (Array.isArray(value)) throw serializationError(LIST_START);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as object)) out[k] = convert(shape.value!.shape, v);
      return out;
    }
    case 'string':
      notAContainer(value);
      if (typeof value !== 'string') throw serializationError(`${javaName(value)} can not be converted to an String`);
      return value;
    case 'blob': {
      notAContainer(value);
      if (typeof value !== 'string') throw serializationError(`${javaName(value)} can not be converted to a Blob`);
      const problem = base64Problem(value);
      if (problem) throw serializationError(`'${shown(value)}' can not be converted to a Blob: ${problem}`);
      return value;
    }
    case 'integer':
    case 'long': {
      notAContainer(value);
      const java = shape.type === 'integer' ? 'Integer' : 'Long';
      if (typeof value !== 'number') throw serializationError(`${javaName(value)} can not be converted to an ${java}`);
      const limit = shape.type === 'integer' ? INT_LIMIT : LONG_LIMIT;
      return Math.min(Math.max(Math.trunc(value), -limit), limit - 1);
    }
    case 'boolean':
      notAContainer(value);
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
      throw serializationError(
        typeof value === 'string'
          ? `'${shown(value.toUpperCase())}' can not be converted to an Boolean`
          : `${BIG_NUMBER} can not be converted to an Boolean`,
      );
    case 'timestamp':
      notAContainer(value);
      if (typeof value !== 'number')
        throw serializationError(`${javaName(value)} can not be converted to milliseconds since epoch`);
      return value;
    default:
      return value;
  }
}

function convertStructure(shapeName: string, obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, member] of Object.entries(shapes[shapeName].members ?? {})) {
    if (!Object.prototype.hasOwnProperty.call(obj, name)) continue;
    const v = convert(member.shape, obj[name]);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/** The request body read into `shapeName`'s structure, or SerializationException. */
export function deserializeInput(shapeName: string | undefined, body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw serializationError(Array.isArray(body) ? LIST_START : undefined);
  return shapeName ? convertStructure(shapeName, body as Record<string, unknown>) : {};
}
