/**
 * What the benchmark scripts share: random images, timing a process with its peak memory, starting `ecrx serve`,
 * docker-registry and the shaper, and a minimal SigV4-signed ECR JSON call.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import http from 'node:http';
import { once } from 'node:events';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(root, 'bin', 'ecrx');
export const KiB = 1024;
export const MiB = 1024 * 1024;
export const ACCESS_KEY_ID = 'AKIABENCH00000000000';
export const SECRET_ACCESS_KEY = 'bench';
export const benchEnv = {
  ...process.env,
  AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
  AWS_REGION: 'us-east-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

export const sha = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Writes `size` random bytes to `path` in 8 MiB chunks and returns the digest. */
export function randomFile(path, size) {
  const h = createHash('sha256');
  const fd = openSync(path, 'w');
  for (let off = 0; off < size; off += 8 * MiB) {
    const chunk = randomBytes(Math.min(8 * MiB, size - off));
    h.update(chunk);
    writeSync(fd, chunk);
  }
  closeSync(fd);
  return `sha256:${h.digest('hex')}`;
}

/** An OCI layout with `count` random layers of `size` bytes (incompressible: compression flatters no one). */
export function makeLayout(dir, count, size, tag = 'latest') {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const layers = [];
  for (let i = 0; i < count; i++) {
    const tmp = join(blobs, `tmp-${i}`);
    const digest = randomFile(tmp, size);
    renameSync(tmp, join(blobs, digest.slice(7)));
    layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size });
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    }),
  );
  writeFileSync(join(blobs, sha(config).slice(7)), config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
      layers,
    }),
  );
  writeFileSync(join(blobs, sha(manifest).slice(7)), manifest);
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: sha(manifest),
          size: manifest.length,
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  return {
    dir,
    layers,
    config: { digest: sha(config), size: config.length },
    digest: sha(manifest),
    manifest,
    bytes: layers.reduce((n, l) => n + l.size, config.length),
  };
}

/**
 * Runs a command, timing it and sampling its peak resident memory (VmHWM) until it exits. Throws on a non-zero exit
 * unless opts.allowFail; opts.onStart(child) sees the child (to kill it part-way).
 */
export async function measure(cmd, args, opts = {}) {
  const started = process.hrtime.bigint();
  const child = spawn(cmd, args, { env: opts.env ?? benchEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let peak = 0;
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const sample = () => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
    } catch {
      // the process has just exited: its last sample stands
    }
  };
  const timer = setInterval(sample, 20);
  opts.onStart?.(child);
  const [code, signal] = await once(child, 'exit');
  clearInterval(timer);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (code !== 0 && !opts.allowFail) {
    const err = new Error(`${cmd} ${args.join(' ')} failed (${code ?? signal}): ${stderr.slice(-2000)}`);
    const last = stderr.trim().split('\n').pop() ?? '';
    // Which program: ecrx and the ideal client both take 'pull' first, so the script's name goes with it.
    const who = cmd === process.execPath ? `${args[0].split('/').pop()} ${args[1]}` : cmd;
    err.short = `${who} exited ${code ?? signal}: ${last.slice(0, 160)}`;
    throw err;
  }
  return { ms, peak, stdout, stderr, code, signal };
}

/** `ecrx serve` on a loopback port with its own data directory; extra flags such as --quotas ecr. */
export async function startServe(dataDir, extra = []) {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--json', '--data-dir', dataDir, ...extra], {
    env: benchEnv,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = await once(child.stdout, 'data');
  const endpoint = JSON.parse(String(line)).data.endpoint;
  return { endpoint, host: new URL(endpoint).host, child, stop: () => child.kill('SIGTERM') };
}

