/**
 * Registry authentication: the WWW-Authenticate challenge of a 401, and the bearer-token dance of the distribution
 * token spec (GET realm?service=&scope= with Basic credentials or none; POST grant_type=refresh_token with an
 * identity token). Tokens are cached per scope until shortly before they expire.
 */
import { EcrxError } from '../core/errors.js';
import { readSmallBody, safeUrl } from '../net/http.js';
import type { Credentials } from './credentials.js';
import { isLoopbackRegistry } from './reference.js';
import type { Transport } from './transport.js';

export interface Challenge {
  scheme: 'bearer' | 'basic';
  realm?: string;
  service?: string;
  scope?: string;
}

/** `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:x:pull"` */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const scheme = m[1].toLowerCase();
  if (scheme !== 'bearer' && scheme !== 'basic') return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;
  for (let p = re.exec(m[2]); p; p = re.exec(m[2])) params[p[1].toLowerCase()] = (p[2] ?? p[3]).replace(/\\(.)/g, '$1');
  return { scheme, realm: params.realm, service: params.service, scope: params.scope };
}

export const basicAuth = (c: Credentials) =>
  `Basic ${Buffer.from(`${c.username ?? ''}:${c.password ?? ''}`).toString('base64')}`;

interface CachedToken {
  token: string;
  expiresAt: number;
}

export class TokenCache {
  private readonly tokens = new Map<string, CachedToken>();

  get(scope: string): string | undefined {
    const t = this.tokens.get(scope);
    return t && t.expiresAt > Date.now() ? t.token : undefined;
  }

  set(scope: string, token: string, expiresInSeconds: number): void {
    // Renewed 10 s early (a token must not expire mid-request), never cached for less than 5 s.
    this.tokens.set(scope, { token, expiresAt: Date.now() + Math.max(5, expiresInSeconds - 10) * 1000 });
  }

  clear(scope: string): void {
    this.tokens.delete(scope);
  }
}

/** Asks the challenge's realm for a token for `scope`; credentials go along when there are some. */
export async function fetchToken(
  transport: Transport,
  challenge: Challenge,
  scope: string,
  creds: Credentials | undefined,
  registry: string,
  insecure: boolean,
  signal?: AbortSignal,
): Promise<{ token: string; expiresIn: number }> {
  let realm: URL;
  try {
    realm = new URL(challenge.realm ?? '');
  } catch {
    throw new EcrxError('AUTH_ERROR', `${registry} asked for a token but named no valid token service (realm)`);
  }
  if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && (insecure || isLoopbackRegistry(realm.host))))
    throw new EcrxError(
      'AUTH_ERROR',
      `${registry} names a token service that is not https (${safeUrl(realm.href)}); refused`,
      {
        hint: 'Credentials are only sent over TLS (or to a loopback address). --insecure allows plain HTTP.',
      },
    );
  const params = new URLSearchParams();
  if (challenge.service) params.set('service', challenge.service);
  params.set('scope', scope);
  let res;
  if (creds?.identityToken) {
    params.set('grant_type', 'refresh_token');
    params.set('refresh_token', creds.identityToken);
    params.set('client_id', 'ecrx');
    res = await transport.send(realm, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: Buffer.from(params.toString()),
      signal,
    });
  } else {
    params.forEach((v, k) => realm.searchParams.set(k, v));
    if (creds?.username) realm.searchParams.set('account', creds.username);
    res = await transport.send(realm, {
      method: 'GET',
      authorization: creds?.username !== undefined ? basicAuth(creds) : undefined,
      signal,
    });
  }
  const text = await readSmallBody(res);
  const status = res.statusCode ?? 0;
  if (status === 401 || status === 403)
    throw new EcrxError(
      status === 401 ? 'AUTH_ERROR' : 'ACCESS_DENIED',
      `The token service of ${registry} refused ${creds ? 'the credentials' : 'an anonymous token'} for ${scope} (HTTP ${status})`,
      {
        hint: creds
          ? 'Log in again (docker login), or check the credentials in the docker config.'
          : `Log in first (docker login ${registry}); the registry wants credentials.`,
      },
    );
  if (status !== 200)
    throw new EcrxError('SERVICE_ERROR', `The token service of ${registry} answered HTTP ${status} for ${scope}`, {
      hint: 'Try again later; if it persists, the registry is having trouble.',
    });
  let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    throw new EcrxError('SERVICE_ERROR', `The token service of ${registry} answered something that is not JSON`);
  }
  const token =
    typeof doc.token === 'string' ? doc.token : typeof doc.access_token === 'string' ? doc.access_token : '';
  if (!token) throw new EcrxError('SERVICE_ERROR', `The token service of ${registry} answered without a token`);
  const expiresIn = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : 60;
  return { token, expiresIn };
}
