import { Command, Option } from 'commander';
import { runCommand } from '../run.js';
import { addEcrOptions } from '../common.js';
import { addExamples } from '../help.js';
import { interruptible } from '../interrupt.js';
import { intBetween } from '../parse.js';

export function register(program: Command): void {
  const cmd = program
    .command('sync')
    .argument('<plan>', 'the plan: a YAML (or JSON) file of sources, tags and target repositories')
    .description('mirror the images a plan lists into ECR: idempotent, one report, shardable across machines')
    .option('--dry-run', 'list what would be synced, with sizes when the source tells them; write nothing')
    .option(
      '--shard <I/N>',
      'run shard I (0-based) of N; with N alone (or `shards` in the plan) I comes from JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX',
    )
    .addOption(
      new Option('-j, --concurrency <n>', 'images synced at once (and blobs at once per image)')
        .default(4)
        .env('ECRX_CONCURRENCY')
        .argParser(intBetween(1, 64)),
    )
    .option('--cache-dir <dir>', 'blob cache the images stream through')
    .option(
      '--to-dir <dir>',
      'air gap, connected side: write the images into OCI layouts in DIR (one per source repository), not ECR',
    )
    .option('--from-dir <dir>', 'air gap, disconnected side: read the images from a DIR written by --to-dir into ECR')
    .option('--insecure', 'allow plain HTTP (and unverified TLS) to source registries that are not on loopback');
  addEcrOptions(cmd);
  addExamples(cmd, [
    ['ecrx sync mirror.yaml'],
    ['ecrx sync mirror.yaml --dry-run', 'what would move, with sizes'],
    ['ecrx sync mirror.yaml --shard 0/4', 'the first of 4 shards'],
    ['ecrx sync mirror.yaml --to-dir /media/usb/mirror', 'air gap: the connected side'],
    ['ecrx sync mirror.yaml --from-dir /media/usb/mirror', 'air gap: the disconnected side, into ECR'],
    ["ecrx sync mirror.yaml --json | jq '.data.images[] | select(.error)'", 'the images that failed'],
  ]);
  cmd.action(async (plan: string, flags) =>
    runCommand(flags, async () => {
      const { sync } = await import('../actions/sync.js');
      await interruptible((signal) => sync(plan, flags, signal), {
        resume: 'images already in place are skipped.',
      });
    }),
  );
}
