import { Command } from 'commander';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runCommand } from '../run.js';
import { addOutputOptions } from '../common.js';
import { printSuccess } from '../output.js';
import { packageVersion } from '../version.js';

/** The AWS SDK's version, from its package.json (found by walking up from its entry point). */
function sdkVersion(): string | null {
  try {
    let dir = dirname(createRequire(import.meta.url).resolve('@aws-sdk/client-ecr'));
    for (let i = 0; i < 5; i++, dir = dirname(dir)) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
        if (pkg.name === '@aws-sdk/client-ecr') return pkg.version;
      } catch {
        // not here: one level up
      }
    }
  } catch {
    // not installed: the version command still answers
  }
  return null;
}

export function register(program: Command): void {
  const cmd = program
    .command('version')
    .description("print the versions of ecrx, Node.js and the AWS SDK (-q: just ecrx's)");
  addOutputOptions(cmd, { debug: false });
  cmd.action(async (flags) =>
    runCommand(
      flags,
      async () => {
        const data = {
          version: packageVersion(),
          node: process.versions.node,
          platform: `${process.platform}/${process.arch}`,
          awsSdk: sdkVersion(),
        };
        printSuccess(flags, data, () =>
          [
            `ecrx ${data.version}`,
            `Node.js ${data.node} (${data.platform})`,
            `@aws-sdk/client-ecr ${data.awsSdk ?? 'not found'}`,
          ].join('\n'),
        );
      },
      { quiet: (d) => d.version },
    ),
  );
}
