import { Command } from 'commander';
import { runCommand } from '../run.js';
import { addEcrOptions, concurrencyOption, noResumeOption, insecureOption } from '../common.js';
import { addExamples } from '../help.js';
import { interruptible } from '../interrupt.js';

export function register(program: Command): void {
  const cmd = program
    .command('copy')
    .alias('cp')
    .argument(
      '<src-image>',
      "source: repo[:tag|@digest], a full ECR URI (its own account and region), or another registry's image (docker.io/library/alpine:3.20); with --all-tags an ECR repository",
    )
    .argument(
      '<dst-image>',
      "destination: repo[:tag], a full ECR URI, or another registry's repo[:tag]; with --all-tags a repository",
    )
    .description(
      'copy an image between ECR repositories, regions or accounts (or from and to another registry), keeping its digest',
    )
    .option('--platform <os/arch[/variant]|all>', 'copy one platform of a multi-platform image (default: all)')
    .addOption(concurrencyOption(null, 'blobs uploaded at once (default: 16, large ones fewer)'))
    .addOption(noResumeOption())
    .option('--cache-dir <dir>', 'blob cache the copy streams through')
    .option(
      '--referrers',
      "also copy the image's signatures, SBOMs and attestations (OCI referrers), recursively, digests kept",
    )
    .option('--all-tags', 'copy every tagged image of the source repository, each with all its tags')
    .option('--to-endpoint-url <url>', "ECR API endpoint of the destination (default: the source's)")
    .option('--to-profile <name>', "AWS profile for the destination (default: the source's)")
    .addOption(insecureOption());
  addEcrOptions(cmd);
  addExamples(cmd, [
    ['ecrx copy team/app:1.4 team/app-prod:1.4'],
    [
      'ecrx copy 111111111111.dkr.ecr.us-east-1.amazonaws.com/app:1.4 222222222222.dkr.ecr.eu-west-1.amazonaws.com/app:1.4',
      'across accounts and regions',
    ],
    ['ecrx copy team/app:1.4 team/app-prod:1.4 --referrers', 'with its signatures and SBOMs'],
    ['ecrx copy --all-tags team/app team/app-backup', 'a whole repository'],
    ['ecrx copy docker.io/library/alpine:3.20 mirror/alpine:3.20', 'mirror an image from another registry'],
  ]);
  cmd.action(async (src: string, dst: string, flags) =>
    runCommand(
      flags,
      async () => {
        const run = flags.allTags
          ? (await import('../transfers/copy-all.js')).copyAllTags
          : (await import('../transfers/copy.js')).copy;
        await interruptible((signal) => run(src, dst, flags, signal), {
          resume: 'blobs already copied are skipped, and those already downloaded are reused.',
        });
      },
      { quiet: (d) => d.digest },
    ),
  );
}
