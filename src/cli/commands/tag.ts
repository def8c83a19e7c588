import { Command } from 'commander';
import { runCommand } from '../run.js';
import { addEcrOptions } from '../common.js';
import { interruptible } from '../interrupt.js';

export function register(program: Command): void {
  const tag = program
    .command('tag')
    .argument('<image>', 'the image to tag: repo:tag, repo@sha256:… or a full ECR URI')
    .argument('<new-tag...>', 'one or more tags to add')
    .description('add tags to an image (PutImage of the same manifest bytes: no blob moves, same digest)');
  addEcrOptions(tag).addHelpText(
    'after',
    `
Examples:
  $ ecrx tag team/app:1.4.2 1.4 stable
  $ ecrx tag team/app@sha256:<digest> release-2026-05 --json`,
  );
  tag.action(async (image: string, newTags: string[], flags) =>
    runCommand(flags, async () => {
      const m = await import('../actions/tag.js');
      await interruptible((signal) => m.tag(image, newTags, flags, signal));
    }),
  );

  const digest = program
    .command('digest')
    .argument('<image>', 'repo:tag, repo@sha256:… or a full ECR URI')
    .description("print the image's digest and nothing else (archived images included)");
  addEcrOptions(digest).addHelpText(
    'after',
    `
Examples:
  $ ecrx digest team/app:1.4
  $ kubectl set image deploy/app app=team/app@$(ecrx digest team/app:1.4)`,
  );
  digest.action(async (image: string, flags) =>
    runCommand(flags, async () => {
      const m = await import('../actions/digest.js');
      await interruptible((signal) => m.digest(image, flags, signal));
    }),
  );
}
