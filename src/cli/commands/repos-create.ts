import { Command, Option } from 'commander';
import { runCommand } from '../run.js';
import { addEcrOptions } from '../common.js';
import { collect } from '../parse.js';
import { interruptible } from '../interrupt.js';

/** `ecrx repos create`, a subcommand of the `repos` listing (registered in commands/tags.ts). */
export function register(program: Command): void {
  const repos = program.commands.find((c) => c.name() === 'repos');
  if (!repos) throw new Error('repos create needs the repos command registered first');
  // `repos create NAME --json`: options after the subcommand are the subcommand's, not the listing's. Commander
  // hands a nested command its options unparsed only when every level above is positional too; the program's own
  // options are just --version and --help, which nobody puts after a command.
  program.enablePositionalOptions();
  repos.enablePositionalOptions();
  const create = repos
    .command('create')
    .argument('<name>', 'repository name, e.g. team/app')
    .description('create a repository with its tag mutability, scan on push and encryption')
    .addOption(
      new Option(
        '--tag-mutability <m>',
        'MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION (default MUTABLE)',
      ),
    )
    .option(
      '--mutability-exclusion <pattern>',
      'tags exempt from the mutability setting, * as wildcard (repeatable, up to 5)',
      collect,
      [],
    )
    .option('--scan-on-push', 'scan images when they are pushed')
    .addOption(new Option('--encryption <type>', 'AES256 (default), KMS or KMS_DSSE'))
    .option('--kms-key <key>', 'KMS key id, alias or ARN for --encryption KMS / KMS_DSSE');
  addEcrOptions(create).addHelpText(
    'after',
    `
Examples:
  $ ecrx repos create team/app
  $ ecrx repos create team/api --tag-mutability IMMUTABLE_WITH_EXCLUSION --mutability-exclusion 'dev-*' --scan-on-push
  $ ecrx repos create team/secure --encryption KMS --kms-key alias/ecr`,
  );
  create.action(async (name: string, flags) =>
    runCommand(flags, async () => {
      const { reposCreate } = await import('../actions/repos-create.js');
      await interruptible((signal) => reposCreate(name, flags, signal));
    }),
  );
}
