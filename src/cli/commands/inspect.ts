import { Command } from 'commander';
import { runCommand } from '../run.js';
import { addEcrOptions, insecureOption } from '../common.js';
import { addExamples } from '../help.js';
import { interruptible } from '../interrupt.js';

export function register(program: Command): void {
  const cmd = program
    .command('inspect')
    .argument(
      '<image>',
      "repo[:tag|@digest], a full ECR URI, or another registry's image (docker.io/library/alpine:3.20)",
    )
    .description('show an image: digest, media type, platforms, layers, and its config (os, arch, created, entrypoint)')
    .option(
      '--raw',
      'print the manifest bytes exactly as stored (with --config: the config bytes; with --json: inside the envelope)',
    )
    .option('--config', 'include the whole image config')
    .option('--platform <os/arch[/variant]>', 'inspect this platform of a multi-platform image')
    .option('--cache-dir <dir>', 'blob cache for the config')
    .addOption(insecureOption());
  addEcrOptions(cmd);
  addExamples(cmd, [
    ['ecrx inspect my-app:1.4'],
    ['ecrx inspect my-app:1.4 --raw | sha256sum', 'the digest, computed over the stored bytes'],
    ['ecrx inspect my-app:1.4 --platform linux/arm64 --json | jq .data.entrypoint'],
  ]);
  cmd.action(async (image: string, flags) =>
    runCommand(
      flags,
      async () => {
        const { inspect } = await import('../actions/inspect.js');
        await interruptible((signal) => inspect(image, flags, signal));
      },
      { quiet: (d) => d.digest },
    ),
  );
}
