/** The real AWS CLI against an endpoint, with its exit code, parsed JSON output and stderr. */
import type { Json } from './json.js';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEnv } from './cli.js';

export interface AwsResult {
  code: number | null;
  json: Json;
  stdout: string;
  stderr: string;
}

export interface AwsOptions {
  region?: string;
  /**
   * Turn off the CLI's own parameter checks (botocore's `parameter_validation = false`), so what the user typed
   * reaches the service as typed, the way a hand-written client or a client in another language sends it.
   */
  noClientValidation?: boolean;
  env?: Record<string, string>;
}

let configWithoutValidation: string | undefined;

function configFile(noValidation: boolean | undefined): string {
  if (!noValidation) return '/dev/null';
  if (!configWithoutValidation) {
    configWithoutValidation = join(mkdtempSync(join(tmpdir(), 'ecrx-awscfg-')), 'config');
    writeFileSync(configWithoutValidation, '[default]\nparameter_validation = false\n');
  }
  return configWithoutValidation;
}

export function awsCli(endpoint: string, args: string[], opts: AwsOptions = {}): Promise<AwsResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'aws',
      ['--endpoint-url', endpoint, '--region', opts.region ?? 'us-east-1', '--output', 'json', ...args],
      {
        env: testEnv(undefined, {
          AWS_PAGER: '',
          AWS_CONFIG_FILE: configFile(opts.noClientValidation),
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
          ...opts.env,
        }),
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      // No output, or output that is not JSON, leaves `json` missing: the test's first read of it fails.
      let json: Json | undefined;
      try {
        json = out.trim() ? JSON.parse(out) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ code, json: json as Json, stdout: out, stderr: err });
    });
  });
}

/** The error code the CLI printed: `An error occurred (Code) when calling ...`. */
export const cliErrorCode = (r: AwsResult) => /An error occurred \(([^)]+)\)/.exec(r.stderr)?.[1];
