/**
 * A tiny loopback server that speaks just enough of the ECR JSON API (BatchGetImage, GetDownloadUrlForLayer) for
 * `ecrx pull`, and serves blobs the way a broken or hostile server would. The repository name picks the behaviour
 * (`hostile/<mode>`), so one server covers a whole table of cases. The repository `hostile/manifests` serves crafted
 * manifests by tag or digest, with digests that match their bytes (or a claimed one): manifests no honest registry
 * stores, as a compromised endpoint or a man in the middle could hand them out.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createHash } from 'node:crypto';

export type BlobMode =
  | 'good'
  | 'long'
  | 'short'
  | 'wrong'
  | 'length-lies-long'
  | 'length-lies-short'
  | 'stall-body'
  | 'stall-headers'
  | 'redirect-loop'
  | 'redirect-good'
  | 'redirect-file'
  | 'error-500';

export interface HostileImage {
  manifest: Buffer;
  digest: string;
  blobs: Map<string, Buffer>;
}

/** A crafted manifest for `hostile/manifests`; `digest` claims another digest than the bytes' own. */
export interface CraftedManifest {
  manifest: Buffer;
  digest?: string;
}

export interface HostileEcr {
  endpoint: string;
  /** API operations received, in order. */
  ops: string[];
  /** What GetDownloadUrlForLayer answers for `hostile/url-<name>` repositories. */
  urls: Map<string, string>;
  /** Blob GETs received, by mode. */
  gets: string[];
  close: () => Promise<void>;
}

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A small OCI image: a JSON config and one layer of arbitrary bytes (ecrx does not look inside layers on pull). */
export function hostileImage(layer: Buffer): HostileImage {
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [sha256(layer)] },
      config: {},
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
    }),
  );
  return {
    manifest,
    digest: sha256(manifest),
    blobs: new Map([
      [sha256(config), config],
      [sha256(layer), layer],
    ]),
  };
}

function apiError(res: http.ServerResponse, type: string, message: string): void {
  const json = JSON.stringify({ __type: type, message });
  res.writeHead(400, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(json),
    'x-amzn-errortype': type,
  });
  res.end(json);
}

function apiOk(res: http.ServerResponse, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

export async function startHostileEcr(
  image: HostileImage,
  crafted: Record<string, CraftedManifest> = {},
): Promise<HostileEcr> {
  const urls = new Map<string, string>();
  const ops: string[] = [];
  const gets: string[] = [];
  const sockets = new Set<Socket>();
  let base = '';

  const api = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => {
    const op = String(req.headers['x-amz-target'] ?? '')
      .split('.')
      .pop();
    const input = JSON.parse(body || '{}');
    const repo: string = input.repositoryName ?? '';
    const mode = repo.replace(/^hostile\//, '');
    ops.push(op ?? '');
    if (op === 'BatchGetImage' && mode === 'manifests') return craftedManifest(res, input.imageIds[0] ?? {});
    if (op === 'BatchGetImage') {
      // 'manifest-digest': the bytes are the image's, the digest ECR claims for them is not.
      const digest = mode === 'manifest-digest' ? sha256('something else entirely') : image.digest;
      apiOk(res, {
        images: [
          {
            registryId: '123456789012',
            repositoryName: repo,
            imageId: { ...input.imageIds[0], imageDigest: digest },
            imageManifest: image.manifest.toString('utf8'),
            imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
          },
        ],
        failures: [],
      });
      return;
    }
    if (op === 'GetDownloadUrlForLayer') {
      const digest: string = input.layerDigest;
      const url = mode.startsWith('url-')
        ? urls.get(mode.slice(4))!
        : `${base}/blob/${mode}/${digest}?X-Amz-Signature=hostile`;
      apiOk(res, { downloadUrl: url, layerDigest: digest });
      return;
    }
    apiError(res, 'UnknownOperationException', `the hostile server does not do ${op}`);
  };

  const craftedManifest = (res: http.ServerResponse, id: { imageTag?: string; imageDigest?: string }) => {
    const digestOf = (m: CraftedManifest) => m.digest ?? sha256(m.manifest);
    const m = id.imageDigest
      ? Object.values(crafted).find((c) => digestOf(c) === id.imageDigest)
      : crafted[id.imageTag ?? ''];
    if (!m)
      return apiOk(res, {
        images: [],
        failures: [{ imageId: id, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' }],
      });
    apiOk(res, {
      images: [
        {
          registryId: '123456789012',
          repositoryName: 'hostile/manifests',
          imageId: { ...id, imageDigest: digestOf(m) },
          imageManifest: m.manifest.toString('utf8'),
        },
      ],
      failures: [],
    });
  };

  const blob = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const [, , mode, digest] = new URL(req.url ?? '/', base).pathname.split('/');
    gets.push(mode);
    const bytes = image.blobs.get(digest);
    if (!bytes) {
      res.writeHead(404).end();
      return;
    }
    switch (mode as BlobMode) {
      case 'good':
        res.writeHead(200, { 'content-length': bytes.length }).end(bytes);
        return;
      case 'long': // honest Content-Length, 100 bytes more than the descriptor; Range ignored
        res.writeHead(200, { 'content-length': bytes.length + 100 }).end(Buffer.concat([bytes, Buffer.alloc(100, 7)]));
        return;
      case 'short': // honest Content-Length, 100 bytes fewer; Range ignored
        res.writeHead(200, { 'content-length': bytes.length - 100 }).end(bytes.subarray(0, bytes.length - 100));
        return;
      case 'wrong': {
        // the right size, one byte changed
        const copy = Buffer.from(bytes);
        copy[copy.length >> 1] ^= 0xff;
        res.writeHead(200, { 'content-length': copy.length }).end(copy);
        return;
      }
      case 'length-lies-long': // announces the blob's size, sends half, hangs up; Range ignored
        res.writeHead(200, { 'content-length': bytes.length });
        res.write(bytes.subarray(0, bytes.length >> 1), () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      case 'length-lies-short': {
        // announces fewer bytes than it then writes on the socket
        const head = `HTTP/1.1 200 OK\r\ncontent-length: ${bytes.length - 64}\r\nconnection: close\r\n\r\n`;
        res.socket!.end(Buffer.concat([Buffer.from(head), bytes]));
        return;
      }
      case 'stall-body': // headers and a few bytes, then nothing, ever
        res.writeHead(200, { 'content-length': bytes.length });
        res.write(bytes.subarray(0, 10));
        return;
      case 'stall-headers': // never answers
        return;
      case 'redirect-loop':
        res.writeHead(302, { location: req.url }).end();
        return;
      case 'redirect-good':
        res.writeHead(307, { location: `/blob/good/${digest}` }).end();
        return;
      case 'redirect-file':
        res.writeHead(302, { location: urls.get('file') ?? 'file:///etc/passwd' }).end();
        return;
      case 'error-500':
        res
          .writeHead(500, { 'content-type': 'application/xml' })
          .end('<Error><Code>InternalError</Code><Message>hostile</Message></Error>');
        return;
      default:
        res.writeHead(404).end();
    }
  };

  const server = http.createServer((req, res) => {
    if (req.method === 'POST') {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => api(req, res, body));
      return;
    }
    blob(req, res);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint: base,
    ops,
    urls,
    gets,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
