import { Argument, Command } from 'commander';
import { runCommand } from '../run.js';
import { addExamples } from '../help.js';
import { SHELLS, complete, completionScript, type RegistryLookup } from '../completion.js';

export function register(program: Command): void {
  const cmd = program
    .command('completion')
    .description(
      'print the shell completion script for bash, zsh or fish (repositories and tags complete from the registry when credentials are there)',
    )
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(SHELLS));
  addExamples(cmd, [
    ['source <(ecrx completion bash)', 'in ~/.bashrc'],
    ['source <(ecrx completion zsh)', 'in ~/.zshrc, after compinit'],
    ['ecrx completion fish > ~/.config/fish/completions/ecrx.fish'],
  ]);
  cmd.action(async (shell: string) => runCommand({}, async () => void process.stdout.write(completionScript(shell))));
}

/** `ecrx __complete WORDS... CURRENT`, the scripts' back end: never fails, prints nothing it is not sure of. */
export async function runComplete(program: Command, words: string[]): Promise<void> {
  const result = await complete(program, words, registryLookup()).catch(() => ({
    directive: 'words',
    candidates: [] as string[],
  }));
  process.stdout.write(`${[result.directive, ...result.candidates].join('\n')}\n`);
}

/** Repositories and tags from ECR, only when credentials (or a local endpoint) are there, and quickly. */
function registryLookup(): RegistryLookup {
  const connect = async (flags: Record<string, string>) => {
    const { credentialsConfigured, configuredEndpoint, isLoopbackUrl, Ecr } = await import('../../ecr/client.js');
    const conn = {
      region: flags['--region'],
      profile: flags['--profile'],
      endpointUrl: flags['--endpoint-url'],
      registryId: flags['--registry-id'],
      maxAttempts: 1,
    };
    if (!credentialsConfigured(conn.profile) && !isLoopbackUrl(configuredEndpoint(conn))) return undefined;
    return Ecr.connect(conn);
  };
  const withTimeout = async <T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    const signal = AbortSignal.timeout(3000);
    return fn(signal);
  };
  return {
    async repositories(flags) {
      const ecr = await connect(flags);
      if (!ecr) return [];
      try {
        return await withTimeout(async (signal) => {
          const out = await ecr.call('DescribeRepositories', ecr.withRegistry({ maxResults: 1000 }), {
            retry: false,
            signal,
          });
          return (out.repositories ?? []).map((r) => String(r.repositoryName)).sort();
        });
      } finally {
        ecr.destroy();
      }
    },
    async tags(repository, flags) {
      const ecr = await connect(flags);
      if (!ecr) return [];
      try {
        return await withTimeout(async (signal) => {
          const out = await ecr.call(
            'ListImages',
            ecr.withRegistry({ repositoryName: repository, filter: { tagStatus: 'TAGGED' }, maxResults: 1000 }),
            { retry: false, signal },
          );
          return [...new Set<string>((out.imageIds ?? []).map((i) => String(i.imageTag)))].sort();
        });
      } finally {
        ecr.destroy();
      }
    },
  };
}
