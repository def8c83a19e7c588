#!/usr/bin/env node
/**
 * `npm run prepare`: builds dist/ with tsc. npm runs it after `npm install` in a clone, before `npm pack`, and for
 * `npm install -g .` from a clone, where npm links the clone without installing anything in it: neither its
 * dependencies nor TypeScript are there yet. In that case (no TypeScript next to this script) the clone's own
 * dependencies are installed first, scripts off so this does not run twice, then the build runs.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
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

if (!existsSync(tsc)) {
  console.error(
    'ecrx: installing its dependencies and the build tools into the clone (npm install -g . links the clone as it is)',
  );
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  run(npm, [
    'install',
    '--global=false',
    '--include=dev',
    '--ignore-scripts',
    '--no-audit',
    '--no-fund',
    '--prefer-offline',
  ]);
}
// dist/src is what runs and what the package ships (`npm run build` also compiles the tests). Incremental, with its
// record inside dist/ (so a clean build starts from nothing): `npm pack` right after an install does not compile twice.
run(process.execPath, [
  tsc,
  '-p',
  join(root, 'tsconfig.build.json'),
  '--incremental',
  '--tsBuildInfoFile',
  join(root, 'dist', '.build.tsbuildinfo'),
]);
pruneStale(join(root, 'dist', 'src'), join(root, 'src'));
// The bundle bin/ecrx starts from (scripts/bundle.mjs); without esbuild it runs dist/src instead.
await (await import('./bundle.mjs')).bundle();

/** Removes compiled files whose source is gone, so a package never ships a module that no longer exists. */
function pruneStale(out, src) {
  if (!existsSync(out)) return;
  for (const entry of readdirSync(out, { withFileTypes: true })) {
    const path = join(out, entry.name);
    if (entry.isDirectory()) {
      if (!existsSync(join(src, entry.name))) rmSync(path, { recursive: true, force: true });
      else pruneStale(path, join(src, entry.name));
      continue;
    }
    const base = entry.name.replace(/\.js(\.map)?$/, '');
    if (base !== entry.name && !existsSync(join(src, `${base}.ts`))) rmSync(path, { force: true });
  }
}
