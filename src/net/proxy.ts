/**
 * Proxies for plain HTTP(S) requests, from HTTPS_PROXY / HTTP_PROXY / NO_PROXY (upper or lower case), as curl reads
 * them. HTTPS goes through a CONNECT tunnel; plain HTTP is sent to the proxy with an absolute URL.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';

/** The agent's connection callback, as @types/node declares it. */
type ConnectCallback = (err: Error | null, stream: Duplex) => void;
/** A failure goes to the callback without a stream, as Node's own agents call it (its type wants one anyway). */
const fail = (callback: ConnectCallback | undefined, err: Error) =>
  (callback as ((e: Error) => void) | undefined)?.(err);

/** http.Agent's own addRequest, which @types/node does not declare, for ForwardAgent to call after its rewrite. */
const baseAddRequest = (http.Agent.prototype as unknown as { addRequest: AddRequest }).addRequest;
type AddRequest = (this: http.Agent, req: http.ClientRequest, options: http.RequestOptions) => void;

const env = (name: string) => process.env[name] ?? process.env[name.toLowerCase()];

export function proxyFor(target: URL): URL | undefined {
  const raw = target.protocol === 'https:' ? env('HTTPS_PROXY') : env('HTTP_PROXY');
  if (!raw) return undefined;
  if (bypassed(target)) return undefined;
  try {
    return new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    return undefined;
  }
}

export function bypassed(target: URL): boolean {
  const list = env('NO_PROXY');
  if (!list) return false;
  const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  return list
    .split(/[,\s]+/)
    .filter(Boolean)
    .some((entryRaw) => {
      const entry = entryRaw.toLowerCase();
      if (entry === '*') return true;
      const [h, p] = entry.startsWith('[')
        ? [entry.slice(1, entry.indexOf(']')), entry.split(']:')[1]]
        : entry.split(':');
      if (p && p !== port) return false;
      const name = h.replace(/^\*?\./, '');
      return host === name || host.endsWith(`.${name}`);
    });
}

/** An agent that tunnels through CONNECT (https targets) or forwards (http targets); undefined when no proxy applies. */
export function proxyAgentFor(target: URL): http.Agent | undefined {
  const proxy = proxyFor(target);
  if (!proxy) return undefined;
  const key = `${target.protocol}//${proxy.href}`;
  let agent = cache.get(key);
  if (!agent) {
    agent = target.protocol === 'https:' ? tunnelingAgent(proxy) : forwardingAgent(proxy);
    cache.set(key, agent);
  }
  return agent;
}

const cache = new Map<string, http.Agent>();

function proxyAuth(proxy: URL): Record<string, string> {
  if (!proxy.username) return {};
  const cred = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return { 'Proxy-Authorization': `Basic ${Buffer.from(cred).toString('base64')}` };
}

function connectProxy(proxy: URL): net.Socket {
  const port = Number(proxy.port || (proxy.protocol === 'https:' ? 443 : 80));
  return proxy.protocol === 'https:'
    ? tls.connect({ host: proxy.hostname, port, servername: proxy.hostname })
    : net.connect({ host: proxy.hostname, port });
}

class TunnelAgent extends https.Agent {
  constructor(private readonly proxy: URL) {
    super({ keepAlive: true, maxSockets: 64 });
  }

  override createConnection(options: https.RequestOptions, callback?: ConnectCallback): undefined {
    const host = options.host ?? options.hostname;
    const port = options.port;
    const socket = connectProxy(this.proxy);
    const onError = (err: Error) => fail(callback, err);
    socket.once('error', onError);
    socket.once(this.proxy.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      const headers = Object.entries({ Host: `${host}:${port}`, ...proxyAuth(this.proxy) })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.write(`CONNECT ${host}:${port} HTTP/1.1\r\n${headers}\r\n`);
      let buf = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        socket.off('error', onError);
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(buf.subarray(0, end).toString('latin1'))?.[1]);
        if (status !== 200) {
          socket.destroy();
          fail(
            callback,
            Object.assign(
              new Error(`proxy ${this.proxy.host} refused CONNECT to ${host}:${port} (HTTP ${status || '?'})`),
              { code: 'ECONNREFUSED' },
            ),
          );
          return;
        }
        const secure = tls.connect({
          socket,
          servername: options.servername ?? host ?? undefined,
          ALPNProtocols: ['http/1.1'],
          rejectUnauthorized: options.rejectUnauthorized !== false,
        });
        callback?.(null, secure);
      };
      socket.on('data', onData);
    });
    return undefined;
  }
}

function tunnelingAgent(proxy: URL): http.Agent {
  return new TunnelAgent(proxy);
}

class ForwardAgent extends http.Agent {
  constructor(private readonly proxy: URL) {
    super({ keepAlive: true, maxSockets: 64 });
  }

  override createConnection(_options: http.ClientRequestArgs, callback?: ConnectCallback): undefined {
    const socket = connectProxy(this.proxy);
    socket.once('error', (err) => fail(callback, err));
    socket.once(this.proxy.protocol === 'https:' ? 'secureConnect' : 'connect', () => callback?.(null, socket));
    return undefined;
  }

  addRequest(req: http.ClientRequest, options: http.RequestOptions): void {
    // A forward proxy wants the absolute URL on the request line.
    const host = options.host ?? options.hostname;
    const port = options.port ? `:${options.port}` : '';
    if (!/^https?:\/\//.test(req.path)) req.path = `http://${host}${port}${req.path}`;
    for (const [k, v] of Object.entries(proxyAuth(this.proxy))) req.setHeader(k, v);
    baseAddRequest.call(this, req, options);
  }
}

function forwardingAgent(proxy: URL): http.Agent {
  return new ForwardAgent(proxy);
}
