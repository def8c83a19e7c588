import { Command, Option } from 'commander';
import { runCommand } from '../run.js';
import { addEcrOptions } from '../common.js';
import { collect } from '../parse.js';
import { interruptible } from '../interrupt.js';

export function register(program: Command): void {
  const cmd = program
    .command('referrers')
    .argument('<image>', 'repo:tag, repo@sha256:… or a full ECR URI')
    .description('list the signatures, SBOMs and attestations attached to an image (OCI referrers), by artifact type')
    .option('--artifact-type <type>', 'only this artifact type (repeatable, up to 5)', collect, [])
    .addOption(
      new Option('--status <status>', 'storage state of the referrers')
        .choices(['active', 'archived', 'activating', 'any'])
        .default('active'),
    )
    .option('-r, --recursive', 'also what refers to the referrers (a signature of an SBOM)');
  addEcrOptions(cmd).addHelpText(
    'after',
    `
Examples:
  $ ecrx referrers team/app:1.4
  $ ecrx referrers team/app:1.4 --artifact-type application/vnd.cncf.notary.signature
  $ ecrx referrers team/app:1.4 --recursive --json | jq -r '.data.referrers[].digest'`,
  );
  cmd.action(async (image: string, flags) =>
    runCommand(flags, async () => {
      const { referrers } = await import('../actions/referrers.js');
      await interruptible((signal) => referrers(image, flags, signal));
    }),
  );
}
