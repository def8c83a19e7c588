/**
 * The narrow door to ECR: one `call(operation, input)` that signs through the AWS SDK, retries what is worth
 * retrying with exponential backoff and full jitter, reports retries, and converts AWS errors to ecrx errors.
 * The SDK itself is imported only when a command first talks to ECR.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ECRClient } from '@aws-sdk/client-ecr';
import { awsFacts, fromAws, isRetryable } from './errors.js';
import type { EcrInput, EcrOperation, EcrOutput } from './operations.js';
import { redact } from '../core/redact.js';
import { attemptsOf, retrying, retryPolicies } from '../core/retry.js';
import { proxyAgentFor } from '../net/proxy.js';
import { readTimeoutMs } from '../net/http.js';
import { spliceBlob, type PartBody } from './part-body.js';
import { EcrxError } from '../core/errors.js';
import { pacerFor, type Pacer } from './pacer.js';
import type { ResumeJournal } from './resume-journal.js';

export interface Connection {
  region?: string;
  profile?: string;
  endpointUrl?: string;
  registryId?: string;
  fips?: boolean;
  /** The dual-stack API endpoint (ecr.<region>.api.aws); AWS_USE_DUALSTACK_ENDPOINT, read by the SDK, does the same. */
  dualStack?: boolean;
  /** Tries of a failing call, or of a transfer that stopped moving bytes, before giving up (default 10). */
  maxAttempts?: number;
  /** Where unfinished uploads are recorded so that the next push continues them (none: every push starts afresh). */
  uploadJournal?: ResumeJournal;
}

export interface ClientHooks {
  onRetry?: (operation: string, attempt: number, reason: string, delayMs: number) => void;
  debug?: (line: string) => void;
  notice?: (line: string) => void;
}

export interface CallOptions {
  /** Retry throttling, 5xx and network errors (default true). */
  retry?: boolean;
  /** Attempts in all, the first included (default: the connection's maxAttempts). */
  attempts?: number;
  signal?: AbortSignal;
}

const requireCjs = createRequire(import.meta.url);

/** An SDK command class, looked up by operation name (`${operation}Command`). */
type CommandClass = new (input: object) => Parameters<ECRClient['send']>[0];

/** The SDK's HTTP request as the middleware sees it (an @smithy/protocol-http HttpRequest). */
interface WireRequest {
  method?: string;
  protocol?: string;
  hostname?: string;
  port?: number;
  path?: string;
  headers: Record<string, string>;
  body?: unknown;
}

/** The part each UploadLayerPart request object carries, for the middleware that splices it in. */
const partBodies = new WeakMap<object, PartBody>();

export const PLACEHOLDER_ACCESS_KEY = 'ECRXLOCALPLACEHOLDER';

/** The endpoint the SDK will use, as far as ecrx can tell: --endpoint-url, then the SDK's own variables. */
export function configuredEndpoint(conn: Connection): string | undefined {
  return conn.endpointUrl || process.env.AWS_ENDPOINT_URL_ECR || process.env.AWS_ENDPOINT_URL || undefined;
}

export function isLoopbackUrl(url: string | undefined): boolean {
  if (!url) return false;
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127\./.test(host);
  } catch {
    return false;
  }
}

/** Whether any credential source the SDK would look at is configured (without asking the network). */
export function credentialsConfigured(profile?: string): boolean {
  const env = process.env;
  if (
    env.AWS_ACCESS_KEY_ID ||
    env.AWS_PROFILE ||
    profile ||
    env.AWS_WEB_IDENTITY_TOKEN_FILE ||
    env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI ||
    env.AWS_CONTAINER_CREDENTIALS_FULL_URI
  )
    return true;
  const files = [
    env.AWS_SHARED_CREDENTIALS_FILE ?? join(homedir(), '.aws', 'credentials'),
    env.AWS_CONFIG_FILE ?? join(homedir(), '.aws', 'config'),
  ];
  return files.some((f) => f && f !== '/dev/null' && existsSync(f));
}

/** Whether a region is set where the SDK would look for one: the environment or a config file. */
function regionConfigured(): boolean {
  const env = process.env;
  if (env.AWS_REGION || env.AWS_DEFAULT_REGION) return true;
  const file = env.AWS_CONFIG_FILE ?? join(homedir(), '.aws', 'config');
  return file !== '/dev/null' && existsSync(file);
}

/**
 * For a loopback emulator such as `ecrx serve` only: placeholder credentials and us-east-1 when none are
 * configured (real AWS never gets placeholder credentials), told in one notice.
 */
