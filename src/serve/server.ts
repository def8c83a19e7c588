/**
 * `ecrx serve`: an ECR-compatible endpoint speaking AWS JSON 1.1 on `POST /`, plus the pre-signed download URLs
 * its GetDownloadUrlForLayer hands out, all from one HTTP server.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { isAscii } from 'node:buffer';
import type { AddressInfo } from 'node:net';
import { ApiError } from './api-error.js';
import { inputShapeOf, isKnownOperation, targetPrefix } from './model.js';
import { deserializeInput, serializationError } from './deserialize.js';
import { validateInput } from './validate.js';
import { authenticate } from './auth.js';
import { Store } from './store.js';
import { Faults, type FaultOptions } from './faults.js';
import { Link, type LinkOptions } from './link.js';
import { DOWNLOAD_PREFIX, Presigner, sendS3Error, serveDownload } from './downloads.js';
import { noSuchKey } from './s3-errors.js';
import type { Context, Handler, ServerOptions } from './context.js';
import * as repositories from './ops/repositories.js';
import * as images from './ops/images.js';
import * as layers from './ops/layers.js';
import { listImageReferrers } from './ops/referrers.js';
import { updateImageStorageClass } from './ops/storage-class.js';

const handlers: Record<string, Handler> = {
  CreateRepository: repositories.createRepository,
  DescribeRepositories: repositories.describeRepositories,
  DeleteRepository: repositories.deleteRepository,
  PutImageTagMutability: repositories.putImageTagMutability,
  GetAuthorizationToken: repositories.getAuthorizationToken,
  BatchGetImage: images.batchGetImage,
  PutImage: images.putImage,
  ListImages: images.listImages,
  DescribeImages: images.describeImages,
  BatchDeleteImage: images.batchDeleteImage,
  BatchCheckLayerAvailability: layers.batchCheckLayerAvailability,
  GetDownloadUrlForLayer: layers.getDownloadUrlForLayer,
  InitiateLayerUpload: layers.initiateLayerUpload,
  UploadLayerPart: layers.uploadLayerPart,
  CompleteLayerUpload: layers.completeLayerUpload,
  ListImageReferrers: listImageReferrers,
  UpdateImageStorageClass: updateImageStorageClass,
};

export const supportedOperations = Object.keys(handlers);

/** JSON bodies above this are refused: the largest legal one is an UploadLayerPart of 20 MiB in base64. */
const MAX_BODY = 32 * 1024 * 1024;

export interface ServeOptions extends Partial<ServerOptions> {
  dataDir: string;
  host?: string;
  port?: number;
  faults?: FaultOptions;
  /** The link model: latency, download rates, request quotas. */
  link?: LinkOptions;
  /** Called for every API call, for logging. */
  onRequest?: (line: { operation: string; status: number; errorType?: string; ms: number }) => void;
}

export interface RunningServer {
  endpoint: string;
  server: Server;
  close: () => Promise<void>;
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const options: ServerOptions = {
    region: opts.region ?? 'us-east-1',
    accountId: opts.accountId ?? '000000000000',
    urlTtlSeconds: opts.urlTtlSeconds ?? 3600,
    credentials: opts.credentials,
    restoreDelaySeconds: opts.restoreDelaySeconds,
    uploadExpirySeconds: opts.uploadExpirySeconds,
  };
  const store = new Store(opts.dataDir);
  const faults = new Faults(opts.faults);
  const presigner = new Presigner(options.region, options.urlTtlSeconds);
  let currentBase = '';
  const ctx: Context = {
    store,
    options,
    faults,
    link: new Link(opts.link),
    baseUrl: () => currentBase,
    presign: (registryId, repositoryName, digest) => presigner.sign(currentBase, registryId, repositoryName, digest),
  };

