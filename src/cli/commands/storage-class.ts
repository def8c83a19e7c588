import { Command } from 'commander';
import { runCommand } from '../run.js';
import { addEcrOptions } from '../common.js';
import { intBetween } from '../parse.js';
import { interruptible } from '../interrupt.js';

export function register(program: Command): void {
  const archive = program
    .command('archive')
    .argument('<image>', 'repo:tag, repo@sha256:… or a full ECR URI')
    .description(
      "move an image to ECR's archive storage class (UpdateImageStorageClass ARCHIVE): cheaper, not pullable until restored",
    );
  addEcrOptions(archive).addHelpText(
    'after',
    `
Examples:
  $ ecrx archive team/app:2023-release
  $ ecrx tags team/app --status archived`,
  );
  archive.action(async (image: string, flags) =>
    runCommand(flags, async () => {
      const { changeStorageClass } = await import('../actions/storage-class.js');
      await interruptible((signal) => changeStorageClass('ARCHIVE', image, flags, signal));
    }),
  );

  const restore = program
    .command('restore')
    .argument('<image>', 'repo:tag, repo@sha256:… or a full ECR URI')
    .description(
      'bring an archived image back to the standard storage class (UpdateImageStorageClass STANDARD; ECR takes up to about 20 minutes)',
    )
    .option('--wait', 'poll until the image is ACTIVE and can be pulled')
    .option('--timeout <minutes>', 'give up waiting after this many minutes (default 30)', intBetween(1, 24 * 60));
  addEcrOptions(restore).addHelpText(
    'after',
    `
Examples:
  $ ecrx restore team/app:2023-release --wait && ecrx pull team/app:2023-release
  $ ecrx restore team/app@sha256:<digest> --json | jq -r .data.imageStatus     # ACTIVATING`,
  );
  restore.action(async (image: string, flags) =>
    runCommand(flags, async () => {
      const { changeStorageClass } = await import('../actions/storage-class.js');
      await interruptible((signal) => changeStorageClass('STANDARD', image, flags, signal));
    }),
  );
}
