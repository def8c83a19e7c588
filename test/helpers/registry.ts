/**
 * A real CNCF Distribution registry (Debian's `docker-registry`) on a free loopback port, from a config written to a
 * temp dir: anonymous, htpasswd basic auth, bearer tokens from a realm, and TLS, as each test asks.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';

export interface RegistryOptions {
  htpasswd?: { user: string; password: string };
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string };
  tls?: { cert: string; key: string };
  /** Log every request (the access log, in combined format) into log(). */
  accessLog?: boolean;
}

export interface TestRegistry {
  /** `127.0.0.1:PORT`, as a reference's registry part. */
  host: string;
  url: string;
  dir: string;
  log: () => string;
  stop: () => Promise<void>;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

function configYaml(dir: string, port: number, o: RegistryOptions): string {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    `    disabled: ${o.accessLog ? 'false' : 'true'}`,
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  secret: ecrx-test-secret',
  ];
  if (o.tls) lines.push('  tls:', `    certificate: ${o.tls.cert}`, `    key: ${o.tls.key}`);
  if (o.htpasswd) {
    const file = join(dir, 'htpasswd');
    const r = spawnSync('htpasswd', ['-Bbn', o.htpasswd.user, o.htpasswd.password], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`htpasswd failed: ${r.stderr}`);
    writeFileSync(file, r.stdout);
    lines.push('auth:', '  htpasswd:', '    realm: basic-realm', `    path: ${file}`);
  }
  if (o.token)
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${o.token.realm}`,
      `    service: ${o.token.service}`,
      `    issuer: ${o.token.issuer}`,
      `    rootcertbundle: ${o.token.rootCertBundle}`,
    );
  return `${lines.join('\n')}\n`;
}

async function waitForV2(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const lib = url.startsWith('https:') ? https : http;
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const req = lib.get(`${url}/v2/`, { rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode === 200 || res.statusCode === 401);
      });
      req.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`docker-registry did not answer /v2/: ${log()}`);
}

export async function startRegistry(o: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'ecrx-test-registry-'));
  const port = await freePort();
  const config = join(dir, 'config.yml');
  writeFileSync(config, configYaml(dir, port, o));
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  // The access log goes to stdout.
  child.stdout!.on('data', (d) => (stderr += d));
  const log = () => stderr;
  const url = `${o.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForV2(url, child, log);
  } catch (err) {
    await stop();
    throw err;
  }
  return { host: `127.0.0.1:${port}`, url, dir, log, stop };
}

/** A self-signed certificate for 127.0.0.1 (and localhost), with openssl, in `dir`. */
export function selfSignedCert(dir: string, cn = '127.0.0.1'): { cert: string; key: string } {
  const cert = join(dir, `${cn}.crt`);
  const key = join(dir, `${cn}.key`);
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  return { cert, key };
}
