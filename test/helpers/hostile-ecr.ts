/**
 * A lying ECR on a loopback port: it answers BatchGetImage and GetDownloadUrlForLayer from a script and serves the
 * blobs itself, without the validation real ECR (and `ecrx serve`) applies. It stands for a compromised endpoint or
 * a man in the middle, so tests can check what ecrx does with manifests no honest registry would hand out.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sha256 } from './ecr.js';

export interface HostileImage {
  manifest: Buffer;
  mediaType?: string;
  /** The digest to claim for the manifest (default: its real sha256). */
  digest?: string;
}

export interface HostileEcrOptions {
  /** Images by tag. */
  images: Record<string, HostileImage>;
  /** Blob bytes by digest; a download of any other answers 404. */
  blobs?: Record<string, Buffer>;
  /** The download URL handed out for a digest (default: this server's /blob/<digest>). */
  downloadUrl?: (digest: string, self: string) => string;
}

export interface HostileEcr {
  endpoint: string;
  /** "Operation" per API call and "GET /blob/..." per download, in order. */
  requests: string[];
  close: () => Promise<void>;
}

const REGISTRY = '000000000000';

async function body(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

function send(res: ServerResponse, status: number, doc: object): void {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
  res.end(JSON.stringify(doc));
}

export async function startHostileEcr(opts: HostileEcrOptions): Promise<HostileEcr> {
  const requests: string[] = [];
  const byDigest = new Map<string, HostileImage>();
  for (const img of Object.values(opts.images)) byDigest.set(img.digest ?? sha256(img.manifest), img);
  let self = '';

  const server = createServer(async (req, res) => {
    if (req.method === 'GET' && req.url?.startsWith('/blob/')) {
      requests.push(`GET ${req.url}`);
      const blob = opts.blobs?.[decodeURIComponent(req.url.slice(6))];
      if (!blob) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-length': blob.length });
      return void res.end(blob);
    }
    const op = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
    requests.push(op);
    const input = JSON.parse((await body(req)) || '{}');
    if (op === 'BatchGetImage') {
      const id = input.imageIds?.[0] ?? {};
      const img = id.imageDigest ? byDigest.get(id.imageDigest) : opts.images[id.imageTag];
      if (!img) return send(res, 200, { images: [], failures: [{ imageId: id, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' }] });
      const digest = img.digest ?? sha256(img.manifest);
      return send(res, 200, {
        images: [{ registryId: REGISTRY, repositoryName: input.repositoryName, imageId: { ...id, imageDigest: digest }, imageManifest: img.manifest.toString('utf8'), imageManifestMediaType: img.mediaType }],
        failures: [],
      });
    }
    if (op === 'GetDownloadUrlForLayer') {
      const digest = input.layerDigest as string;
      const url = opts.downloadUrl ? opts.downloadUrl(digest, self) : `${self}/blob/${encodeURIComponent(digest)}`;
      return send(res, 200, { downloadUrl: url, layerDigest: digest });
    }
    send(res, 400, { __type: 'UnknownOperationException', message: `${op} is not scripted` });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  self = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint: self,
    requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
