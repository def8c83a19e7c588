/**
 * Interop tests need real tools (aws, skopeo, umoci, docker-registry and htpasswd). Locally a missing tool skips its tests with a notice; in CI
 * (CI=true) a missing tool fails them, so they can never silently not run there.
 */
import { spawnSync } from 'node:child_process';

export function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** `describe` when the tool is there (or in CI, where its absence then fails loudly); `describe.skip` otherwise. */
export function describeWithTool(tools: string | string[], name: string, fn: () => void): void {
  const list = Array.isArray(tools) ? tools : [tools];
  const tool = list.join(', ');
  if (list.every(hasTool) || process.env.CI === 'true') {
    describe(name, () => {
      beforeAll(() => {
        const absent = list.filter((t) => !hasTool(t));
        if (absent.length)
          throw new Error(`${absent.join(', ')} is required in CI but is not installed (.ci/run installs it)`);
      });
      fn();
    });
  } else {
    process.stderr.write(`note: ${tool} not installed: skipping "${name}" (it runs in CI)\n`);
    describe.skip(name, fn);
  }
}
