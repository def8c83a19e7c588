/**
 * The ecrx command line. Only commander is loaded here: each command loads the AWS SDK and the UI libraries
 * itself, when it runs, so `ecrx --help` and `ecrx --version` start fast.
 */
import { Command, type CommanderError } from 'commander';
import { packageVersion } from './version.js';
import { addExamples, configureHelp } from './help.js';
import { writeJson } from './output.js';
import { applyRunOptions, noResumeOption } from './common.js';
import { register as registerServe } from './commands/serve.js';
import { register as registerDemo } from './commands/demo.js';
import { register as registerPull } from './commands/pull.js';
import { register as registerPush } from './commands/push.js';
import { register as registerInspect } from './commands/inspect.js';
import { register as registerTags } from './commands/tags.js';
import { register as registerCopy } from './commands/copy.js';
import { register as registerSync } from './commands/sync.js';
import { register as registerExport } from './commands/export.js';
import { register as registerConvert } from './commands/convert.js';
import { register as registerRm } from './commands/rm.js';
import { register as registerLogin } from './commands/login.js';
import { register as registerCache } from './commands/cache.js';
import { register as registerStorageClass } from './commands/storage-class.js';
import { register as registerReferrers } from './commands/referrers.js';
import { register as registerTag } from './commands/tag.js';
import { register as registerReposCreate } from './commands/repos-create.js';
import { register as registerVersion } from './commands/version.js';
import { register as registerCompletion, runComplete } from './commands/completion.js';

export function buildProgram(): Command {
  const program = new Command('ecrx')
    .description(
      'Move container images into and out of Amazon ECR through the ECR API: no Docker daemon, no registry protocol.',
    )
    .version(packageVersion(), '-v, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)');
  configureHelp(program);
  // --no-resume also works before the command (`ecrx --no-resume pull ...`); -j is the run's connection ceiling.
  program
    .addOption(noResumeOption())
    .hook('preAction', (_program, action) => applyRunOptions({ ...program.opts(), ...action.opts() }));
  program.commandsGroup('Images:');
  registerPull(program);
  registerPush(program);
  registerInspect(program);
  registerTags(program);
  registerReposCreate(program);
  registerTag(program);
  registerCopy(program);
  registerSync(program);
  registerExport(program);
  registerConvert(program);
  registerRm(program);
  program.commandsGroup('Registry, cache and tools:');
  registerLogin(program);
  registerCache(program);
  registerReferrers(program);
  registerStorageClass(program);
  registerServe(program);
  registerDemo(program);
  registerVersion(program);
  registerCompletion(program);
  program.helpCommand('help [command]', 'show the help of a command');
  addExamples(
    program,
    [
      ['ecrx pull my-app:1.4', 'into ./my-app-1.4 (OCI layout)'],
      ['docker save my-app:1.4 | ecrx push - my-app:1.4'],
      ["ecrx tags my-app --json | jq -r '.data.tags[0].tag'"],
      ['ecrx serve --port 0', 'a local ECR endpoint for tests and demos'],
      ['source <(ecrx completion bash)', 'tab completion, repositories and tags included'],
    ],
    'Exit codes: 0 ok, 2 usage, 3 not found, 4 auth, 5 integrity, 6 network/throttling, 7 conflict, 8 local I/O, 9 archived (restore first), 10 sync incomplete, 130 interrupted. ' +
      "Credentials and region come from the AWS SDK's usual sources (env, profiles, SSO, web identity, instance roles). " +
      'ECRX_PLATFORM, ECRX_CONCURRENCY and ECRX_OUTPUT_FORMAT set defaults for the options of the same name.',
  );
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // ecrx supports Node 20; the SDK's advice to upgrade is not something a pipeline can act on mid-run.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const program = buildProgram();
  // The completion scripts' back end: words are passed through untouched, not parsed as options.
  if (argv[2] === '__complete') return runComplete(program, argv.slice(3));
  // -V as well as -v: both spellings are common (commander's and docker's).
  const args = argv.map((a, i) => (i === 2 && a === '-V' ? '--version' : a));
  const onExit = (err: CommanderError) => {
    // Commander already printed its message on stderr; usage errors exit 2 as documented, help and version exit 0.
    // A script that asked for --json still gets its one envelope on stdout.
    if (err.exitCode !== 0 && args.includes('--json')) {
      const message = err.message.replace(/^error: /, '');
      writeJson({
        success: false,
        error: { code: 'VALIDATION_ERROR', message, hint: 'Run the command with --help for its usage.' },
      });
    }
    process.exit(err.exitCode === 0 ? 0 : 2);
  };
  // Subcommands inherit settings only when created after them, so every command gets the override itself.
  const override = (cmd: Command) => {
    cmd.exitOverride(onExit);
    cmd.commands.forEach(override);
  };
  override(program);
  await program.parseAsync(args);
}
