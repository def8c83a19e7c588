import { Command } from 'commander';
import { runCommand } from '../run.js';
import { addEcrOptions, concurrencyOption, noResumeOption } from '../common.js';
import { addExamples } from '../help.js';
import { collect } from '../parse.js';
import { interruptible } from '../interrupt.js';

export function register(program: Command): void {
  const cmd = program
    .command('push')
    .argument(
      '<source>',
      'OCI layout DIR[:NAME], OCI archive, docker-archive (docker save), or - for an archive on stdin',
    )
    .argument('<image>', 'destination: repo[:tag], repo@sha256:…, or a full ECR URI')
    .description('upload an image to ECR from an OCI layout, an OCI archive or a docker-archive')
    .option('-t, --tag <tag>', 'also tag it TAG (repeatable)', collect, [])
    .option('--platform <os/arch[/variant]>', 'push only this platform of a multi-platform source')
    .option(
      '--referrers',
      "also push the signatures, SBOMs and attestations the layout holds (OCI referrers; cosign save's too)",
    )
    .addOption(concurrencyOption(null, 'blobs uploaded at once (default: 16, large ones fewer)'))
    .addOption(noResumeOption())
    .option('--cache-dir <dir>', 'blob cache (default: $ECRX_CACHE_DIR, $XDG_CACHE_HOME/ecrx or ~/.cache/ecrx)');
  addEcrOptions(cmd);
  addExamples(cmd, [
    ['ecrx push ./my-app-layout my-app:1.4 -t latest'],
    ['docker save my-app:1.4 | ecrx push - 123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app:1.4'],
    ['ecrx push image.tar team/api:2.0 --platform linux/arm64 -q', 'prints only the digest'],
  ]);
  cmd.action(async (source: string, image: string, flags) =>
    runCommand(
      flags,
      async () => {
        const { push } = await import('../transfers/push.js');
        await interruptible((signal) => push(source, image, flags, signal), {
          resume: 'blobs already uploaded are skipped.',
        });
      },
      { quiet: (d) => d.digest },
    ),
  );
}
