import { Command } from 'commander';
import { runCommand } from '../run.js';
import { addEcrOptions } from '../common.js';
import { addExamples } from '../help.js';
import { interruptible } from '../interrupt.js';

export function register(program: Command): void {
  const cmd = program
    .command('rm')
    .argument('<image...>', 'repo:tag or repo@sha256:… (several allowed)')
    .description('delete images by tag or digest (BatchDeleteImage), reporting what was deleted and what failed');
  addEcrOptions(cmd);
  addExamples(cmd, [['ecrx rm team/app:old team/app:older'], ['ecrx rm team/app@sha256:<digest> --json']]);
  cmd.action(async (images: string[], flags) =>
    runCommand(
      flags,
      async () => {
        const { rm } = await import('../actions/rm.js');
        await interruptible((signal) => rm(images, flags, signal));
      },
      { quiet: (d) => d.deleted?.map((x) => x.digest) },
    ),
  );
}
