/** Runs the built CLI as a subprocess, the way a user or a script does. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (dist/test/helpers -> ../../..). */
export const ROOT = join(here, '..', '..', '..');
export const BIN = join(ROOT, 'bin', 'ecrx');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  input?: Buffer | string;
  cwd?: string;
  timeoutMs?: number;
}

/** Environment with fake credentials for the emulator and no AWS settings leaking in from the machine. */
export function testEnv(endpoint?: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_') && !k.startsWith('ECRX_')) env[k] = v;
  return {
    ...env,
    AWS_ACCESS_KEY_ID: 'AKIAECRXTESTKEY00001',
    AWS_SECRET_ACCESS_KEY: 'ecrx-test-secret-do-not-print',
    AWS_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    NO_COLOR: '1',
    ...(endpoint ? { AWS_ENDPOINT_URL_ECR: endpoint } : {}),
    ...extra,
  };
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: opts.env ?? testEnv(),
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 110_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, signal, stdout: stdoutBytes.toString('utf8'), stderr, stdoutBytes });
    });
    child.stdin.end(opts.input);
  });
}
