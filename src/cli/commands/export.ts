import { Command } from 'commander';
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
    .command('export')
    .argument(
      '<image>',
      "repo[:tag|@digest], a full ECR URI, or another registry's image (docker.io/library/alpine:3.20)",
    )
    .argument('<target>', 'a new or empty DIR, a FILE.tar, or - for a tar on stdout')
    .description('write the flattened root filesystem of an image (layers applied with OCI whiteouts)')
    .addOption(
      platformOption(
        '--platform <os/arch[/variant]>',
        "platform of a multi-platform image (default: this machine's)",
        true,
      ),
    )
    .addOption(concurrencyOption(DOWNLOAD_CONCURRENCY, 'blobs downloaded at once, and the ceiling of connections'))
    .addOption(noResumeOption())
    .option('--cache-dir <dir>', 'blob cache')
    .addOption(insecureOption());
  addEcrOptions(cmd);
  addExamples(cmd, [
    ['ecrx export my-app:1.4 ./rootfs'],
    ['ecrx export my-app:1.4 - | tar -t | head'],
    ['ecrx export my-app:1.4 rootfs.tar -q', 'prints only the path written'],
  ]);
  cmd.action(async (image: string, target: string, flags) =>
    runCommand(
      flags,
      async () => {
        const { exportImage } = await import('../transfers/export.js');
        await interruptible((signal) => exportImage(image, target, flags, signal), {
          resume: 'layers already downloaded are reused from the cache.',
        });
      },
      { quiet: (d) => d.output },
    ),
  );
}
