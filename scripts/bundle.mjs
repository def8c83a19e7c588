#!/usr/bin/env node
/**
 * Bundles the compiled CLI (dist/src, from tsc) into dist/bundle with esbuild: a handful of files instead of some
 * hundred ES modules, which is most of the CLI's start-up (about 100 ms of a pull's 400 ms here). Dynamic imports
 * stay chunks of their own, so a command still loads only what it uses; dependencies stay in node_modules.
 *
 * dist/bundle/inputs.json lists every compiled file the bundle was made from, with its modification time: bin/ecrx
 * runs the bundle only while all of them are unchanged, and dist/src otherwise (after a bare `tsc`), so a bundle can
 * make the CLI faster but never older than its build. Without esbuild (an install without dev dependencies) there is
 * no bundle and bin/ecrx runs dist/src.
 */
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'bundle');

export async function bundle() {
  rmSync(out, { recursive: true, force: true });
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    console.error('ecrx: esbuild is not installed: no bundle, bin/ecrx runs dist/src (a slower start)');
    return;
  }
  const entry = join(root, 'dist', 'src', 'cli', 'main.js');
  if (!existsSync(entry)) throw new Error(`${relative(root, entry)} is missing: run tsc first`);
  const result = await esbuild.build({
    entryPoints: [entry],
    outdir: out,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    chunkNames: 'chunks/[name]-[hash]',
    absWorkingDir: root,
    metafile: true,
    logLevel: 'warning',
  });
  const inputs = Object.keys(result.metafile.inputs)
    .filter((p) => p.startsWith('dist/src/'))
    .map((p) => [p, statSync(join(root, p)).mtimeMs]);
  writeFileSync(join(out, 'inputs.json'), JSON.stringify(inputs));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await bundle();
