import { Command } from 'commander';
import { runCommand } from '../cli/run.js';
import { addEcrOptions, concurrencyOption } from '../cli/common.js';
import { addExamples } from '../cli/help.js';
import { interruptible } from '../cli/interrupt.js';

export function register(program: Command): void {
  const cmd = program
    .command('copy')
    .alias('cp')
    .argument('<src-image>', 'source: repo[:tag|@digest] or a full ECR URI (its own account and region)')
    .argument('<dst-image>', 'destination: repo[:tag] or a full ECR URI')
    .description('copy an image between ECR repositories, regions or accounts, keeping its digest')
    .option('--platform <os/arch[/variant]|all>', 'copy one platform of a multi-platform image (default: all)')
    .addOption(concurrencyOption())
    .option('--cache-dir <dir>', 'blob cache the copy streams through');
  addEcrOptions(cmd);
  addExamples(cmd, [
    ['ecrx copy team/app:1.4 team/app-prod:1.4'],
    ['ecrx copy 111111111111.dkr.ecr.us-east-1.amazonaws.com/app:1.4 222222222222.dkr.ecr.eu-west-1.amazonaws.com/app:1.4', 'across accounts and regions'],
  ]);
  cmd.action(async (src: string, dst: string, flags) => runCommand(flags, async () => {
    const { copy } = await import('../transfer/copy.js');
    await interruptible((signal) => copy(src, dst, flags, signal), { resume: 'blobs already copied are skipped, and those already downloaded are reused.' });
  }, { quiet: (d) => d.digest }));
}
