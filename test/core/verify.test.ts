/** Expected against actual: the one place DIGEST_MISMATCH and SIZE_MISMATCH are built, and the digest helpers. */
import { EcrxError } from '../../src/core/errors.js';
import { digestMismatch, sizeMismatch, verifyBytes } from '../../src/core/verify.js';
import { isSha256Digest, SHA256_HEX, sha256Digest, sha256Hex } from '../../src/core/digest.js';

const bytes = Buffer.from('hello\n');
// sha256 of "hello\n", as `printf 'hello\n' | sha256sum` prints it.
const HELLO = 'sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03';

const caught = (fn: () => void): EcrxError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof EcrxError) return err;
    throw err;
  }
  throw new Error('expected an EcrxError');
};

describe('digests', () => {
  test('sha256Digest and sha256Hex hash bytes and UTF-8 strings alike', () => {
    expect(sha256Digest(bytes)).toBe(HELLO);
    expect(sha256Digest('hello\n')).toBe(HELLO);
    expect(sha256Hex(bytes)).toBe(HELLO.slice('sha256:'.length));
  });

  test('only a lowercase sha256 digest is one', () => {
    expect(isSha256Digest(HELLO)).toBe(true);
    expect(isSha256Digest(HELLO.toUpperCase())).toBe(false);
    expect(isSha256Digest('sha256:../../etc/passwd')).toBe(false);
    expect(isSha256Digest(`${HELLO}0`)).toBe(false);
    expect(isSha256Digest(42)).toBe(false);
    expect(SHA256_HEX.test(HELLO.slice(7))).toBe(true);
  });
});

describe('verify', () => {
  test('bytes that are what the descriptor says pass', () => {
    expect(() => verifyBytes(bytes, { digest: HELLO, size: 6 }, 'Blob x')).not.toThrow();
    expect(() => verifyBytes(bytes, { digest: HELLO }, 'Blob x')).not.toThrow();
  });

  test('a wrong size is SIZE_MISMATCH (exit 5), checked before the digest', () => {
    const err = caught(() => verifyBytes(bytes, { digest: 'sha256:' + '0'.repeat(64), size: 7 }, 'Blob x'));
    expect([err.code, err.exitCode, err.details]).toEqual(['SIZE_MISMATCH', 5, { expected: 7, actual: 6 }]);
    expect(err.message).toBe('Blob x should be 7 bytes but is 6');
  });

  test('a wrong digest is DIGEST_MISMATCH with both digests', () => {
    const wanted = 'sha256:' + 'a'.repeat(64);
    const err = caught(() => verifyBytes(bytes, { digest: wanted, size: 6 }, 'Blob x', { details: { repo: 'r' } }));
    expect([err.code, err.exitCode]).toEqual(['DIGEST_MISMATCH', 5]);
    expect(err.details).toEqual({ repo: 'r', expected: wanted, actual: HELLO });
    expect(err.message).toBe(`Blob x does not match its digest: expected ${wanted}, got ${HELLO}`);
    expect(err.hint).toBeTruthy();
  });

  test('a caller may word the message and hint, never the codes or the expected/actual details', () => {
    const d = digestMismatch('x', 'e', 'a', { message: 'custom', hint: 'do this', details: { expected: 'no' } });
    expect([d.code, d.message, d.hint, d.details]).toEqual([
      'DIGEST_MISMATCH',
      'custom',
      'do this',
      { expected: 'e', actual: 'a' },
    ]);
    const s = sizeMismatch('y', 1, 2, { cause: d });
    expect([s.code, s.cause]).toEqual(['SIZE_MISMATCH', d]);
  });
});