function localCourtesies(
  conn: Connection,
  endpoint: string | undefined,
  hooks: ClientHooks,
): { credentials?: { accessKeyId: string; secretAccessKey: string }; region?: string } {
  let credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  const courtesies: string[] = [];
  if (isLoopbackUrl(endpoint) && !credentialsConfigured(conn.profile)) {
    credentials = { accessKeyId: PLACEHOLDER_ACCESS_KEY, secretAccessKey: 'ecrx-local-placeholder' };
    courtesies.push(`no AWS credentials configured: using placeholder credentials for the local endpoint ${endpoint}`);
  }
  let region = conn.region;
  if (!region && isLoopbackUrl(endpoint) && !regionConfigured()) {
    // `ecrx serve` answers for any region, and us-east-1 is its default.
    region = 'us-east-1';
    courtesies.push(
      `no AWS region configured: using ${region}${courtesies.length ? '' : ` for the local endpoint ${endpoint}`}`,
    );
  }
  // One notice, not one per courtesy (the reporter prints each notice once per process).
  if (courtesies.length) hooks.notice?.(courtesies.join('; '));
  return { credentials, region };
}

/** Where API calls go: the configured endpoint, or the region's (dual-stack when asked). */
function apiUrlOf(conn: Connection, region: string | undefined, endpoint: string | undefined): URL {
  const apiRegion = region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const dualStack = conn.dualStack || process.env.AWS_USE_DUALSTACK_ENDPOINT === 'true';
  return new URL(
    endpoint ?? (dualStack ? `https://ecr.${apiRegion}.api.aws` : `https://api.ecr.${apiRegion}.amazonaws.com`),
  );
}

/** The SDK's HTTP handler: the read timeout downloads use, and HTTPS_PROXY / NO_PROXY as downloads read them. */
function apiRequestHandler(
  conn: Connection,
  region: string | undefined,
  endpoint: string | undefined,
  hooks: ClientHooks,
): import('@smithy/node-http-handler').NodeHttpHandler {
  const apiUrl = apiUrlOf(conn, region, endpoint);
  const agent = proxyAgentFor(apiUrl);
  const { NodeHttpHandler } = requireCjs('@smithy/node-http-handler') as typeof import('@smithy/node-http-handler');
  // A connection that goes silent fails after ECRX_READ_TIMEOUT (60 s) like a download does, and is retried;
  // without this an API call to a server that accepts and never answers would wait forever.
  const timeout = readTimeoutMs();
  if (agent) hooks.debug?.(`ecr API via proxy for ${apiUrl.host}`);
  return new NodeHttpHandler({
    requestTimeout: timeout,
    connectionTimeout: timeout,
    ...(agent ? { httpAgent: agent, httpsAgent: agent } : {}),
  });
}

/** Splices each UploadLayerPart's part into its request body (see part-body.ts). */
function addPartBodyMiddleware(client: ECRClient): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      const job = partBodies.get(args.input);
      const request = args.request as WireRequest | undefined;
      if (job && request) {
        const body = spliceBlob(request.body, job);
        request.body = body;
        // Set here rather than by the SDK's content-length middleware, which may already have run.
        for (const k of Object.keys(request.headers))
          if (k.toLowerCase() === 'content-length') delete request.headers[k];
        request.headers['content-length'] = String(body.length);
      }
      return next(args);
    },
    { step: 'build', name: 'ecrxPartBody', priority: 'high' },
  );
}

/** What goes over the wire, minus what must never be printed (redact() strips signatures and keys). */
function addDebugMiddleware(client: ECRClient, debug: (line: string) => void): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const req = args.request as WireRequest | undefined;
      const headers = Object.entries(req?.headers ?? {}).map(
        ([k, v]) => `${k}: ${/authorization|security-token/i.test(k) ? '[redacted]' : v}`,
      );
      debug(
        redact(
          `-> ${context.commandName} ${req?.method} ${req?.protocol}//${req?.hostname}${req?.port ? `:${req.port}` : ''}${req?.path} {${headers.join(', ')}}`,
        ),
      );
      return next(args);
    },
    { step: 'finalizeRequest', name: 'ecrxDebugLog', priority: 'low' },
  );
}

export class Ecr {
  private constructor(
    private readonly client: ECRClient,
    private readonly sdk: typeof import('@aws-sdk/client-ecr'),
    readonly conn: Connection,
    private readonly hooks: ClientHooks,
    /** Keeps each operation under ECR's request quota (see pacer.ts). */
    private readonly pacer?: Pacer,
  ) {}

