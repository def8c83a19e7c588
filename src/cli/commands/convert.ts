import { Command, Option } from 'commander';
import { runCommand } from '../run.js';
import { addOutputOptions, concurrencyOption } from '../common.js';
import { addExamples } from '../help.js';
import { interruptible } from '../interrupt.js';

export function register(program: Command): void {
  const cmd = program
    .command('convert')
    .argument('<source>', 'OCI layout DIR[:NAME], OCI archive, docker-archive, or - for an archive on stdin')
    .argument('<target>', 'the new layout directory or archive file (only an earlier ecrx output is replaced)')
    .description('convert an image between an OCI layout, an OCI archive and a docker-archive, keeping its digests')
    .addOption(
      new Option('--format <format>', 'target format (default: oci-archive for a *.tar target, else oci)').choices([
        'oci',
        'oci-archive',
        'docker-archive',
      ]),
    )
    .option('--platform <os/arch[/variant]|all>', 'keep one platform of a multi-platform source (default: all)')
    .addOption(concurrencyOption())
    .option('--cache-dir <dir>', 'blob cache an archive source is unpacked into');
  addOutputOptions(cmd, { debug: false });
  addExamples(cmd, [
    ['ecrx convert ./my-app my-app.tar', 'an OCI layout into an OCI archive'],
    ['ecrx convert image.tar ./image --format oci', 'a docker-archive (docker save) into an OCI layout'],
    ['ecrx convert ./my-app app-docker.tar --format docker-archive --platform linux/amd64'],
  ]);
  cmd.action(async (source: string, target: string, flags) =>
    runCommand(
      flags,
      async () => {
        const { convert } = await import('../transfers/convert.js');
        await interruptible((signal) => convert(source, target, flags, signal), {
          resume: 'the target was left as it was.',
        });
      },
      { quiet: (d) => d.digest },
    ),
  );
}
