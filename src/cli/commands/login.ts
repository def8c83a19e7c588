import { Command } from 'commander';
import { runCommand } from '../run.js';
import { addEcrOptions } from '../common.js';
import { addExamples } from '../help.js';
import { interruptible } from '../interrupt.js';

export function register(program: Command): void {
  const cmd = program
    .command('login')
    .description('get an ECR registry login (GetAuthorizationToken) for docker and other registry clients')
    .option('--print-password', 'print only the password, for docker login --password-stdin')
    .option(
      '--docker-config <path>',
      'write the auth into this docker config (default: $DOCKER_CONFIG/config.json or ~/.docker/config.json)',
    );
  addEcrOptions(cmd);
  addExamples(cmd, [
    [
      'ecrx login --print-password | docker login --username AWS --password-stdin 123456789012.dkr.ecr.us-east-1.amazonaws.com',
    ],
    ['ecrx login --docker-config ./ci-docker/config.json'],
  ]);
  cmd.action(async (flags) =>
    runCommand(
      flags,
      async () => {
        const { login } = await import('../actions/login.js');
        await interruptible((signal) => login(flags, signal));
      },
      { quiet: (d) => d.dockerConfig },
    ),
  );
}
