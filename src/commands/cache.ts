import { Command } from 'commander';
import { runCommand } from '../cli/run.js';

const common = (c: Command) =>
  c
    .option('--cache-dir <dir>', 'blob cache (default: $ECRX_CACHE_DIR, $XDG_CACHE_HOME/ecrx or ~/.cache/ecrx)')
    .option('--json', 'print one JSON envelope on stdout')
    .option('-q, --quiet', 'print only errors');

export function register(program: Command): void {
  const cache = program.command('cache').description('look after the local blob cache');
  common(cache.command('ls').description('list cached blobs, most recently used first (creates nothing)'))
    .addHelpText('after', `
Examples:
  $ ecrx cache ls
  $ ecrx cache ls --json | jq .data.totalBytes`)
    .action(async (flags) =>
    runCommand(flags, async () => (await import('../actions/cache.js')).cacheLs(flags)),
  );
  common(cache.command('prune').description('remove cached blobs: least recently used first, or all without limits'))
    .option('--older-than <duration>', 'remove blobs not used for this long (30m, 12h, 7d, 2w)')
    .option('--max-size <size>', 'remove until the cache is at most this big (500M, 10G)')
    .addHelpText('after', `
Examples:
  $ ecrx cache prune --older-than 14d
  $ ecrx cache prune --max-size 20G`)
    .action(async (flags) => runCommand(flags, async () => (await import('../actions/cache.js')).cachePrune(flags)));
  common(cache.command('verify').description('re-hash every cached blob; a bad one, and anything that is not a blob, is removed and reported'))
    .addHelpText('after', `
Examples:
  $ ecrx cache verify
  $ ecrx cache verify --json | jq '.data.removed | length'`)
    .action(async (flags) =>
    runCommand(flags, async () => (await import('../actions/cache.js')).cacheVerify(flags)),
  );
}
