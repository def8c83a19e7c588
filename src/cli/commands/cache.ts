import { Command } from 'commander';
import { runCommand } from '../run.js';
import { addOutputOptions } from '../common.js';
import { addExamples } from '../help.js';

const common = (c: Command) =>
  addOutputOptions(
    c.option('--cache-dir <dir>', 'blob cache (default: $ECRX_CACHE_DIR, $XDG_CACHE_HOME/ecrx or ~/.cache/ecrx)'),
    { debug: false },
  );

export function register(program: Command): void {
  const cache = program.command('cache').description('look after the local blob cache');
  const ls = common(cache.command('ls').description('list cached blobs, most recently used first (creates nothing)'));
  addExamples(ls, [['ecrx cache ls'], ['ecrx cache ls --json | jq .data.totalBytes']]);
  ls.action(async (flags) =>
    runCommand(flags, async () => (await import('../actions/cache.js')).cacheLs(flags), {
      quiet: (d) => d.blobs?.map((b) => b.digest),
    }),
  );

  const prune = common(
    cache.command('prune').description('remove cached blobs: least recently used first, or all without limits'),
  )
    .option('--older-than <duration>', 'remove blobs not used for this long (30m, 12h, 7d, 2w)')
    .option('--max-size <size>', 'remove until the cache is at most this big (500M, 10G)');
  addExamples(prune, [['ecrx cache prune --older-than 14d'], ['ecrx cache prune --max-size 20G']]);
  prune.action(async (flags) => runCommand(flags, async () => (await import('../actions/cache.js')).cachePrune(flags)));

  const verify = common(
    cache
      .command('verify')
      .description('re-hash every cached blob; a bad one, and anything that is not a blob, is removed and reported'),
  );
  addExamples(verify, [['ecrx cache verify'], ["ecrx cache verify --json | jq '.data.removed | length'"]]);
  verify.action(async (flags) =>
    runCommand(flags, async () => (await import('../actions/cache.js')).cacheVerify(flags)),
  );
}