  static async connect(conn: Connection, hooks: ClientHooks = {}): Promise<Ecr> {
    // require(), not import(): the SDK is CommonJS, and loading it through the ESM loader costs a lexer pass over
    // every module for named exports, which is most of a warm pull's start-up.
    const sdk = requireCjs('@aws-sdk/client-ecr') as typeof import('@aws-sdk/client-ecr');
    const endpoint = configuredEndpoint(conn);
    const { credentials, region } = localCourtesies(conn, endpoint, hooks);
    const client = new sdk.ECRClient({
      requestHandler: apiRequestHandler(conn, region, endpoint, hooks),
      ...(region ? { region } : {}),
      ...(conn.profile ? { profile: conn.profile } : {}),
      ...(conn.endpointUrl ? { endpoint: conn.endpointUrl } : {}),
      ...(conn.fips ? { useFipsEndpoint: true } : {}),
      // A custom endpoint (ecrx serve) is its own address: the SDK refuses dual-stack beside one, even from the env.
      ...(endpoint ? { useDualstackEndpoint: false } : conn.dualStack ? { useDualstackEndpoint: true } : {}),
      ...(credentials ? { credentials } : {}),
      maxAttempts: 1, // ecrx retries itself, with a budget that does not run dry under sustained throttling
    });
    addPartBodyMiddleware(client);
    if (hooks.debug) addDebugMiddleware(client, hooks.debug);
    return new Ecr(client, sdk, conn, hooks, pacerFor(apiUrlOf(conn, region, endpoint).host));
  }

  async region(): Promise<string> {
    try {
      return await this.client.config.region();
    } catch (err) {
      throw fromAws(err, 'Resolving the AWS region');
    }
  }

  get maxAttempts(): number {
    return this.conn.maxAttempts ?? 10;
  }

  /** The registry id to put into requests, if one was chosen; ECR's default registry otherwise. */
  withRegistry<T extends object>(input: T): T & { registryId?: string } {
    return this.conn.registryId ? { ...input, registryId: this.conn.registryId } : input;
  }

  /**
   * Sends `operation` (e.g. 'BatchGetImage') with `input`, typed by the operation's name (operations.ts); retries
   * transient failures under the `apiCall` policy (core/retry.ts).
   */
  async call<O extends EcrOperation>(operation: O, input: EcrInput<O>, opts: CallOptions = {}): Promise<EcrOutput<O>> {
    const Command = (this.sdk as unknown as Record<string, CommandClass | undefined>)[`${operation}Command`];
    if (!Command) throw new Error(`unknown ECR operation ${operation}`);
    const policy = retryPolicies.apiCall;
    return retrying(
      async () => {
        await this.pacer?.acquire(operation, opts.signal);
        const started = Date.now();
        try {
          const out = (await this.client.send(new Command(input), { abortSignal: opts.signal })) as EcrOutput<O>;
          this.hooks.debug?.(`ecr ${operation} ${out.$metadata?.httpStatusCode ?? 200} ${Date.now() - started}ms`);
          this.pacer?.succeeded(operation);
          return out;
        } catch (err) {
          const { name, message, status } = awsFacts(err);
          if (name === 'ThrottlingException') this.pacer?.throttled(operation);
          this.hooks.debug?.(redact(`ecr ${operation} ${status ?? '-'} ${name}: ${message} ${Date.now() - started}ms`));
          throw err;
        }
      },
      {
        policy,
        attempts: opts.retry === false ? 1 : (opts.attempts ?? attemptsOf(policy, this.maxAttempts)),
        retryable: isRetryable,
        signal: opts.signal,
        onRetry: (attempt, err, delay) => {
          const { name, message } = awsFacts(err);
          this.hooks.onRetry?.(operation, attempt, redact(`${name}: ${message}`), delay);
        },
      },
    );
  }

  /**
   * UploadLayerPart with the part's base64 built natively (see part-body.ts) in `scratch`, which may be reused
   * as soon as this returns. Never retried here: after a lost response only ECR knows where the upload stands.
   */
  async uploadLayerPart(
    input: { repositoryName: string; uploadId: string; partFirstByte: number; partLastByte: number },
    blob: Uint8Array,
    opts: { scratch?: Buffer; signal?: AbortSignal } = {},
  ): Promise<EcrOutput<'UploadLayerPart'>> {
    const request = this.withRegistry({ ...input, layerPartBlob: new Uint8Array(0) });
    const job: PartBody = { blob, scratch: opts.scratch };
    partBodies.set(request, job);
    const skipped = () =>
      new EcrxError(
        'INTERNAL_ERROR',
        "UploadLayerPart went out without its part: the AWS SDK skipped ecrx's body middleware",
        {
          hint: 'Report this with `ecrx --version` and the @aws-sdk/client-ecr version.',
        },
      );
    let out: EcrOutput<'UploadLayerPart'>;
    try {
      out = await this.call('UploadLayerPart', request, { retry: false, signal: opts.signal });
    } catch (err) {
      // An answer from ECR to a request that left without its part would be a refusal of the empty part: say why.
      if (!job.spliced && awsFacts(err).status) throw skipped();
      throw err;
    }
    if (!job.spliced) throw skipped();
    return out;
  }

  /** Like call(), but failures come back as ecrx errors that say what was being done. */
  async request<O extends EcrOperation>(
    operation: O,
    input: EcrInput<O>,
    context: string,
    opts: CallOptions = {},
  ): Promise<EcrOutput<O>> {
    try {
      return await this.call(operation, input, opts);
    } catch (err) {
      throw fromAws(err, context);
    }
  }

  destroy(): void {
    this.client.destroy();
  }
}