  const server = createServer({ highWaterMark: 1 << 20 }, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith(DOWNLOAD_PREFIX)) {
      const started = Date.now();
      // The link's latency comes before the first byte of the answer, whatever the answer is.
      void ctx.link.delay().then(() => {
        if (res.destroyed || req.socket.destroyed) return; // the client left during the latency
        serveDownload(ctx, presigner, req, res, url, (status, note, event) =>
          opts.onRequest?.({
            operation: `${req.method} blob${event ? ` ${event}` : ''}`,
            status,
            errorType: note,
            ms: Date.now() - started,
          }),
        );
      });
      return;
    }
    if (req.method === 'POST' && url.pathname === '/') {
      currentBase = `http://${req.headers.host ?? 'localhost'}`;
      handleApi(ctx, req, res, opts.onRequest).catch((err) =>
        sendError(res, new ApiError('ServerException', String(err?.message ?? err), 500)),
      );
      return;
    }
    sendS3Error(res, noSuchKey, req.method ?? 'GET');
  });
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 0; // large uploads and slow downloads must not be cut by the server itself

  const endpoint = await listen(server, opts.port ?? 0, opts.host ?? '127.0.0.1');
  return {
    endpoint,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Listens on host:port (0: any free port) and answers the endpoint clients reach it at. */
async function listen(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new ApiError('InvalidParameterException', `Request body exceeds ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

const BLOB_KEY = Buffer.from('"layerPartBlob"');

/**
 * An UploadLayerPart body parsed without running JSON.parse over its 13 MiB of base64: the blob's string is cut out
 * of the bytes and the small rest parsed. Only for a body where that is exactly what JSON.parse would give: no
 * backslash anywhere (so every quote delimits a string), one "layerPartBlob" key, at the top level. Anything else
 * returns undefined and takes the ordinary path, with its ordinary errors.
 */
export function parsePartBody(body: Buffer): Record<string, unknown> | undefined {
  if (body.indexOf(0x5c) !== -1) return undefined;
  const key = body.indexOf(BLOB_KEY);
  if (key === -1 || body.indexOf(BLOB_KEY, key + BLOB_KEY.length) !== -1) return undefined;
  let i = key + BLOB_KEY.length;
  while (i < body.length && isJsonSpace(body[i])) i++;
  if (body[i++] !== 0x3a) return undefined; // ':'
  while (i < body.length && isJsonSpace(body[i])) i++;
  if (body[i] !== 0x22) return undefined; // the value is not a string: let JSON.parse and validation say so
  const start = i + 1;
  const end = body.indexOf(0x22, start);
  if (end === -1) return undefined;
  let rest: unknown;
  try {
    rest = JSON.parse(Buffer.concat([body.subarray(0, start), body.subarray(end)]).toString('utf8'));
  } catch {
    return undefined;
  }
  if (
    typeof rest !== 'object' ||
    rest === null ||
    Array.isArray(rest) ||
    (rest as Record<string, unknown>).layerPartBlob !== ''
  )
    return undefined;
  // ASCII reads the same as latin1 and as UTF-8; anything else goes the ordinary way, to be judged as before.
  if (!isAscii(body.subarray(start, end))) return undefined;
  (rest as Record<string, unknown>).layerPartBlob = body.toString('latin1', start, end);
  return rest as Record<string, unknown>;
}

const isJsonSpace = (c: number | undefined) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/** The operation X-Amz-Target names (`<targetPrefix>.<Operation>`). */
function operationOf(req: IncomingMessage): string {
  const target = String(req.headers['x-amz-target'] ?? '');
  if (!target.startsWith(`${targetPrefix}.`)) {
    throw new ApiError(
      'UnknownOperationException',
      target ? `Unknown target '${target}': expected ${targetPrefix}.<Operation>` : 'Missing X-Amz-Target header',
    );
  }
  return target.slice(targetPrefix.length + 1);
}

function handlerOf(operation: string): Handler {
  const handler = handlers[operation];
  if (!handler) {
    throw new ApiError(
      'UnknownOperationException',
      isKnownOperation(operation)
        ? `${operation} is an ECR operation that ecrx serve does not emulate; it supports ${supportedOperations.join(', ')}`
        : `Unknown operation ${operation}`,
    );
  }
  return handler;
}

async function handleApi(
  ctx: Context,
  req: IncomingMessage,
  res: ServerResponse,
  onRequest: ServeOptions['onRequest'],
): Promise<void> {
  const started = Date.now();
  let operation = '?';
  const log = (status: number, errorType?: string) =>
    onRequest?.({ operation, status, errorType, ms: Date.now() - started });
  try {
    const body = await readBody(req);
    await ctx.link.delay();
    operation = operationOf(req);
    authenticate(ctx, req, body);
    const handler = handlerOf(operation);
    // Over the operation's quota (--quotas): refused as ECR does, before the body is even looked at.
    if (!ctx.link.allow(operation)) throw new ApiError('ThrottlingException', 'Rate exceeded');
    let parsed: unknown = operation === 'UploadLayerPart' ? parsePartBody(body) : undefined;
    try {
      parsed ??= body.length ? JSON.parse(body.toString('utf8')) : {};
    } catch {
      throw serializationError(); // not JSON at all: AWS answers a bare SerializationException
    }
    // The protocol reads the body into the input shape (SerializationException), then the model's constraints
    // are checked (InvalidParameterException), and only then does the operation run.
    const input = deserializeInput(inputShapeOf(operation), parsed);
    if (ctx.faults.throttle()) throw new ApiError('ThrottlingException', 'Rate exceeded');
    if (ctx.faults.serverError())
      throw new ApiError('ServerException', 'We encountered an internal error. Please try again.', 500);
    validateInput(operation, input);
    const output = await handler(ctx, input);
    if (operation === 'UploadLayerPart' && ctx.faults.losePartResponse()) {
      // The part landed, but the client never hears so: it must learn where to go on from lastValidByteReceived.
      log(0, 'ResponseLost');
      req.socket.destroy();
      return;
    }
    const json = JSON.stringify(output);
    res.writeHead(200, {
      'Content-Type': 'application/x-amz-json-1.1',
      'Content-Length': Buffer.byteLength(json),
      'x-amzn-RequestId': randomUUID(),
    });
    res.end(json);
    log(200);
  } catch (err) {
    const apiErr =
      err instanceof ApiError ? err : new ApiError('ServerException', String((err as Error)?.message ?? err), 500);
    sendError(res, apiErr);
    log(apiErr.status, apiErr.type);
  }
}

function sendError(res: ServerResponse, err: ApiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const json = JSON.stringify(err.body());
  res.writeHead(err.status, {
    'Content-Type': 'application/x-amz-json-1.1',
    'Content-Length': Buffer.byteLength(json),
    'x-amzn-RequestId': randomUUID(),
    'x-amzn-ErrorType': err.type,
  });
  res.end(json);
}
