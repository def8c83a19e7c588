#!/usr/bin/env node
/**
 * The ideal client of the link benchmark: the fewest requests a correct ECR client makes, at a fixed number of
 * connections, with nothing else (no SDK, no retries beyond throttling, no progress, no cache). What it measures
 * is what the link allows a perfect client, beside the same link's computed limit.
 *
 *   node bench/ideal-client.mjs pull --endpoint URL --image REPO:TAG --out DIR --connections C [--range-size BYTES]
 *     BatchGetImage, then download URLs fetched ahead (C at a time) while C download connections GET the blobs
 *     (blobs above the range size as ranges of it, written at their offsets and hashed in order by a trailing
 *     hasher); every blob verified by digest and renamed into DIR/<hex>.
 *   node bench/ideal-client.mjs push --endpoint URL --layout DIR --image REPO:TAG --connections C [--quotas ecr]
 *     BatchCheckLayerAvailability 100 at a time, then C blobs at a time: InitiateLayerUpload, its parts,
 *     CompleteLayerUpload; with --quotas ecr it paces InitiateLayerUpload and CompleteLayerUpload to ECR's rates
 *     as a client that knows them would; then PutImage.
 * Prints one JSON line: { ms, bytes, requests, throttled }.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { ecrCaller, sleep } from './lib.mjs';

const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];
/** ECR's default rates for the two calls that bind a push of many blobs (requests per second). */
const ECR_PUSH_RATES = { InitiateLayerUpload: 100, CompleteLayerUpload: 100 };

const stats = { bytes: 0, requests: 0, throttled: 0 };

/** A client-side token bucket a little under the server's, so a client that knows the quota stays under it. */
function pacer(rate) {
  if (!rate) return async () => {};
  const perMs = (rate * 0.95) / 1000;
  let tokens = rate * 0.9;
  let last = performance.now();
  let chain = Promise.resolve();
  const take = async () => {
    for (;;) {
      const now = performance.now();
      tokens = Math.min(rate * 0.9, tokens + (now - last) * perMs);
      last = now;
      if (tokens >= 1) return void (tokens -= 1);
      await sleep(Math.ceil((1 - tokens) / perMs));
    }
  };
  return () => (chain = chain.then(take));
}

async function calling(api, operation, input, blob) {
  for (let attempt = 0; ; attempt++) {
    stats.requests++;
    try {
      return await api.call(operation, input, blob);
    } catch (err) {
      if (err.type !== 'ThrottlingException' || attempt > 50) throw err;
      stats.throttled++;
      await sleep(20 + Math.random() * 30 * (attempt + 1));
    }
  }
}

/** Runs `work(item)` over `items` with `n` workers. */
async function pool(items, n, work) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

function get(url, agent, range) {
  return new Promise((resolve, reject) => {
    const headers = range ? { range: `bytes=${range[0]}-${range[1] - 1}` } : {};
    stats.requests++;
    http
      .get(url, { agent, headers }, (res) => {
        if (res.statusCode !== (range ? 206 : 200)) {
          res.resume();
          return reject(new Error(`GET blob: HTTP ${res.statusCode}`));
        }
        resolve(res);
      })
      .on('error', reject);
  });
}

/** Streams a response into `fh` at `offset` in writes of about 1 MiB, hashing it when `hash` is given. */
function writeAt(res, fh, offset, hash) {
  return new Promise((resolve, reject) => {
    let at = offset;
    let batch = [];
    let batched = 0;
    let writing = Promise.resolve();
    const flush = () => {
      const buf = batch.length === 1 ? batch[0] : Buffer.concat(batch, batched);
      const pos = at;
      at += batched;
      batch = [];
      batched = 0;
      res.pause();
      writing = writing.then(() => fh.write(buf, 0, buf.length, pos)).then(() => res.resume(), reject);
    };
    res.on('data', (chunk) => {
      hash?.update(chunk);
      stats.bytes += chunk.length;
      batch.push(chunk);
      batched += chunk.length;
      if (batched >= 1024 * 1024) flush();
    });
    res.on('error', reject);
    res.on('end', () => {
      if (batched) flush();
      writing.then(() => resolve(at - offset), reject);
    });
  });
}

