import { Command, Option } from 'commander';
import { runCommand } from '../run.js';
import {
  addEcrOptions,
  concurrencyOption,
  DOWNLOAD_CONCURRENCY,
  noResumeOption,
  platformOption,
  insecureOption,
} from '../common.js';
import { addExamples } from '../help.js';
import { interruptible } from '../interrupt.js';

export function register(program: Command): void {
  const cmd = program
    .command('pull')
    .argument(
      '<image>',
      "repo, repo:tag, repo@sha256:…, <account>.dkr.ecr.<region>.amazonaws.com/repo[:tag|@digest], or another registry's image (docker.io/library/alpine:3.20, localhost:5000/x:y)",
    )
    .description(
      'download an image from ECR (or another registry) into an OCI layout, an OCI archive or a docker-archive',
    )
    .option('-o, --output <path>', 'where to write (default: <name>-<tag>[.tar]; - for an archive on stdout)')
    .addOption(
      new Option('--format <format>', 'output format')
        .choices(['oci', 'oci-archive', 'docker-archive'])
        .env('ECRX_OUTPUT_FORMAT'),
    )
    .addOption(
      platformOption(
        '--platform <os/arch[/variant]|all>',
        "platform to pick from a multi-platform image (default: this machine's), or all",
        true,
      ),
    )
    .option(
      '--referrers',
      "also pull the image's signatures, SBOMs and attestations (OCI referrers) into the layout, recursively",
    )
    .addOption(concurrencyOption(DOWNLOAD_CONCURRENCY, 'blobs downloaded at once, and the ceiling of connections'))
    .addOption(noResumeOption())
    .option('--cache-dir <dir>', 'blob cache (default: $ECRX_CACHE_DIR, $XDG_CACHE_HOME/ecrx or ~/.cache/ecrx)')
    .option('--no-cache', 'download every blob, use and keep nothing in the cache')
    .addOption(insecureOption());
  addEcrOptions(cmd);
  addExamples(cmd, [
    ['ecrx pull my-app:1.4', './my-app-1.4 (OCI layout)'],
    ['ecrx pull 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api@sha256:<digest> --format oci-archive'],
    ['ecrx pull my-app:1.4 --format docker-archive -o - | docker load'],
    ['ecrx pull my-app:1.4 --platform linux/arm64 -q', 'prints only the digest'],
  ]);
  cmd.action(async (image: string, flags) =>
    runCommand(
      flags,
      async () => {
        const { pull } = await import('../transfers/pull.js');
        await interruptible((signal) => pull(image, flags, signal), {
          resume: 'blobs already downloaded are reused from the cache.',
        });
      },
      { quiet: (d) => d.digest },
    ),
  );
}
