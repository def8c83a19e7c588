import { Command } from 'commander';
import { runCommand } from '../run.js';
import { addExamples } from '../help.js';

export function register(program: Command): void {
  const cmd = program
    .command('demo')
    .description('try ecrx with no AWS account: start an embedded ecrx serve and move a small image through it')
    .option('--keep', 'keep the demo directory instead of removing it');
  addExamples(cmd, [
    ['npm run demo'],
    ['ecrx demo --keep', 'look at the layout, the pulled image and the archive afterwards'],
  ]);
  cmd.action(async (flags) => runCommand(flags, async () => (await import('../demo-run.js')).runDemo(flags)));
}