/** A local docker-registry (Debian's package) on a fresh port and storage under `work`; undefined if missing. */
export async function startRegistry(work) {
  if (!has('docker-registry')) return undefined;
  const port = 20000 + Math.floor(Math.random() * 20000);
  const config = join(work, `registry-${port}.yml`);
  const storage = join(work, `registry-${port}`);
  writeFileSync(
    config,
    `version: 0.1\nlog: { level: error }\nstorage: { filesystem: { rootdirectory: ${storage} } }\nhttp: { addr: 127.0.0.1:${port} }\n`,
  );
  const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((r) =>
      http
        .get(`http://127.0.0.1:${port}/v2/`, (res) => {
          res.resume();
          r(res.statusCode === 200);
        })
        .on('error', () => r(false)),
    );
    if (ok) return { child, host: `127.0.0.1:${port}`, storage, stop: () => child.kill('SIGTERM') };
    await sleep(100);
  }
  child.kill();
  return undefined;
}

/**
 * bench/shaper.mjs as its own process in front of `target` (host:port), so shaping does not share an event loop with
 * what is measured. Resolves with { host, stats(), reset(), stop() }; stats are bytes delivered up and down.
 */
export async function startShaperProcess(target, { rttMs, rate, total }) {
  const args = [join(root, 'bench', 'shaper.mjs'), '--target', target, '--rtt', String(rttMs), '--rate', String(rate)];
  if (total) args.push('--total', String(total));
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  lines.on('line', (l) => waiting.shift()?.(JSON.parse(l)));
  const next = () => new Promise((r) => waiting.push(r));
  const { port } = await next();
  const ask = (word) => {
    const answer = next();
    child.stdin.write(`${word}\n`);
    return answer;
  };
  return {
    host: `127.0.0.1:${port}`,
    endpoint: `http://127.0.0.1:${port}`,
    stats: () => ask('stats'),
    reset: () => ask('reset'),
    stop: () => {
      child.stdin.end();
      child.kill('SIGTERM');
    },
  };
}

/** sha256 and HMAC-sha256 in the shape the SDK's signer takes. */
class NodeSha256 {
  constructor(secret) {
    this.h = secret ? createHmac('sha256', secret) : createHash('sha256');
  }
  update(data) {
    this.h.update(data);
  }
  async digest() {
    return new Uint8Array(this.h.digest());
  }
}

/**
 * A minimal signed ECR JSON client: plain HTTP keep-alive POSTs signed by the SDK's SigV4 signer, no retries.
 * call(operation, input, blob?) resolves with the parsed answer or rejects with err.type set to ECR's __type; a
 * blob goes in as Node's base64 between the JSON around it (as layerPartBlob), never through JSON.stringify.
 */
export function ecrCaller(endpoint, maxSockets = 16) {
  const requireCjs = createRequire(import.meta.url);
  const { SignatureV4 } = requireCjs(join(root, 'node_modules/@smithy/signature-v4/dist-cjs/index.js'));
  const signer = new SignatureV4({
    service: 'ecr',
    region: 'us-east-1',
    sha256: NodeSha256,
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
  });
  const url = new URL(endpoint);
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const call = async (operation, input, blob) => {
    const json = JSON.stringify(blob ? { ...input, layerPartBlob: '' } : input);
    const body = blob
      ? Buffer.concat([
          Buffer.from(json.slice(0, -2)),
          Buffer.from(blob.toString('base64'), 'latin1'),
          Buffer.from('"}'),
        ])
      : json;
    const signed = await signer.sign({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: '/',
      query: {},
      body,
      headers: {
        host: url.host,
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': `AmazonEC2ContainerRegistry_V20150921.${operation}`,
        'content-length': String(Buffer.byteLength(body)),
      },
    });
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: url.hostname, port: url.port, method: 'POST', path: '/', headers: signed.headers, agent },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            if (res.statusCode === 200) return resolve(JSON.parse(text));
            const err = new Error(`${operation}: HTTP ${res.statusCode} ${text.slice(0, 300)}`);
            try {
              err.type = String(JSON.parse(text).__type ?? '')
                .split('#')
                .pop();
            } catch {
              // not JSON: the status line says enough
            }
            reject(err);
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  };
  return { call, agent, close: () => agent.destroy() };
}
