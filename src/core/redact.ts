/**
 * Removes what must never be printed: pre-signed query strings, credentials in URLs, AWS keys and secrets,
 * Authorization headers. Applied to every message ecrx prints.
 */
const patterns: [RegExp, string][] = [
  // The query of any URL carrying a signature or credential (pre-signed S3 URLs).
  [/(https?:\/\/[^\s"'?]+)\?[^\s"']*(?:X-Amz-|Signature=|AWSAccessKeyId=)[^\s"']*/gi, '$1?[redacted]'],
  [/(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s"']+/gi, '$1[redacted]'],
  [/(Authorization["']?\s*[:=]\s*["']?)[^"'\n]+/gi, '$1[redacted]'],
  [
    /(aws_secret_access_key|secretAccessKey|aws_session_token|sessionToken|x-amz-security-token)(["']?\s*[:=]\s*["']?)[^"'\s,}]+/gi,
    '$1$2[redacted]',
  ],
  [/\b((?:AKIA|ASIA)[A-Z0-9]{12,})\b/g, '[redacted-access-key]'],
  [/(https?:\/\/)[^/\s:@]+:[^/\s@]+@/gi, '$1[redacted]@'],
];

export function redact(text: string): string {
  let out = text;
  for (const [re, replacement] of patterns) out = out.replace(re, replacement);
  return out;
}
