/**
 * Installing from a clone, as the README says, on a machine that has nothing of ecrx yet: a copy of the source tree
 * (no node_modules, no dist), `npm install -g .` into a throwaway prefix, then `npm pack` and the tarball installed
 * into another. Both `ecrx` commands must run. npm's cache is warm here, so this works offline; with a cold cache
 * it reaches the npm registry.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT } from '../helpers/cli.js';

let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ecrx-install-'));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The source tree as a fresh clone has it: tracked and new files, nothing ignored (no node_modules, no dist). */
function freshCopy(to: string): void {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .split('\0')
    .filter(Boolean);
  for (const f of files) {
    if (!existsSync(join(ROOT, f))) continue; // deleted in the work tree but not yet committed
    mkdirSync(dirname(join(to, f)), { recursive: true });
    copyFileSync(join(ROOT, f), join(to, f));
  }
}

/** npm with nothing of the outer npm's settings (jest may itself run under `npm test`). */
function npm(args: string[], cwd: string) {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  const res = spawnSync('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd,
    env,
    encoding: 'utf8',
    timeout: 240_000,
  });
  return { code: res.status, out: `${res.stdout}\n${res.stderr}`, stdout: res.stdout };
}

function ecrxIn(prefix: string, args: string[]) {
  return spawnSync(join(prefix, 'bin', 'ecrx'), args, {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: work },
  });
}

test('the README install line, then npm pack and the tarball, each into a throwaway prefix', () => {
  const clone = join(work, 'clone');
  freshCopy(clone);
  expect(existsSync(join(clone, 'node_modules'))).toBe(false);
  expect(existsSync(join(clone, 'dist'))).toBe(false);

  // README: `npm install -g .` in a fresh clone.
  const linked = join(work, 'prefix-link');
  const install = npm(['install', '-g', '.', '--prefix', linked], clone);
  expect({ code: install.code, out: install.out.slice(-3000) }).toEqual({ code: 0, out: expect.any(String) });
  const v1 = ecrxIn(linked, ['--version']);
  expect(v1.stdout).toBe(
    `${JSON.parse(execFileSync('node', ['-p', 'JSON.stringify(require("./package.json").version)'], { cwd: ROOT, encoding: 'utf8' }))}\n`,
  );
  expect(ecrxIn(linked, ['version', '--json']).stdout).toMatch(/"awsSdk":"3\./);

  // `npm pack`, then the tarball installed elsewhere: it must carry everything it needs.
  const pack = npm(['pack', '--pack-destination', work], clone);
  expect({ code: pack.code, out: pack.out.slice(-3000) }).toEqual({ code: 0, out: expect.any(String) });
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  expect(tarball).toMatch(/^ecrx-\d+\.\d+\.\d+\.tgz$/);
  const copied = join(work, 'prefix-tarball');
  const fromTarball = npm(['install', '-g', join(work, tarball!), '--prefix', copied], work);
  expect({ code: fromTarball.code, out: fromTarball.out.slice(-3000) }).toEqual({ code: 0, out: expect.any(String) });
  expect(ecrxIn(copied, ['--version']).stdout).toBe(v1.stdout);
  // The installed copy works without the clone (a real command, not only --version).
  rmSync(clone, { recursive: true, force: true });
  const help = ecrxIn(copied, ['pull', '--help']);
  expect(help.status).toBe(0);
  expect(help.stdout).toContain('Usage: ecrx pull');
}, 480_000);
