import { Command, Option } from 'commander';
import { runCommand } from '../run.js';
import { addEcrOptions } from '../common.js';
import { addExamples } from '../help.js';
import { collect } from '../parse.js';
import { interruptible } from '../interrupt.js';

export function register(program: Command): void {
  const tags = program
    .command('tags')
    .alias('ls')
    .argument('<repository>', 'repository name, e.g. team/app')
    .description('list the tags of a repository with digest, size and push time, newest first')
    .option('--no-trunc', 'show full digests and tags, however wide')
    .option('--untagged', 'list only the untagged images')
    .option('-a, --all', 'list tagged and untagged images')
    .option('--filter <glob>', 'only tags matching GLOB (* ? [a-z]; repeatable: any may match)', collect, [])
    .addOption(
      new Option('--status <status>', 'storage state of the images to list')
        .choices(['active', 'archived', 'activating', 'all'])
        .default('active'),
    );
  addEcrOptions(tags);
  addExamples(tags, [
    ['ecrx tags team/app'],
    ["ecrx tags team/app --filter 'v1.*' -q", 'just the matching tag names'],
    ['ecrx tags team/app --untagged -q', 'digests of untagged images'],
    ["ecrx ls team/app --json | jq -r '.data.tags[0].tag'", 'the newest tag'],
    ['ecrx tags team/app --status archived', 'archived images (restore with ecrx restore)'],
  ]);
  tags.action(async (repository: string, flags) =>
    runCommand(
      flags,
      async () => {
        const m = await import('../actions/listing.js');
        await interruptible((signal) => m.tags(repository, flags, signal));
      },
      { quiet: (d) => d.tags?.map((t) => t.tag ?? t.digest) },
    ),
  );

  const repos = program.command('repos').description('list the repositories of the registry');
  addEcrOptions(repos);
  addExamples(repos, [['ecrx repos'], ['ecrx repos -q', 'just the names']]);
  repos.action(async (flags) =>
    runCommand(
      flags,
      async () => {
        const m = await import('../actions/listing.js');
        await interruptible((signal) => m.repos(flags, signal));
      },
      { quiet: (d) => d.repositories?.map((r) => r.name) },
    ),
  );
}
