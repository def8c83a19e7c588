/**
 * Ctrl-C typed in a real terminal (tmux send-keys C-c), not a signal sent by the test: the terminal driver must turn
 * it into SIGINT, which it does only if nothing put the terminal in raw mode. During a spinner, during bars, and
 * twice: each time ecrx stops, exits 130, leaves no progress on screen, gives the cursor back, and leaves nothing
 * half-written.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEnv } from '../helpers/cli.js';
import { startServe, type Serve } from '../helpers/serve.js';
import { Pane } from '../helpers/tmux.js';
import { leftovers, progressRows } from '../helpers/screen.js';
import { pushSlowImage } from '../helpers/slow-image.js';

let work: string;
let slow: Serve;
let throttled: Serve;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ecrx-term-int-'));
  slow = await startServe(['--fault-bandwidth', String(512 * 1024)]);
  await pushSlowImage(slow.endpoint, work, 'int/app', 3, 2 * 1024 * 1024);
  // Every API call throttled: a command stays on its spinner, retrying, for as long as the test needs.
  throttled = await startServe(['--fault-throttle', '1'], slow.dataDir);
});

afterAll(async () => {
  await throttled?.stop();
  await slow?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

const open = (endpoint: string) =>
  Pane.open({ cols: 80, rows: 24, env: { ...testEnv(endpoint), TERM: 'xterm-256color' }, cwd: work });

/** The clean end every interrupted command must reach. */
async function expectInterrupted(pane: Pane): Promise<string[]> {
  expect(await pane.exitCode(20_000)).toBe(130);
  const screen = pane.screen();
  expect(leftovers(screen)).toEqual([]);
  expect(screen.join('\n')).toMatch(/ecrx: error INTERRUPTED: Interrupted by Ctrl-C/);
  expect(pane.cursorVisible()).toBe(true);
  return screen;
}

function expectNothingHalfWritten(cache: string, output: string): void {
  expect(existsSync(join(work, output))).toBe(false);
  const tmp = join(work, cache, 'tmp');
  expect(existsSync(tmp) ? readdirSync(tmp) : []).toEqual([]);
  expect(readdirSync(work).filter((n) => n.includes('.ecrx-') || n.startsWith(`.${output}`))).toEqual([]);
}

test('Ctrl-C during the spinner (a pull and a push stuck retrying a throttled API) stops them: exit 130', async () => {
  const pane = open(throttled.endpoint);
  try {
    pane.ecrx('pull int/app:v1 -o int-spin --cache-dir int-spin-cache');
    await pane.waitFor('the spinner', (s) => s.some((r) => /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] pull: resolving int\/app:v1/.test(r)));
    pane.key('C-c');
    await expectInterrupted(pane);
    expectNothingHalfWritten('int-spin-cache', 'int-spin');

    pane.ecrx(`push layout-int-app int/app:again --cache-dir int-push-cache`);
    await pane.waitFor('the push spinner', (s) =>
      s.some((r) => /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] push: checking 4 blobs in int\/app/.test(r)),
    );
    pane.key('C-c');
    const screen = await expectInterrupted(pane);
    // The hint fits the command: a push uploads, it does not download.
    expect(screen.join(' ')).toContain('blobs already uploaded are skipped');
    expect(screen.join(' ')).not.toContain('downloaded');
  } finally {
    pane.close();
  }
});

test('the spinner, drawn at 200 columns and narrowed to 40, is redrawn whole with nothing of its wider self left', async () => {
  const pane = Pane.open({
    cols: 200,
    rows: 24,
    env: { ...testEnv(throttled.endpoint), TERM: 'xterm-256color' },
    cwd: work,
  });
  try {
    // A 120-character tag: the spinner line is about 150 columns, and the terminal re-flows it onto 4 rows at 40.
    const tag = 'a'.repeat(120);
    pane.ecrx(`pull int/app:${tag} -o int-narrow --cache-dir int-narrow-cache`);
    await pane.waitFor('the wide spinner', (s) =>
      s.some((r) => /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] pull: resolving int\/app:a{100,}/.test(r)),
    );
    pane.resize(40);
    const spinnerRows = (s: string[]) => s.filter((r) => /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] pull: resolving int\/app:a+…$/.test(r));
    // Redrawn cut to the new width: one spinner row, and no row of the old line's re-flowed tail.
    const screen = await pane.waitFor(
      'the spinner redrawn at 40 columns',
      (s) => spinnerRows(s).length === 1 && !s.some((r) => /^a{10,}/.test(r)),
      15_000,
    );
    expect(screen.every((r) => [...r].length <= 40)).toBe(true);
    // Ctrl-C echoes "^C" after the spinner line: there must be room for it, or the spinner would stay on screen.
    pane.key('C-c');
    expect(await pane.exitCode(20_000)).toBe(130);
    const last = pane.screen();
    expect(leftovers(last)).toEqual([]);
    expect(last.join(' ').replace(/\s+/g, ' ')).toContain('ecrx: error INTERRUPTED: Interrupted by Ctrl-C');
    expect(pane.cursorVisible()).toBe(true);
    expectNothingHalfWritten('int-narrow-cache', 'int-narrow');
  } finally {
    pane.close();
  }
});

test('Ctrl-C during the bars stops the downloads at once: exit 130, no bar left, no temporary file', async () => {
  const pane = open(slow.endpoint);
  try {
    pane.ecrx('pull int/app:v1 -o int-bars --cache-dir int-bars-cache');
    await pane.waitFor(
      'bars',
      (s) => progressRows(s).length > 0 && s.some((r) => /^layer 1\/3 .*\d+\.\d\/2\.0 MiB/.test(r)),
    );
    pane.key('C-c');
    await expectInterrupted(pane);
    expectNothingHalfWritten('int-bars-cache', 'int-bars');
  } finally {
    pane.close();
  }
});

test('Ctrl-C twice during the bars exits at once, with the cursor back and no bar left', async () => {
  const pane = open(slow.endpoint);
  try {
    pane.ecrx('pull int/app:v1 -o int-twice --cache-dir int-twice-cache');
    await pane.waitFor('bars', (s) => progressRows(s).length > 0);
    pane.key('C-c');
    pane.key('C-c');
    expect(await pane.exitCode(20_000)).toBe(130);
    expect(leftovers(pane.screen())).toEqual([]);
    expect(pane.cursorVisible()).toBe(true);
    expect(existsSync(join(work, 'int-twice'))).toBe(false);
  } finally {
    pane.close();
  }
});
