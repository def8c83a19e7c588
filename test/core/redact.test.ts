import { redact } from '../../src/core/redact.js';
import { safeUrl } from '../../src/net/http.js';

describe('redaction', () => {
  const presigned =
    'https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/abcd/sha256:1234?X-Amz-Security-Token=IQoJb3JpZ2lu&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20260101T000000Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Credential=ASIAXXXXXXXXXXXXXXXX%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=deadbeef';

  test('pre-signed queries are removed from messages', () => {
    const out = redact(`failed to GET ${presigned}: 503`);
    expect(out).toContain(
      'https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/abcd/sha256:1234?[redacted]',
    );
    expect(out).not.toContain('X-Amz-Signature');
    expect(out).not.toContain('IQoJb3JpZ2lu');
    expect(out).not.toContain('ASIAXXXXXXXXXXXXXXXX');
  });

  test('keys, secrets, tokens and Authorization headers are removed', () => {
    const text =
      'AKIAIOSFODNN7EXAMPLE secretAccessKey: "wJalrXUtnFEMI/K7MDENG" Authorization: AWS4-HMAC-SHA256 Credential=AKIA/x, Signature=abc x-amz-security-token=FQoGZXIvYXdz';
    const out = redact(text);
    for (const secret of ['AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG', 'Signature=abc', 'FQoGZXIvYXdz'])
      expect(out).not.toContain(secret);
  });

  test('safeUrl keeps origin and path only', () => {
    expect(safeUrl(presigned)).toBe(
      'https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/abcd/sha256:1234?[redacted]',
    );
    expect(safeUrl('http://127.0.0.1:5000/x')).toBe('http://127.0.0.1:5000/x');
  });
});
