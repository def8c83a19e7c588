/** The `ecrx serve` command: start the emulator, print where it is, stop cleanly on SIGINT/SIGTERM. */
import { mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from './server.js';
import { MAX_PRESIGN_SECONDS } from './presign.js';
import { EcrxError } from '../core/errors.js';
import { QUOTA_SETS } from './token-bucket.js';
import { formatRate } from '../core/rate.js';
import type { LinkOptions } from './link.js';

export interface ServeFlags {
  host: string;
  port: number;
  dataDir?: string;
  inMemory?: boolean;
  region: string;
  accountId: string;
  urlTtl: number;
  uploadExpiry?: number;
  restoreDelay?: number;
  accessKeyId?: string;
  secretAccessKey?: string;
  faultThrottle?: number;
  faultServerError?: number;
  faultCut?: number;
  faultIgnoreRange?: number;
  faultSlowdown?: number;
  faultExpire?: number;
  faultLosePartResponse?: number;
  faultLayerLag?: number;
  /** The old name of --bandwidth-per-connection, kept working. */
  faultBandwidth?: number;
  latency?: number;
  bandwidthPerConnection?: number;
  bandwidthTotal?: number;
  quotas?: string;
  faultSeed?: number;
  log?: boolean;
  json?: boolean;
}

export function defaultDataDir(): string {
  const base = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'ecrx', 'serve');
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

/** The link model's options from the flags; --fault-bandwidth is --bandwidth-per-connection's older name. */
function linkOptions(flags: ServeFlags): LinkOptions {
  if (
    flags.faultBandwidth !== undefined &&
    flags.bandwidthPerConnection !== undefined &&
    flags.faultBandwidth !== flags.bandwidthPerConnection
  ) {
    throw new EcrxError(
      'VALIDATION_ERROR',
      '--fault-bandwidth and --bandwidth-per-connection set the same rate to two values',
      {
        hint: '--fault-bandwidth is the older name of --bandwidth-per-connection: give one of them.',
      },
    );
  }
  const quotas = flags.quotas === undefined || flags.quotas === 'off' ? undefined : QUOTA_SETS[flags.quotas];
  if (flags.quotas !== undefined && flags.quotas !== 'off' && !quotas) {
    throw new EcrxError(
      'VALIDATION_ERROR',
      `--quotas must be one of ${[...Object.keys(QUOTA_SETS), 'off'].join(', ')}, got '${flags.quotas}'`,
      {
        hint: "--quotas ecr applies ECR's default request rates per operation.",
      },
    );
  }
  return {
    latencyMs: flags.latency,
    bandwidthPerConnection: flags.bandwidthPerConnection ?? flags.faultBandwidth,
    bandwidthTotal: flags.bandwidthTotal,
    quotas,
  };
}

/** The ready line's note of the link model, so a run under one says so; empty when it is off. */
function linkSummary(link: LinkOptions): string {
  const parts = [
    link.latencyMs ? `latency ${link.latencyMs} ms` : '',
    link.bandwidthPerConnection ? `${formatRate(link.bandwidthPerConnection)} per connection` : '',
    link.bandwidthTotal ? `${formatRate(link.bandwidthTotal)} in total` : '',
    link.quotas ? 'ECR quotas' : '',
  ].filter(Boolean);
  return parts.length ? `; link: ${parts.join(', ')}` : '';
}

/** Refuses what the flags cannot mean, before anything is started or created. */
function checkFlags(flags: ServeFlags): void {
  if (!/^\d{12}$/.test(flags.accountId)) {
    throw new EcrxError('VALIDATION_ERROR', `--account-id must be 12 digits, got '${flags.accountId}'`, {
      hint: 'For example --account-id 123456789012.',
    });
  }
  if (!Number.isInteger(flags.urlTtl) || flags.urlTtl < 1 || flags.urlTtl > MAX_PRESIGN_SECONDS) {
    throw new EcrxError(
      'VALIDATION_ERROR',
      `--url-ttl must be between 1 and ${MAX_PRESIGN_SECONDS} seconds, got '${flags.urlTtl}'`,
      {
        hint: `A pre-signed URL lives at most ${MAX_PRESIGN_SECONDS} seconds (7 days), as SigV4 allows; ECR's own last about 3600.`,
      },
    );
  }
  if (Boolean(flags.accessKeyId) !== Boolean(flags.secretAccessKey)) {
    throw new EcrxError('VALIDATION_ERROR', '--access-key-id and --secret-access-key go together', {
      hint: 'Give both to verify signatures, or neither to accept any key.',
    });
  }
}

/** The injected faults, from the --fault-* flags. */
const faultOptions = (flags: ServeFlags) => ({
  throttle: flags.faultThrottle,
  serverError: flags.faultServerError,
  cut: flags.faultCut,
  ignoreRange: flags.faultIgnoreRange,
  slowdown: flags.faultSlowdown,
  expire: flags.faultExpire,
  losePartResponse: flags.faultLosePartResponse,
  layerLagMs: flags.faultLayerLag,
  seed: flags.faultSeed,
});

/** Runs until SIGINT or SIGTERM, then closes the server and removes an in-memory data directory. */
function untilSignalled(running: { close(): Promise<void> }, tempDir: string | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void running.close().then(() => {
        if (tempDir) rmSync(tempDir, { recursive: true, force: true });
        resolve();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export async function serve(flags: ServeFlags): Promise<void> {
  checkFlags(flags);
  const link = linkOptions(flags);
  const tempDir = flags.inMemory ? mkdtempSync(join(tmpdir(), 'ecrx-serve-')) : undefined;
  const dataDir = tempDir ?? flags.dataDir ?? defaultDataDir();
  const running = await startServer({
    dataDir,
    host: flags.host,
    port: flags.port,
    region: flags.region,
    accountId: flags.accountId,
    urlTtlSeconds: flags.urlTtl,
    restoreDelaySeconds: flags.restoreDelay,
    uploadExpirySeconds: flags.uploadExpiry,
    credentials: flags.accessKeyId
      ? { accessKeyId: flags.accessKeyId, secretAccessKey: flags.secretAccessKey! }
      : undefined,
    faults: faultOptions(flags),
    link,
    onRequest: flags.log
      ? (l) =>
          process.stderr.write(
            `${new Date().toISOString()} ${l.operation} ${l.status}${l.errorType ? ` ${l.errorType}` : ''} ${l.ms}ms\n`,
          )
      : undefined,
  }).catch((err) => {
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new EcrxError('PORT_IN_USE', `Port ${flags.port} on ${flags.host} is already in use`, {
        hint: 'Pick another --port, or --port 0 for any free port.',
        cause: err,
      });
    }
    throw err;
  });

  if (!LOOPBACK.test(flags.host)) {
    process.stderr.write(
      `ecrx serve: warning: listening on ${flags.host}, not loopback: anyone who can reach this address can read and write its images${flags.accessKeyId ? '' : ' (and any key is accepted: add --access-key-id/--secret-access-key)'}\n`,
    );
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ success: true, data: { endpoint: running.endpoint } })}\n`);
  } else {
    process.stdout.write(
      `ecrx serve: listening on ${running.endpoint} (data: ${tempDir ? 'in memory' : dataDir}; region ${flags.region}; registry ${flags.accountId}${linkSummary(link)})\n`,
    );
  }
  await untilSignalled(running, tempDir);
}
