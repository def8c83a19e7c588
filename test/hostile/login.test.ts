/**
 * Hostile and mistaken docker config paths for `ecrx login`, as a list: each case names what it is, the exit and
 * error code it must give, and what must be true of the user's files afterwards.
 */
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  lstatSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe, type Serve } from '../helpers/serve.js';
import { runCli, testEnv } from '../helpers/cli.js';

let serve: Serve;
let work: string;
const REGISTRY = '000000000000.dkr.ecr.us-east-1.amazonaws.com';

beforeAll(async () => {
  serve = await startServe();
  work = mkdtempSync(join(tmpdir(), 'ecrx-hostile-login-'));
});
afterAll(async () => {
  await serve.dispose();
  rmSync(work, { recursive: true, force: true });
});

const login = (config: string, extra: string[] = []) =>
  runCli(['login', '--docker-config', config, '--json', ...extra], { env: testEnv(serve.endpoint), cwd: work });
const authOf = (file: string) => JSON.parse(readFileSync(file, 'utf8')).auths?.[REGISTRY]?.auth as string | undefined;
const leftovers = (dir: string) => readdirSync(dir).filter((n) => n.includes('.ecrx-'));

interface Refused {
  name: string;
  /** Lays out the case under `dir` and returns the path given to --docker-config. */
  setup: (dir: string) => string;
  exit: number;
  code: string;
}

const refused: Refused[] = [
  {
    name: 'a config that is not JSON',
    setup: (d) => file(d, 'config.json', '{"auths": {'),
    exit: 2,
    code: 'VALIDATION_ERROR',
  },
  {
    name: 'a config that is a JSON array',
    setup: (d) => file(d, 'config.json', '[]'),
    exit: 2,
    code: 'VALIDATION_ERROR',
  },
  {
    name: 'a config that is JSON null',
    setup: (d) => file(d, 'config.json', 'null'),
    exit: 2,
    code: 'VALIDATION_ERROR',
  },
  {
    name: 'a config whose auths is a string',
    setup: (d) => file(d, 'config.json', '{"auths":"x"}'),
    exit: 2,
    code: 'VALIDATION_ERROR',
  },
  {
    name: 'a config path that is a directory',
    setup: (d) => (mkdirSync(join(d, 'config.json')), join(d, 'config.json')),
    exit: 8,
    code: 'OUTPUT_ERROR',
  },
  {
    name: 'a symlink loop',
    setup: (d) => (symlinkSync('b', join(d, 'a')), symlinkSync('a', join(d, 'b')), join(d, 'a')),
    exit: 8,
    code: 'OUTPUT_ERROR',
  },
  {
    name: 'a config under a regular file',
    setup: (d) => join(file(d, 'plain', 'x'), 'config.json'),
    exit: 8,
    code: 'OUTPUT_ERROR',
  },
];

function file(dir: string, name: string, content: string): string {
  writeFileSync(join(dir, name), content);
  return join(dir, name);
}

describe('login refuses a config it must not overwrite, and leaves it as it was', () => {
  test.each(refused)('$name: exit $exit, $code', async ({ setup, exit, code }) => {
    const dir = mkdtempSync(join(work, 'case-'));
    const path = setup(dir);
    const before = readdirSync(dir).map((n) => [
      n,
      lstatSync(join(dir, n)).isFile() ? readFileSync(join(dir, n), 'utf8') : 'not a file',
    ]);
    const res = await login(path);
    expect(res).toExitWith(exit);
    expect(JSON.parse(res.stdout).error.code).toBe(code);
    expect(res.stderr).not.toMatch(/\n\s+at /);
    expect(
      readdirSync(dir).map((n) => [
        n,
        lstatSync(join(dir, n)).isFile() ? readFileSync(join(dir, n), 'utf8') : 'not a file',
      ]),
    ).toEqual(before);
  });
});

describe('login writes through links and keeps what else the config holds', () => {
  test('a symlinked config stays a symlink; its target gets the auth, mode 0600', async () => {
    const dir = mkdtempSync(join(work, 'link-'));
    mkdirSync(join(dir, 'dotfiles'));
    const target = file(
      join(dir, 'dotfiles'),
      'docker.json',
      JSON.stringify({ auths: { 'other.example': { auth: 'b3RoZXI=' } }, psFormat: 'table' }),
    );
    const link = join(dir, 'config.json');
    symlinkSync('dotfiles/docker.json', link);
    const res = await login(link);
    expect(res).toExitWith(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe('dotfiles/docker.json');
    const written = JSON.parse(readFileSync(target, 'utf8'));
    expect(written.psFormat).toBe('table');
    expect(written.auths['other.example']).toEqual({ auth: 'b3RoZXI=' });
    expect(Buffer.from(authOf(target)!, 'base64').toString()).toMatch(/^AWS:ecrx-serve\./);
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(leftovers(dir)).toEqual([]);
    expect(leftovers(join(dir, 'dotfiles'))).toEqual([]);
  });

  test('a dangling symlink creates the file it points at', async () => {
    const dir = mkdtempSync(join(work, 'dangling-'));
    mkdirSync(join(dir, 'real'));
    const link = join(dir, 'config.json');
    symlinkSync(join(dir, 'real', 'config.json'), link);
    expect(await login(link)).toExitWith(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(authOf(join(dir, 'real', 'config.json'))).toEqual(expect.any(String));
  });

  test('a credential helper that docker would ask first is pointed out', async () => {
    const dir = mkdtempSync(join(work, 'helper-'));
    const path = file(dir, 'config.json', JSON.stringify({ credsStore: 'desktop' }));
    const res = await runCli(['login', '--docker-config', path], { env: testEnv(serve.endpoint), cwd: work });
    expect(res).toExitWith(0);
    expect(res.stderr).toContain("names the credential helper 'desktop'");
    expect(authOf(path)).toEqual(expect.any(String));
  });
});
