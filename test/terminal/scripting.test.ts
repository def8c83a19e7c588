/**
 * What scripts and new users touch: -q prints just the result, `tags` filters and lists untagged images,
 * `inspect --raw --json` honours --json, defaults from ECRX_* variables, `ecrx version` / -v, bash completion
 * (repositories and tags from the registry), and help that wraps at word boundaries in 40, 60 and 80 columns.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BIN, runCli, testEnv } from '../helpers/cli.js';
import { startServe, type Serve } from '../helpers/serve.js';
import { createRepo, pushBuilt, putManifest, sdk } from '../helpers/ecr.js';
import { buildImage, writeLayout } from '../../src/oci/build.js';
import { Pane } from '../helpers/tmux.js';

let work: string;
let serve: Serve;
let v1: Awaited<ReturnType<typeof buildImage>>;
let orphan: Awaited<ReturnType<typeof buildImage>>;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ecrx-scripting-'));
  serve = await startServe();
  const ecr = sdk(serve.endpoint);
  await createRepo(ecr, 'sc/app');
  await createRepo(ecr, 'sc/other');
  v1 = await buildImage([[{ path: 'a', content: 'one' }]], { created: '2026-01-01T00:00:00Z' });
  await pushBuilt(ecr, 'sc/app', v1, 'v1.0');
  await putManifest(ecr, 'sc/app', v1.manifest.bytes, 'v1.1');
  await putManifest(ecr, 'sc/app', v1.manifest.bytes, 'release-2');
  orphan = await buildImage([[{ path: 'b', content: 'two' }]], { created: '2026-02-01T00:00:00Z' });
  await pushBuilt(ecr, 'sc/app', orphan); // untagged
  ecr.destroy();
  await writeLayout(join(work, 'layout'), [v1], { refName: 'v1' });
});

afterAll(async () => {
  await serve?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
  runCli(args, { env: testEnv(serve.endpoint, extra), cwd: work });

test('-q prints just the result, one per line: the digest for pull, push, copy and inspect, the path for export', async () => {
  const pull = await cli(['pull', 'sc/app:v1.0', '-o', 'q-pull', '--cache-dir', 'c', '-q']);
  expect(pull).toExitWith(0);
  expect(pull.stdout).toBe(`${v1.manifest.digest}\n`);
  expect(pull.stderr).toBe('');
  const push = await cli(['push', 'layout', 'sc/other:pushed', '--cache-dir', 'c', '-q']);
  expect(push.stdout).toBe(`${v1.manifest.digest}\n`);
  const copy = await cli(['copy', 'sc/app:v1.0', 'sc/other:copied', '--cache-dir', 'c', '-q']);
  expect(copy.stdout).toBe(`${v1.manifest.digest}\n`);
  const inspect = await cli(['inspect', 'sc/app:v1.0', '-q']);
  expect(inspect.stdout).toBe(`${v1.manifest.digest}\n`);
  const exp = await cli(['export', 'sc/app:v1.0', 'rootfs.tar', '--cache-dir', 'c', '-q']);
  expect(exp.stdout).toBe(`${join(work, 'rootfs.tar')}\n`);
  const repos = await cli(['repos', '-q']);
  expect(repos.stdout.split('\n').filter(Boolean).sort()).toEqual(['sc/app', 'sc/other']);
});

test('tags: a header, --filter by glob, --untagged and --all, --no-trunc, and --json with every field', async () => {
  const table = await cli(['tags', 'sc/app']);
  expect(table).toExitWith(0);
  const rows = table.stdout.trimEnd().split('\n');
  expect(rows[0]).toMatch(/^TAG +DIGEST +SIZE +PUSHED$/);
  expect(
    rows
      .slice(1)
      .map((r) => r.split(/\s+/)[0])
      .sort(),
  ).toEqual(['release-2', 'v1.0', 'v1.1']);
  expect(rows[1]).toMatch(/ sha256:[0-9a-f]{12} /);

  expect((await cli(['tags', 'sc/app', '--filter', 'v1.*', '-q'])).stdout.split('\n').filter(Boolean).sort()).toEqual([
    'v1.0',
    'v1.1',
  ]);
  expect(
    (await cli(['tags', 'sc/app', '--filter', 'release-?', '--filter', 'v1.0', '-q'])).stdout
      .split('\n')
      .filter(Boolean)
      .sort(),
  ).toEqual(['release-2', 'v1.0']);
  const none = await cli(['tags', 'sc/app', '--filter', 'nope*']);
  expect(none.stdout).toContain("No tags of sc/app match 'nope*'");

  expect((await cli(['tags', 'sc/app', '--untagged', '-q'])).stdout).toBe(`${orphan.manifest.digest}\n`);
  const all = JSON.parse((await cli(['tags', 'sc/app', '--all', '--json'])).stdout).data.tags;
  expect(all).toHaveLength(4);
  expect(all.find((t: { tag: string | null }) => t.tag === null)).toEqual({
    tag: null,
    digest: orphan.manifest.digest,
    size: expect.any(Number),
    pushedAt: expect.any(String),
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    status: 'ACTIVE',
  });
  expect(all.find((t: { tag: string | null }) => t.tag === 'v1.0').digest).toBe(v1.manifest.digest);
  const untaggedTable = await cli(['tags', 'sc/app', '--all', '--no-trunc']);
  expect(untaggedTable.stdout).toMatch(new RegExp(`^<none> +${orphan.manifest.digest} `, 'm'));
});

test('inspect --raw --json: one envelope holding the exact stored bytes', async () => {
  const res = await cli(['inspect', 'sc/app:v1.0', '--raw', '--json']);
  expect(res).toExitWith(0);
  const data = JSON.parse(res.stdout).data;
  expect(data).toEqual({
    digest: v1.manifest.digest,
    mediaType: v1.manifest.mediaType,
    size: v1.manifest.size,
    raw: v1.manifest.bytes.toString('utf8'),
  });
  const config = JSON.parse((await cli(['inspect', 'sc/app:v1.0', '--raw', '--config', '--json'])).stdout).data;
  expect(config.raw).toBe(v1.config.bytes.toString('utf8'));
  expect(config.digest).toBe(v1.config.digest);
});

test('ECRX_OUTPUT_FORMAT, ECRX_PLATFORM and ECRX_CONCURRENCY set defaults; a bad value names the variable', async () => {
  const res = await cli(['pull', 'sc/app:v1.0', '-o', 'env.tar', '--cache-dir', 'c', '--json'], {
    ECRX_OUTPUT_FORMAT: 'docker-archive',
    ECRX_PLATFORM: 'linux/amd64',
    ECRX_CONCURRENCY: '2',
  });
  expect(res).toExitWith(0);
  expect(JSON.parse(res.stdout).data).toMatchObject({ format: 'docker-archive', platform: 'linux/amd64' });
  const wrong = await cli(['pull', 'sc/app:v1.0', '--cache-dir', 'c'], { ECRX_PLATFORM: 'linux/s390x' });
  expect(wrong).toExitWith(3);
  expect(wrong.stderr).toContain('not linux/s390x');
  const bad = await cli(['pull', 'sc/app:v1.0'], { ECRX_CONCURRENCY: 'lots' });
  expect(bad).toExitWith(2);
  expect(bad.stderr).toContain("value 'lots' from env 'ECRX_CONCURRENCY' is invalid");
});

test('ecrx version, -v and -V', async () => {
  const version = (await cli(['-v'])).stdout.trim();
  expect(version).toMatch(/^\d+\.\d+\.\d+$/);
  expect((await cli(['-V'])).stdout.trim()).toBe(version);
  const full = await cli(['version']);
  expect(full.stdout).toMatch(
    new RegExp(
      `^ecrx ${version.replace(/\./g, '\\.')}\nNode\\.js \\d+\\.\\d+\\.\\d+ \\(\\w+/\\w+\\)\n@aws-sdk/client-ecr 3\\.`,
    ),
  );
  expect((await cli(['version', '-q'])).stdout).toBe(`${version}\n`);
  expect(JSON.parse((await cli(['version', '--json'])).stdout).data.version).toBe(version);
});

test('bash completion: commands, options, option values, and repositories and tags from the registry', async () => {
  const script = await cli(['completion', 'bash']);
  expect(script).toExitWith(0);
  writeFileSync(join(work, 'ecrx.bash'), script.stdout);
  // `ecrx` on PATH, as a user has it, and the completion function called as bash calls it on Tab.
  writeFileSync(join(work, 'ecrx'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, { mode: 0o755 });
  const complete = (line: string) => {
    const res = spawnSync(
      'bash',
      [
        '--norc',
        '--noprofile',
        '-c',
        `source ecrx.bash; COMP_LINE=${JSON.stringify(line)}; COMP_POINT=\${#COMP_LINE}; _ecrx_completion; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ],
      {
        cwd: work,
        encoding: 'utf8',
        env: { ...testEnv(serve.endpoint), PATH: `${work}:${dirname(process.execPath)}:${process.env.PATH}` },
      },
    );
    return res.stdout.split('\n').filter(Boolean).sort();
  };
  expect(complete('ecrx pu')).toEqual(['pull', 'push']);
  expect(complete('ecrx tags sc/app --fi')).toEqual(['--filter']);
  expect(complete('ecrx pull x --platform linux/arm')).toEqual(['linux/arm/v6', 'linux/arm/v7', 'linux/arm64']);
  expect(complete('ecrx completion ')).toEqual(['bash', 'fish', 'zsh']);
  expect(complete('ecrx pull sc/')).toEqual(['sc/app:', 'sc/other:']);
  // bash splits the word at ':', so the candidates are what follows it.
  expect(complete('ecrx pull sc/app:v1')).toEqual(['v1.0', 'v1.1']);
  expect(complete('ecrx tags s')).toEqual(['sc/app', 'sc/other']);
  for (const shell of ['zsh', 'fish']) {
    const other = await cli(['completion', shell]);
    expect(other).toExitWith(0);
    expect(other.stdout).toContain('ecrx __complete');
  }
  expect(await cli(['completion', 'tcsh'])).toExitWith(2);
});

test.each([40, 60, 80])(
  'help at %d columns wraps at word boundaries and groups the shared ECR options',
  async (cols) => {
    const pane = Pane.open({ cols, rows: 200, env: testEnv(serve.endpoint), cwd: work });
    try {
      pane.ecrx('pull --help');
      await pane.exitCode(20_000);
      const screen = pane.screen().filter((l) => !/^EXIT=|^\$/.test(l));
      // Nothing reached the last column, so the terminal never wrapped a line itself; unless one word (a long URI in
      // an example command, which cannot be broken without changing the command) is wider than the terminal.
      for (const l of screen)
        if (l.length >= cols) expect(l.trim().split(/\s+/).pop()!.length).toBeGreaterThan(cols - 10);
      const text = screen.join('\n');
      expect(text).toContain('AWS and ECR options:');
      expect(text).toContain('Output options:');
      expect(text).toContain('Examples:');
      // A word is never split: every line ends at a word's end, or after a / . , | - : inside a long one, or with " \".
      const words = new Set(
        spawnSync(process.execPath, [BIN, 'pull', '--help'], { encoding: 'utf8' }).stdout.split(/\s+/),
      );
      const rows = screen.filter((l) => l.trim());
      for (let i = 0; i < rows.length - 1; i++) {
        if (rows[i].length >= cols) continue; // the one overlong word, checked above
        const last = rows[i].trim().split(/\s+/).pop()!;
        // (or a piece of such a long word: only words wider than a description column are ever broken)
        if (
          words.has(last) ||
          last === '\\' ||
          /[/.,|:-]$/.test(last) ||
          (last.length > 15 && [...words].join('').includes(last)) ||
          [...words].some((w) => w.length > 15 && w.endsWith(last))
        )
          continue;
        throw new Error(`line ${i} ends mid-word ('${last}'):\n${rows[i]}\n${rows[i + 1]}`);
      }
    } finally {
      pane.close();
    }
  },
);
