/** The plan file: the form and the richer ones, and every mistake reported at its line and column. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EcrxError, ExitCode } from '../../src/core/errors.js';
import { loadPlan, parsePlan } from '../../src/sync/plan.js';

function problems(text: string): string[] {
  try {
    parsePlan(text, 'plan.yaml');
  } catch (err) {
    if (!(err instanceof EcrxError)) throw err;
    expect(err.code).toBe('VALIDATION_ERROR');
    expect(err.exitCode).toBe(ExitCode.USAGE);
    expect(err.hint).toMatch(/Mirroring/);
    return err.message.split('\n');
  }
  throw new Error('expected the plan to be refused');
}

test("the issue's form: a repository with tag globs, and one image", () => {
  const plan = parsePlan(
    `sync:
  - source: docker.io/library/alpine     # a repository: tags chosen below
    target: mirror/alpine                # an ECR repository, created if missing
    tags: ["3.20", "3.21*"]              # globs
  - source: ghcr.io/org/app:1.4          # one image
    target: mirror/app
`,
    'plan.yaml',
  );
  expect(plan.shards).toBeUndefined();
  expect(plan.entries).toHaveLength(2);
  const [alpine, app] = plan.entries;
  expect(alpine.ref).toMatchObject({ registry: { host: 'docker.io' }, repository: 'library/alpine' });
  expect(alpine.tags?.include.map((p) => p.kind)).toEqual(['exact', 'glob']);
  expect(alpine.target).toBe('mirror/alpine');
  expect(alpine.where).toBe('plan.yaml:2:5');
  expect(app).toMatchObject({ source: 'ghcr.io/org/app:1.4', ref: { tag: '1.4' }, target: 'mirror/app' });
  expect(app.tags).toBeUndefined();
  for (const e of plan.entries)
    expect(e).toMatchObject({
      platforms: 'all',
      referrers: false,
      create: { tagMutability: 'MUTABLE', scanOnPush: false, encryption: 'AES256' },
    });
});

test('plan-level defaults (target template, create, platforms, referrers, shards) and per-entry overrides', () => {
  const plan = parsePlan(
    `version: 1
shards: 4
target: mirror/{repo}
platforms: [linux/amd64, linux/arm64]
referrers: true
create: {tagMutability: IMMUTABLE, scanOnPush: true}
sync:
  - source: public.ecr.aws/docker/library/node
    semver: ">=20 <23"
    newest: 2
    exclude: ["*-rc*"]
  - source: quay.io/prometheus/prometheus@sha256:${'a'.repeat(64)}
    target: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/mon/{name}
    platforms: all
    referrers: false
    create: {encryption: KMS, kmsKey: alias/mirror}
  - source: team/app
    tags: /^v\\d+$/
`,
    'plan.yaml',
  );
  expect(plan.shards).toBe(4);
  const [node, prom, app] = plan.entries;
  expect(node.target).toBe('mirror/docker/library/node');
  expect(node.tags).toMatchObject({ include: [], semver: '>=20 <23', newest: 2, exclude: [{ kind: 'glob' }] });
  expect(node).toMatchObject({ platforms: ['linux/amd64', 'linux/arm64'], referrers: true });
  expect(node.create).toEqual({ tagMutability: 'IMMUTABLE', scanOnPush: true, encryption: 'AES256' });
  expect(prom.target).toBe('123456789012.dkr.ecr.eu-west-1.amazonaws.com/mon/prometheus');
  expect(prom).toMatchObject({ platforms: 'all', referrers: false });
  expect(prom.create).toEqual({
    tagMutability: 'IMMUTABLE',
    scanOnPush: true,
    encryption: 'KMS',
    kmsKey: 'alias/mirror',
  });
  expect(app.ref.registry).toBeUndefined();
  expect(app.target).toBe('mirror/team/app');
  expect(app.tags?.include).toMatchObject([{ kind: 'regex', text: '/^v\\d+$/' }]);
});

test('JSON is a plan too, with positions', () => {
  const plan = parsePlan(
    '{"sync": [{"source": "docker.io/library/busybox:1.36", "target": "mirror/busybox"}]}',
    'p.json',
  );
  expect(plan.entries[0]).toMatchObject({ target: 'mirror/busybox', ref: { tag: '1.36' }, where: 'p.json:1:11' });
  expect(problems('{"sync": [{"source": "docker.io/library/busybox:1.36", "target": 5}]}')).toEqual([
    'plan.yaml:1:66: sync[0].target: must be an ECR repository name or template, got 5',
  ]);
});

test('every problem at once, in file order, at FILE:LINE:COL with the path inside the plan', () => {
  expect(
    problems(`sync:
  - source: docker.io/library/alpine
    target: mirror/alpine
    tags: ["3.20", "/(/", 3.21]
    newest: 0
  - source: ghcr.io/org/app:1.4
    traget: mirror/app
  - source: ghcr.io/org/app:1.4
    target: mirror/App
    tags: ["1.*"]
    create: {tagMutability: sometimes, encryption: AES256, kmsKey: k}
`),
  ).toEqual([
    "plan.yaml:4:20: sync[0].tags[1]: '/(/' is not a valid regular expression: Invalid regular expression: /(/: Unterminated group",
    'plan.yaml:4:27: sync[0].tags[2]: write it as a quoted string ("3.21"): YAML reads it as a number',
    'plan.yaml:5:13: sync[0].newest: must be a whole number from 1 to 10000, got 0',
    'plan.yaml:6:5: sync[1]: needs a target (an ECR repository such as mirror/alpine), or a plan-level target template such as mirror/{repo}',
    "plan.yaml:7:5: sync[1].traget: unknown key (did you mean 'target'?)",
    "plan.yaml:9:13: sync[2].target: 'mirror/App' is not an ECR repository: 'mirror/App' is not a valid repository name (lowercase letters, digits, separators . _ - between them, / between path parts)",
    "plan.yaml:10:11: sync[2].tags: the source names one image ('ghcr.io/org/app:1.4'): drop tags, or give the repository alone",
    'plan.yaml:11:29: sync[2].create.tagMutability: must be MUTABLE or IMMUTABLE',
    'plan.yaml:11:68: sync[2].create.kmsKey: goes with encryption: KMS or KMS_DSSE',
  ]);
});

test('shape mistakes: no sync list, a repository without tags, bad platforms, templates and ranges', () => {
  expect(problems('syncs: []\n')).toEqual([
    "plan.yaml:1:1: syncs: unknown key (did you mean 'sync'?)",
    'plan.yaml:1:1: needs a `sync:` list of images to mirror',
  ]);
  expect(problems('- a\n')).toEqual([
    'plan.yaml:1:1: a plan is a mapping with a `sync:` list of images (see the README, "Mirroring")',
  ]);
  expect(problems('sync: []\n')).toEqual(['plan.yaml:1:7: sync: must be a non-empty list of images to mirror']);
  expect(
    problems(`version: 2
shards: 0
target: mirror/{registry}/{repo}
platforms: [linux]
sync:
  - source: docker.io/library/alpine
  - source: "docker.io/library/alpine:"
  - source: team/x
    semver: "not a range"
    referrers: yes
`),
  ).toEqual([
    'plan.yaml:1:10: version: this ecrx reads plan version 1, got 2',
    'plan.yaml:2:9: shards: must be a whole number from 1 to 1000, got 0',
    "plan.yaml:3:9: target: unknown placeholder {registry}: use {repo} (the source's repository path) or {name} (its last part)",
    "plan.yaml:4:13: platforms[0]: 'linux' is not a platform: use OS/ARCH or OS/ARCH/VARIANT (linux/arm64/v8), or all",
    `plan.yaml:6:13: sync[0].source: 'docker.io/library/alpine' is a repository: say which tags, e.g. tags: ["1.4", "2.*"] (or ["*"] for all)`,
    "plan.yaml:7:13: sync[1].source: Invalid image reference 'docker.io/library/alpine:': '' is not a valid tag (letters, digits, _ . -, up to 300, not starting with . or -)",
    "plan.yaml:9:13: sync[2].semver: 'not a range' is not a semver range (for example '>=1.2 <2', '^3.20', '~1.4.0', '1.x')",
    'plan.yaml:10:16: sync[2].referrers: must be true or false, got "yes"',
  ]);
});

test('an empty tags list is refused rather than read as every tag', () => {
  expect(problems('sync:\n  - {source: team/app, target: a/b, tags: []}\n')).toEqual([
    'plan.yaml:2:43: sync[0].tags: is empty: give at least one tag or pattern (["*"] for every tag)',
  ]);
});

test('YAML syntax errors and duplicate keys point at their place', () => {
  const [first] = problems('sync:\n  - source: a\n    source: b\n');
  expect(first).toMatch(/^plan\.yaml:3:5: Map keys must be unique/);
  expect(problems('sync: [\n')[0]).toMatch(/^plan\.yaml:\d+:\d+: /);
});

test('a plan file that cannot be read is named as typed, exit 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecrx-plan-'));
  try {
    expect(() => loadPlan(join(dir, 'nope.yaml'))).toThrow(
      `Cannot read the plan ${join(dir, 'nope.yaml')}: no such file`,
    );
    expect(() => loadPlan(dir)).toThrow(/it is a directory/);
    writeFileSync(join(dir, 'ok.yaml'), 'sync:\n  - {source: team/app:1, target: copy/app}\n');
    expect(loadPlan(join(dir, 'ok.yaml')).entries[0].where).toBe(`${join(dir, 'ok.yaml')}:2:5`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
