#!/usr/bin/env node
/**
 * `npm run prepare`: builds dist/ with tsc. npm runs it after `npm install` in a clone, before `npm pack`, and for
 * `npm install -g .` from a clone, where npm links the clone without installing anything in it: neither its
 * dependencies nor TypeScript are there yet. In that case (no TypeScript next to this script) the clone's own
 * dependencies are installed first, scripts off so this does not run twice, then the build runs.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

function run(command, args) {
  const res = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: cleanEnv() });
  if (res.error) throw res.error;
  if (res.status !== 0) process.exit(res.status ?? 1);
}

/** The environment without npm's own settings for the outer command (global, prefix, ...). */
function cleanEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return env;
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

if (!existsSync(tsc)) {
  console.error('ecrx: installing its dependencies and the build tools into the clone (npm install -g . links the clone as it is)');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const common = ['--global=false', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'];
  run(npm, ['install', '--omit=dev', ...common]);
  // Only what the build needs of the dev dependencies (not the test runner), at the versions package.json names.
  const tools = Object.entries(pkg.devDependencies).filter(([name]) => name === 'typescript' || (name.startsWith('@types/') && name !== '@types/jest'));
  run(npm, ['install', '--no-save', ...common, ...tools.map(([name, range]) => `${name}@${range}`)]);
}
// dist/src is what runs and what the package ships; `npm run build` also compiles the tests.
rmSync(join(root, 'dist'), { recursive: true, force: true });
run(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')]);
