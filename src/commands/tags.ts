import { Command, Option } from 'commander';
import { runCommand } from '../cli/run.js';
import { addEcrOptions } from '../cli/common.js';
import { interruptible } from '../cli/interrupt.js';

export function register(program: Command): void {
  const tags = program
    .command('tags')
    .alias('ls')
    .argument('<repository>', 'repository name, e.g. team/app')
    .description('list the tags of a repository with digest, size and push time, newest first')
    .addOption(new Option('--status <status>', 'storage state of the images to list').choices(['active', 'archived', 'activating', 'all']).default('active'));
  addEcrOptions(tags).addHelpText('after', `
Examples:
  $ ecrx tags team/app
  $ ecrx ls team/app --json | jq -r '.data.tags[0].tag'      # the newest tag
  $ ecrx tags team/app --status archived                     # archived images (restore with ecrx restore)`);
  tags.action(async (repository: string, flags) => runCommand(flags, async () => {
    const m = await import('../actions/listing.js');
    await interruptible((signal) => m.tags(repository, flags, signal));
  }));

  const repos = program.command('repos').description('list the repositories of the registry');
  addEcrOptions(repos).addHelpText('after', `
Examples:
  $ ecrx repos
  $ ecrx repos --json | jq -r '.data.repositories[].name'`);
  repos.action(async (flags) => runCommand(flags, async () => {
    const m = await import('../actions/listing.js');
    await interruptible((signal) => m.repos(flags, signal));
  }));
}
