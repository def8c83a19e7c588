import { Command, InvalidArgumentError, Option } from 'commander';
import { runCommand } from '../run.js';
import { addExamples } from '../help.js';
import { parseProbability, parseNonNegativeInt, parsePort } from '../parse.js';
import { parseRate } from '../../core/rate.js';

function rate(v: string): number {
  const n = parseRate(v);
  if (n === undefined)
    throw new InvalidArgumentError('must be a byte rate such as 50MB/s, 100MiB/s or 1048576 (bytes per second)');
  return n;
}

export function register(program: Command): void {
  const cmd = program
    .command('serve')
    .description('run a local ECR-compatible endpoint (the ECR JSON API plus pre-signed download URLs)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 = any free port)', parsePort, 5000)
    .option('--data-dir <dir>', 'where repositories and blobs are kept (default: $XDG_DATA_HOME/ecrx/serve)')
    .option('--in-memory', 'keep everything in a temporary directory removed on exit')
    .option('--region <region>', 'region the endpoint reports', 'us-east-1')
    .option('--account-id <id>', 'the default registry id (12 digits)', '000000000000')
    .option('--url-ttl <seconds>', 'lifetime of pre-signed download URLs', parseNonNegativeInt, 3600)
    .option(
      '--restore-delay <seconds>',
      'how long restoring an archived image takes (ECR: up to 20 minutes)',
      parseNonNegativeInt,
      3,
    )
    .option(
      '--upload-expiry <seconds>',
      'forget an upload this long after its last part (UploadNotFoundException then, as ECR answers)',
      parseNonNegativeInt,
      86400,
    )
    .option('--access-key-id <id>', 'verify SigV4 signatures against this key (default: accept any key)')
    .option('--secret-access-key <secret>', 'the secret for --access-key-id')
    .option(
      '--latency <ms>',
      "add this many milliseconds to every API answer and to every download's first byte",
      parseNonNegativeInt,
    )
    .option(
      '--bandwidth-per-connection <rate>',
      'pace each download connection to this rate (S3 paces each connection), e.g. 50MB/s, 100MiB/s',
      rate,
    )
    .option('--bandwidth-total <rate>', 'pace all downloads together to this rate', rate)
    .addOption(
      new Option('--quotas <set>', "answer ThrottlingException over ECR's default per-operation request rates").choices(
        ['ecr', 'off'],
      ),
    )
    .addOption(
      new Option('--fault-throttle <p>', 'answer ThrottlingException with probability p').argParser(parseProbability),
    )
    .addOption(
      new Option('--fault-server-error <p>', 'answer 500 ServerException with probability p').argParser(
        parseProbability,
      ),
    )
    .addOption(
      new Option('--fault-cut <p>', 'cut blob downloads mid-body with probability p').argParser(parseProbability),
    )
    .addOption(
      new Option(
        '--fault-ignore-range <p>',
        'answer a ranged download with the whole blob (200, Range ignored) with probability p',
      ).argParser(parseProbability),
    )
    .addOption(
      new Option('--fault-slowdown <p>', 'answer downloads with S3 503 SlowDown with probability p').argParser(
        parseProbability,
      ),
    )
    .addOption(
      new Option('--fault-expire <p>', 'answer downloads with 403 "Request has expired" with probability p').argParser(
        parseProbability,
      ),
    )
    .addOption(
      new Option(
        '--fault-lose-part-response <p>',
        'drop the UploadLayerPart response after the part landed, with probability p',
      ).argParser(parseProbability),
    )
    .addOption(
      new Option('--fault-layer-lag <ms>', 'PutImage sees a just-completed layer only after ms milliseconds').argParser(
        parseNonNegativeInt,
      ),
    )
    .addOption(new Option('--fault-bandwidth <rate>', 'older name of --bandwidth-per-connection').argParser(rate))
    .addOption(
      new Option('--fault-seed <n>', 'seed for the fault generator, for repeatable runs').argParser(
        parseNonNegativeInt,
      ),
    )
    .option('--log', 'print one line per API call on stderr')
    .option('--json', 'print the ready line as a JSON envelope');
  addExamples(cmd, [
    ['ecrx serve --port 0 --json'],
    ['ecrx serve --in-memory --fault-throttle 0.2 --fault-cut 0.3 --fault-seed 7'],
    ['ecrx serve --in-memory --latency 50 --bandwidth-per-connection 50MB/s --quotas ecr', 'a link like a real one'],
    ['AWS_ENDPOINT_URL_ECR=http://127.0.0.1:5000 ecrx pull demo/app:1.0'],
  ]);
  cmd.action(async (flags) =>
    runCommand(flags, async () => (await import('../../serve/serve-command.js')).serve(flags)),
  );
}
