import { readFileSync } from 'node:fs';

/**
 * The package version, from the package.json of the directory that holds bin/ and dist/: found by walking up from
 * this file, which is in dist/src/cli or, bundled, in dist/bundle.
 */
export function packageVersion(): string {
  for (let dir = new URL('./', import.meta.url); ; dir = new URL('../', dir)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'ecrx') return pkg.version;
    } catch {
      // no package.json here: one level up
    }
    if (new URL('../', dir).href === dir.href) throw new Error('the package.json of ecrx was not found');
  }
}
