/**
 * Base64 as AWS's JSON protocol reads a blob member: the standard alphabet, padded to a multiple of 4, padding
 * only at the end, and no stray bits in the last character. Node's decoder skips whatever it does not understand,
 * so bytes a client never meant to send would land in a layer; ECR refuses such a body before the operation runs.
 */

/** Undefined when `b64` is canonical base64; otherwise why not, in the deserializer's words. */
export function base64Problem(b64: string): string | undefined {
  if (b64.length % 4 !== 0) return `Base64 encoded length is expected a multiple of 4 bytes but found: ${b64.length}`;
  const bad = /[^A-Za-z0-9+/=]|=[^=]/.exec(b64);
  if (bad) return `Invalid Base64 character: '${bad[0][0]}'`;
  const pad = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0;
  if (b64.length > 0 && pad > 0) {
    // The bits of the last data character that fall beyond the final byte must be zero.
    const last = ALPHABET.indexOf(b64[b64.length - pad - 1]);
    if ((last & (pad === 2 ? 0x0f : 0x03)) !== 0) return 'Invalid last non-pad Base64 character dectected';
  }
  return undefined;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** How many bytes canonical base64 text decodes to (its opposite, ecr/part-body.ts base64EncodedLength). */
export function base64DecodedLength(b64: string): number {
  const pad = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0;
  return (b64.length / 4) * 3 - pad;
}