async function pull(o) {
  const [repositoryName, imageTag] = o.image.split(':');
  const connections = Number(o.connections);
  const rangeSize = Number(o['range-size'] ?? 16 * 1024 * 1024);
  const api = ecrCaller(o.endpoint, connections);
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  mkdirSync(o.out, { recursive: true });
  const got = await calling(api, 'BatchGetImage', {
    repositoryName,
    imageIds: [{ imageTag }],
    acceptedMediaTypes: MANIFEST_TYPES,
  });
  const manifest = JSON.parse(got.images[0].imageManifest);
  const blobs = [manifest.config, ...manifest.layers];
  // Download URLs are fetched ahead, C at a time on the API connections, while the downloads run.
  const urls = new Map();
  let urlNext = 0;
  const fetchAhead = async () => {
    while (urlNext < blobs.length) {
      const b = blobs[urlNext++];
      const p = calling(api, 'GetDownloadUrlForLayer', { repositoryName, layerDigest: b.digest });
      urls.get(b.digest).resolve(p);
      await p;
    }
  };
  for (const b of blobs) {
    let resolve;
    const promise = new Promise((r) => (resolve = r));
    urls.set(b.digest, { promise, resolve });
  }
  const items = [];
  const files = new Map();
  for (const b of blobs) {
    const ranges = [];
    for (let off = 0; off < b.size; off += rangeSize) ranges.push([off, Math.min(b.size, off + rangeSize)]);
    const file = { blob: b, ranges, done: new Set(), hashed: 0, hash: createHash('sha256'), left: ranges.length };
    files.set(b.digest, file);
    for (const r of ranges) items.push({ file, range: ranges.length > 1 ? r : undefined, index: items.length });
  }
  const opened = new Map();
  const fileOf = (f) => {
    if (!opened.has(f)) opened.set(f, open(join(o.out, `.${f.blob.digest.slice(7)}.part`), 'w+'));
    return opened.get(f);
  };
  const finish = async (f) => {
    const fh = await fileOf(f);
    await fh.close();
    const actual = `sha256:${f.hash.digest('hex')}`;
    if (actual !== f.blob.digest) throw new Error(`ideal client: ${f.blob.digest} arrived as ${actual}`);
    await rename(join(o.out, `.${f.blob.digest.slice(7)}.part`), join(o.out, f.blob.digest.slice(7)));
  };
  /** The trailing hasher: hashes, in order, the ranges that are on disk, reading them back from the file. */
  const trail = async (f, fh) => {
    const buf = Buffer.allocUnsafe(1024 * 1024);
    while (f.hashed < f.ranges.length && f.done.has(f.hashed)) {
      const [start, end] = f.ranges[f.hashed];
      for (let off = start; off < end; off += buf.length) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - off), off);
        f.hash.update(buf.subarray(0, bytesRead));
      }
      f.hashed++;
    }
  };
  const started = performance.now();
  const ahead = Promise.all(Array.from({ length: Math.min(connections, blobs.length) }, fetchAhead));
  await pool(items, connections, async (item) => {
    const f = item.file;
    const { downloadUrl } = await urls.get(f.blob.digest).promise;
    const fh = await fileOf(f);
    const res = await get(downloadUrl, agent, item.range);
    if (item.range) {
      await writeAt(res, fh, item.range[0]);
      f.done.add(f.ranges.findIndex((r) => r[0] === item.range[0]));
      // One trailing hasher per file at a time; whoever finishes a range moves it on.
      f.trailing = (f.trailing ?? Promise.resolve()).then(() => trail(f, fh));
      await f.trailing;
    } else {
      await writeAt(res, fh, 0, f.hash);
    }
    if (--f.left === 0) await finish(f);
  });
  await ahead;
  const ms = performance.now() - started;
  api.close();
  agent.destroy();
  return ms;
}

async function push(o) {
  const [repositoryName, imageTag] = o.image.split(':');
  const connections = Number(o.connections);
  const api = ecrCaller(o.endpoint, connections + 1);
  const rates = o.quotas === 'ecr' ? ECR_PUSH_RATES : {};
  const pace = { initiate: pacer(rates.InitiateLayerUpload), complete: pacer(rates.CompleteLayerUpload) };
  const blobDir = join(o.layout, 'blobs', 'sha256');
  const index = JSON.parse(readFileSync(join(o.layout, 'index.json'), 'utf8'));
  const manifestBytes = readFileSync(join(blobDir, index.manifests[0].digest.slice(7)));
  const manifest = JSON.parse(manifestBytes);
  const blobs = [manifest.config, ...manifest.layers];
  const started = performance.now();
  const missing = [];
  const batches = [];
  for (let i = 0; i < blobs.length; i += 100) batches.push(blobs.slice(i, i + 100));
  await Promise.all(
    batches.map(async (batch) => {
      const out = await calling(api, 'BatchCheckLayerAvailability', {
        repositoryName,
        layerDigests: batch.map((b) => b.digest),
      });
      for (const l of out.layers ?? []) {
        if (l.layerAvailability !== 'AVAILABLE') missing.push(batch.find((b) => b.digest === l.layerDigest));
      }
      for (const f of out.failures ?? []) missing.push(batch.find((b) => b.digest === f.layerDigest));
    }),
  );
  await pool(missing, connections, async (b) => {
    await pace.initiate();
    const { uploadId, partSize } = await calling(api, 'InitiateLayerUpload', { repositoryName });
    const fh = await open(join(blobDir, b.digest.slice(7)));
    const buf = Buffer.allocUnsafe(Math.min(partSize, b.size));
    for (let off = 0; off < b.size; off += partSize) {
      const len = Math.min(partSize, b.size - off);
      await fh.read(buf, 0, len, off);
      const part = { repositoryName, uploadId, partFirstByte: off, partLastByte: off + len - 1 };
      await calling(api, 'UploadLayerPart', part, buf.subarray(0, len));
      stats.bytes += len;
    }
    await fh.close();
    await pace.complete();
    await calling(api, 'CompleteLayerUpload', { repositoryName, uploadId, layerDigests: [b.digest] });
  });
  await calling(api, 'PutImage', {
    repositoryName,
    imageTag,
    imageManifest: manifestBytes.toString(),
    imageManifestMediaType: manifest.mediaType ?? MANIFEST_TYPES[0],
  });
  const ms = performance.now() - started;
  api.close();
  return ms;
}

const [mode, ...rest] = process.argv.slice(2);
const o = {};
for (let i = 0; i < rest.length; i += 2) o[rest[i].replace(/^--/, '')] = rest[i + 1];
try {
  if (mode !== 'pull' && mode !== 'push') throw new Error('usage: ideal-client.mjs pull|push --endpoint URL ...');
  const ms = mode === 'pull' ? await pull(o) : await push(o);
  process.stdout.write(`${JSON.stringify({ ms: Math.round(ms), ...stats })}\n`);
} catch (err) {
  if (mode === 'pull' && o.out) await rm(o.out, { recursive: true, force: true });
  process.stderr.write(`ideal client: ${err.message}\n`);
  process.exitCode = 1;
}
